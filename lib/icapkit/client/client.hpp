#pragma once
// The ICAP client facade: OPTIONS (cached per Options-TTL) and REQMOD/RESPMOD exchanges over pooled
// connections, each exchange producing a verdict and a filled icap_log request record. What
// `icapkit scan`, `icapkit options`, the proxy and the load tester call.
#include "icapkit/client/body_sink.hpp"
#include "icapkit/client/service_options.hpp"
#include "icapkit/client/verdict.hpp"
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/log/enums.hpp"
#include "icapkit/log/icap_log.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/net/errc.hpp"
#include "icapkit/net/tls.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::client {

namespace detail {
class client_core;
}

// What a profile or the command line decides. Not an aggregate on purpose (g++ 12 bug with
// aggregate temporaries inside co_await, see net/tls.hpp): set fields one by one.
struct client_settings {
  client_settings() = default;
  log::icap_vendor vendor = log::icap_vendor::opswat;
  bool enable_preview = true;
  std::uint64_t preview_size = 5000; // profile cap (Avi 0..5000)
  // --preview N: used as is, still capped by the server's OPTIONS Preview when it sent one.
  std::optional<std::uint64_t> preview_override;
  bool allow_204 = true;  // "Allow: 204": a 204 means the original passes, nothing to replay
  bool allow_206 = false; // "Allow: 206" when the server's OPTIONS allows 206 too
  std::chrono::milliseconds connect_timeout{5000};
  // No byte moved in either direction for this long (a server scanning counts as idle).
  std::chrono::milliseconds io_timeout{30000};
  // Whole exchange after OPTIONS: pool wait, connect, send, response (and OPTIONS on its own).
  std::chrono::milliseconds response_timeout{60000};
  std::chrono::milliseconds slow_threshold{10000};
  net::tls_options tls;            // for icaps:// services (enabled is implied by the scheme)
  codec::header_list icap_headers; // -H: extra ICAP request headers
  std::optional<std::string> x_client_ip; // X-Client-IP ICAP header
  std::string user_agent = "icapkit";
  std::size_t max_connections_per_server = 4; // further capped by OPTIONS Max-Connections
  // false: every exchange on a new connection, closed after it ("Connection: close" is sent).
  bool keep_alive = true;
  // A reused pooled connection that fails before any response byte (the server closed or reset
  // it while idle) is retried once on a new connection, when the body can be produced again.
  // false: that failure is the exchange's result (connection_reused set), as `icapkit load`
  // wants: a load test counts every failure the server caused.
  bool retry_dead_idle = true;
  std::string nsx_status_url = "https://user.lastline.com/portal#/analyst/task/$uuid/overview";
  std::optional<std::string> pool_name;
  std::optional<std::string> pool_uuid;
  std::size_t piece_size = 64 * 1024; // bytes per write and per read buffer
  // false: no OPTIONS before exchanges (preview = preview_override, else preview_size when
  // enable_preview; Allow as set; no Transfer-*); for servers without a working OPTIONS.
  bool fetch_options = true;
  classify_policy policy;
};

// One REQMOD or RESPMOD exchange. Not an aggregate on purpose (see client_settings).
struct exchange_request {
  exchange_request() = default;
  codec::icap_method method = codec::icap_method::reqmod; // reqmod or respmod
  codec::uri service;                                     // icap:// or icaps://
  std::optional<codec::http_request_head> http_request;   // req-hdr
  std::optional<codec::http_response_head> http_response; // res-hdr (RESPMOD)
  codec::body_source* body = nullptr; // nullptr: null-body; must outlive the exchange
  // For a body still arriving (a proxy streaming its client's upload): called when the body
  // source would block (read() sets std::errc::operation_would_block); returns when it may have
  // more bytes (or has ended). It must return within a short time (~100 ms) even with nothing
  // new: between calls the writer notices an early answer (204 in preview, a block page) and
  // stops. Each return counts as progress for settings.io_timeout, so one call that hangs for
  // io_timeout fails the exchange; the whole exchange stays bounded by response_timeout. Also
  // awaited while the 206 merge rereads the body through reopen_body. Empty: a source that would
  // block fails the exchange (operation_would_block), as a source error.
  std::function<asio::awaitable<void>()> body_ready;
  // For 206 use-original-body=N: a fresh source of the same body (the original is consumed).
  std::function<std::unique_ptr<codec::body_source>()> reopen_body;
  std::string file_extension; // "pdf" or ".pdf": Transfer-Preview/Ignore/Complete decisions
  // Receives the body the server returned (200 with a body, 206 merged with the original), piece
  // by piece; finish() after its end. Nothing is written on 204. Whether it differs from what
  // was sent is exchange_result::content_changed. May be null.
  body_sink* content_sink = nullptr;
  // false: exchange_result::record stays empty, the rest of the result is the same. For callers
  // that log no record of this exchange (the load tester's requests outside its sample).
  bool want_record = true;
  // When set, the exchange (its OPTIONS included) ends by then at the latest, even when
  // settings.response_timeout would allow longer: a caller's budget over several attempts.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// The parts of an exchange a deadline can fire in, in order.
enum class exchange_phase {
  options,  // the OPTIONS request sent first (not from the cache)
  pool,     // waiting for a free connection slot (Max-Connections)
  connect,  // name resolution and the TCP connect of a new connection
  tls,      // the TLS handshake of a new icaps:// connection
  send,     // sending the request (headers, body before or without a preview)
  preview,  // the preview was sent; waiting for the server's 100, 204 or final answer
  response, // the request was sent; waiting for (or reading) the response
};
std::string_view to_string(exchange_phase phase) noexcept;

// Where an exchange's time went. A phase that did not happen is unset: no connect or TLS on a
// reused connection, no OPTIONS when it came from the cache, no preview decision without a
// preview (or when the server answered before the preview ended).
struct exchange_timings {
  std::optional<std::chrono::microseconds> options;
  std::optional<std::chrono::microseconds> connect;
  std::optional<std::chrono::microseconds> tls;
  // From the preview's last chunk ("0" or "0; ieof") to the 100 Continue or final answer.
  std::optional<std::chrono::microseconds> preview_decision;
};

struct exchange_result {
  verdict result;                            // outcome, reason, threat, violations, ...
  log::icap_request_log record;              // filled, action set (unless !want_record)
  log::significance_conditions significance; // action, slow, timed_out, connection/server error
  std::optional<codec::icap_response_head> icap_response; // the final response (not a 100)
  std::optional<codec::http_request_head> returned_request;
  std::optional<codec::http_response_head> returned_response;
  net::error_info error;     // set when the exchange failed: net code, or codec errc + detail
  std::string error_message; // one line for a user ("connection refused by 127.0.0.1:1344")
  std::chrono::milliseconds latency{0};
  bool slow = false;      // latency above settings.slow_threshold (still a result)
  bool timed_out = false; // a connect, I/O or response deadline fired
  // The phase the exchange failed in (set with any error, timeouts included).
  std::optional<exchange_phase> failed_in;
  exchange_timings timings;
  std::uint64_t body_bytes_sent = 0;     // body bytes written (preview included)
  std::uint64_t returned_body_bytes = 0; // body bytes written to the sink (206 merge included)
  bool got_100 = false;
  bool decided_in_preview = false; // the server answered the preview without 100 Continue
  bool content_changed = false;    // returned heads or body differ from what was sent
  bool not_sent = false; // Transfer-Ignore listed the extension: passed without an exchange
  bool connection_reused = false;
  // The body source failed (the caller's input: a client that went away, a file that could not
  // be read), not the server: `error` holds the source's code.
  bool body_failed = false;
  std::optional<std::uint64_t> preview_sent; // the Preview value used, if any
};

// The answer to OPTIONS. `options` is set only for a usable 200.
struct options_reply {
  std::optional<service_options> options;
  std::optional<codec::icap_response_head> response; // unset when none arrived
  net::error_info error;     // net code, codec errc, or empty for a non-200 status
  std::string error_message; // set on any failure: "OPTIONS answered 404 Service not found"
  std::chrono::milliseconds latency{0};
  bool from_cache = false;
  bool connection_reused = false; // the OPTIONS went out on a pooled connection
  bool ok() const noexcept { return options.has_value(); }
};

// Not thread-safe: use one client per thread (io_context), or drive it from one strand.
class client {
public:
  client(asio::any_io_executor executor, client_settings settings);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // OPTIONS for the service (Encapsulated: null-body=0, as c-icap-client sends), from the
  // cache when use_cache and not expired. Never throws for peer behaviour: failures are in the
  // reply (connect/TLS/timeout net codes, codec errc for garbage, a non-200 status).
  asio::awaitable<options_reply> options(const codec::uri& service, bool use_cache = true);

  // One REQMOD/RESPMOD exchange, OPTIONS first when settings.fetch_options (cached). Every peer
  // failure yields a result with verdict failed and a record with action ICAP_FAILED.
  asio::awaitable<exchange_result> exchange(exchange_request request);

  // Closes every idle pooled connection.
  void close_idle();
  const client_settings& settings() const noexcept;

private:
  std::unique_ptr<detail::client_core> core_;
};

} // namespace icapkit::client
