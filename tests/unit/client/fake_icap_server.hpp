#pragma once
// A scriptable ICAP server for the client tests: accepts on 127.0.0.1 (port chosen by the system),
// parses each request with codec::parser in request mode, records what it got, answers OPTIONS
// from a configurable text and hands every REQMOD/RESPMOD to the test's script.
#include "../net/test_support.hpp"

#include "icapkit/codec/parser.hpp"
#include "icapkit/codec/serializer.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/net/stream.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::client::test {

using net::test::run_bounded;

struct received_request {
  codec::icap_request_head head;
  std::optional<codec::http_request_head> http_request;
  std::optional<codec::http_response_head> http_response;
  std::string body;             // the first max_kept_body bytes
  std::uint64_t body_bytes = 0; // all body bytes seen
  bool preview_ended = false;
  bool ieof = false;
  bool complete = false;
  std::size_t connection_index = 0;
};

inline constexpr std::size_t max_kept_body = 1u << 20;

class request_collector final : public codec::parser_events {
public:
  explicit request_collector(received_request& out) : out_(&out) {}
  void retarget(received_request& out) { out_ = &out; }
  void on_icap_request_line(std::string_view method, std::string_view uri,
                            codec::version v) override {
    out_->head.method = std::string(method);
    out_->head.uri = std::string(uri);
    out_->head.icap_version = v;
  }
  void on_icap_header(std::string_view name, std::string_view value) override {
    out_->head.headers.add(std::string(name), std::string(value));
  }
  void on_http_request_line(std::string_view m, std::string_view t, codec::version v) override {
    auto& h = out_->http_request.emplace();
    h.method = std::string(m);
    h.target = std::string(t);
    h.http_version = v;
    current_ = &h.headers;
  }
  void on_http_status_line(codec::version v, int status, std::string_view reason) override {
    auto& h = out_->http_response.emplace();
    h.http_version = v;
    h.status = status;
    h.reason = std::string(reason);
    current_ = &h.headers;
  }
  void on_http_header(std::string_view name, std::string_view value) override {
    current_->add(std::string(name), std::string(value));
  }
  void on_body(std::string_view data) override {
    out_->body_bytes += data.size();
    if (out_->body.size() < max_kept_body) {
      out_->body.append(data.substr(0, max_kept_body - out_->body.size()));
    }
  }
  void on_preview_end(bool ieof) override {
    out_->preview_ended = true;
    out_->ieof = ieof;
  }
  void on_message_complete() override { out_->complete = true; }

private:
  received_request* out_;
  codec::header_list* current_ = nullptr;
};

class fake_icap_server;

// One accepted connection, as the script sees it.
class session {
public:
  session(fake_icap_server& server, std::unique_ptr<net::stream> stream, std::size_t index)
      : server_(server), stream_(std::move(stream)), index_(index), collector_(scratch_),
        parser_(codec::parse_mode::icap_request, collector_) {
    stream_->set_idle_timeout(std::chrono::seconds{10});
  }
  net::stream& stream() { return *stream_; }
  std::size_t index() const { return index_; }
  fake_icap_server& server() { return server_; }

  // Reads until the request is complete or waits for a preview decision; with head_only, as soon
  // as the ICAP head and some body arrived. False on EOF or an error.
  asio::awaitable<bool> read_request(received_request& out, bool head_only = false) {
    collector_.retarget(out);
    out.connection_index = index_;
    for (;;) {
      if (parser_.is_done() || parser_.awaiting_preview_decision() ||
          (head_only && out.body_bytes > 0)) {
        co_return true;
      }
      if (!pending_.empty()) {
        std::error_code ec;
        const auto used = parser_.put(pending_, ec);
        pending_.erase(0, used);
        if (ec) {
          co_return false;
        }
        continue;
      }
      std::array<char, 16384> buffer{};
      std::error_code ec;
      const auto n = co_await stream_->read_some(asio::buffer(buffer), ec);
      if (ec) {
        co_return false;
      }
      pending_.append(buffer.data(), n);
    }
  }
  // After sending 100 Continue: the rest of the body.
  asio::awaitable<bool> read_rest(received_request& out) {
    parser_.continue_after_preview();
    co_return co_await read_request(out);
  }
  void end_after_preview() { parser_.end_after_preview(); }
  void next_message() { parser_.reset(); }

  asio::awaitable<bool> send(std::string_view bytes) {
    std::error_code ec;
    co_await stream_->write_all(asio::buffer(bytes.data(), bytes.size()), ec);
    co_return !ec;
  }
  // Reads and discards until the peer closes (or the idle timeout).
  asio::awaitable<void> drain() {
    std::array<char, 16384> buffer{};
    std::error_code ec;
    while (!ec) {
      co_await stream_->read_some(asio::buffer(buffer), ec);
    }
  }
  void close() { stream_->close(); }

private:
  fake_icap_server& server_;
  std::unique_ptr<net::stream> stream_;
  std::size_t index_;
  received_request scratch_;
  request_collector collector_;
  codec::parser parser_;
  std::string pending_;
};

// Answers one REQMOD/RESPMOD (read up to the preview decision or completion). Return false to
// end the connection.
using script = std::function<asio::awaitable<bool>(session&, received_request&)>;

class fake_icap_server {
public:
  fake_icap_server(asio::io_context& io, script respond,
                   std::shared_ptr<asio::ssl::context> tls = nullptr)
      : io_(io), acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        respond_(std::move(respond)), tls_(std::move(tls)),
        port_(acceptor_.local_endpoint().port()), gate_(io, asio::steady_timer::time_point::max()) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  ~fake_icap_server() { stop(); }

  std::uint16_t port() const { return port_; }
  codec::uri uri(const std::string& service = "/avscan") const {
    codec::uri u;
    const auto text =
        std::string(tls_ ? "icaps" : "icap") + "://127.0.0.1:" + std::to_string(port()) + service;
    REQUIRE(!codec::parse_uri(text, u));
    return u;
  }
  // A script parks here (holding its connection, reading nothing) until open_gate() or stop().
  asio::awaitable<void> wait_gate() {
    std::error_code ignored;
    if (!gate_open_) {
      co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  void open_gate() {
    gate_open_ = true;
    gate_.cancel();
  }
  // Closes every open connection but goes on accepting: what a restarted server looks like to a
  // client that pooled connections to it.
  void close_connections() {
    for (auto* s : live_) {
      s->close();
    }
  }
  void stop() {
    open_gate();
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto* s : live_) {
      s->close();
    }
  }

  // Configuration and observations (single-threaded: the test's io_context).
  std::string options_response = "ICAP/1.0 200 OK\r\nMethods: REQMOD, RESPMOD\r\n"
                                 "ISTag: \"fake-1\"\r\nPreview: 1024\r\nTransfer-Preview: *\r\n"
                                 "Allow: 204, 206\r\nOptions-TTL: 3600\r\n"
                                 "Encapsulated: null-body=0\r\n\r\n";
  bool reset_on_close = false; // SO_LINGER 0: closing sends RST
  // Hand REQMOD/RESPMOD to the script as soon as the head and some body are in (early answers);
  // the script reads the rest with read_request() if it wants it.
  bool answer_early = false;
  std::vector<received_request> requests; // REQMOD/RESPMOD as the script saw them
  std::size_t options_requests = 0;
  std::size_t connections = 0;
  std::size_t concurrent = 0;
  std::size_t max_concurrent = 0;

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      std::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      if (reset_on_close) {
        socket.set_option(asio::socket_base::linger(true, 0), ec);
      }
      asio::co_spawn(io_, serve(std::move(socket), connections++), asio::detached);
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket, std::size_t index) {
    auto stream = tls_ ? std::make_unique<net::stream>(std::move(socket), tls_)
                       : std::make_unique<net::stream>(std::move(socket));
    std::error_code ec;
    co_await stream->handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      co_return;
    }
    auto s = std::make_unique<session>(*this, std::move(stream), index);
    auto position = live_.insert(live_.end(), s.get());
    ++concurrent;
    max_concurrent = std::max(max_concurrent, concurrent);
    co_await serve_requests(*s);
    --concurrent;
    live_.erase(position);
  }

  asio::awaitable<void> serve_requests(session& s) {
    for (;;) {
      received_request request;
      if (!co_await s.read_request(request, answer_early)) {
        co_return;
      }
      if (request.head.method == "OPTIONS") {
        ++options_requests;
        s.next_message();
        if (!co_await s.send(options_response)) {
          co_return;
        }
        continue;
      }
      if (!co_await respond_(s, request)) {
        requests.push_back(request);
        co_return;
      }
      requests.push_back(request);
      s.next_message();
    }
  }

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  script respond_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::uint16_t port_;
  std::list<session*> live_;
  asio::steady_timer gate_;
  bool gate_open_ = false;
};

// Response texts.
inline std::string icap_204() {
  return "ICAP/1.0 204 No Content\r\nISTag: \"fake-1\"\r\n\r\n";
}
inline std::string icap_100() {
  return "ICAP/1.0 100 Continue\r\n\r\n";
}

// A 200 carrying an HTTP response (a block page or a modified RESPMOD body).
inline std::string icap_200_with_response(int http_status, const std::string& body,
                                          codec::header_list icap_headers = {},
                                          codec::icap_method method = codec::icap_method::reqmod) {
  codec::icap_response_head head;
  head.status = 200;
  head.headers = std::move(icap_headers);
  head.headers.add("ISTag", "\"fake-1\"");
  codec::http_response_head http;
  http.status = http_status;
  http.reason = http_status == 403 ? "Forbidden" : "OK";
  http.headers.add("Content-Type", "text/html");
  codec::string_body_source source(body);
  codec::encapsulated_parts parts;
  parts.response_head = &http;
  parts.body = &source;
  codec::response_options opt;
  opt.request_method = method;
  std::string out;
  REQUIRE(!codec::serialize_to_string(head, parts, opt, out));
  return out;
}

} // namespace icapkit::client::test
