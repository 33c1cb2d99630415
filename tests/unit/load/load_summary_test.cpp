#include "icapkit/load/load_summary.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace icapkit::load {

namespace {

// Records `n` requests with latencies derived from `seed`, second by second.
void add_requests(load_measurements& m, std::uint64_t first, std::uint64_t n) {
  for (std::uint64_t i = first; i < first + n; ++i) {
    const std::uint64_t latency = 500 + (i * 7919) % 250'000;
    m.total.record(latency + 100);
    m.total_uncorrected.record(latency);
    ++m.counts.requests;
    const bool blocked = i % 10 == 0;
    const bool failed = i % 37 == 0;
    m.counts.blocked += blocked ? 1U : 0U;
    m.counts.failed += failed ? 1U : 0U;
    m.counts.errors[static_cast<std::size_t>(error_kind::timeout)] += failed ? 1U : 0U;
    m.counts.timeouts += failed ? 1U : 0U;
    m.counts.timeouts_by_phase[5] += failed ? 1U : 0U; // preview
    m.counts.preview_204 += i % 4 == 0 ? 1U : 0U;
    m.counts.passed += !blocked && !failed ? 1U : 0U;
    m.counts.bytes_sent += 4096;
    const auto second = static_cast<std::size_t>(i % 5);
    if (m.series.size() <= second) {
      m.series.resize(second + 1);
    }
    ++m.series[second].requests;
    m.series[second].errors += failed ? 1U : 0U;
  }
  m.options.record(1200);
  m.connect.record(300 + first);
  m.tls.record(2000 + first);
  m.preview_decision.record(150 + first);
}

load_summary make_summary(std::uint64_t first, std::uint64_t n) {
  load_summary s;
  s.tool_version = "0.test";
  s.started_at = "2026-11-25T10:00:00.000Z";
  s.model = "open";
  s.target_rps = 100;
  s.settings = {{"rate", 100}};
  add_requests(s.measured, first, n);
  s.measured.elapsed = std::chrono::microseconds{5'000'000};
  s.thresholds = {"p99<200ms", "errors<5%"};
  return s;
}

} // namespace

TEST_CASE("a load summary survives JSON") {
  auto s = make_summary(0, 1000);
  evaluate_thresholds(s);
  const auto j = s.to_json();
  CHECK(j["format"] == "icapkit-load-summary");
  CHECK(j["counts"]["errors"]["timeout"] == s.measured.counts.timeouts);
  std::string error;
  const auto back = load_summary::from_json(nlohmann::json::parse(j.dump()), error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == s);
}

TEST_CASE("phase histograms and timeouts by phase are kept, merged and checked") {
  auto a = make_summary(0, 500);
  const auto b = make_summary(500, 500);
  const auto j = a.to_json();
  CHECK(j["histograms"]["connect"]["count"] == 1);
  CHECK(j["histograms"]["tls"]["count"] == 1);
  CHECK(j["histograms"]["preview_decision"]["count"] == 1);
  CHECK(j["counts"]["timeouts_by_phase"]["preview"] == 14); // 0, 37, ... 481
  CHECK(j["counts"]["preview_204"] == 125);
  auto merged = merge(a, b);
  CHECK(merged.measured.connect.count() == 2);
  CHECK(merged.measured.tls.max() == 2500);
  CHECK(merged.measured.counts.timeouts_by_phase[5] == 28);
  merged.thresholds = {"connect.p99<1ms", "tls.max<2ms", "preview.p50<1ms"};
  CHECK_FALSE(evaluate_thresholds(merged));
  CHECK(merged.threshold_results[0].passed);
  CHECK_FALSE(merged.threshold_results[1].passed); // 2.5 ms
  CHECK(merged.threshold_results[2].passed);
  std::ostringstream human;
  write_human(human, merged);
  CHECK(human.str().find("tls:") != std::string::npos);
  CHECK(human.str().find("timeouts by phase: preview 28") != std::string::npos);
  std::ostringstream prom;
  write_prometheus(prom, merged);
  CHECK(prom.str().find("icapkit_load_latency_seconds_count{latency=\"tls\"} 2") !=
        std::string::npos);
  CHECK(prom.str().find("icapkit_load_phase_timeouts_total{phase=\"preview\"} 28") !=
        std::string::npos);
}

TEST_CASE("from_json names what is wrong") {
  auto j = make_summary(0, 10).to_json();
  std::string error;
  CHECK_FALSE(load_summary::from_json(nlohmann::json::object(), error));
  CHECK(error.find("format") != std::string::npos);
  j["counts"].erase("blocked");
  CHECK_FALSE(load_summary::from_json(j, error));
  CHECK(error == "counts.blocked: missing or not a whole number");
  j = make_summary(0, 10).to_json();
  j["histograms"]["total"]["count"] = 3;
  CHECK_FALSE(load_summary::from_json(j, error));
  CHECK(error.rfind("histograms.total: ", 0) == 0);
}

TEST_CASE("merging two shards gives the whole run, exactly") {
  const auto whole = make_summary(0, 1000);
  const auto a = make_summary(0, 600);
  const auto b = make_summary(600, 400);
  auto merged = merge(a, b);
  CHECK(merged.measured.total == whole.measured.total);
  CHECK(merged.measured.total_uncorrected == whole.measured.total_uncorrected);
  CHECK(merged.measured.counts == whole.measured.counts);
  CHECK(merged.measured.series == whole.measured.series);
  CHECK(merged.measured.options.count() == 2);
  CHECK(merged.shards == 2);
  CHECK(merged.target_rps == doctest::Approx(200));
  CHECK(merged.thresholds == whole.thresholds);
  CHECK(merged.threshold_results.empty());
  auto evaluated_whole = whole;
  evaluate_thresholds(evaluated_whole);
  evaluate_thresholds(merged);
  CHECK(merged.threshold_results == evaluated_whole.threshold_results);
}

TEST_CASE("thresholds are evaluated on the corrected latency and the counts") {
  auto s = make_summary(0, 1000);
  s.thresholds = {"p99<1ms", "p99<5s", "errors<=1000", "bogus"};
  CHECK_FALSE(evaluate_thresholds(s));
  REQUIRE(s.threshold_results.size() == 4);
  CHECK_FALSE(s.threshold_results[0].passed);
  CHECK(s.threshold_results[1].passed);
  CHECK(s.threshold_results[2].passed);
  CHECK_FALSE(s.threshold_results[3].passed);
  s.thresholds = {"p99<5s"};
  CHECK(evaluate_thresholds(s));
}

TEST_CASE("the human summary and Prometheus text carry the numbers") {
  auto s = make_summary(0, 1000);
  evaluate_thresholds(s);
  std::ostringstream human;
  write_human(human, s);
  CHECK(human.str().find("requests 1000 in 5.00 s: 200.0 req/s (target 100.0)") !=
        std::string::npos);
  CHECK(human.str().find("errors: timeout 28") != std::string::npos);
  CHECK(human.str().find("threshold p99<200ms: FAILED") != std::string::npos);
  std::ostringstream prom;
  write_prometheus(prom, s);
  CHECK(prom.str().find("icapkit_load_latency_seconds_count{latency=\"corrected\"} 1000") !=
        std::string::npos);
  CHECK(prom.str().find("icapkit_load_latency_seconds_bucket{latency=\"corrected\",le=\"+Inf\"}") !=
        std::string::npos);
  CHECK(prom.str().find("icapkit_load_requests_total 1000") != std::string::npos);
}

} // namespace icapkit::load
