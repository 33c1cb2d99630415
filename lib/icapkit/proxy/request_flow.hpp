#pragma once
// One proxied request, from its parsed head to the last byte of its response: security rule,
// body holding and buffer_size, the ICAP step, the upstream exchange, the optional RESPMOD scan,
// and the application-log record. Internal to the proxy.
#include "icapkit/config/ip_address.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/proxy/http_reader.hpp"
#include "icapkit/proxy/proxy_state.hpp"

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace icapkit::proxy::detail {

struct client_info {
  std::string ip; // "127.0.0.1", "::1"
  std::uint16_t port = 0;
  std::optional<config::ip_address> address;
  bool tls = false;
};

struct request_context {
  request_context(proxy_state& s, worker& w, net::stream& c, http_reader& r)
      : state(s), owner(w), client(c), reader(r), writer(c) {}
  proxy_state& state;
  worker& owner;
  net::stream& client;
  http_reader& reader;
  http_writer writer;
  client_info peer;
  codec::http_request_head head;
  log::app_log_record record;
  std::chrono::steady_clock::time_point started{};
  bool close_after = false;      // the connection ends after this response
  bool response_started = false; // bytes of a response went out: no error page possible
  std::uint64_t head_bytes = 0;
  std::vector<log::icap_request_log> final_actions; // one per ICAP step, action only
  std::string refused; // why the proxy refused the request itself (smuggling, bad head, ...)
};

// Handles ctx.head (already read) to the end of its response and writes its record. Returns
// whether the connection may carry another request.
asio::awaitable<bool> handle_request(request_context& ctx);

// Answers with a small text/plain page; `close` adds Connection: close. Sets the record's
// response_code once the status line went out (a client that got nothing, or an earlier status,
// is recorded as such); a 4xx/5xx counts as an http_error unless !proxy_error (a rule's answer).
// Returns false when the write failed or a response had already started.
asio::awaitable<bool> send_simple(request_context& ctx, int status, std::string_view text,
                                  bool close, bool proxy_error = true);

// The proxy refuses the request on its own (a smuggling attempt, a head it cannot parse, a
// stalled client, a tunnel it does not open): answers `status` with `reason` and closes, and
// marks the record significant with the reason (finish_record writes the sentence).
asio::awaitable<void> refuse(request_context& ctx, int status, std::string_view reason);

// The client's request body could not be read (`ec`): the connection closes after this request,
// and a timeout is answered 408, bad chunked framing or a body cut short 400 (anything else, such
// as the client gone, gets no answer), as a refusal.
asio::awaitable<void> refuse_unreadable_body(request_context& ctx, std::error_code ec);

} // namespace icapkit::proxy::detail
