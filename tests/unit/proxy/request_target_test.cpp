#include "icapkit/proxy/request_target.hpp"

#include <doctest/doctest.h>

#include <string>

using icapkit::proxy::upstream_target;
using icapkit::proxy::detail::split_absolute;
using icapkit::proxy::detail::target_of;

TEST_CASE("request_target: an absolute-form target gives host, port, origin-form and authority") {
  upstream_target t;
  std::string origin;
  std::string authority;
  REQUIRE(split_absolute("http://app.example:8080/a/b?x=1", t, origin, &authority));
  CHECK(t.host == "app.example");
  CHECK(t.port == 8080);
  CHECK_FALSE(t.tls);
  CHECK(origin == "/a/b?x=1");
  CHECK(authority == "app.example:8080");

  REQUIRE(split_absolute("https://user:pw@[::1]", t, origin, &authority));
  CHECK(t.host == "::1");
  CHECK(t.port == 443);
  CHECK(t.tls);
  CHECK(origin == "/");
  CHECK(authority == "[::1]"); // without userinfo

  REQUIRE(split_absolute("http://app.example?q", t, origin));
  CHECK(t.port == 80);
  CHECK(origin == "/?q");
}

TEST_CASE("request_target: anything else is not an absolute-form target") {
  upstream_target t;
  std::string origin;
  CHECK_FALSE(split_absolute("/path", t, origin));
  CHECK_FALSE(split_absolute("ftp://host/", t, origin));
  CHECK_FALSE(split_absolute("http:///path", t, origin));       // no host
  CHECK_FALSE(split_absolute("http://host:0/", t, origin));     // port 0
  CHECK_FALSE(split_absolute("http://host:65536/", t, origin)); // port too big
  CHECK_FALSE(split_absolute("http://host:8x/", t, origin));    // not a number
  CHECK_FALSE(split_absolute("http://[::1/", t, origin));       // unclosed bracket
  CHECK_FALSE(split_absolute("http://[::1]junk/", t, origin));  // junk after the bracket
}

TEST_CASE("request_target: the configured upstream's port defaults by scheme") {
  icapkit::codec::uri u;
  u.scheme = "https";
  u.host = "origin.example";
  auto t = target_of(u);
  CHECK(t.host == "origin.example");
  CHECK(t.tls);
  CHECK(t.port == 443);
  u.scheme = "http";
  u.port = 8081;
  t = target_of(u);
  CHECK_FALSE(t.tls);
  CHECK(t.port == 8081);
}
