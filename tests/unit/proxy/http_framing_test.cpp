#include "icapkit/proxy/http_framing.hpp"

#include "icapkit/proxy/errc.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace codec = icapkit::codec;
namespace proxy = icapkit::proxy;
using proxy::body_framing;
using proxy::errc;

namespace {

using field_list = std::initializer_list<std::pair<const char*, const char*>>;

codec::http_request_head request(field_list fields, codec::version v = {1, 1}) {
  codec::http_request_head head;
  head.method = "POST";
  head.target = "/upload";
  head.http_version = v;
  head.headers.add("Host", "origin.example");
  for (const auto& [name, value] : fields) {
    head.headers.add(name, value);
  }
  return head;
}

codec::http_response_head response(int status, field_list fields) {
  codec::http_response_head head;
  head.status = status;
  for (const auto& [name, value] : fields) {
    head.headers.add(name, value);
  }
  return head;
}

std::error_code request_error(field_list fields, codec::version v = {1, 1}) {
  proxy::framing out;
  return proxy::request_framing(request(fields, v), out);
}

proxy::framing request_ok(field_list fields, codec::version v = {1, 1}) {
  proxy::framing out;
  const auto ec = proxy::request_framing(request(fields, v), out);
  REQUIRE_MESSAGE(!ec, ec.message());
  return out;
}

} // namespace

TEST_CASE("request framing: the ordinary shapes") {
  CHECK(request_ok({}).kind == body_framing::none);
  const auto sized = request_ok({{"Content-Length", "42"}});
  CHECK(sized.kind == body_framing::content_length);
  CHECK(sized.length == 42);
  CHECK(request_ok({{"Content-Length", "0"}}).kind == body_framing::content_length);
  CHECK(request_ok({{"Transfer-Encoding", "chunked"}}).kind == body_framing::chunked);
  CHECK(request_ok({{"transfer-encoding", "Chunked"}}).kind == body_framing::chunked);
  CHECK(request_ok({{"Content-Length", "18446744073709551615"}}).length == 18446744073709551615ull);
  CHECK(request_ok({{"Content-Length", "7"}}, {1, 0}).length == 7);
}

TEST_CASE("request framing: a repeated Content-Length is refused even with equal values") {
  // An origin that reads "5, 5" as 0 (or takes one field of two) desynchronises the pooled
  // upstream connection: icapkit-proxy(1) refuses any repeat.
  CHECK(request_error({{"Content-Length", "5, 5"}}) == errc::bad_content_length);
  CHECK(request_error({{"Content-Length", "5,5"}}) == errc::bad_content_length);
  CHECK(request_error({{"Content-Length", "5"}, {"Content-Length", "5"}}) ==
        errc::bad_content_length);
  CHECK(request_error({{"Content-Length", "5,5"}, {"content-length", "5"}}) ==
        errc::bad_content_length);
  CHECK(request_error({{"Content-Length", "0"}, {"Content-Length", "0"}}) ==
        errc::bad_content_length);
}

TEST_CASE("response framing: an identical repeated Content-Length is accepted (RFC 9110 8.6)") {
  proxy::framing out;
  CHECK_FALSE(proxy::response_framing("GET", response(200, {{"Content-Length", "5, 5"}}), out));
  CHECK(out.kind == body_framing::content_length);
  CHECK(out.length == 5);
  CHECK_FALSE(proxy::response_framing(
      "GET", response(200, {{"Content-Length", "5"}, {"Content-Length", "5"}}), out));
  CHECK(out.length == 5);
}

TEST_CASE("is_valid_request_target: RFC 3986 bytes only") {
  for (const char* target :
       {"/", "/a/b?c=d&e=f", "/%41%7e", "*", "http://h.example:8080/p?q", "http://[::1]:80/",
        "/path;p=1/x@y:z", "/~user/a-b_c.d!$&'()*+,=", "h.example:443", "/?q=a/b?c"}) {
    CAPTURE(target);
    CHECK(proxy::is_valid_request_target(target));
  }
  for (const char* target :
       {"", "/caf\xc3\xa9", "/\x80", "/a b", "/a\tb", "/a\x7f", "/a#frag", "/a<b>", "/a\"b",
        "/a\\b", "/a^b", "/a`b", "/a{b}", "/a|b", "/%", "/%4", "/%zz", "/%4g", "/a\x01"}) {
    CAPTURE(target);
    CHECK_FALSE(proxy::is_valid_request_target(target));
  }
}

TEST_CASE("requests_upgrade: any Upgrade but h2c on HTTP/1.1") {
  auto with_upgrade = [](const char* value, codec::version v = {1, 1}) {
    auto head = request({}, v);
    head.method = "GET";
    head.headers.add("Connection", "Upgrade");
    head.headers.add("Upgrade", value);
    return proxy::requests_upgrade(head);
  };
  CHECK(with_upgrade("websocket"));
  CHECK(with_upgrade("WebSocket"));
  CHECK(with_upgrade("h2c, websocket"));
  CHECK(with_upgrade("TLS/1.2"));
  CHECK_FALSE(with_upgrade("h2c"));
  CHECK_FALSE(with_upgrade("H2C"));
  CHECK_FALSE(with_upgrade(""));
  CHECK_FALSE(with_upgrade("websocket", {1, 0})); // RFC 9110 7.8: ignored in HTTP/1.0
  CHECK_FALSE(proxy::requests_upgrade(request({})));
}

TEST_CASE("request framing: smuggling vectors are refused with their own code") {
  SUBCASE("Content-Length and Transfer-Encoding together") {
    CHECK(request_error({{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}) ==
          errc::conflicting_framing);
    CHECK(request_error({{"Transfer-Encoding", "chunked"}, {"Content-Length", "0"}}) ==
          errc::conflicting_framing);
    // Even when one of the two is itself invalid: the conflict is what matters.
    CHECK(request_error({{"Transfer-Encoding", "gzip"}, {"Content-Length", "x"}}) ==
          errc::conflicting_framing);
  }
  SUBCASE("Content-Length values that differ or are not 1*DIGIT") {
    for (const char* value : {"1, 2", "+5", "-1", " 5x", "", "5x", "0x10", "5 5", "5,", ",5", "1.0",
                              "5;", "18446744073709551616", "99999999999999999999999"}) {
      CAPTURE(value);
      CHECK(request_error({{"Content-Length", value}}) == errc::bad_content_length);
    }
    CHECK(request_error({{"Content-Length", "5"}, {"Content-Length", "6"}}) ==
          errc::bad_content_length);
    CHECK(request_error({{"Content-Length", "5"}, {"Content-Length", ""}}) ==
          errc::bad_content_length);
  }
  SUBCASE("any Transfer-Encoding but a single chunked") {
    for (const char* value :
         {"chunked, chunked", "gzip, chunked", "chunkedx", "identity", "chunked, gzip", "gzip", "",
          "chunked,", ", chunked", "chunked;q=1", "\"chunked\"", "chunked\n chunked"}) {
      CAPTURE(value);
      CHECK(request_error({{"Transfer-Encoding", value}}) == errc::bad_transfer_encoding);
    }
    CHECK(request_error({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}) ==
          errc::bad_transfer_encoding);
    CHECK(request_error({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}) ==
          errc::bad_transfer_encoding);
  }
  SUBCASE("Transfer-Encoding on an HTTP/1.0 request") {
    CHECK(request_error({{"Transfer-Encoding", "chunked"}}, {1, 0}) == errc::bad_transfer_encoding);
  }
}

TEST_CASE("response framing: no body for HEAD, 1xx, 204 and 304") {
  proxy::framing out;
  CHECK_FALSE(proxy::response_framing("HEAD", response(200, {{"Content-Length", "100"}}), out));
  CHECK(out.kind == body_framing::none);
  for (int status : {100, 103, 204, 304}) {
    CAPTURE(status);
    out.kind = body_framing::until_close;
    CHECK_FALSE(proxy::response_framing("GET", response(status, {{"Content-Length", "9"}}), out));
    CHECK(out.kind == body_framing::none);
  }
}

TEST_CASE("response framing: chunked, then Content-Length, then until close") {
  proxy::framing out;
  CHECK_FALSE(
      proxy::response_framing("GET", response(200, {{"Transfer-Encoding", "chunked"}}), out));
  CHECK(out.kind == body_framing::chunked);
  CHECK_FALSE(
      proxy::response_framing("GET", response(200, {{"Transfer-Encoding", "gzip, chunked"}}), out));
  CHECK(out.kind == body_framing::chunked);
  // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
  CHECK_FALSE(proxy::response_framing(
      "GET", response(200, {{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}), out));
  CHECK(out.kind == body_framing::chunked);
  // A final coding other than chunked: the body ends when the upstream closes.
  CHECK_FALSE(proxy::response_framing("GET", response(200, {{"Transfer-Encoding", "gzip"}}), out));
  CHECK(out.kind == body_framing::until_close);
  CHECK_FALSE(proxy::response_framing(
      "GET", response(200, {{"Transfer-Encoding", "chunked, gzip"}, {"Content-Length", "3"}}),
      out));
  CHECK(out.kind == body_framing::until_close);
  CHECK_FALSE(proxy::response_framing("POST", response(404, {{"Content-Length", "12"}}), out));
  CHECK(out.kind == body_framing::content_length);
  CHECK(out.length == 12);
  CHECK_FALSE(proxy::response_framing("GET", response(200, {}), out));
  CHECK(out.kind == body_framing::until_close);
}

TEST_CASE("response framing: unparsable framing headers are errors") {
  proxy::framing out;
  CHECK(proxy::response_framing("GET", response(200, {{"Content-Length", "1, 2"}}), out) ==
        errc::bad_content_length);
  CHECK(proxy::response_framing("GET", response(200, {{"Content-Length", "-1"}}), out) ==
        errc::bad_content_length);
  CHECK(proxy::response_framing("GET", response(200, {{"Transfer-Encoding", ""}}), out) ==
        errc::bad_transfer_encoding);
  CHECK(proxy::response_framing("GET", response(200, {{"Transfer-Encoding", "gz@p, chunked"}}),
                                out) == errc::bad_transfer_encoding);
}

TEST_CASE("strip_hop_by_hop: removes hop-by-hop fields and those Connection names") {
  codec::header_list headers;
  headers.add("Host", "origin.example");
  headers.add("Connection", "keep-alive, X-Secret-Hop");
  headers.add("connection", "Upgrade");
  headers.add("Keep-Alive", "timeout=5");
  headers.add("Proxy-Connection", "keep-alive");
  headers.add("Proxy-Authorization", "Basic Zm9vOmJhcg==");
  headers.add("Proxy-Authenticate", "Basic");
  headers.add("TE", "trailers");
  headers.add("Trailer", "Expires");
  headers.add("Transfer-Encoding", "chunked");
  headers.add("Upgrade", "websocket");
  headers.add("X-Secret-Hop", "1");
  headers.add("x-secret-hop", "2");
  headers.add("Accept", "*/*");
  CHECK_FALSE(proxy::strip_hop_by_hop(headers, {1, 1}));
  REQUIRE(headers.size() == 2);
  CHECK(headers.fields()[0].name == "Host");
  CHECK(headers.fields()[1].name == "Accept");
}

TEST_CASE("strip_hop_by_hop: close per the message's version") {
  auto close_wanted = [](const char* connection, codec::version v) {
    codec::header_list headers;
    headers.add("Host", "a");
    if (connection != nullptr) {
      headers.add("Connection", connection);
    }
    return proxy::strip_hop_by_hop(headers, v);
  };
  CHECK_FALSE(close_wanted(nullptr, {1, 1}));
  CHECK(close_wanted("close", {1, 1}));
  CHECK(close_wanted("Keep-Alive, CLOSE", {1, 1}));
  CHECK_FALSE(close_wanted("keep-alive", {1, 1}));
  CHECK(close_wanted(nullptr, {1, 0}));
  CHECK(close_wanted("close", {1, 0}));
  CHECK_FALSE(close_wanted("Keep-Alive", {1, 0}));
  CHECK(close_wanted("keep-alive, close", {1, 0}));
}

TEST_CASE("add_forwarding_headers: Via and X-Forwarded-For chains") {
  codec::header_list fresh;
  proxy::add_forwarding_headers(fresh, {1, 1}, "192.0.2.7");
  CHECK(fresh.get("Via") == "1.1 icapkit");
  CHECK(fresh.get("X-Forwarded-For") == "192.0.2.7");

  codec::header_list chained;
  chained.add("Via", "1.0 fred, 1.1 p.example");
  chained.add("X-Forwarded-For", "203.0.113.9");
  chained.add("via", "1.1 edge");
  chained.add("X-Forwarded-For", "198.51.100.2");
  proxy::add_forwarding_headers(chained, {1, 0}, "2001:db8::1", "lab-proxy");
  CHECK(chained.count("Via") == 1);
  CHECK(chained.get("Via") == "1.0 fred, 1.1 p.example, 1.1 edge, 1.0 lab-proxy");
  CHECK(chained.count("X-Forwarded-For") == 1);
  CHECK(chained.get("X-Forwarded-For") == "203.0.113.9, 198.51.100.2, 2001:db8::1");

  codec::header_list no_address;
  proxy::add_forwarding_headers(no_address, {1, 1}, "");
  CHECK(no_address.get("Via") == "1.1 icapkit");
  CHECK_FALSE(no_address.contains("X-Forwarded-For"));
}
