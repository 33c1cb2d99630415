#pragma once
// How an HTTP/1.1 message body is delimited (RFC 9112 6), decided from its head alone, with the
// request-smuggling rules a proxy must enforce: a request carrying both Content-Length and
// Transfer-Encoding, several different Content-Length values, or any coding but a final
// "chunked" is refused rather than guessed at. Pure functions: no I/O.
#include "icapkit/codec/message.hpp"

#include <cstdint>
#include <string_view>
#include <system_error>

namespace icapkit::proxy {

enum class body_framing {
  none,           // no body (GET without framing headers, HEAD responses, 1xx/204/304)
  content_length, // exactly `length` bytes
  chunked,        // chunked coding; the decoded bytes are the body
  until_close,    // responses only: the body ends when the upstream closes
};

struct framing {
  body_framing kind = body_framing::none;
  std::uint64_t length = 0; // for content_length
};

// A request's framing. Errors (proxy::errc): conflicting_framing (both headers),
// bad_content_length (not 1*DIGIT, beyond 64 bits, an empty list member, or more than one
// value: two fields or a list, identical values included, since an origin may read "5, 5" as
// something else and desynchronise the connection behind the proxy),
// bad_transfer_encoding (any coding but exactly one "chunked", case-insensitive; "chunked,
// chunked", "gzip, chunked" and "chunked," included; and any Transfer-Encoding on HTTP/1.0).
std::error_code request_framing(const codec::http_request_head& head, framing& out);

// A response's framing for a request with `request_method`: none for HEAD, 1xx, 204, 304;
// chunked when the final coding is chunked; else Content-Length; else until_close. Errors:
// bad_content_length, bad_transfer_encoding (a coding list not ending in chunked is framed by
// close, as RFC 9112 6.3 says, so only an unparsable list is an error). Transfer-Encoding
// overrides Content-Length; empty list members are ignored; a repeated identical Content-Length
// is accepted (RFC 9110 8.6).
std::error_code response_framing(std::string_view request_method,
                                 const codec::http_response_head& head, framing& out);

// Whether `target` has only the bytes a request-target may hold (RFC 9112 3.2, RFC 3986):
// unreserved, sub-delims, ":", "@", "/", "?", "[", "]" and "%" followed by two hex digits. Never
// empty; no space, CTL, non-ASCII byte, fragment ("#"), or any of < > " \ ^ ` { | }.
bool is_valid_request_target(std::string_view target) noexcept;

// Whether an HTTP/1.1 request asks to switch protocols (RFC 9110 7.8) to anything but h2c: the
// proxy does not tunnel upgraded connections and refuses such requests (501). An h2c offer is
// ignored, as a server may (the client keeps speaking HTTP/1.1 until it sees a 101); an Upgrade
// on HTTP/1.0 is ignored as RFC 9110 7.8 requires.
bool requests_upgrade(const codec::http_request_head& head);

// Hop-by-hop fields (RFC 9110 7.6.1): Connection and every field it names, Keep-Alive,
// Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding,
// Upgrade. Removes them from `headers` and returns whether the message asked to close
// ("Connection: close" for HTTP/1.1; absence of "Connection: keep-alive" for HTTP/1.0).
bool strip_hop_by_hop(codec::header_list& headers, codec::version message_version);

// Appends this hop to Via ("1.1 icapkit", after any existing value) and the client address to
// X-Forwarded-For (after any existing value, as a chain "a, b"); repeated fields are merged into
// one. An empty client_ip adds no X-Forwarded-For.
void add_forwarding_headers(codec::header_list& headers, codec::version received_version,
                            std::string_view client_ip, std::string_view via_name = "icapkit");

} // namespace icapkit::proxy
