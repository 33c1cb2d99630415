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

TEST_CASE("the JSON summary has ready percentiles per histogram, in its unit") {
  const auto s = make_summary(0, 1000);
  const auto j = s.to_json();
  const auto& total = j["histograms"]["total"];
  CHECK(total["unit"] == "us");
  CHECK(total["p50"] == s.measured.total.percentile(50));
  CHECK(total["p90"] == s.measured.total.percentile(90));
  CHECK(total["p99"] == s.measured.total.percentile(99));
  CHECK(total["p99_9"] == s.measured.total.percentile(99.9));
  CHECK(total["max"] == s.measured.total.max());
  CHECK(total["mean"].get<double>() == doctest::Approx(s.measured.total.mean()));
  CHECK(j["histograms"]["connect"].contains("p99"));
  CHECK(j["interrupted"] == false);
  CHECK_FALSE(j.contains("signal"));
}

TEST_CASE("merged percentiles come from the merged buckets, whatever the inputs say") {
  const auto a = make_summary(0, 900);
  auto b = make_summary(900, 100);
  b.measured.total = histogram{};
  for (int i = 0; i < 100; ++i) {
    b.measured.total.record(5'000'000); // a slow shard: 5 s each
  }
  auto ja = a.to_json();
  ja["histograms"]["total"]["p99"] = 1; // stale or tampered: ignored on reading
  std::string error;
  const auto read_a = load_summary::from_json(nlohmann::json::parse(ja.dump()), error);
  REQUIRE_MESSAGE(read_a, error);
  const auto merged = merge(*read_a, b).to_json();
  histogram whole = a.measured.total;
  whole.merge(b.measured.total);
  CHECK(merged["histograms"]["total"]["p99"] == whole.percentile(99));
  CHECK(merged["histograms"]["total"]["p99"].get<std::uint64_t>() >= 4'900'000);
  CHECK(merged["histograms"]["total"]["p50"] == whole.percentile(50));
  // Averaging the two p99 would give about 2.6 s: the merge must not.
  CHECK(merged["histograms"]["total"]["p90"] == whole.percentile(90));
}

TEST_CASE("an interrupted run says so in JSON, the human summary and Prometheus text") {
  auto s = make_summary(0, 100);
  s.interrupted_by = "SIGINT";
  s.abandoned = 3;
  evaluate_thresholds(s);
  const auto j = s.to_json();
  CHECK(j["interrupted"] == true);
  CHECK(j["signal"] == "SIGINT");
  CHECK(j["abandoned"] == 3);
  std::string error;
  const auto back = load_summary::from_json(nlohmann::json::parse(j.dump()), error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == s);
  std::ostringstream human;
  write_human(human, s);
  CHECK(human.str().rfind("interrupted by SIGINT: stopped early, 3 requests in flight", 0) == 0);
  std::ostringstream prom;
  write_prometheus(prom, s);
  CHECK(prom.str().find("icapkit_load_interrupted 1\n") != std::string::npos);
  CHECK(prom.str().find("icapkit_load_abandoned 3\n") != std::string::npos);

  auto bad = j;
  bad["signal"] = "";
  CHECK_FALSE(load_summary::from_json(bad, error));
  CHECK(error.find("signal") != std::string::npos);
  bad["interrupted"] = "yes";
  CHECK_FALSE(load_summary::from_json(bad, error));
  CHECK(error.find("interrupted") != std::string::npos);
}

TEST_CASE("a summary without the interruption fields reads as a complete run; merges keep it") {
  auto j = make_summary(0, 10).to_json();
  j.erase("interrupted");
  std::string error;
  const auto old = load_summary::from_json(j, error);
  REQUIRE_MESSAGE(old, error);
  CHECK_FALSE(old->interrupted());
  auto cut = make_summary(10, 10);
  cut.interrupted_by = "SIGTERM";
  cut.abandoned = 2;
  const auto merged = merge(*old, cut);
  CHECK(merged.interrupted_by == "SIGTERM");
  CHECK(merged.abandoned == 2);
  CHECK_FALSE(merge(*old, *old).interrupted());
  std::ostringstream prom;
  write_prometheus(prom, *old);
  CHECK(prom.str().find("icapkit_load_interrupted 0\n") != std::string::npos);
  std::ostringstream human;
  write_human(human, merge(*old, *old));
  CHECK(human.str().find("interrupted") == std::string::npos);
  cut.abandoned = 0;
  write_human(human, cut);
  CHECK(human.str().find("interrupted by SIGTERM: stopped early, every request in flight "
                         "finished\n") != std::string::npos);
}

TEST_CASE("failures by kind: resets split by connection, in JSON, text, Prometheus, thresholds") {
  auto s = make_summary(0, 100);
  auto& c = s.measured.counts;
  const auto add = [&](error_kind kind, std::uint64_t n) {
    c.errors[static_cast<std::size_t>(kind)] += n;
    c.failed += n;
    c.requests += n;
  };
  add(error_kind::refused, 3);
  add(error_kind::reset_new_connection, 4);
  add(error_kind::reset_reused_connection, 5);
  s.thresholds = {"errors.reset_reused_connection<1", "errors.refused<=3"};
  CHECK_FALSE(evaluate_thresholds(s));
  CHECK(s.threshold_results[0].observed == "errors.reset_reused_connection = 5");
  CHECK(s.threshold_results[1].passed);

  const auto j = s.to_json();
  CHECK(j["version"] == 2);
  CHECK(j["counts"]["errors"]["refused"] == 3);
  CHECK(j["counts"]["errors"]["reset_new_connection"] == 4);
  CHECK(j["counts"]["errors"]["reset_reused_connection"] == 5);
  CHECK_FALSE(j["counts"]["errors"].contains("reset"));
  std::string error;
  const auto back = load_summary::from_json(nlohmann::json::parse(j.dump()), error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == s);
  auto missing = j;
  missing["counts"]["errors"].erase("reset_reused_connection");
  CHECK_FALSE(load_summary::from_json(missing, error));
  CHECK(error == "counts.errors.reset_reused_connection: missing or not a whole number");

  std::ostringstream human;
  write_human(human, s);
  CHECK(human.str().find("  errors: refused 3 reset_new_connection 4 reset_reused_connection 5 "
                         "timeout ") != std::string::npos);
  CHECK(human.str().find("threshold errors.reset_reused_connection<1: FAILED "
                         "(errors.reset_reused_connection = 5)") != std::string::npos);
  std::ostringstream prom;
  write_prometheus(prom, s);
  CHECK(prom.str().find("icapkit_load_errors_total{kind=\"reset_new_connection\"} 4\n") !=
        std::string::npos);
  CHECK(prom.str().find("icapkit_load_errors_total{kind=\"reset_reused_connection\"} 5\n") !=
        std::string::npos);
  CHECK(prom.str().find("icapkit_load_errors_total{kind=\"refused\"} 3\n") != std::string::npos);
}

TEST_CASE("a version 1 summary (resets not split) is still read, and merges with a new one") {
  auto s = make_summary(0, 100);
  auto j = s.to_json();
  j["version"] = 1;
  auto& errors = j["counts"]["errors"];
  errors.erase("reset_new_connection");
  errors.erase("reset_reused_connection");
  errors["reset"] = 7U;
  std::string error;
  const auto old = load_summary::from_json(j, error);
  REQUIRE_MESSAGE(old, error);
  const auto& c = old->measured.counts;
  CHECK(c.errors[static_cast<std::size_t>(error_kind::reset_new_connection)] == 7);
  CHECK(c.errors[static_cast<std::size_t>(error_kind::reset_reused_connection)] == 0);
  CHECK(c.errors[static_cast<std::size_t>(error_kind::timeout)] ==
        s.measured.counts.errors[static_cast<std::size_t>(error_kind::timeout)]);
  auto fresh = make_summary(100, 100);
  fresh.measured.counts.errors[static_cast<std::size_t>(error_kind::reset_reused_connection)] = 2;
  const auto merged = merge(*old, fresh).to_json();
  CHECK(merged["version"] == 2);
  CHECK(merged["counts"]["errors"]["reset_new_connection"] == 7);
  CHECK(merged["counts"]["errors"]["reset_reused_connection"] == 2);

  errors.erase("reset");
  CHECK_FALSE(load_summary::from_json(j, error));
  CHECK(error == "counts.errors.reset: missing or not a whole number");
  j["version"] = 3;
  CHECK_FALSE(load_summary::from_json(j, error));
  CHECK(error == "version: unsupported (expected 1 or 2)");
}

} // namespace icapkit::load
