#pragma once
// ICAP and HTTP URIs: icap://, icaps:// (RFC 3507 4.2, ICAPS = TLS from the first byte) and
// http://, https:// (targets of encapsulated requests). Parsed strictly; nothing is resolved.
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

struct uri {
  std::string scheme;        // lowercase: "icap", "icaps", "http" or "https"
  std::string host;          // as written, without the brackets of an IPv6 literal
  bool ipv6_literal = false; // the host was written as "[...]"
  std::uint16_t port = 0;    // the explicit port, else the scheme's default
  bool port_explicit = false;
  std::string path = "/"; // "/" when the URI has no path
  std::string query;      // raw text after '?', without the '?'; empty when absent

  bool tls() const noexcept { return scheme == "icaps" || scheme == "https"; }
  // "host:port", "[::1]:1344": always with the port (what a connection or a log needs).
  std::string authority() const;
  // Path plus "?query" when there is a query: the part after the authority.
  std::string target() const;
  // The URI in normal form: lowercase scheme, the port only when it was written or is not the
  // default, no fragment.
  std::string to_string() const;
  friend bool operator==(const uri&, const uri&) = default;
};

// The scheme's default port (1344 icap, 11344 icaps, 80 http, 443 https), 0 for anything else.
// The scheme is compared case-insensitively.
std::uint16_t default_port(std::string_view scheme) noexcept;

// Parses "scheme://host[:port][/path][?query][#fragment]".
// - The scheme is case-insensitive; icap, icaps, http and https are supported.
// - The host is a name (letters, digits, '-', '.', '_', '~'), a dotted IPv4 address, or an IPv6
//   literal in brackets; a host made only of digits and dots must be a valid IPv4 address.
// - Userinfo ("user@host") is refused: ICAP has no userinfo (RFC 3507 4.2 defines the URI as
//   icap://host[:port]/path) and credentials in a URI end up in logs and request lines.
// - A fragment is dropped: fragments are never sent to a server (RFC 3986 3.5).
// - Path and query may contain any visible ASCII character; spaces, controls and non-ASCII bytes
//   are refused (they must be percent-encoded).
// Errors: bad_uri (shape, userinfo, characters), unsupported_scheme, bad_host, bad_port (not a
// decimal number in 1..65535, or "host:" with an empty port). `out` is only written on success.
std::error_code parse_uri(std::string_view text, uri& out);

// The value of the ICAP Host header (RFC 3507 4.3.2): "host:port" with brackets for IPv6. The
// port is always written, as Squid does, so servers that compare Host with their own address
// and port see both.
std::string host_header_value(const uri& u);

} // namespace icapkit::codec
