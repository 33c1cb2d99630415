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
};

// Handles ctx.head (already read) to the end of its response and writes its record. Returns
// whether the connection may carry another request.
asio::awaitable<bool> handle_request(request_context& ctx);

// Answers with a small text/plain page; `close` adds Connection: close. Sets the record's
// response_code; a 4xx/5xx counts as an http_error unless !proxy_error (a rule's answer).
// Returns false when the write failed.
asio::awaitable<bool> send_simple(request_context& ctx, int status, std::string_view text,
                                  bool close, bool proxy_error = true);

// Writes the request's record (fills timing-independent fields first).
void finish_record(request_context& ctx);

// Starts the record of a request whose head was read (or failed to be read).
void begin_record(request_context& ctx);

} // namespace icapkit::proxy::detail
