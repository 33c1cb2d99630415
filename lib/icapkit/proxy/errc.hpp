#pragma once
// Errors of the enforcing proxy's HTTP side: what a client or an upstream sent that the proxy
// refuses, and which status the client gets for it.
#include <string_view>
#include <system_error>

namespace icapkit::proxy {

enum class errc {
  conflicting_framing = 1, // both Content-Length and Transfer-Encoding (smuggling): 400
  bad_content_length,      // invalid, negative, or more than one value: 400
  bad_transfer_encoding,   // a coding other than a final "chunked": 400 (501 is not safer)
  bad_chunked_body,        // the chunked framing broke: 400
  header_too_large,        // head bytes or field count over the limit: 431
  bad_request,             // any other unparsable request head: 400
  body_too_large,          // body longer than the proxy accepts at all: 413
  unsupported_version,     // HTTP/2 preface or a version other than 1.0/1.1: 505
  missing_host,            // HTTP/1.1 without Host, or no upstream for an origin-form target: 400
  bad_upstream_response,   // the upstream's answer was unparsable: 502
  upstream_unreachable,    // connect failed: 502
  upstream_timeout,        // the upstream did not answer in time: 504
  client_timeout,          // the client was too slow sending its head or body: 408
  truncated_body,          // a peer closed before the head's or the body's end: 400
  bad_request_target,      // a request-target byte outside RFC 3986 (non-ASCII, space, ...): 400
  upgrade_not_supported,   // Upgrade to a protocol other than h2c (WebSocket): 501
  connect_not_supported,   // CONNECT: the proxy does not open tunnels: 501
};

const std::error_category& proxy_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// "conflicting_framing", ...
std::string_view errc_name(errc e) noexcept;
// The HTTP status the client gets for the error: 400, 408, 413, 431, 501, 502, 504, 505; 500 for a
// value outside the enumeration.
int status_for(errc e) noexcept;

} // namespace icapkit::proxy

template <>
struct std::is_error_code_enum<icapkit::proxy::errc> : std::true_type {};
