#pragma once
// Relaying an answer to the proxy's client: the upstream's response as is, or held and checked by
// RESPMOD when the worker has a response profile (buffer_size, then the ICAP decision carried
// out), and the answers the proxy builds from a spool (an ICAP block page, a rewritten body).
// Internal to the proxy.
#include "icapkit/codec/body_spool.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/proxy/enforcement.hpp" // the RESPMOD step
#include "icapkit/proxy/http_framing.hpp"
#include "icapkit/proxy/request_flow.hpp"
#include "icapkit/proxy/upstream.hpp"

#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace icapkit::proxy::detail {

// Replaces any Transfer-Encoding by Content-Length: `length`.
void set_content_length(codec::header_list& headers, std::uint64_t length);

// The response's framing toward the client (chunked, or close-delimited for HTTP/1.0), its
// Connection and Via fields; returns whether the body goes out chunked.
bool prepare_client_response(request_context& ctx, codec::http_response_head& head,
                             const framing& body);

// Sends `head` with the spool's bytes (none when null) and a Content-Length.
asio::awaitable<bool> send_spooled(request_context& ctx, codec::http_response_head head,
                                   const codec::body_spool* body);

// The upstream's response to one request, carried to the client. The collaborators are the
// request's: its context, the upstream it came from, the origin-form target it was sent with
// (the RESPMOD request), and its significance conditions (RESPMOD adds to them).
struct response_relay {
  request_context& ctx;
  const upstream_target& target;
  const std::string& origin_form;
  log::significance_conditions& significance;

  // Relays `response`, through RESPMOD when a response profile applies and it has a body.
  asio::awaitable<bool> relay(upstream_response response);

private:
  const config::icap_profile* response_profile() const;
  // Relays the upstream's body; `prefix` holds bytes of it already read (a spool).
  asio::awaitable<bool> relay_as_is(upstream_response response,
                                    std::unique_ptr<codec::body_source> prefix);
  asio::awaitable<bool> scan_response(upstream_response response,
                                      const config::icap_profile& profile);
};

} // namespace icapkit::proxy::detail
