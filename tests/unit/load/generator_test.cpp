#include "icapkit/load/generator.hpp"

#include "../proxy/proxy_test_peers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace icapkit::load {

namespace {

using namespace std::chrono_literals;
using proxy::test::running_icap;

generator_settings settings_for(std::uint16_t port) {
  generator_settings s;
  codec::uri service;
  REQUIRE(
      !codec::parse_uri("icap://127.0.0.1:" + std::to_string(port) + "/OMSScanReq-AV", service));
  s.services.push_back(service);
  s.client.response_timeout = 2000ms;
  s.sizes = {1024, 8192};
  return s;
}

mock::scenario delay_all(std::chrono::milliseconds delay) {
  mock::rule slow;
  slow.name = "slow";
  slow.delay.min = delay;
  slow.delay.max = delay;
  mock::scenario rules;
  rules.name = "delay";
  rules.rules.push_back(slow);
  return rules;
}

mock::scenario fault_all(mock::fault_type type) {
  mock::rule faulty;
  faulty.name = "fault";
  faulty.fault.type = type;
  mock::scenario rules;
  rules.name = "faults";
  rules.rules.push_back(faulty);
  return rules;
}

std::uint64_t errors_of(const load_counts& c, error_kind kind) {
  return c.errors[static_cast<std::size_t>(kind)];
}

} // namespace

TEST_CASE("the EICAR rule marks exactly floor(n * ratio) of the first n requests") {
  std::uint64_t marked = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    marked += is_eicar_request(i, 0.1) ? 1U : 0U;
  }
  CHECK(marked == 100);
  CHECK_FALSE(is_eicar_request(0, 0));
  CHECK(is_eicar_request(5, 1));
  CHECK(share_of(10, 0, 3) == 4);
  CHECK(share_of(10, 1, 3) == 3);
  CHECK(share_of(10, 2, 3) == 3);
}

TEST_CASE("closed model: the requests asked for are counted, EICAR ones blocked") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.model = load_model::closed;
  s.connections = 4;
  s.threads = 2;
  s.requests = 200;
  s.eicar_ratio = 0.25;
  std::atomic<std::uint64_t> records{0};
  // Each sampled result carries its icap_log record (the client builds it only for those).
  s.on_record = [&](const client::exchange_result& r) { records += r.record.action ? 1 : 0; };
  s.record_sample = 1.0;
  REQUIRE(validate(s).empty());
  const auto result = run_load(s);
  REQUIRE(result.reached);
  const auto& c = result.measured.counts;
  CHECK(c.requests == 200);
  CHECK(c.blocked == 50);
  CHECK(c.passed == 150);
  CHECK(c.failed == 0);
  CHECK(result.measured.total.count() == 200);
  CHECK(result.measured.total == result.measured.total_uncorrected);
  CHECK(records.load() == 200);
  CHECK(c.bytes_sent > 0);
  std::uint64_t in_series = 0;
  for (const auto& second : result.measured.series) {
    in_series += second.requests;
  }
  CHECK(in_series == 200);
  CHECK(result.measured.options.count() >= 1);
}

TEST_CASE("record_sample: a share of the counted requests reaches on_record, with its record") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.connections = 4;
  s.requests = 400;
  s.warmup = 100ms; // warm-up requests are never sampled
  s.record_sample = 0.25;
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> without_record{0};
  s.on_record = [&](const client::exchange_result& r) {
    ++records;
    without_record += r.record.action ? 0 : 1;
  };
  const auto result = run_load(s);
  CHECK(result.measured.counts.requests == 400);
  CHECK(records.load() > 50); // 100 expected; the draw is seeded, the bounds are 5 sigma wide
  CHECK(records.load() < 150);
  CHECK(without_record.load() == 0);
}

TEST_CASE("phases: connects are measured per new connection, preview decisions per preview") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.connections = 2;
  s.requests = 40;
  s.client.preview_override = 512;
  auto kept = run_load(s);
  CHECK(kept.measured.counts.requests == 40);
  CHECK(kept.measured.connect.count() >= 1);
  CHECK(kept.measured.connect.count() <= 2); // the OPTIONS probe's connection is reused
  CHECK(kept.measured.preview_decision.count() == 40);
  CHECK(kept.measured.tls.count() == 0);

  s.client.keep_alive = false;
  auto closed = run_load(s);
  CHECK(closed.measured.counts.requests == 40);
  CHECK(closed.measured.counts.failed == 0);
  CHECK(closed.measured.connect.count() == 40); // --no-keepalive: one connection per request
}

TEST_CASE("a server that does not decide on the preview: timeouts counted in the preview phase") {
  running_icap icap(delay_all(1500ms));
  auto s = settings_for(icap.port());
  s.connections = 2;
  s.requests = 4;
  s.client.preview_override = 512;
  s.client.response_timeout = 300ms;
  const auto result = run_load(s);
  const auto& c = result.measured.counts;
  CHECK(c.requests == 4);
  CHECK(c.timeouts == 4);
  CHECK(c.errors[static_cast<std::size_t>(error_kind::timeout)] == 4);
  CHECK(c.timeouts_by_phase[5] == 4); // "preview"
  CHECK(timeout_phase_names[5] == "preview");
}

TEST_CASE("closed model: a server that goes away is not hammered with connects") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.connections = 2;
  s.duration = 1500ms;
  std::atomic<int> seen{0};
  std::thread stopper;
  s.on_record = [&](const client::exchange_result&) {
    if (++seen == 20) {
      stopper = std::thread([&] { icap.stop(); });
    }
  };
  const auto result = run_load(s);
  if (stopper.joinable()) {
    stopper.join();
  }
  const auto& c = result.measured.counts;
  const auto refused = c.errors[static_cast<std::size_t>(error_kind::refused)];
  // Each connection waits 10, 20, 40 ... ms after a refusal: about 7 tries each in the
  // remaining time, where an immediate retry would make thousands.
  CHECK(c.passed >= 20);
  CHECK(refused >= 2);
  CHECK(refused <= 40);
}

TEST_CASE("resets are counted on the connection they hit, never retried away") {
  // The server closes every connection instead of answering. The first request goes out on the
  // connection the OPTIONS opened (reused: a client that retried it on a new one would hide that
  // failure), each later one on a new connection.
  for (const auto type : {mock::fault_type::close_before_answer, mock::fault_type::reset}) {
    INFO(static_cast<int>(type));
    running_icap icap(fault_all(type));
    auto s = settings_for(icap.port());
    s.connections = 1;
    s.requests = 6;
    const auto result = run_load(s);
    const auto& c = result.measured.counts;
    CHECK(c.requests == 6);
    CHECK(c.failed == 6);
    CHECK(errors_of(c, error_kind::reset_reused_connection) == 1);
    CHECK(errors_of(c, error_kind::reset_new_connection) == 5);
    CHECK(result.measured.connect.count() == 5);
  }
}

TEST_CASE("timeout phase names follow client::exchange_phase") {
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    CHECK(client::to_string(static_cast<client::exchange_phase>(i)) == timeout_phase_names[i]);
  }
}

TEST_CASE("closed model shards: shard 2/3 does its third of the requests") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.connections = 3;
  s.requests = 100;
  s.shard_index = 1;
  s.shard_count = 3;
  const auto result = run_load(s);
  CHECK(result.measured.counts.requests == 33);
}

TEST_CASE("open model: about rate x duration requests are sent") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.model = load_model::open;
  s.rate = 200;
  s.duration = 1s;
  s.warmup = 200ms;
  const auto result = run_load(s);
  const auto sent = result.measured.counts.requests + result.measured.counts.dropped;
  CHECK(sent >= 100); // 200 expected; loose for a busy machine
  CHECK(sent <= 260);
  CHECK(result.measured.counts.failed == 0);
}

TEST_CASE("open model: a ramp from 0 sends what the rate integrates to") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.model = load_model::open;
  s.threads = 2;
  load::ramp_stage up;
  up.rate = 200;
  up.duration = 1s;
  s.ramp = {up};
  s.duration = 1s;
  const auto result = run_load(s);
  // 0 -> 200/s over 1 s: 100 requests; a scheduler stepping with the rate at 0 would send ~1.
  const auto sent = result.measured.counts.requests + result.measured.counts.dropped;
  CHECK(sent >= 70);
  CHECK(sent <= 130);
}

TEST_CASE("open model: a stalled generator shows in the corrected latency only") {
  running_icap icap(delay_all(2ms));
  auto s = settings_for(icap.port());
  s.model = load_model::open;
  s.rate = 200;
  s.duration = 1s;
  std::atomic<int> seen{0};
  // Blocking the thread for 400 ms delays the ~80 sends scheduled meanwhile (two fifths of the
  // run): each waits for its turn, which the corrected latency (from the intended send time)
  // counts and the uncorrected one (from the actual send) does not. A 2 ms answer every 5 ms
  // leaves at most one request in flight during the stall, the only one late in both figures.
  s.on_record = [&](const client::exchange_result&) {
    if (++seen == 20) {
      std::this_thread::sleep_for(400ms);
    }
  };
  const auto result = run_load(s);
  const auto& m = result.measured;
  REQUIRE(m.total.count() > 150);
  CHECK(m.total_uncorrected.percentile(50) >= 2'000); // the mock's delay is in every sample
  // The stall fills the corrected tail: the top quarter waited at least 150 ms for its turn ...
  CHECK(m.total.percentile(99) >= 300'000);
  CHECK(m.total.percentile(75) >= 100'000);
  // ... a wait the uncorrected figure hides: without correction the two would be equal. (p75,
  // not p99: on a busy 2-core machine the burst after the stall delays a few answers by 100+ ms
  // in both figures.)
  CHECK(m.total.percentile(75) >= m.total_uncorrected.percentile(75) + 100'000);
  CHECK(m.counts.late >= 40);
}

TEST_CASE("an unreachable server is reported, not loaded") {
  auto s = settings_for(proxy::test::unused_port());
  s.requests = 10;
  s.connections = 1;
  const auto result = run_load(s);
  CHECK_FALSE(result.reached);
  CHECK(result.first_error.find("refused") != std::string::npos);
  CHECK(result.measured.counts.requests == 0);
}

// Polls `condition` every 5 ms for at most `limit`: bounded waiting, not a timing assumption.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST_CASE("run_control: a stop ends a long run; requests in flight finish within the grace") {
  running_icap icap(delay_all(50ms));
  auto s = settings_for(icap.port());
  s.connections = 3;
  s.duration = 600s;
  run_control control;
  s.control = &control;
  live_counters live;
  s.live = &live;
  std::thread stopper([&] {
    REQUIRE(eventually([&] { return live.completed.load() >= 6; }));
    control.stop(5000ms);
  });
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_load(s);
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - started < 60s);
  CHECK(result.stopped);
  CHECK(result.abandoned == 0); // 50 ms answers fit in the 5 s grace
  CHECK(result.measured.counts.requests >= 6);
  CHECK(result.measured.counts.failed == 0);
  CHECK(result.measured.total.count() == result.measured.counts.requests);
}

TEST_CASE("run_control: requests still in flight after the grace are abandoned, not counted") {
  running_icap icap(delay_all(1500ms));
  auto s = settings_for(icap.port());
  s.connections = 2;
  s.duration = 600s;
  s.client.response_timeout = 30000ms;
  run_control control;
  s.control = &control;
  live_counters live;
  s.live = &live;
  std::thread stopper([&] {
    REQUIRE(eventually([&] { return live.in_flight.load() == 2; }));
    control.stop(100ms);
  });
  const auto result = run_load(s);
  stopper.join();
  CHECK(result.stopped);
  CHECK(result.abandoned == 2);
  CHECK(result.measured.counts.requests == 0);
}

TEST_CASE("run_control: stop_now cuts a long grace short") {
  running_icap icap(delay_all(3000ms));
  auto s = settings_for(icap.port());
  s.connections = 2;
  s.duration = 600s;
  s.client.response_timeout = 30000ms;
  run_control control;
  s.control = &control;
  live_counters live;
  s.live = &live;
  std::thread stopper([&] {
    REQUIRE(eventually([&] { return live.in_flight.load() == 2; }));
    control.stop(600s);
    control.stop_now();
  });
  const auto result = run_load(s);
  stopper.join();
  CHECK(result.stopped);
  CHECK(result.abandoned == 2); // waiting the grace out would have let both answers arrive
  CHECK(result.measured.counts.requests == 0);
}

TEST_CASE("run_control: stop_now during a start delay ends the run before any request") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.connections = 1;
  s.start_at = std::chrono::system_clock::now() + 600s;
  run_control control;
  s.control = &control;
  std::thread stopper([&] { control.stop_now(); });
  const auto result = run_load(s);
  stopper.join();
  CHECK(result.stopped);
  CHECK(result.measured.counts.requests == 0);
}

TEST_CASE("a file that cannot be read ends the run before any load, with the OS's reason") {
  running_icap icap;
  auto s = settings_for(icap.port());
  s.requests = 5;
  s.files = {"/nonexistent-icapkit-dir/body.bin"};
  const auto result = run_load(s);
  CHECK(result.file_error ==
        "cannot read '/nonexistent-icapkit-dir/body.bin': No such file or directory");
  CHECK(result.measured.counts.requests == 0);
}

TEST_CASE("validate names the problem") {
  generator_settings s;
  CHECK(validate(s) == "no ICAP service");
  s = settings_for(1344);
  s.model = load_model::open;
  CHECK(validate(s).find("rate") != std::string::npos);
  s.rate = 10;
  s.shard_index = 2;
  s.shard_count = 2;
  CHECK(validate(s).find("shard 3/2") != std::string::npos);
}

} // namespace icapkit::load
