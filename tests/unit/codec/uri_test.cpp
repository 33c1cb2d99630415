#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/uri.hpp"

#include <doctest/doctest.h>

using namespace icapkit::codec;

namespace {

uri parse_ok(std::string_view text) {
  uri u;
  auto ec = parse_uri(text, u);
  INFO(text);
  REQUIRE_FALSE(ec);
  return u;
}

std::error_code parse_error(std::string_view text) {
  uri u;
  return parse_uri(text, u);
}

} // namespace

TEST_CASE("uri: icap URI with the default port") {
  auto u = parse_ok("icap://icap.example.net/avscan");
  CHECK(u.scheme == "icap");
  CHECK(u.host == "icap.example.net");
  CHECK_FALSE(u.ipv6_literal);
  CHECK(u.port == 1344);
  CHECK_FALSE(u.port_explicit);
  CHECK(u.path == "/avscan");
  CHECK(u.query.empty());
  CHECK_FALSE(u.tls());
  CHECK(u.authority() == "icap.example.net:1344");
  CHECK(host_header_value(u) == "icap.example.net:1344");
  CHECK(u.to_string() == "icap://icap.example.net/avscan");
}

TEST_CASE("uri: default ports per scheme, scheme case-insensitive") {
  CHECK(parse_ok("icaps://h/s").port == 11344);
  CHECK(parse_ok("icaps://h/s").tls());
  CHECK(parse_ok("http://h/").port == 80);
  CHECK(parse_ok("https://h/").port == 443);
  CHECK(parse_ok("https://h/").tls());
  auto u = parse_ok("ICAPS://Scanner.Example:11345/OMSScanReq-AV");
  CHECK(u.scheme == "icaps");
  CHECK(u.host == "Scanner.Example");
  CHECK(u.port == 11345);
  CHECK(u.port_explicit);
  CHECK(u.to_string() == "icaps://Scanner.Example:11345/OMSScanReq-AV");
  CHECK(default_port("ICAP") == 1344);
  CHECK(default_port("ftp") == 0);
}

TEST_CASE("uri: an explicit default port is kept in to_string, always in Host") {
  auto u = parse_ok("icap://127.0.0.1:1344/avscan");
  CHECK(u.port_explicit);
  CHECK(u.to_string() == "icap://127.0.0.1:1344/avscan");
  CHECK(host_header_value(parse_ok("icap://127.0.0.1/avscan")) == "127.0.0.1:1344");
  CHECK(host_header_value(parse_ok("icap://127.0.0.1:13440/avscan")) == "127.0.0.1:13440");
}

TEST_CASE("uri: path defaults to / and the query is kept raw") {
  auto u = parse_ok("icap://icap.net");
  CHECK(u.path == "/");
  CHECK(u.to_string() == "icap://icap.net/");
  u = parse_ok("icap://icap.net/service?mode=translate&lang=french");
  CHECK(u.path == "/service");
  CHECK(u.query == "mode=translate&lang=french");
  CHECK(u.target() == "/service?mode=translate&lang=french");
  CHECK(u.to_string() == "icap://icap.net/service?mode=translate&lang=french");
  u = parse_ok("icap://icap.net?x=%20y");
  CHECK(u.path == "/");
  CHECK(u.query == "x=%20y");
}

TEST_CASE("uri: a fragment is dropped") {
  auto u = parse_ok("icap://h/svc?a=1#section");
  CHECK(u.path == "/svc");
  CHECK(u.query == "a=1");
  CHECK(u.to_string() == "icap://h/svc?a=1");
  CHECK(parse_ok("icap://h#x").path == "/");
}

TEST_CASE("uri: IPv6 literals keep brackets out of the host") {
  auto u = parse_ok("icap://[::1]/avscan");
  CHECK(u.host == "::1");
  CHECK(u.ipv6_literal);
  CHECK(u.port == 1344);
  CHECK(u.authority() == "[::1]:1344");
  CHECK(host_header_value(u) == "[::1]:1344");
  CHECK(u.to_string() == "icap://[::1]/avscan");

  u = parse_ok("icaps://[2001:db8::17]:11345/x?y");
  CHECK(u.host == "2001:db8::17");
  CHECK(u.port == 11345);
  CHECK(u.to_string() == "icaps://[2001:db8::17]:11345/x?y");
  CHECK(parse_ok("icap://[::ffff:192.0.2.1]/").host == "::ffff:192.0.2.1");
  CHECK(parse_ok("icap://[1:2:3:4:5:6:7:8]/").host == "1:2:3:4:5:6:7:8");
  CHECK(parse_ok("icap://[fe80::]/").host == "fe80::");
}

TEST_CASE("uri: bad URIs are refused with their codes") {
  CHECK(parse_error("") == errc::bad_uri);
  CHECK(parse_error("icap.example.net/avscan") == errc::bad_uri);
  CHECK(parse_error("icap:/h/avscan") == errc::bad_uri);
  CHECK(parse_error("1cap://h/") == errc::bad_uri);
  CHECK(parse_error(" icap://h/") == errc::bad_uri);
  CHECK(parse_error("icap://h/a b") == errc::bad_uri);
  CHECK(parse_error("icap://h/\x01") == errc::bad_uri);
  CHECK(parse_error("icap://h/caf\xc3\xa9") == errc::bad_uri);
  // ICAP has no userinfo; credentials in URIs end up in logs.
  CHECK(parse_error("icap://user:pw@h/avscan") == errc::bad_uri);
  CHECK(parse_error("icap://user@[::1]/avscan") == errc::bad_uri);

  CHECK(parse_error("ftp://h/") == errc::unsupported_scheme);
  CHECK(parse_error("icapx://h/") == errc::unsupported_scheme);

  CHECK(parse_error("icap:///avscan") == errc::bad_host);
  CHECK(parse_error("icap://:1344/avscan") == errc::bad_host);
  CHECK(parse_error("icap://[::1/avscan") == errc::bad_host);
  CHECK(parse_error("icap://::1/avscan") == errc::bad_host);
  CHECK(parse_error("icap://[::1]x/") == errc::bad_host);
  CHECK(parse_error("icap://[]/") == errc::bad_host);
  CHECK(parse_error("icap://[1::2::3]/") == errc::bad_host);
  CHECK(parse_error("icap://[12345::]/") == errc::bad_host);
  CHECK(parse_error("icap://[1:2:3:4:5:6:7:8:9]/") == errc::bad_host);
  CHECK(parse_error("icap://[1:2:3]/") == errc::bad_host);
  CHECK(parse_error("icap://[::1%25eth0]/") == errc::bad_host);
  CHECK(parse_error("icap://h]/") == errc::bad_host);
  CHECK(parse_error("icap://999.1.1.1/") == errc::bad_host);
  CHECK(parse_error("icap://1.2.3/") == errc::bad_host);
  CHECK(parse_error("icap://ho%73t/") == errc::bad_host);

  CHECK(parse_error("icap://h:0/") == errc::bad_port);
  CHECK(parse_error("icap://h:65536/") == errc::bad_port);
  CHECK(parse_error("icap://h:123456/") == errc::bad_port);
  CHECK(parse_error("icap://h:13x/") == errc::bad_port);
  CHECK(parse_error("icap://h:-1/") == errc::bad_port);
  CHECK(parse_error("icap://h:/") == errc::bad_port);
  CHECK(parse_error("icap://[::1]:/") == errc::bad_port);
  CHECK(parse_ok("icap://h:65535/").port == 65535);
}

TEST_CASE("uri: a failed parse leaves the output untouched") {
  uri u = parse_ok("icap://keep/me");
  CHECK(parse_uri("icap://h:99999/", u) == errc::bad_port);
  CHECK(u.host == "keep");
  CHECK(u.path == "/me");
}
