#pragma once
// The proxy's side toward the origin: keep-alive connections per (host, port, TLS), one request
// at a time on each. An idle connection the origin closed is found before a request is written on
// it; a request goes out a second time, on a new connection, only when the first connection failed
// before any byte of it was written, or when it is idempotent and its body can be produced again
// (upstream_client::send has the rules).
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/net/errc.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/net/tls.hpp"
#include "icapkit/proxy/http_framing.hpp"
#include "icapkit/proxy/http_reader.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace icapkit::proxy {

struct upstream_target {
  std::string host; // name or IP literal, without brackets
  std::uint16_t port = 80;
  bool tls = false;
  friend auto operator<=>(const upstream_target&, const upstream_target&) = default;
};

// A body to send, piece by piece; an empty piece is the end.
class outgoing_body {
public:
  virtual ~outgoing_body() = default;
  virtual asio::awaitable<std::string_view> next(std::error_code& ec) = 0;
};

// Reads a synchronous body source (a spool reader, a string) through a fixed buffer.
class source_body final : public outgoing_body {
public:
  explicit source_body(std::unique_ptr<codec::body_source> source, std::size_t piece = 64 * 1024)
      : source_(std::move(source)), buffer_(piece) {}
  asio::awaitable<std::string_view> next(std::error_code& ec) override;

private:
  std::unique_ptr<codec::body_source> source_;
  std::vector<char> buffer_;
};

// The rest of a body still arriving from the client, after an optional already-held prefix.
class client_body final : public outgoing_body {
public:
  client_body(http_reader& reader, std::unique_ptr<codec::body_source> prefix = nullptr);
  asio::awaitable<std::string_view> next(std::error_code& ec) override;
  bool client_failed() const noexcept { return client_failed_; }

private:
  http_reader& reader_;
  std::unique_ptr<codec::body_source> prefix_;
  std::vector<char> buffer_;
  bool client_failed_ = false;
};

// The upstream's answer: its head is read, the body is still on the connection.
struct upstream_response {
  std::unique_ptr<net::stream> stream;
  std::unique_ptr<http_reader> reader;
  codec::http_response_head head;
  framing body;
  upstream_target target;
  bool upstream_wants_close = false;
};

struct upstream_settings {
  upstream_settings() = default; // not an aggregate: g++ 12 co_await bug (see net/tls.hpp)
  net::tls_options tls;          // for https targets (enabled per target)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds io_timeout{30000};       // no progress while sending or reading
  std::chrono::milliseconds response_timeout{60000}; // the response head, after the request
  std::chrono::milliseconds keep_idle{15000};        // idle connections older than this close
  // Idle connections kept per target; giving back one more closes the oldest. Bounds the open
  // files when requests that never take an idle connection (reuse_for_unsafe_methods off) give
  // theirs back.
  std::size_t max_idle_per_target = 32;
  // False: a non-idempotent request (POST, ...) always goes on a new connection. A peer may close
  // a kept-alive connection just after a response, before its FIN arrives; a request written then
  // is lost and, if non-idempotent, not sent again. A client that must not lose one to that race
  // (replay) trades the reuse for certainty; the proxy keeps reusing.
  bool reuse_for_unsafe_methods = true;
  codec::limits limits;
};

struct send_failure {
  std::error_code code;     // proxy errc: upstream_unreachable, upstream_timeout, ...
  std::string message;      // one line for the log and the 502 page
  bool body_failed = false; // the body (the client) failed, not the upstream
};

// What one upstream_client::send did, on success and on failure, for the record and /stats.
struct send_report {
  std::uint32_t attempts = 0;       // connections the request was tried on (a failed connect too)
  std::vector<std::string> retries; // why each attempt after the first was made (attempts - 1)
  std::uint32_t stale_closed = 0;   // idle connections found closed by the origin and discarded
};

// RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE (methods are case-sensitive).
bool is_idempotent(std::string_view method) noexcept;

// Not thread-safe: one per worker.
class upstream_client {
public:
  upstream_client(asio::any_io_executor executor, upstream_settings settings);
  ~upstream_client();
  upstream_client(const upstream_client&) = delete;
  upstream_client& operator=(const upstream_client&) = delete;

  // Sends `head` (serialized as is: the caller sets Content-Length or Transfer-Encoding) and the
  // body `make_body` gives (null: no body; `chunked`: written as chunks), then reads the response
  // head. An idle connection is taken only after a non-blocking check that the origin has not
  // closed it (or sent bytes unasked); such connections are closed (report.stale_closed). The
  // request goes out at most twice, the second time on a new connection, and only when the first
  // connection closed or reset before the first byte of the response and either
  //   - none of the request had been written (any method; the same body object is used), or
  //   - the method is idempotent and `make_body` gives the body again (a second call returning
  //     null means the body cannot be replayed: a streamed client body).
  // A timeout, a failed connect, an unusable response or a failure after the first response byte
  // is never retried; a non-idempotent request some of which was written is never sent twice.
  // On failure returns nullopt with `failure` saying why in one line.
  asio::awaitable<std::optional<upstream_response>>
  send(const upstream_target& target, const codec::http_request_head& head, bool chunked,
       const std::function<std::unique_ptr<outgoing_body>()>& make_body, send_failure& failure,
       send_report& report);

  // Gives the connection back after its body was relayed completely; kept when reusable.
  void release(upstream_response response, bool reusable);
  // Closes every idle connection.
  void close_idle() noexcept { idle_.clear(); }
  // Idle connections kept for `target`.
  std::size_t idle_count(const upstream_target& target) const {
    const auto found = idle_.find(target);
    return found == idle_.end() ? 0 : found->second.size();
  }

private:
  // An idle connection still usable (unless !allow_idle), else a new one.
  asio::awaitable<std::unique_ptr<net::stream>> connect(const upstream_target& target,
                                                        bool allow_idle, send_failure& failure,
                                                        bool& reused, send_report& report);

  struct idle_connection {
    std::unique_ptr<net::stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  asio::any_io_executor executor_;
  upstream_settings settings_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::map<upstream_target, std::deque<idle_connection>> idle_;
};

} // namespace icapkit::proxy
