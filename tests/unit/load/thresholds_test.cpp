#include "icapkit/load/thresholds.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace icapkit::load;

namespace {

threshold parsed(std::string_view text) {
  std::string error;
  const auto t = parse_threshold(text, error);
  REQUIRE_MESSAGE(t.has_value(), error);
  return *t;
}

std::string error_of(const char* text) {
  std::string error;
  CHECK_FALSE(parse_threshold(text, error).has_value());
  return error;
}

} // namespace

TEST_CASE("thresholds: latency metrics with durations") {
  const auto p99 = parsed("p99<200ms");
  CHECK(p99.metric == threshold_metric::percentile);
  CHECK(p99.percentile == 99.0);
  CHECK(p99.op == comparison::less);
  CHECK(p99.value == 200'000.0);
  CHECK(p99.phase == latency_phase::total);
  CHECK(p99.label == "p99");

  const auto p999 = parsed("p99.9<1s");
  CHECK(p999.percentile == doctest::Approx(99.9));
  CHECK(p999.value == 1e6);
  CHECK(parsed("p99.99<=1.5s").percentile == doctest::Approx(99.99));
  CHECK(parsed("p50<=20ms").op == comparison::less_equal);
  CHECK(parsed("max<2s").metric == threshold_metric::max);
  CHECK(parsed("mean<50ms").metric == threshold_metric::mean);
  CHECK(parsed("p99<200").value == 200'000.0); // a bare number is milliseconds
  CHECK(parsed("p99<250us").value == 250.0);
  CHECK(parsed("max<1m").value == 60e6);
  CHECK(parsed("p100<1s").percentile == 100.0);
  CHECK(parsed("mean>1ms").op == comparison::greater);
  CHECK(parsed("mean>=1ms").op == comparison::greater_equal);
}

TEST_CASE("thresholds: phase prefixes") {
  const auto connect = parsed("connect.p99<10ms");
  CHECK(connect.phase == latency_phase::connect);
  CHECK(connect.label == "connect.p99");
  CHECK(parsed("total.p99<200ms").phase == latency_phase::total);
  CHECK(parsed("tls.max<1s").phase == latency_phase::tls);
  CHECK(parsed("options.mean<5ms").phase == latency_phase::options);
  const auto preview = parsed("preview.p99.9<300ms");
  CHECK(preview.phase == latency_phase::preview);
  CHECK(preview.percentile == doctest::Approx(99.9));
}

TEST_CASE("thresholds: outcome counts, percentages and rps") {
  const auto percent = parsed("errors<0.1%");
  CHECK(percent.metric == threshold_metric::errors);
  CHECK(percent.is_percentage);
  CHECK(percent.value == doctest::Approx(0.1));
  const auto count = parsed("errors<=5");
  CHECK_FALSE(count.is_percentage);
  CHECK(count.value == 5.0);
  CHECK(parsed("timeouts<1%").metric == threshold_metric::timeouts);
  CHECK(parsed("slow<2%").metric == threshold_metric::slow);
  const auto rps = parsed("rps>500");
  CHECK(rps.metric == threshold_metric::rps);
  CHECK(rps.op == comparison::greater);
  CHECK(rps.value == 500.0);
  CHECK(parsed("rps>=99.5").value == 99.5);
}

TEST_CASE("thresholds: whitespace around the parts is allowed") {
  const auto t = parsed("  p99 <= 200ms ");
  CHECK(t.text == "p99 <= 200ms");
  CHECK(t.label == "p99");
  CHECK(t.op == comparison::less_equal);
  CHECK(t.value == 200'000.0);
}

TEST_CASE("thresholds: errors.KIND counts only the failures of that kind") {
  const auto t = parsed("errors.reset_reused_connection < 1");
  CHECK(t.metric == threshold_metric::errors);
  CHECK(t.kind == error_kind::reset_reused_connection);
  CHECK(t.label == "errors.reset_reused_connection");
  CHECK_FALSE(parsed("errors<1").kind.has_value());
  for (const auto kind : all_error_kinds) {
    CHECK(parsed("errors." + std::string(to_string(kind)) + "<=5%").kind == kind);
  }
}

TEST_CASE("thresholds: errors name the bad part") {
  CHECK(error_of("p99<>200ms") == "--threshold 'p99<>200ms': expected < <= > >= after p99");
  CHECK(error_of("p99") == "--threshold 'p99': expected < <= > >= after p99");
  CHECK(error_of("p99=200ms") == "--threshold 'p99=200ms': expected < <= > >= after p99");
  CHECK(error_of("p99<<200ms") == "--threshold 'p99<<200ms': expected < <= > >= after p99");
  CHECK(error_of("p99<=") == "--threshold 'p99<=': expected a value after <=");
  CHECK(error_of("<200ms") == "--threshold '<200ms': expected a metric (pN, max, mean, errors, "
                              "errors.KIND, timeouts, slow, rps) before the comparison");
  CHECK(error_of("") == "--threshold '': expected a metric (pN, max, mean, errors, errors.KIND, "
                        "timeouts, slow, rps) before the comparison");
  CHECK(error_of("latency<2s") == "--threshold 'latency<2s': unknown metric 'latency' (pN, max, "
                                  "mean, errors, errors.KIND, timeouts, slow, rps)");
  CHECK(error_of("p101<2s") ==
        "--threshold 'p101<2s': bad percentile 'p101' (p0 to p100, e.g. p99.9)");
  CHECK(error_of("p9x<2s") ==
        "--threshold 'p9x<2s': bad percentile 'p9x' (p0 to p100, e.g. p99.9)");
  CHECK(error_of("p<2s") == "--threshold 'p<2s': unknown metric 'p' (pN, max, mean, errors, "
                            "errors.KIND, timeouts, slow, rps)");
  CHECK(error_of("errors.reset<1") ==
        "--threshold 'errors.reset<1': unknown error kind 'reset' (refused, "
        "reset_new_connection, reset_reused_connection, timeout, overload, protocol, other)");
  CHECK(error_of("errors.<1") == "--threshold 'errors.<1': unknown error kind '' (refused, "
                                 "reset_new_connection, reset_reused_connection, timeout, "
                                 "overload, protocol, other)");
  CHECK(error_of("errors.refused<1s") ==
        "--threshold 'errors.refused<1s': expected a whole count or a percentage (e.g. 5 or "
        "0.1%) for errors.refused, not '1s'");
  CHECK(error_of("dns.p99<2s") == "--threshold 'dns.p99<2s': unknown phase 'dns' (connect, tls, "
                                  "options, preview, total)");
  CHECK(error_of("connect.errors<5") == "--threshold 'connect.errors<5': a phase applies only to "
                                        "latency metrics (pN, max, mean), not errors");
  CHECK(error_of("p99<200xs") == "--threshold 'p99<200xs': bad duration '200xs' for p99: unknown "
                                 "unit 'xs' (us, ms, s, m or h)");
  CHECK(error_of("p99<-1s") ==
        "--threshold 'p99<-1s': bad duration '-1s' for p99: must not be negative");
  CHECK(error_of("errors<0.5") == "--threshold 'errors<0.5': expected a whole count or a "
                                  "percentage (e.g. 5 or 0.1%) for errors, not '0.5'");
  CHECK(error_of("errors<150%") ==
        "--threshold 'errors<150%': bad percentage '150%' for errors (0% to 100%)");
  CHECK(error_of("slow<%") == "--threshold 'slow<%': bad percentage '%' for slow (0% to 100%)");
  CHECK(error_of("rps>fast") ==
        "--threshold 'rps>fast': expected a number of requests per second, not 'fast'");
}

TEST_CASE("thresholds: evaluation against measured values") {
  histogram total;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    total.record(v * 200); // 0.2 ms .. 200 ms, uniform
  }
  histogram connect;
  connect.record(3'100);
  threshold_inputs inputs;
  inputs.latencies[latency_phase::total] = &total;
  inputs.latencies[latency_phase::connect] = &connect;
  inputs.latencies[latency_phase::tls] = nullptr;
  inputs.requests = 10'000;
  inputs.errors = 12;
  inputs.errors_by_kind[static_cast<std::size_t>(error_kind::refused)] = 2;
  inputs.errors_by_kind[static_cast<std::size_t>(error_kind::reset_reused_connection)] = 10;
  inputs.timeouts = 0;
  inputs.slow = 300;
  inputs.requests_per_second = 512.3;

  const auto check = [&](const char* text, bool passed, const char* observed) {
    const auto result = evaluate(parsed(text), inputs);
    INFO(text);
    CHECK(result.text == text);
    CHECK(result.passed == passed);
    CHECK(result.observed == observed);
  };
  // p99 is rank 990 = 198 ms, in the bucket [196608, 198655]: reported as its midpoint.
  check("p99<200ms", true, "p99 = 197.6 ms");
  check("p99<197ms", false, "p99 = 197.6 ms");
  check("p50<=100ms", true, "p50 = 99.8 ms");
  check("max<200ms", false, "max = 200 ms");
  check("max<=200ms", true, "max = 200 ms");
  check("mean<100ms", false, "mean = 100.1 ms");
  check("mean>100ms", true, "mean = 100.1 ms");
  check("total.p99<200", true, "total.p99 = 197.6 ms");
  check("connect.p99<10ms", true, "connect.p99 = 3.1 ms");
  check("tls.p99<10ms", false, "tls.p99: no samples");
  check("preview.max<1s", false, "preview.max: no samples");
  check("errors<0.1%", false, "errors = 0.12% (12 of 10000)");
  check("errors<=12", true, "errors = 12");
  check("errors<12", false, "errors = 12");
  check("errors.reset_reused_connection<1", false, "errors.reset_reused_connection = 10");
  check("errors.reset_new_connection<1", true, "errors.reset_new_connection = 0");
  check("errors.refused<=0.02%", true, "errors.refused = 0.02% (2 of 10000)");
  check("errors.refused<0.02%", false, "errors.refused = 0.02% (2 of 10000)");
  check("timeouts<1%", true, "timeouts = 0% (0 of 10000)");
  check("slow<2%", false, "slow = 3% (300 of 10000)");
  check("slow>=3%", true, "slow = 3% (300 of 10000)");
  check("rps>500", true, "rps = 512.3");
  check("rps>=600", false, "rps = 512.3");

  const std::vector<threshold> all{parsed("p99<200ms"), parsed("errors<0.1%")};
  const auto results = evaluate(all, inputs);
  REQUIRE(results.size() == 2);
  CHECK(results[0].passed);
  CHECK_FALSE(results[1].passed);
}

TEST_CASE("thresholds: a run without requests cannot pass a percentage") {
  const threshold_inputs none;
  CHECK(evaluate(parsed("errors<1%"), none) ==
        threshold_result{"errors<1%", false, "errors: no requests"});
  CHECK(evaluate(parsed("errors<=5"), none) == threshold_result{"errors<=5", true, "errors = 0"});
  CHECK(evaluate(parsed("p99<1s"), none) == threshold_result{"p99<1s", false, "p99: no samples"});
  CHECK(to_string(latency_phase::options) == "options");
  CHECK(to_string(comparison::greater_equal) == ">=");
}
