#include "icapkit/config/endpoint.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

TEST_CASE("endpoint: listen addresses") {
  std::string error;
  auto l = parse_listen("127.0.0.1:8080", error);
  REQUIRE(l);
  CHECK(l->host == "127.0.0.1");
  CHECK(l->port == 8080);
  l = parse_listen("[::1]:0", error);
  REQUIRE(l);
  CHECK(l->host == "::1");
  CHECK(l->port == 0);
  CHECK(parse_listen("localhost:1", error));
  for (const char* bad : {"8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "[::1]",
                          "a b:80", "127.0.0.1:http"}) {
    CHECK_MESSAGE(!parse_listen(bad, error), bad);
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("endpoint: upstream URLs") {
  std::string error;
  auto u = parse_upstream("http://127.0.0.1:8081", error);
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8081);
  u = parse_upstream("https://origin.example", error);
  REQUIRE(u);
  CHECK(u->tls());
  CHECK(u->port == 443);
  CHECK_FALSE(parse_upstream("icap://127.0.0.1/avscan", error));
  CHECK(error.find("http:// or https://") != std::string::npos);
  CHECK_FALSE(parse_upstream("127.0.0.1:8081", error));
}

TEST_CASE("endpoint: listen and upstream in a file") {
  auto doc = minimal_doc();
  doc["listen"] = "127.0.0.1:8080";
  doc["upstream"] = "http://127.0.0.1:8081";
  auto r = load(doc);
  REQUIRE(r.ok());
  CHECK(r.config->listen->port == 8080);
  CHECK(r.config->upstream->port == 8081);
  doc["listen"] = "127.0.0.1";
  doc["upstream"] = 8081;
  r = load(doc);
  CHECK(has_error(r, "listen: \"127.0.0.1\" is not HOST:PORT or [IPV6]:PORT"));
  CHECK(has_error(r, "upstream: expected a string, got integer 8081"));
}
