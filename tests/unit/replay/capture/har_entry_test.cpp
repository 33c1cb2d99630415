// convert_har_entry and parse_iso8601 on their own: one entry object in, one exchange out (the
// streaming around them is har_reader_test.cpp's).
#include "icapkit/replay/capture/har_entry.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using icapkit::replay::detail::convert_har_entry;
using icapkit::replay::detail::har_field_error;
using icapkit::replay::detail::parse_iso8601;

namespace {

nlohmann::json entry(nlohmann::json request) {
  return {{"startedDateTime", "2024-03-05T10:15:30.500Z"}, {"request", std::move(request)}};
}

} // namespace

TEST_CASE("convert_har_entry: URL-encoded params become the body, the target is origin-form") {
  const auto e = entry({{"method", "POST"},
                        {"url", "http://a.example:8080/form?x=1#frag"},
                        {"headers", nlohmann::json::array()},
                        {"postData",
                         {{"mimeType", "application/x-www-form-urlencoded"},
                          {"params", {{{"name", "q"}, {"value", "a b&c"}}}}}}});
  std::vector<std::string> warnings;
  const auto x =
      convert_har_entry(e, "f.har entry 1", [&](std::string w) { warnings.push_back(w); });
  REQUIRE(x);
  CHECK(x->origin == "f.har entry 1");
  CHECK(x->url == "http://a.example:8080/form?x=1");
  CHECK(x->head.target == "/form?x=1");
  CHECK(x->head.headers.get("Host") == "a.example:8080");
  CHECK(x->body == "q=a+b%26c"); // form encoding: space as +
  CHECK(x->body_captured);
  CHECK(x->started.has_value());
  CHECK(warnings.empty());
}

TEST_CASE("convert_har_entry: a websocket entry is skipped with a warning, a bad one throws") {
  std::vector<std::string> warnings;
  const auto warn = [&](std::string w) { warnings.push_back(std::move(w)); };
  CHECK_FALSE(
      convert_har_entry(entry({{"method", "GET"}, {"url", "wss://a.example/live"}}), "e", warn));
  CHECK(warnings.size() == 1);
  CHECK_THROWS_AS(convert_har_entry(entry({{"method", 7}, {"url", "http://a/"}}), "e", warn),
                  har_field_error);
  CHECK_THROWS_AS(convert_har_entry(nlohmann::json::object(), "e", warn), har_field_error);
}

TEST_CASE("parse_iso8601: zones as HAR writers give them; no zone is no instant") {
  const auto z = parse_iso8601("2024-03-05T10:15:30.123Z");
  const auto plus = parse_iso8601("2024-03-05T11:15:30.123+01:00");
  const auto compact = parse_iso8601("2024-03-05T05:15:30.123-0500");
  REQUIRE(z);
  CHECK(plus == z);
  CHECK(compact == z);
  CHECK_FALSE(parse_iso8601("2024-03-05T10:15:30"));
  CHECK_FALSE(parse_iso8601("yesterday"));
}
