#pragma once
// In-process peers for the proxy tests: an HTTP/1.1 origin on a loopback port that records what
// it receives, a blocking HTTP client, the mock ICAP server, and a thread-safe record sink.
// Every wait is bounded by a deadline.
#include "icapkit/config/loader.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/mock/body_digest.hpp"
#include "icapkit/mock/mock_service.hpp"
#include "icapkit/server/server.hpp"

#include "../mock/mock_test_util.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace icapkit::proxy::test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

inline std::string sha256_hex(std::string_view bytes) {
  mock::body_digest digest;
  digest.update(bytes);
  return digest.sha256_hex();
}

inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// An owned socket descriptor.
class socket_fd {
public:
  socket_fd() = default;
  explicit socket_fd(int fd) : fd_(fd) {}
  socket_fd(socket_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

private:
  int fd_ = -1;
};

inline sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(0x7f000001U); // 127.0.0.1
  return address;
}

inline std::uint16_t port_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return 0;
  }
  return ntohs(address.sin_port);
}

// A listening socket on 127.0.0.1 with a port chosen by the kernel.
inline socket_fd listen_loopback() {
  socket_fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd.valid());
  const auto address = loopback_address(0);
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd.get(), 64) == 0);
  return fd;
}

// A loopback port nothing listens on: bound, read and released again.
inline std::uint16_t unused_port() {
  socket_fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd.valid());
  const auto address = loopback_address(0);
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return port_of(fd.get());
}

inline std::uint16_t port_of_address(std::string_view host_port) {
  const auto colon = host_port.rfind(':');
  REQUIRE(colon != std::string_view::npos);
  return static_cast<std::uint16_t>(std::stoul(std::string(host_port.substr(colon + 1))));
}

inline socket_fd connect_loopback(std::uint16_t port) {
  socket_fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd.valid());
  const auto address = loopback_address(port);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// Writes everything (loopback peers read promptly; a peer that has gone away ends the write).
inline bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A parsed HTTP/1.1 message: start line, headers (names lower-cased), decoded body.
struct http_message {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false; // the body arrived with chunked coding

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == lower(name)) {
        return v;
      }
    }
    return std::nullopt;
  }
  std::size_t count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [key = lower(name)](const auto& h) { return h.first == key; }));
  }
  // The status of a response ("HTTP/1.1 200 OK" -> 200), or 0.
  int status() const {
    if (start_line.size() < 12 || !start_line.starts_with("HTTP/1.")) {
      return 0;
    }
    return std::stoi(start_line.substr(9, 3));
  }
  // The method and target of a request line.
  std::string method() const { return start_line.substr(0, start_line.find(' ')); }
  std::string target() const {
    const auto first = start_line.find(' ');
    const auto last = start_line.rfind(' ');
    return first == last ? std::string() : start_line.substr(first + 1, last - first - 1);
  }
};

// Reads from a blocking socket; every wait ends at the deadline or when `stop` is set.
class socket_reader {
public:
  socket_reader(int fd, const std::atomic<bool>* stop = nullptr) : fd_(fd), stop_(stop) {}

  void set_deadline(steady::time_point deadline) noexcept { deadline_ = deadline; }
  bool eof() const noexcept { return eof_; }
  bool timed_out() const noexcept { return timed_out_; }
  bool buffered() const noexcept { return !buffer_.empty(); }

  // The head up to the blank line, parsed; nullopt at EOF, timeout or a malformed head.
  std::optional<http_message> read_head() {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    const std::string head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    http_message message;
    std::size_t pos = head.find("\r\n");
    message.start_line = head.substr(0, pos);
    pos += 2;
    while (pos < head.size()) {
      const auto line_end = head.find("\r\n", pos);
      const auto line = std::string_view(head).substr(pos, line_end - pos);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        return std::nullopt;
      }
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      message.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
      pos = line_end + 2;
    }
    return message;
  }

  std::optional<std::string> read_exact(std::size_t length) {
    while (buffer_.size() < length) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    std::string out = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return out;
  }

  std::optional<std::string> read_line() {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  // A chunked body, decoded; trailers are read and dropped.
  std::optional<std::string> read_chunked() {
    std::string out;
    for (;;) {
      const auto size_line = read_line();
      if (!size_line) {
        return std::nullopt;
      }
      std::size_t size = 0;
      try {
        size = std::stoul(size_line->substr(0, size_line->find(';')), nullptr, 16);
      } catch (const std::exception&) {
        return std::nullopt;
      }
      if (size == 0) {
        for (;;) {
          const auto trailer = read_line();
          if (!trailer) {
            return std::nullopt;
          }
          if (trailer->empty()) {
            return out;
          }
        }
      }
      auto data = read_exact(size + 2);
      if (!data || !data->ends_with("\r\n")) {
        return std::nullopt;
      }
      out.append(*data, 0, size);
    }
  }

  // Everything until the peer closes (or the deadline).
  std::string read_until_close() {
    while (fill()) {
    }
    return std::exchange(buffer_, {});
  }

  // One more read into the buffer; false at EOF, error, timeout or stop.
  bool fill() {
    for (;;) {
      if (stop_ != nullptr && stop_->load()) {
        return false;
      }
      const auto now = steady::now();
      if (now >= deadline_) {
        timed_out_ = true;
        return false;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count();
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 50)));
      if (ready < 0 && errno != EINTR) {
        return false;
      }
      if (ready <= 0) {
        continue;
      }
      char chunk[16 * 1024];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

private:
  int fd_;
  const std::atomic<bool>* stop_;
  steady::time_point deadline_ = steady::now() + 5s;
  std::string buffer_;
  bool eof_ = false;
  bool timed_out_ = false;
};

// What the origin received: one entry per request.
struct origin_request {
  std::string method;
  std::string target;
  http_message message; // body decoded
  std::string body_sha256;
  std::size_t body_length = 0;
};

inline constexpr std::string_view origin_body = "hello from the origin\n";
inline constexpr std::string_view origin_chunked_body = "first piece of the origin;second piece\n";
inline constexpr std::string_view origin_close_body = "a body that ends when the origin closes\n";

// An HTTP/1.1 origin on 127.0.0.1 (one thread per connection, keep-alive). It answers
// 200 with origin_body and Content-Length; a target containing "chunked-response" gets
// origin_chunked_body in two chunks, one containing "close-response" gets origin_close_body
// without Content-Length, ended by closing the connection. Faults: "drop-always" closes the
// connection after reading the request, without answering; "drop-first" does so the first time
// its target is seen; "idle-close" is answered with keep-alive, then the connection is closed.
class origin_server {
public:
  origin_server() : listener_(listen_loopback()), port_(port_of(listener_.get())) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~origin_server() {
    stop_ = true;
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  origin_server(const origin_server&) = delete;
  origin_server& operator=(const origin_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<origin_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Connections closed after answering an "idle-close" target.
  std::size_t idle_closes() const noexcept { return idle_closes_; }

private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      socket_fd connection(::accept(listener_.get(), nullptr, nullptr));
      if (!connection.valid()) {
        continue;
      }
      std::lock_guard lock(mutex_);
      threads_.emplace_back(
          [this, fd = std::make_shared<socket_fd>(std::move(connection))] { serve(fd->get()); });
    }
  }

  void serve(int fd) {
    socket_reader reader(fd, &stop_);
    for (;;) {
      reader.set_deadline(steady::now() + 30s); // the stop flag ends it sooner
      auto head = reader.read_head();
      if (!head) {
        return;
      }
      reader.set_deadline(steady::now() + 5s);
      origin_request request;
      request.method = head->method();
      request.target = head->target();
      const auto te = head->header("Transfer-Encoding");
      if (te && lower(*te).find("chunked") != std::string::npos) {
        auto body = reader.read_chunked();
        if (!body) {
          return;
        }
        head->body = std::move(*body);
        head->chunked = true;
      } else if (const auto length = head->header("Content-Length")) {
        auto body = reader.read_exact(std::stoul(*length));
        if (!body) {
          return;
        }
        head->body = std::move(*body);
      }
      request.body_sha256 = sha256_hex(head->body);
      request.body_length = head->body.size();
      request.message = std::move(*head);
      const auto target = request.target;
      bool drop = target.find("drop-always") != std::string::npos;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(request));
        if (target.find("drop-first") != std::string::npos) {
          drop = std::find(dropped_.begin(), dropped_.end(), target) == dropped_.end();
          dropped_.push_back(target);
        }
      }
      if (drop) {
        ::shutdown(fd, SHUT_RDWR); // read whole, never answered
        return;
      }
      if (target.find("idle-close") != std::string::npos) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(origin_body.size()) + "\r\n\r\n" +
                         std::string(origin_body));
        ::shutdown(fd, SHUT_RDWR); // keep-alive announced, then closed while idle
        ++idle_closes_;
        return;
      }
      if (target.find("close-response") != std::string::npos) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
                         std::string(origin_close_body));
        return; // the socket closes: the end of the body
      }
      if (target.find("chunked-response") != std::string::npos) {
        const auto split = origin_chunked_body.find(';') + 1;
        const auto first = origin_chunked_body.substr(0, split);
        const auto second = origin_chunked_body.substr(split);
        std::string response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (const auto piece : {first, second}) {
          char size[16];
          std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
          response += size;
          response += piece;
          response += "\r\n";
        }
        response += "0\r\n\r\n";
        if (!send_all(fd, response)) {
          return;
        }
        continue;
      }
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                            std::to_string(origin_body.size()) + "\r\n\r\n" +
                            std::string(origin_body))) {
        return;
      }
    }
  }

  socket_fd listener_;
  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::vector<origin_request> requests_;
  std::vector<std::string> dropped_; // "drop-first" targets seen
  std::atomic<std::size_t> idle_closes_{0};
};

// A blocking client connection to the proxy.
class http_client {
public:
  explicit http_client(std::string_view address)
      : fd_(connect_loopback(port_of_address(address))), reader_(fd_.get()) {}

  bool send(std::string_view bytes) { return send_all(fd_.get(), bytes); }

  // Reads one response; nullopt when none arrived complete within `timeout`.
  std::optional<http_message> read_response(std::chrono::milliseconds timeout = 5s,
                                            bool head_request = false) {
    reader_.set_deadline(steady::now() + timeout);
    auto response = reader_.read_head();
    if (!response) {
      return std::nullopt;
    }
    const int status = response->status();
    const auto te = response->header("Transfer-Encoding");
    if (head_request || status == 204 || status == 304 || (status >= 100 && status < 200)) {
      return response;
    }
    if (te && lower(*te).find("chunked") != std::string::npos) {
      auto body = reader_.read_chunked();
      if (!body) {
        return std::nullopt;
      }
      response->body = std::move(*body);
      response->chunked = true;
    } else if (const auto length = response->header("Content-Length")) {
      auto body = reader_.read_exact(std::stoul(*length));
      if (!body) {
        return std::nullopt;
      }
      response->body = std::move(*body);
    } else {
      response->body = reader_.read_until_close();
    }
    return response;
  }

  // The proxy closed the connection (EOF or reset) within `timeout`, sending nothing more.
  bool closed_by_peer(std::chrono::milliseconds timeout = 3s) {
    reader_.set_deadline(steady::now() + timeout);
    if (reader_.buffered()) {
      return false;
    }
    return !reader_.fill() && !reader_.timed_out();
  }

private:
  socket_fd fd_;
  socket_reader reader_;
};

// One request on a fresh connection, its response.
inline std::optional<http_message> round_trip(std::string_view address, std::string_view request,
                                              std::chrono::milliseconds timeout = 5s) {
  http_client client(address);
  REQUIRE(client.send(request));
  return client.read_response(timeout);
}

// The mock ICAP server (OPSWAT MetaDefender personality) on a loopback port.
class running_icap {
public:
  explicit running_icap(mock::scenario rules = {}) {
    server::server_options o;
    o.listen = {"127.0.0.1:0"};
    o.threads = 1;
    server_ = std::make_unique<server::server>(std::move(o));
    for (auto& s : mock::make_services(mock::test::context("opswat", std::move(rules)), {})) {
      server_->add_service(std::move(s));
    }
    std::string detail;
    const auto ec = server_->start(detail);
    REQUIRE_MESSAGE(!ec, detail << ": " << ec.message());
    port_ = port_of_address(server_->bound_addresses().front());
  }
  ~running_icap() { server_->stop(); }
  running_icap(const running_icap&) = delete;
  running_icap& operator=(const running_icap&) = delete;
  std::uint16_t port() const noexcept { return port_; }
  void stop() { server_->stop(); } // new connections are refused from now on

private:
  std::unique_ptr<server::server> server_;
  std::uint16_t port_ = 0;
};

// Collects the proxy's records (on_record runs on worker threads).
class record_sink {
public:
  std::function<void(const log::app_log_record&)> callback() {
    return [this](const log::app_log_record& r) {
      std::lock_guard lock(mutex_);
      records_.push_back(r);
      arrived_.notify_all();
    };
  }
  // The records once `count` have arrived, or what there is after `timeout`.
  std::vector<log::app_log_record> wait_for(std::size_t count,
                                            std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [&] { return records_.size() >= count; });
    return records_;
  }

private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<log::app_log_record> records_;
};

// What the test configurations vary.
struct config_knobs {
  std::uint16_t icap_port = 0;
  std::string upstream;
  std::string fail_action = "ICAP_FAIL_OPEN";
  std::uint32_t buffer_size_kb = 51200;
  std::string buffer_size_exceed_action = "ICAP_FAIL_OPEN";
  std::uint32_t response_timeout_ms = 4000;
  bool allow_204 = true;
  std::vector<std::uint16_t> more_icap_ports; // further servers of the pool (round robin)
};

inline constexpr std::string_view scan_rule_name = "scan-uploads";

// One OPSWAT profile on one pool with one server; POST /upload... goes to ICAP, nothing else
// matches a rule.
inline config::virtual_service_config make_config(const config_knobs& k) {
  nlohmann::json j;
  j["icap_profile"] = {{"name", "proxy-test"},
                       {"pool_group_ref", "/api/poolgroup?name=scanners"},
                       {"service_uri", "/OMSScanReq-AV"},
                       {"fail_action", k.fail_action},
                       {"buffer_size", k.buffer_size_kb},
                       {"buffer_size_exceed_action", k.buffer_size_exceed_action},
                       {"response_timeout", k.response_timeout_ms},
                       {"allow_204", k.allow_204}};
  j["pool_groups"] = nlohmann::json::array(
      {{{"name", "scanners"},
        {"members", nlohmann::json::array(
                        {{{"pool_ref", "/api/pool?name=mock-icap"}, {"priority_label", "10"}}})}}});
  auto servers = nlohmann::json::array();
  for (const auto port : k.more_icap_ports.empty() ? std::vector<std::uint16_t>{k.icap_port} : [&] {
         auto all = k.more_icap_ports;
         all.insert(all.begin(), k.icap_port);
         return all;
       }()) {
    servers.push_back({{"ip", {{"addr", "127.0.0.1"}, {"type", "V4"}}}, {"port", port}});
  }
  j["pools"] = nlohmann::json::array({{{"name", "mock-icap"}, {"servers", servers}}});
  j["http_security_policy"] = {
      {"rules", nlohmann::json::array(
                    {{{"name", std::string(scan_rule_name)},
                      {"index", 10},
                      {"enable", true},
                      {"match",
                       {{"method",
                         {{"match_criteria", "IS_IN"},
                          {"methods", nlohmann::json::array({"HTTP_METHOD_POST"})}}},
                        {"path",
                         {{"match_criteria", "BEGINS_WITH"},
                          {"match_str", nlohmann::json::array({"/upload"})},
                          {"match_case", "SENSITIVE"}}}}},
                      {"action", {{"action", "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}}}})}};
  j["upstream"] = k.upstream;
  auto loaded = config::load_config(j.dump());
  for (const auto& e : loaded.errors) {
    MESSAGE(e.path << ": " << e.message);
  }
  REQUIRE(loaded.ok());
  return std::move(*loaded.config);
}

} // namespace icapkit::proxy::test
