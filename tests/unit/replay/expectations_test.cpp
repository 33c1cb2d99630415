#include "icapkit/replay/expectations.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace icapkit;
using namespace icapkit::replay;

namespace {

const std::string expect_dir = ICAPKIT_TESTDATA_DIR "/replay/expect/";

outcome sent(std::size_t index, std::string method, std::string url, log::icap_action action,
             int status) {
  outcome o;
  o.index = index;
  o.origin = "t.har entry " + std::to_string(index);
  o.method = std::move(method);
  o.url = std::move(url);
  o.sent = true;
  o.action = action;
  o.status = status;
  return o;
}

outcome not_replayed(std::size_t index, std::string method, std::string url) {
  outcome o;
  o.index = index;
  o.method = std::move(method);
  o.url = std::move(url);
  o.body_captured = false;
  o.body_note = "postData is empty, bodySize 52311";
  return o;
}

outcome failed_request(std::size_t index, std::string method, std::string url) {
  outcome o;
  o.index = index;
  o.method = std::move(method);
  o.url = std::move(url);
  o.sent = true;
  o.error = "connection reset";
  return o;
}

expectation_set parsed(const std::string& text) {
  std::string error;
  auto set = expectation_set::parse(text, "e.json", error);
  INFO(error);
  REQUIRE(set);
  return std::move(*set);
}

// The error parse() reports for `entries` (the inside of the "expectations" array).
std::string entries_error(const std::string& entries) {
  std::string error;
  CHECK_FALSE(expectation_set::parse(R"({"expectations": [)" + entries + "]}", "e.json", error));
  return error;
}

} // namespace

TEST_CASE("expectations: the example file loads with every member") {
  std::string error;
  const auto set = expectation_set::load(expect_dir + "valid.json", error);
  INFO(error);
  REQUIRE(set);
  REQUIRE(set->items().size() == 4);
  const auto& first = set->items()[0];
  CHECK(first.where == "expectations[0]");
  CHECK(first.index == 0U);
  CHECK(first.method == "POST");
  CHECK(first.url == "http://a.example/form");
  CHECK(first.action == log::icap_action::passed);
  CHECK(first.status == 200);
  const auto& eicar = set->items()[1];
  CHECK_FALSE(eicar.index);
  CHECK(eicar.url_regex == "/eicar");
  REQUIRE(eicar.compiled);
  CHECK(eicar.threat == "Eicar-Test-Signature");
  CHECK(set->items()[3].body_captured == false);
}

TEST_CASE("expectations: find prefers the index entry, then the first pattern that selects") {
  std::string error;
  const auto set = expectation_set::load(expect_dir + "valid.json", error);
  REQUIRE(set);
  const auto& items = set->items();
  using enum log::icap_action;
  // #0 pinned by index even though no pattern selects it.
  CHECK(set->find(sent(0, "POST", "http://a.example/form", passed, 200)) == &items[0]);
  // #0 stays pinned when its url changed: check() then reports the difference.
  CHECK(set->find(sent(0, "POST", "http://a.example/eicar", passed, 200)) == &items[0]);
  // url_regex is searched, not anchored; method must be equal.
  CHECK(set->find(sent(3, "POST", "http://b.example/x/eicar.com", blocked, 403)) == &items[1]);
  CHECK(set->find(sent(3, "GET", "http://b.example/x/eicar.com", blocked, 403)) == nullptr);
  CHECK(set->find(sent(4, "GET", "http://a.example/clean", disabled, 200)) == &items[2]);
  CHECK(set->find(sent(4, "GET", "http://a.example/clean?x", disabled, 200)) == nullptr);
  CHECK(set->find(not_replayed(7, "PUT", "http://a.example/up")) == &items[3]);

  // A pattern entry without method selects any method; the first that selects applies.
  const auto two = parsed(R"({"expectations": [{"url_regex": "^http://x/"},
                                                {"url": "http://x/a"}]})");
  CHECK(two.find(sent(1, "DELETE", "http://x/a", passed, 200)) == &two.items()[0]);
}

TEST_CASE("expectations: file errors name the file, the entry and the member") {
  std::string error;
  CHECK_FALSE(expectation_set::load(expect_dir + "typo_member.json", error));
  CHECK(error.starts_with(expect_dir + "typo_member.json: expectations[1].stauts: unknown member"));
  CHECK(error.find("status") != std::string::npos); // the known members are listed

  CHECK_FALSE(expectation_set::load(expect_dir + "unknown_action.json", error));
  CHECK(error == expect_dir +
                     "unknown_action.json: expectations[2].action: unknown action \"BLOCKED\"; "
                     "one of ICAP_DISABLED, ICAP_PASSED, ICAP_MODIFIED, ICAP_BLOCKED, ICAP_FAILED");

  // The stray ',' is byte 63 (line 3); the parser stops at the '}' after it.
  CHECK_FALSE(expectation_set::load(expect_dir + "syntax_error.json", error));
  CHECK(
      error.starts_with(expect_dir + "syntax_error.json: JSON syntax error at byte 64 (line 3): "));

  CHECK_FALSE(expectation_set::load(expect_dir + "does_not_exist.json", error));
  CHECK(error == expect_dir + "does_not_exist.json: cannot open the file");
  CHECK_FALSE(expectation_set::load(expect_dir, error));
  CHECK(error == expect_dir + ": is a directory, not an expectation file");
  // An empty file is a syntax error, not an unreadable file.
  CHECK_FALSE(expectation_set::parse("", "e.json", error));
  CHECK(error.starts_with("e.json: JSON syntax error at byte 1 (line 1): "));
}

TEST_CASE("expectations: each member's value is validated") {
  CHECK(entries_error(R"({"index": 0}, {"index": 1, "status": "403"})") ==
        "e.json: expectations[1].status: must be an integer HTTP status, got \"403\"");
  CHECK(entries_error(R"({"index": 0, "status": 403.0})") ==
        "e.json: expectations[0].status: must be an integer HTTP status, got 403.0");
  CHECK(entries_error(R"({"index": 0, "status": 99})") ==
        "e.json: expectations[0].status: HTTP status must be within 100..599, got 99");
  CHECK(entries_error(R"({"index": 0, "status": 600})") ==
        "e.json: expectations[0].status: HTTP status must be within 100..599, got 600");
  CHECK(entries_error(R"({"index": -1})") ==
        "e.json: expectations[0].index: must not be negative, got -1");
  CHECK(entries_error(R"({"index": 1.5})") ==
        "e.json: expectations[0].index: must be a non-negative integer, got 1.5");
  CHECK(entries_error(R"({"method": 1})") ==
        "e.json: expectations[0].method: must be a string, got number");
  CHECK(entries_error(R"({"index": 0, "body_captured": "no"})") ==
        "e.json: expectations[0].body_captured: must be true or false, got \"no\"");
  CHECK(entries_error(R"({"index": 0, "action": 2})") ==
        "e.json: expectations[0].action: must be a string, got number");
  CHECK(entries_error(R"({"index": 0, "threat": null})") ==
        "e.json: expectations[0].threat: must be a string, got null");
  // The regex library's own reason follows the pattern.
  CHECK(entries_error(R"({"url_regex": "(eicar"})")
            .starts_with("e.json: expectations[0].url_regex: invalid regex \"(eicar\": "));
  // The bounds themselves are valid.
  CHECK(parsed(R"({"expectations": [{"index": 0, "status": 100}, {"index": 1, "status": 599}]})")
            .items()
            .size() == 2);
}

TEST_CASE("expectations: entries must select, and select unambiguously") {
  CHECK(entries_error(R"({"action": "ICAP_PASSED", "status": 200})") ==
        "e.json: expectations[0]: selects no request; give index, method, url or url_regex");
  CHECK(entries_error(R"({"url": "http://a/", "url_regex": "a"})") ==
        "e.json: expectations[0]: give url or url_regex, not both");
  CHECK(entries_error(R"({"index": 3}, {"method": "GET"}, {"index": 3, "status": 200})") ==
        "e.json: expectations[2].index: index 3 already used by expectations[0]");
  CHECK(entries_error(R"(["index", 3])") ==
        "e.json: expectations[0]: must be an object, got array");
}

TEST_CASE("expectations: the top level is an object with an expectations array") {
  const std::string shape =
      "e.json: the top level must be an object with an \"expectations\" array";
  for (const auto* text : {R"([{"index": 0}])", R"({})", R"({"expectations": {}})", R"("x")"}) {
    std::string error;
    CHECK_FALSE(expectation_set::parse(text, "e.json", error));
    CHECK(error == shape);
  }
  std::string error;
  CHECK_FALSE(expectation_set::parse(R"({"expectations": [], "comment": 1})", "e.json", error));
  CHECK(error == "e.json: comment: unknown member; the top level holds only \"expectations\"");
  CHECK(parsed(R"({"expectations": []})").items().empty());
}

TEST_CASE("check: without a set only failures are verdicts") {
  using enum log::icap_action;
  CHECK(check(nullptr, sent(0, "GET", "http://a/", passed, 200)).kind == verdict::no_expectation);
  CHECK(check(nullptr, failed_request(1, "GET", "http://a/")).kind == verdict::error);
  CHECK(check(nullptr, not_replayed(2, "GET", "http://a/")).kind == verdict::no_expectation);

  const auto set = parsed(R"({"expectations": [{"index": 5}]})");
  const auto no_match = check(&set, failed_request(1, "GET", "http://a/"));
  CHECK(no_match.kind == verdict::error);
  CHECK(no_match.applied == nullptr);
  CHECK(check(&set, sent(0, "GET", "http://a/", passed, 200)).kind == verdict::no_expectation);
}

TEST_CASE("check: compares every field the expectation names") {
  using enum log::icap_action;
  const auto set = parsed(R"({"expectations": [
      {"index": 0, "method": "POST", "url": "http://a/x", "action": "ICAP_BLOCKED",
       "status": 403, "threat": "Eicar"},
      {"index": 1, "action": "ICAP_PASSED"},
      {"index": 2, "url_regex": "/x$", "status": 200}]})");

  auto blocked_outcome = sent(0, "POST", "http://a/x", blocked, 403);
  blocked_outcome.threats = {"Other", "Eicar"};
  const auto ok = check(&set, blocked_outcome);
  CHECK(ok.kind == verdict::matched);
  CHECK(ok.differences.empty());
  CHECK(ok.applied == &set.items()[0]);

  // A changed capture under a pinned index is a mismatch, not a silent pass.
  const auto moved = check(&set, sent(0, "GET", "http://a/y", passed, 200));
  CHECK(moved.kind == verdict::mismatched);
  CHECK(moved.differences ==
        std::vector<std::string>{
            "method: expected POST, got GET", "url: expected http://a/x, got http://a/y",
            "action: expected ICAP_BLOCKED, got ICAP_PASSED", "status: expected 403, got 200",
            "threat: expected Eicar, got none"});

  auto other_threats = blocked_outcome;
  other_threats.threats = {"A", "B"};
  CHECK(check(&set, other_threats).differences ==
        std::vector<std::string>{"threat: expected Eicar, got A, B"});

  // Unnamed fields are not compared.
  CHECK(check(&set, sent(1, "PUT", "http://z/", passed, 500)).kind == verdict::matched);
  auto no_action = sent(1, "PUT", "http://z/", passed, 500);
  no_action.action.reset();
  CHECK(check(&set, no_action).differences ==
        std::vector<std::string>{"action: expected ICAP_PASSED, got none"});

  CHECK(check(&set, sent(2, "GET", "http://q/x", passed, 200)).kind == verdict::matched);
  CHECK(check(&set, sent(2, "GET", "http://q/y", passed, 200)).differences ==
        std::vector<std::string>{"url: expected a match for /x$, got http://q/y"});
}

TEST_CASE("check: a request not replayed for want of its body") {
  const auto set = parsed(R"({"expectations": [
      {"index": 0, "body_captured": false},
      {"index": 1, "action": "ICAP_BLOCKED", "status": 403},
      {"index": 2, "body_captured": true},
      {"index": 3, "method": "POST"}]})");
  CHECK(check(&set, not_replayed(0, "POST", "http://a/")).kind == verdict::matched);

  const auto named = check(&set, not_replayed(1, "POST", "http://a/"));
  CHECK(named.kind == verdict::mismatched);
  CHECK(named.differences == std::vector<std::string>{"body not captured: not replayed"});

  const auto wanted = check(&set, not_replayed(2, "POST", "http://a/"));
  CHECK(wanted.kind == verdict::mismatched);
  CHECK(wanted.differences == std::vector<std::string>{"body_captured: expected true, got false "
                                                       "(postData is empty, bodySize 52311)"});

  // Selecting it without checking anything is a match; the body_captured:false expectation of a
  // request that was replayed is not.
  CHECK(check(&set, not_replayed(3, "POST", "http://a/")).kind == verdict::matched);
  const auto replayed = check(&set, sent(0, "POST", "http://a/", log::icap_action::passed, 200));
  CHECK(replayed.differences ==
        std::vector<std::string>{"body_captured: expected false, got true"});
}

TEST_CASE("check: a failed request under an expectation reports the error as what happened") {
  const auto set = parsed(R"({"expectations": [
      {"index": 0, "action": "ICAP_BLOCKED", "status": 403},
      {"index": 1, "method": "GET"}]})");
  const auto r = check(&set, failed_request(0, "POST", "http://a/"));
  CHECK(r.kind == verdict::mismatched);
  CHECK(r.differences == std::vector<std::string>{"action: expected ICAP_BLOCKED, got error: "
                                                  "connection reset",
                                                  "status: expected 403, got error: connection "
                                                  "reset"});
  CHECK(check(&set, failed_request(1, "POST", "http://a/")).differences ==
        std::vector<std::string>{"method: expected GET, got POST"});
}

TEST_CASE("write_expectations: stable pretty JSON in index order") {
  using enum log::icap_action;
  auto eicar = sent(2, "POST", "http://a/eicar", blocked, 403);
  eicar.threats = {"Eicar-Test-Signature", "Second"};
  const std::vector<outcome> outcomes{eicar, sent(0, "GET", "http://a/", passed, 200),
                                      failed_request(3, "GET", "http://a/gone"),
                                      not_replayed(1, "PUT", "http://a/up")};
  std::ostringstream out;
  write_expectations(out, outcomes);
  CHECK(out.str() == R"({
  "expectations": [
    {
      "index": 0,
      "method": "GET",
      "url": "http://a/",
      "action": "ICAP_PASSED",
      "status": 200
    },
    {
      "index": 1,
      "method": "PUT",
      "url": "http://a/up",
      "body_captured": false
    },
    {
      "index": 2,
      "method": "POST",
      "url": "http://a/eicar",
      "action": "ICAP_BLOCKED",
      "status": 403,
      "threat": "Eicar-Test-Signature"
    }
  ]
}
)");
}

TEST_CASE("write_expectations: what it writes loads and matches the same outcomes") {
  using enum log::icap_action;
  std::vector<outcome> outcomes;
  const auto actions = log::all_values<log::icap_action>();
  for (std::size_t i = 0; i < 20; ++i) {
    auto o =
        sent(i, i % 2 == 0 ? "GET" : "POST", "http://a.example/p" + std::to_string(i) + "?q=\"x\"",
             actions[i % actions.size()], 200 + static_cast<int>(i));
    if (i % 3 == 0) {
      o.threats = {"Threat \\ " + std::to_string(i)};
    }
    outcomes.push_back(o);
  }
  outcomes.push_back(not_replayed(20, "POST", "http://a.example/big"));
  outcomes.push_back(failed_request(21, "GET", "http://a.example/reset"));
  // A URL that is not UTF-8 cannot be written as JSON; the entry still pins the request.
  outcomes.push_back(sent(22, "GET", "http://a.example/\xff\xfe", passed, 200));

  std::ostringstream out;
  write_expectations(out, outcomes);
  std::string error;
  const auto set = expectation_set::parse(out.str(), "recorded.json", error);
  INFO(error);
  REQUIRE(set);
  CHECK(set->items().size() == outcomes.size() - 1); // the failed request has no entry
  CHECK_FALSE(set->items().back().url);
  for (const auto& o : outcomes) {
    const auto r = check(&*set, o);
    INFO("#" << o.index);
    CHECK(r.kind == (o.error.empty() ? verdict::matched : verdict::error));
  }
}

TEST_CASE("check: seen from outside a proxy, ICAP_DISABLED and ICAP_PASSED are one verdict") {
  using enum log::icap_action;
  const auto set = parsed(R"({"expectations": [
      {"index": 0, "action": "ICAP_DISABLED"}, {"index": 1, "action": "ICAP_PASSED"},
      {"index": 2, "action": "ICAP_DISABLED"}]})");
  auto outside = sent(0, "GET", "http://a/x", passed, 200);
  outside.verdict_from_outside = true;
  CHECK(check(&set, outside).kind == verdict::matched);
  auto outside_disabled = sent(1, "GET", "http://a/x", disabled, 200);
  outside_disabled.verdict_from_outside = true;
  CHECK(check(&set, outside_disabled).kind == verdict::matched);
  // From the proxy's own record the two stay different, and blocked never passes for either.
  CHECK(check(&set, sent(0, "GET", "http://a/x", passed, 200)).kind == verdict::mismatched);
  auto outside_blocked = sent(2, "POST", "http://a/x", blocked, 403);
  outside_blocked.verdict_from_outside = true;
  CHECK(check(&set, outside_blocked).kind == verdict::mismatched);
}
