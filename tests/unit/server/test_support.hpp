#pragma once
// Shared by the server tests: a small test service (echo / 204 / block by substring, with faults
// and preview decisions chosen by X-Test-* request headers), a running server on loopback ports
// the system picks, and a raw blocking TCP client with a deadline on every read.
#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/parser.hpp"
#include "icapkit/server/server.hpp"
#include "icapkit/server/service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::server::test {

using namespace std::chrono_literals;

// Services under test: "echo" (REQMOD, RESPMOD), "reqonly" (REQMOD). The body is clean unless it
// contains "BLOCKME" (found across piece boundaries); clean answers are unmodified(), blocked ones
// a 403 page. Request headers steer the rest:
//   X-Test-Fault: stall | hang | reset | close | malformed     X-Test-Close: 1
//   X-Test-Preview: 204 | block  (decision after the preview)  X-Test-Delay-Ms: N
//   X-Test-Early: 1 (answer as soon as the first body piece arrives)
class test_transaction final : public transaction {
public:
  explicit test_transaction(const request_info& info) : info_(info) {}

  body_action on_body(std::string_view piece) override {
    received_ += piece;
    if (received_.find("BLOCKME") != std::string::npos) {
      blocked_ = true;
    }
    if (received_.size() > 16) {
      received_.erase(0, received_.size() - 16); // only a window: no whole-body copy
    }
    return header("X-Test-Early") ? body_action::answer_now : body_action::more;
  }

  asio::awaitable<response> on_preview_end(const body_state& state) override {
    static_cast<void>(state);
    const auto decision = header("X-Test-Preview");
    if (decision && *decision == "204") {
      co_return response::unmodified();
    }
    if (blocked_ || (decision && *decision == "block")) {
      co_return block_page();
    }
    co_return response::continue_body();
  }

  asio::awaitable<response> on_complete(const body_state& state) override {
    static_cast<void>(state);
    response r = blocked_ ? block_page() : response::unmodified();
    r.rule = blocked_ ? "substring" : "clean";
    if (auto fault = header("X-Test-Fault")) {
      r.fault.kind = *fault == "stall"       ? fault_kind::stall
                     : *fault == "hang"      ? fault_kind::continue_then_hang
                     : *fault == "reset"     ? fault_kind::reset
                     : *fault == "close"     ? fault_kind::close_before_answer
                     : *fault == "malformed" ? fault_kind::malformed
                                             : fault_kind::none;
      r.fault.reset_after = 20;
      r.fault.raw_bytes = *fault == "malformed" ? "GARBAGE\r\n\r\n" : "";
    }
    if (auto delay = header("X-Test-Delay-Ms")) {
      r.delay = std::chrono::milliseconds{std::stoi(std::string(*delay))};
    }
    r.close_connection = header("X-Test-Close").has_value();
    co_return r;
  }

private:
  std::optional<std::string_view> header(std::string_view name) const {
    return info_.icap.headers.get(name);
  }
  response block_page() const {
    codec::http_response_head page;
    page.status = 403;
    page.reason = "Forbidden";
    page.headers.add("Content-Type", "text/plain");
    response r = response::modified_response(
        page, std::make_unique<codec::string_body_source>("blocked by test"));
    r.icap_headers.add("X-Infection-Found", "Type=0; Resolution=2; Threat=BLOCKME;");
    r.rule = "substring";
    return r;
  }

  request_info info_;
  std::string received_;
  bool blocked_ = false;
};

class test_service final : public service {
public:
  test_service(std::string name, std::vector<codec::icap_method> methods,
               std::vector<std::string> aliases = {})
      : name_(std::move(name)), methods_(std::move(methods)), aliases_(std::move(aliases)) {}
  std::vector<std::string> names() const override {
    auto all = aliases_;
    all.insert(all.begin(), name_);
    return all;
  }
  std::vector<codec::icap_method> methods() const override { return methods_; }
  std::string istag() const override { return "\"TEST-" + name_ + "\""; }
  options_reply options(const request_info&) const override {
    options_reply reply;
    reply.preview = 1024;
    reply.transfer_preview = "*";
    reply.options_ttl = 300;
    reply.service = "icapkit test service";
    return reply;
  }
  std::unique_ptr<transaction> begin(const request_info& request) override {
    begun.fetch_add(1);
    return std::make_unique<test_transaction>(request);
  }

  // Transactions started, across all test services: lets a test wait until its request is in.
  static inline std::atomic<int> begun{0};

private:
  std::string name_;
  std::vector<codec::icap_method> methods_;
  std::vector<std::string> aliases_;
};

// A server with both test services on 127.0.0.1:0, stopped at scope exit.
class running_server {
public:
  explicit running_server(server_options options = make_options()) {
    options.on_transaction = [this](const transaction_record& r) {
      std::lock_guard lock(mutex_);
      records_.push_back(r);
    };
    srv_ = std::make_unique<server>(std::move(options));
    srv_->add_service(std::make_shared<test_service>(
        "echo", std::vector{codec::icap_method::reqmod, codec::icap_method::respmod},
        std::vector<std::string>{"/avscan"})); // the codec vectors' service
    srv_->add_service(
        std::make_shared<test_service>("reqonly", std::vector{codec::icap_method::reqmod}));
    std::string detail;
    const auto ec = srv_->start(detail);
    REQUIRE_MESSAGE(!ec, ec.message() << ": " << detail);
  }
  ~running_server() { srv_->stop(); }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  static server_options make_options() {
    server_options options;
    options.listen = {"127.0.0.1:0"};
    options.threads = 2;
    options.stop_grace = 2s;
    return options;
  }
  server& get() { return *srv_; }
  asio::ip::tcp::endpoint endpoint(std::size_t i = 0) const {
    return srv_->bound_endpoints().at(i);
  }
  std::vector<transaction_record> records() {
    std::lock_guard lock(mutex_);
    return records_;
  }
  // Records arrive after the answer is written: wait (bounded) for `count` of them.
  std::vector<transaction_record> wait_records(std::size_t count) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mutex_);
        if (records_.size() >= count) {
          return records_;
        }
      }
      ::usleep(2000);
    }
    return records();
  }

private:
  std::unique_ptr<server> srv_;
  std::mutex mutex_;
  std::vector<transaction_record> records_;
};

// How a connection ended, seen from the client.
enum class ending { closed, reset, timeout };

// A blocking loopback client; every read has a deadline (poll), so no test can hang.
class raw_client {
public:
  explicit raw_client(const asio::ip::tcp::endpoint& ep) {
    fd_ = ::socket(ep.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    const int rc =
        ::connect(fd_, static_cast<const sockaddr*>(ep.data()), static_cast<socklen_t>(ep.size()));
    REQUIRE_MESSAGE(rc == 0, "connect: " << std::strerror(errno));
  }
  ~raw_client() { close(); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // False when the peer has gone (EPIPE/ECONNRESET).
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads once, waiting at most until `until`. >0 bytes appended; 0 EOF; -1 error; -2 timeout.
  long read_some(std::chrono::steady_clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return -2;
    }
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
    last_errno_ = n < 0 ? errno : 0;
    return n;
  }

  // One whole ICAP response, or nullopt when the connection ended or `limit` passed first.
  std::optional<codec::parsed_message>
  read_response(codec::icap_method method = codec::icap_method::reqmod,
                std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (!buffer_.empty()) {
        codec::parsed_message out;
        std::error_code ec;
        const auto used =
            codec::parse_message(buffer_, codec::parse_mode::icap_response, out, ec, method);
        if (!ec && out.complete && out.icap_response) {
          buffer_.erase(0, used);
          return out;
        }
        if (ec && ec != codec::errc::unexpected_eof) {
          parse_error_ = ec;
          return std::nullopt;
        }
      }
      if (read_some(until) <= 0) {
        return std::nullopt;
      }
    }
  }

  // Reads and keeps everything until the server ends the connection or `limit` passes.
  ending wait_end(std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto n = read_some(until);
      if (n == 0) {
        return ending::closed;
      }
      if (n == -1) {
        return last_errno_ == ECONNRESET ? ending::reset : ending::closed;
      }
      if (n == -2) {
        return ending::timeout;
      }
    }
  }

  const std::string& unparsed() const { return buffer_; }
  std::error_code parse_error() const { return parse_error_; }

private:
  int fd_ = -1;
  std::string buffer_;
  int last_errno_ = 0;
  std::error_code parse_error_;
};

inline int status_of(const std::optional<codec::parsed_message>& m) {
  return m && m->icap_response ? m->icap_response->status : 0;
}

inline std::string header_of(const std::optional<codec::parsed_message>& m, std::string_view name) {
  if (!m || !m->icap_response) {
    return {};
  }
  const auto v = m->icap_response->headers.get(name);
  return v ? std::string(*v) : std::string{};
}

// A REQMOD of "POST /upload" with `body` (one chunk; none when empty), plus extra ICAP headers
// ("Name: value\r\n" lines). With a preview: the first `preview` bytes, then "0" or "0; ieof".
inline std::string reqmod(std::string_view service, std::string_view body,
                          std::string_view extra = {}, std::optional<std::size_t> preview = {}) {
  const std::string http = "POST /upload HTTP/1.1\r\nHost: origin.test\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  std::string out = "REQMOD icap://127.0.0.1/" + std::string(service) +
                    " ICAP/1.0\r\nHost: 127.0.0.1\r\n" + std::string(extra) +
                    "Encapsulated: req-hdr=0, req-body=" + std::to_string(http.size()) + "\r\n";
  if (preview) {
    out += "Preview: " + std::to_string(*preview) + "\r\n";
  }
  out += "\r\n" + http;
  const auto chunk = [](std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return std::string(size) + std::string(data) + "\r\n";
  };
  if (!preview) {
    return out + (body.empty() ? "" : chunk(body)) + "0\r\n\r\n";
  }
  const auto head = body.substr(0, std::min(*preview, body.size()));
  out += head.empty() ? "" : chunk(head);
  return out + (head.size() == body.size() ? "0; ieof\r\n\r\n" : "0\r\n\r\n");
}

// The rest of a previewed body after 100 Continue.
inline std::string rest_after_preview(std::string_view body, std::size_t preview) {
  const auto rest = body.substr(std::min(preview, body.size()));
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", rest.size());
  return (rest.empty() ? std::string{} : std::string(size) + std::string(rest) + "\r\n") +
         "0\r\n\r\n";
}

inline std::string options_request(std::string_view service) {
  return "OPTIONS icap://127.0.0.1/" + std::string(service) +
         " ICAP/1.0\r\nHost: 127.0.0.1\r\nEncapsulated: null-body=0\r\n\r\n";
}

} // namespace icapkit::server::test
