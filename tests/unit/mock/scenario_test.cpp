#include "icapkit/mock/scenario.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace icapkit::mock;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "s.json");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("scenario errors name the file and the field") {
  CHECK(error_of("{") == "s.json: not valid JSON");
  CHECK(error_of("{}") == "s.json: needs \"rules\" (a list, may be empty)");
  CHECK(error_of(R"({"rules": [], "bogus": 1})") == "s.json: bogus: unknown field");
  CHECK(error_of(R"({"rules": [{"match": {"md5": ["abc"]}}]})") ==
        "s.json: rules[0].match.md5[0]: expected 32 hex digits");
  CHECK(error_of(R"({"rules": [{}, {"verdict": {"type": "quarantine"}}]})") ==
        "s.json: rules[1].verdict.type: \"quarantine\" is not one of clean, block, sanitize, "
        "url_block");
  CHECK(error_of(R"({"rules": [{"match": {"url": "("}}]})")
            .starts_with("s.json: rules[0].match.url: invalid regular expression"));
  CHECK(error_of(R"({"rules": [{"match": {"client_ip": "10.0.0.0/33"}}]})") ==
        "s.json: rules[0].match.client_ip: \"10.0.0.0/33\" is not an IP address or CIDR range");
  CHECK(error_of(R"({"rules": [{"delay": {"min_ms": 5, "max_ms": 1}}]})") ==
        "s.json: rules[0].delay.max_ms: is smaller than min_ms");
  CHECK(error_of(R"({"rules": [{"fault": {"type": "status", "status": 200}}]})") ==
        "s.json: rules[0].fault.status: expected an ICAP error status from 400 to 599");
  CHECK(error_of(R"({"rules": [{"verdict": {"type": "sanitize"}}]})") ==
        "s.json: rules[0].verdict: a sanitize verdict needs \"replace\" or \"strip\"");
  CHECK(error_of(R"({"rules": [{"lastline": {"score": 101}}]})") ==
        "s.json: rules[0].lastline.score: expected a whole number from 0 to 100");
}

TEST_CASE("scenario defaults: names, block reason and threat, quoted ISTag") {
  const auto s = parse_scenario(R"({"rules": [
    {"verdict": "block"},
    {"name": "x", "verdict": {"type": "block", "reason": "Blocked Extension"},
     "fault": {"type": "istag_change", "istag": "42"}},
    {"match": {"extension": [".EXE"], "contains_hex": "4d 5a"}, "delay": 250}]})");
  REQUIRE(s.rules.size() == 3);
  CHECK(s.rules[0].name == "rule-1");
  CHECK(s.rules[0].verdict.reason == "Infected");
  CHECK(s.rules[0].verdict.threat == "Infected");
  CHECK(s.rules[1].verdict.threat == "Blocked Extension");
  CHECK(s.rules[1].fault.istag == "\"42\"");
  CHECK(s.rules[2].match.extensions == std::vector<std::string>{"exe"});
  CHECK(s.rules[2].match.contains == std::vector<std::string>{"MZ"});
  CHECK(s.rules[2].delay.min.count() == 250);
  CHECK(s.rules[2].match.needs_body());
  CHECK_FALSE(s.rules[1].match.needs_body());
}

TEST_CASE("every example scenario in testdata/scenarios loads") {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(ICAPKIT_TESTDATA_DIR) + "/scenarios")) {
    const auto path = entry.path().string();
    if (path.ends_with(".json") && !path.ends_with(".schema.json")) {
      CHECK_NOTHROW(load_scenario(path));
      ++count;
    }
  }
  CHECK(count >= 6);
}

TEST_CASE("client_ip ranges: IPv4 and IPv6 CIDR") {
  const auto v4 = parse_ip_range("10.1.0.0/16");
  REQUIRE(v4);
  CHECK(ip_in_range("10.1.200.3", *v4));
  CHECK_FALSE(ip_in_range("10.2.0.1", *v4));
  CHECK_FALSE(ip_in_range("::1", *v4));
  const auto v6 = parse_ip_range("fd00::/8");
  REQUIRE(v6);
  CHECK(ip_in_range("fd12:3456::1", *v6));
  CHECK_FALSE(ip_in_range("fe80::1", *v6));
  CHECK_FALSE(parse_ip_range("not-an-ip"));
}

TEST_CASE("trickle: after_bytes and percent, checked; off when absent") {
  CHECK(parse_scenario(R"({"rules": []})").trickle.start_after == 0);
  const auto s =
      parse_scenario(R"({"trickle": {"after_bytes": 32768, "percent": 10}, "rules": []})");
  CHECK(s.trickle.start_after == 32768);
  CHECK(s.trickle.percent == 10);
  CHECK(parse_scenario(R"({"trickle": {"after_bytes": 1}, "rules": []})").trickle.percent == 5);
  CHECK(error_of(R"({"trickle": {}, "rules": []})") ==
        "s.json: trickle: needs \"after_bytes\" (body bytes received before the 200 goes out)");
  CHECK(error_of(R"({"trickle": {"after_bytes": 0}, "rules": []})") ==
        "s.json: trickle.after_bytes: must be at least 1");
  CHECK(error_of(R"({"trickle": {"after_bytes": 10, "percent": 0}, "rules": []})") ==
        "s.json: trickle.percent: must be 1 to 100");
  CHECK(error_of(R"({"trickle": {"after_bytes": 10, "percent": 101}, "rules": []})") ==
        "s.json: trickle.percent: expected a whole number from 0 to 100");
  CHECK(error_of(R"({"trickle": {"after_bytes": 10, "every": 1}, "rules": []})") ==
        "s.json: trickle.every: unknown field");
}
