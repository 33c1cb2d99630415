#include "icapkit/proxy/stats.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace icapkit::proxy;
using std::chrono::microseconds;

TEST_CASE("stats: each ICAP outcome counts where Avi's VirtualServiceIcapStats counts it") {
  stats s;
  s.count_icap(stats::icap_outcome::passed, false, microseconds{1000});
  s.count_icap(stats::icap_outcome::blocked, true, microseconds{2000});
  s.count_icap(stats::icap_outcome::modified, false, microseconds{3000});
  s.count_icap(stats::icap_outcome::timedout, false, microseconds{4000});
  s.count_icap(stats::icap_outcome::server_error, false, microseconds{5000});
  s.count_icap(stats::icap_outcome::error, false, microseconds{6000});
  const auto snap = s.snapshot();
  CHECK(snap.icap_requests == 6);
  CHECK(snap.icap_passed == 1);
  CHECK(snap.icap_blocked == 1);
  CHECK(snap.icap_modified == 1);
  CHECK(snap.icap_timedout == 1);
  CHECK(snap.icap_server_error == 1);
  CHECK(snap.icap_error == 3); // timed out, server error and the connection error
  CHECK(snap.icap_time_exceeded_warning_threshold == 1);
  CHECK(snap.latency_max_ms == doctest::Approx(6.0));
}

TEST_CASE("stats: latency percentiles are within the bucket error of the truth") {
  stats s;
  for (int i = 1; i <= 1000; ++i) {
    s.count_icap(stats::icap_outcome::passed, false, microseconds{i * 100}); // 0.1 .. 100 ms
  }
  const auto snap = s.snapshot();
  CHECK(snap.latency_p50_ms == doctest::Approx(50.0).epsilon(0.07));
  CHECK(snap.latency_p90_ms == doctest::Approx(90.0).epsilon(0.07));
  CHECK(snap.latency_p99_ms == doctest::Approx(99.0).epsilon(0.07));
  CHECK(snap.latency_max_ms == doctest::Approx(100.0));
  CHECK(snap.latency_p50_ms <= snap.latency_p90_ms);
  CHECK(snap.latency_p99_ms <= snap.latency_max_ms);
}

TEST_CASE("stats: an empty proxy reports zeros, and the JSON names Avi's counters") {
  stats s;
  s.count_http_request();
  s.count_http_error();
  s.connection_opened();
  const auto json = to_json(s.snapshot());
  CHECK(json.at("icap_requests") == 0);
  CHECK(json.at("http_requests") == 1);
  CHECK(json.at("http_errors") == 1);
  CHECK(json.at("active_connections") == 1);
  CHECK(json.at("latency_ms").at("p99") == 0.0);
  for (const char* key :
       {"icap_passed", "icap_blocked", "icap_modified", "icap_error", "icap_timedout",
        "icap_time_exceeded_warning_threshold", "icap_server_error", "icap_internal_error"}) {
    CHECK_MESSAGE(json.contains(key), key);
  }
}

TEST_CASE("stats: failover, fail action and upstream retry counters") {
  icapkit::proxy::stats s;
  s.count_icap_failover();
  s.count_icap_failover();
  s.count_fail_action(true);
  s.count_fail_action(false);
  s.count_fail_action(false);
  s.count_upstream_retry();
  s.count_upstream_error();
  s.count_upstream_stale();
  const auto snap = s.snapshot();
  CHECK(snap.icap_failovers == 2u);
  CHECK(snap.icap_fail_closed == 1u);
  CHECK(snap.icap_fail_open == 2u);
  const auto json = to_json(snap);
  CHECK(json.at("icap_failovers") == 2);
  CHECK(json.at("icap_fail_open") == 2);
  CHECK(json.at("icap_fail_closed") == 1);
  CHECK(json.at("upstream_retries") == 1);
  CHECK(json.at("upstream_errors") == 1);
  CHECK(json.at("upstream_stale_closed") == 1);
}
