#include "icapkit/replay/summary.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace icapkit;
using namespace icapkit::replay;

namespace {

using result_list = std::vector<std::pair<outcome, check_result>>;

outcome request(std::size_t index, std::string method, std::string url,
                std::optional<log::icap_action> action) {
  outcome o;
  o.index = index;
  o.origin = "uploads.har entry " + std::to_string(index);
  o.method = std::move(method);
  o.url = std::move(url);
  o.sent = true;
  o.action = action;
  o.status = 200;
  return o;
}

check_result verdict_of(verdict kind, std::vector<std::string> differences = {}) {
  check_result r;
  r.kind = kind;
  r.differences = std::move(differences);
  return r;
}

std::string summary(const result_list& results, double seconds, bool expectations_given,
                    std::size_t max_listed = 50) {
  std::ostringstream out;
  print_summary(out, results, seconds, summary_options{expectations_given, max_listed});
  return out.str();
}

} // namespace

TEST_CASE("summary: the full report with expectations") {
  using enum log::icap_action;
  result_list results;
  // Added out of the fixed order on purpose: the counts come out PASSED, MODIFIED, BLOCKED.
  results.emplace_back(request(0, "GET", "http://a.example/1", blocked),
                       verdict_of(verdict::matched));
  results.emplace_back(request(1, "GET", "http://a.example/2", passed),
                       verdict_of(verdict::matched));
  results.emplace_back(request(2, "GET", "http://a.example/3", modified),
                       verdict_of(verdict::matched));
  results.emplace_back(request(3, "GET", "http://a.example/4", passed),
                       verdict_of(verdict::no_expectation));
  results.emplace_back(
      request(4, "POST", "http://a.example/eicar", passed),
      verdict_of(verdict::mismatched, {"action: expected ICAP_BLOCKED, got ICAP_PASSED"}));
  auto skipped = request(5, "POST", "http://a.example/upload", std::nullopt);
  skipped.sent = false;
  skipped.body_captured = false;
  skipped.body_note = "postData is empty, bodySize 52311";
  results.emplace_back(skipped, verdict_of(verdict::matched));
  auto reset = request(6, "GET", "http://a.example/reset", std::nullopt);
  reset.error = "connection reset";
  results.emplace_back(reset, verdict_of(verdict::error));

  CHECK(summary(results, 1.44, true) ==
        "replayed 6 requests in 1.4 s: ICAP_PASSED 3, ICAP_MODIFIED 1, ICAP_BLOCKED 1\n"
        "not replayed, body not in the capture: 1\n"
        "  #5 POST http://a.example/upload (uploads.har entry 5): postData is empty, bodySize "
        "52311\n"
        "failed: 1\n"
        "  #6 GET http://a.example/reset (uploads.har entry 6): connection reset\n"
        "expectations: 4 matched, 1 mismatched, 1 without an expectation, 1 failed without an "
        "expectation\n"
        "    MISMATCH #4 POST http://a.example/eicar (uploads.har entry 4)\n"
        "      action: expected ICAP_BLOCKED, got ICAP_PASSED\n"
        "    NO EXPECTATION #3 GET http://a.example/4 (uploads.har entry 3)\n");
}

TEST_CASE("summary: singular, rounding, no expectations block unless asked") {
  const result_list one{{request(0, "GET", "http://a/", log::icap_action::disabled),
                         verdict_of(verdict::no_expectation)}};
  CHECK(summary(one, 0.96, false) == "replayed 1 request in 1.0 s: ICAP_DISABLED 1\n"
                                     "not replayed, body not in the capture: 0\n"
                                     "failed: 0\n");
  CHECK(summary({}, 0, true) ==
        "replayed 0 requests in 0.0 s\n"
        "not replayed, body not in the capture: 0\n"
        "failed: 0\n"
        "expectations: 0 matched, 0 mismatched, 0 without an expectation\n");
  const result_list failed_action{
      {request(0, "GET", "http://a/", log::icap_action::failed), verdict_of(verdict::matched)}};
  CHECK(
      summary(failed_action, 2, false).starts_with("replayed 1 request in 2.0 s: ICAP_FAILED 1\n"));
}

TEST_CASE("summary: lists are capped and captured text cannot drive the terminal") {
  result_list results;
  for (std::size_t i = 0; i < 5; ++i) {
    auto o = request(i, "GET", "http://a/\x1b[2J" + std::to_string(i), std::nullopt);
    o.error = "timeout";
    results.emplace_back(o, verdict_of(verdict::mismatched, {"status: expected 200, got none"}));
  }
  const auto text = summary(results, 3, true, 2);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("failed: 5\n"
                  "  #0 GET http://a/\\x1b[2J0 (uploads.har entry 0): timeout\n"
                  "  #1 GET http://a/\\x1b[2J1 (uploads.har entry 1): timeout\n"
                  "  ... and 3 more\n") != std::string::npos);
  CHECK(text.find("expectations: 0 matched, 5 mismatched, 0 without an expectation\n"
                  "    MISMATCH #0 GET http://a/\\x1b[2J0 (uploads.har entry 0)\n"
                  "      status: expected 200, got none\n"
                  "    MISMATCH #1 GET http://a/\\x1b[2J1 (uploads.har entry 1)\n"
                  "      status: expected 200, got none\n"
                  "    ... and 3 more\n") != std::string::npos);

  // C1 controls in UTF-8 (CSI is U+009B) are escaped too; other UTF-8 passes; no origin, no "()".
  auto csi = request(0, "GET",
                     "http://a/\xC2\x9B"
                     "2J\xC3\xA9",
                     std::nullopt);
  csi.origin.clear();
  csi.error = "reset";
  CHECK(summary({{csi, verdict_of(verdict::error)}}, 0, false)
            .ends_with("failed: 1\n  #0 GET http://a/\\xc2\\x9b2J\xC3\xA9: reset\n"));
}

TEST_CASE("exit_status: failures first, then mismatches") {
  using enum log::icap_action;
  result_list results{
      {request(0, "GET", "http://a/", passed), verdict_of(verdict::matched)},
      {request(1, "GET", "http://a/", passed), verdict_of(verdict::no_expectation)}};
  CHECK(exit_status({}) == 0);
  CHECK(exit_status(results) == 0);
  results.emplace_back(request(2, "GET", "http://a/", passed), verdict_of(verdict::mismatched));
  CHECK(exit_status(results) == 1);
  // A failed request counts as a failure even when an expectation applied to it.
  auto reset = request(3, "GET", "http://a/", std::nullopt);
  reset.error = "connection reset";
  results.emplace_back(reset, verdict_of(verdict::mismatched));
  CHECK(exit_status(results) == 2);
  results.back().second.kind = verdict::error;
  CHECK(exit_status(results) == 2);
}

TEST_CASE("summary: says when the verdicts were read from outside the proxy") {
  auto outside = request(0, "GET", "http://a/", log::icap_action::passed);
  outside.verdict_from_outside = true;
  const result_list results{{outside, verdict_of(verdict::no_expectation)}};
  CHECK(summary(results, 0.2, false) ==
        "replayed 1 request in 0.2 s: ICAP_PASSED 1\n"
        "verdicts read from outside the proxy (--target): a request not sent to ICAP shows as "
        "ICAP_PASSED, threat names are not visible\n"
        "not replayed, body not in the capture: 0\n"
        "failed: 0\n");
}
