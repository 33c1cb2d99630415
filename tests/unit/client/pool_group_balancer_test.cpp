#include "icapkit/client/pool_group_balancer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <map>
#include <set>
#include <thread>

namespace icapkit::client {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using server_key = std::pair<std::size_t, std::size_t>;

// Pool "primary" (priority 10; servers :1344 and :1345 with ratio 2) and "backup" (priority 5;
// :1346) in group "g", as testdata/profiles/pool-group-two-priorities.json has them.
nlohmann::json two_priorities(const std::string& algorithm = "LB_ALGORITHM_ROUND_ROBIN") {
  auto doc = nlohmann::json::parse(R"({
    "icap_profile": {"name": "p", "pool_group_ref": "g", "service_uri": "/OMSScanReq-AV?x=1"},
    "pool_groups": [{"name": "g", "uuid": "poolgroup-1", "members": [
      {"pool_ref": "backup", "priority_label": "5"},
      {"pool_ref": "primary", "priority_label": "10"}]}],
    "pools": [
      {"name": "primary", "servers": [
        {"ip": {"addr": "127.0.0.1", "type": "V4"}, "port": 1344},
        {"ip": {"addr": "127.0.0.1", "type": "V4"}, "port": 1345, "ratio": 2}]},
      {"name": "backup", "servers": [{"ip": {"addr": "127.0.0.1", "type": "V4"}, "port": 1346}]}
    ]})");
  doc["pools"][0]["lb_algorithm"] = algorithm;
  return doc;
}

config::virtual_service_config load(const nlohmann::json& doc) {
  auto r = config::load_config(doc.dump());
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].text()));
  return std::move(*r.config);
}

std::function<health_settings(std::size_t)> passive_only(std::chrono::milliseconds hold_down) {
  return [hold_down](std::size_t) {
    health_settings h;
    h.passive_hold_down = hold_down;
    return h;
  };
}

std::uint16_t port_of(const std::optional<server_choice>& choice) {
  REQUIRE(choice.has_value());
  return choice->service.port;
}

// Picks n times (finishing each at once) and counts the picks per port.
std::map<std::uint16_t, int> count_picks(pool_group_balancer& balancer, int n,
                                         const std::optional<config::ip_address>& ip = {}) {
  std::map<std::uint16_t, int> counts;
  for (int i = 0; i < n; ++i) {
    const auto choice = balancer.pick(ip);
    ++counts[port_of(choice)];
    balancer.finish(*choice, exchange_outcome::success);
  }
  return counts;
}

void fail(pool_group_balancer& balancer, std::uint16_t port) {
  for (int i = 0; i < 10; ++i) {
    const auto choice = balancer.pick({});
    REQUIRE(choice.has_value());
    if (choice->service.port == port) {
      balancer.finish(*choice, exchange_outcome::connection_error, "connection refused");
      return;
    }
    balancer.finish(*choice, exchange_outcome::success);
  }
  FAIL("never picked port " << port);
}

config::ip_address ip(const char* text) {
  return *config::ip_address::parse(text);
}

} // namespace

TEST_CASE("pool_group_balancer: the service URI, TLS and names of a choice") {
  auto doc = two_priorities();
  doc["pools"][0]["servers"] = nlohmann::json::parse(R"([{"ip": {"addr": "::1", "type": "V6"}}])");
  doc["pools"][0]["icapkit_tls"] = {
      {"ca_file", "/ca.pem"}, {"sni", "icap.test"}, {"verify", false}};
  const auto config = load(doc);
  pool_group_balancer balancer(config, 0, config.profile.service_uri, {});
  CHECK(balancer.group_name() == "g");
  CHECK(balancer.group_uuid() == "poolgroup-1");
  const auto choice = balancer.pick({});
  REQUIRE(choice.has_value());
  CHECK(choice->pool_index == 0);
  CHECK(choice->server_index == 0);
  CHECK(choice->pool_name == "primary");
  CHECK(choice->service.scheme == "icaps");
  CHECK(choice->service.host == "::1");
  CHECK(choice->service.ipv6_literal);
  CHECK(choice->service.port == 11344); // the ICAPS default_server_port
  CHECK(choice->service.path == "/OMSScanReq-AV");
  CHECK(choice->service.query == "x=1");
  CHECK(choice->tls.enabled);
  CHECK(choice->tls.ca_file == "/ca.pem");
  CHECK(choice->tls.sni == "icap.test");
  CHECK(choice->tls.insecure);

  const auto plain = load(two_priorities());
  pool_group_balancer plain_balancer(plain, 0, "/scan", {});
  const auto first = plain_balancer.pick({});
  REQUIRE(first.has_value());
  CHECK(first->service.scheme == "icap");
  CHECK(first->service.authority() == "127.0.0.1:1345"); // ratio 2 goes first
  CHECK(first->service.path == "/scan");
  CHECK_FALSE(first->tls.enabled);
}

TEST_CASE("pool_group_balancer: highest priority first, failover when its servers are down, "
          "back after the hold-down") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", passive_only(100ms));
  auto counts = count_picks(balancer, 30);
  CHECK(counts.count(1346) == 0);

  fail(balancer, 1344);
  counts = count_picks(balancer, 10);
  CHECK(counts == std::map<std::uint16_t, int>{{1345, 10}}); // the other primary server
  fail(balancer, 1345);
  const auto start = clock::now();
  counts = count_picks(balancer, 10);
  CHECK(counts == std::map<std::uint16_t, int>{{1346, 10}}); // the backup pool
  const auto status = balancer.status();
  REQUIRE(status.size() == 3);
  CHECK(status[0].pool_name == "primary");
  CHECK(status[0].address == "127.0.0.1:1344");
  CHECK_FALSE(status[0].up);
  CHECK(status[0].failures == 1);
  CHECK(status[0].last_failure == "connection refused");
  CHECK(status[2].pool_name == "backup");
  CHECK(status[2].up);

  std::this_thread::sleep_until(start + 150ms);
  counts = count_picks(balancer, 30);
  CHECK(counts == std::map<std::uint16_t, int>{{1344, 10}, {1345, 20}});
  CHECK(balancer.status()[0].up);
}

TEST_CASE("pool_group_balancer: nothing up anywhere is nullopt; server errors and timeouts") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", passive_only(10s));
  // A server error means the server is alive: it stays up.
  auto choice = balancer.pick({});
  REQUIRE(choice.has_value());
  balancer.finish(*choice, exchange_outcome::server_error, "ICAP 500");
  CHECK(balancer.status()[choice->server_index].up);
  CHECK(balancer.status()[choice->server_index].last_failure == "ICAP 500");
  // A timeout takes it down like a connection error.
  choice = balancer.pick({});
  balancer.finish(*choice, exchange_outcome::timeout);
  CHECK_FALSE(balancer.status()[choice->server_index].up);
  CHECK(balancer.status()[choice->server_index].last_failure == "timeout");
  for (const std::uint16_t port : {std::uint16_t{1344}, std::uint16_t{1345}, std::uint16_t{1346}}) {
    if (balancer.status()[port - 1344U].up) {
      fail(balancer, port);
    }
  }
  CHECK_FALSE(balancer.pick({}).has_value());
}

TEST_CASE("pool_group_balancer: round robin follows the server ratios") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", {});
  const auto counts = count_picks(balancer, 300);
  CHECK(counts == std::map<std::uint16_t, int>{{1344, 100}, {1345, 200}});
  // Smooth: the ratio-2 server is never picked three times in a row.
  std::string sequence;
  for (int i = 0; i < 30; ++i) {
    const auto choice = balancer.pick({});
    sequence += choice->service.port == 1344 ? 'a' : 'b';
    balancer.finish(*choice, exchange_outcome::success);
  }
  CHECK(sequence.find("bbb") == std::string::npos);
  CHECK(balancer.status()[0].requests == 110);
  CHECK(balancer.status()[1].requests == 220);
}

TEST_CASE("pool_group_balancer: disabled servers and pools, member ratio 0") {
  auto doc = two_priorities();
  doc["pools"][0]["servers"][1]["enabled"] = false;
  auto config = load(doc);
  {
    pool_group_balancer balancer(config, 0, "/s", {});
    CHECK(count_picks(balancer, 5) == std::map<std::uint16_t, int>{{1344, 5}});
    CHECK_FALSE(balancer.status()[1].enabled);
  }
  doc = two_priorities();
  doc["pools"][0]["enabled"] = false;
  config = load(doc);
  {
    pool_group_balancer balancer(config, 0, "/s", {});
    CHECK(count_picks(balancer, 5) == std::map<std::uint16_t, int>{{1346, 5}});
  }
  doc = two_priorities();
  doc["pool_groups"][0]["members"][1]["ratio"] = 0;
  config = load(doc);
  {
    pool_group_balancer balancer(config, 0, "/s", {});
    CHECK(count_picks(balancer, 5) == std::map<std::uint16_t, int>{{1346, 5}});
  }
}

TEST_CASE("pool_group_balancer: pools of equal priority share by member ratio") {
  auto doc = two_priorities();
  doc["pool_groups"][0]["members"][0]["priority_label"] = "10";
  doc["pool_groups"][0]["members"][0]["ratio"] = 3; // backup
  const auto config = load(doc);
  pool_group_balancer balancer(config, 0, "/s", {});
  const auto counts = count_picks(balancer, 400);
  CHECK(counts.at(1346) == 300);
  CHECK(counts.at(1344) + counts.at(1345) == 100);
}

TEST_CASE("pool_group_balancer: least connections") {
  const auto config = load(two_priorities("LB_ALGORITHM_LEAST_CONNECTIONS"));
  pool_group_balancer balancer(config, 0, "/s", {});
  const auto first = balancer.pick({});
  const auto second = balancer.pick({});
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->server_index != second->server_index);
  const auto third = balancer.pick({}); // a tie: 1 active each
  REQUIRE(third.has_value());
  const auto busy = third->server_index; // now 2 active
  const auto idle = 1 - busy;
  for (int i = 0; i < 3; ++i) {
    const auto next = balancer.pick({});
    REQUIRE(next.has_value());
    CHECK(next->server_index == idle); // 1 active against 2
    balancer.finish(*next, exchange_outcome::success);
  }
  CHECK(balancer.status()[busy].active == 2);
  CHECK(balancer.status()[idle].active == 1);
  balancer.finish(*first, exchange_outcome::success);
  balancer.finish(*second, exchange_outcome::success);
  balancer.finish(*third, exchange_outcome::success);
  CHECK(balancer.status()[0].active == 0);
  CHECK(balancer.status()[1].active == 0);
  // All idle: ties follow the ratios.
  CHECK(count_picks(balancer, 30) == std::map<std::uint16_t, int>{{1344, 10}, {1345, 20}});
}

TEST_CASE("pool_group_balancer: consistent hash keeps a client on its server") {
  auto doc = two_priorities("LB_ALGORITHM_CONSISTENT_HASH");
  doc["pools"][0]["servers"].push_back(
      {{"ip", {{"addr", "127.0.0.2"}, {"type", "V4"}}}, {"port", 1347}});
  const auto config = load(doc);
  pool_group_balancer balancer(config, 0, "/s", passive_only(10s));
  std::map<std::string, std::string> placement;
  std::map<std::string, int> per_server;
  for (int i = 0; i < 200; ++i) {
    const auto client = "10.0." + std::to_string(i / 100) + "." + std::to_string(i % 100);
    const auto counts = count_picks(balancer, 5, ip(client.c_str()));
    REQUIRE(counts.size() == 1); // the same server every time
    auto choice = balancer.pick(ip(client.c_str()));
    placement[client] = choice->service.authority();
    ++per_server[choice->service.authority()];
    balancer.finish(*choice, exchange_outcome::success);
  }
  CHECK(per_server.size() == 3);                                      // every server gets clients
  CHECK(per_server["127.0.0.1:1345"] > per_server["127.0.0.1:1344"]); // ratio 2
  // An IPv4-mapped IPv6 client is the same client.
  const auto mapped = balancer.pick(ip("::ffff:10.0.0.7"));
  CHECK(mapped->service.authority() == placement["10.0.0.7"]);
  balancer.finish(*mapped, exchange_outcome::success);

  // Taking one server down moves only its clients.
  auto down = balancer.pick(ip("10.0.0.1"));
  const auto gone = down->service.authority();
  balancer.finish(*down, exchange_outcome::connection_error);
  for (const auto& [client, server] : placement) {
    const auto now = balancer.pick(ip(client.c_str()));
    if (server == gone) {
      CHECK(now->service.authority() != gone);
    } else {
      CHECK(now->service.authority() == server);
    }
    balancer.finish(*now, exchange_outcome::success);
  }
  // Without a client IP: round robin over the up servers.
  const auto counts = count_picks(balancer, 30);
  CHECK(counts.size() == 2);
}

TEST_CASE("pool_group_balancer: the exclude list") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", {});
  for (int i = 0; i < 5; ++i) {
    auto choice = balancer.pick({}, {{0, 1}});
    CHECK(choice->service.port == 1344);
    balancer.finish(*choice, exchange_outcome::success);
  }
  auto choice = balancer.pick({}, {{0, 0}, {0, 1}});
  CHECK(choice->service.port == 1346);
  balancer.finish(*choice, exchange_outcome::success);
  CHECK_FALSE(balancer.pick({}, {{0, 0}, {0, 1}, {1, 0}}).has_value());
  // Excluding is per request: nothing is marked down.
  for (const auto& s : balancer.status()) {
    CHECK(s.up);
    CHECK(s.active == 0);
  }
}

TEST_CASE("pool_group_balancer: health_settings_for reads the pool's first monitor") {
  auto doc = two_priorities();
  doc["health_monitors"] = nlohmann::json::parse(R"([{"name": "hm", "send_interval": 7,
    "receive_timeout": 3, "successful_checks": 4, "failed_checks": 5}])");
  doc["pools"][0]["health_monitor_refs"] = {"hm", "System-TCP"};
  const auto config = load(doc);
  const auto monitored = health_settings_for(config, 0);
  CHECK(monitored.active);
  CHECK(monitored.send_interval == 7s);
  CHECK(monitored.receive_timeout == 3s);
  CHECK(monitored.successful_checks == 4);
  CHECK(monitored.failed_checks == 5);
  CHECK_FALSE(health_settings_for(config, 1).active);
}

namespace {

// Fast monitor timing for the tests below. The scripted checks answer at once, so a generous
// receive_timeout only matters to the hanging ones (and keeps a loaded machine from failing
// instant checks).
std::function<health_settings(std::size_t)>
monitored(std::size_t pool_index, std::chrono::milliseconds receive_timeout = 1s) {
  return [pool_index, receive_timeout](std::size_t pool) {
    health_settings h;
    h.active = pool == pool_index;
    h.send_interval = 30ms;
    h.receive_timeout = receive_timeout;
    h.successful_checks = 2;
    h.failed_checks = 2;
    h.passive_hold_down = 10ms;
    return h;
  };
}

// A check that answers from a script per port and, on entry, notes whether the balancer has
// the server up: entry n shows the effect of the answers 0..n-1.
struct scripted_check {
  pool_group_balancer* balancer = nullptr;
  std::map<std::uint16_t, std::vector<bool>> answers; // past the end: true
  std::map<std::uint16_t, std::vector<bool>> up_at_entry;
  std::set<std::uint16_t> hang; // these never answer
  std::atomic<int> calls{0};
  std::array<std::atomic<int>, 3> calls_by_port{}; // ports 1344..1346

  bool is_up(std::uint16_t port) const {
    for (const auto& s : balancer->status()) {
      if (s.address == "127.0.0.1:" + std::to_string(port)) {
        return s.up;
      }
    }
    return false;
  }

  pool_group_balancer::check_fn fn() {
    return [this](const server_choice& choice, std::chrono::milliseconds) -> asio::awaitable<bool> {
      return run(choice.service.port);
    };
  }

  asio::awaitable<bool> run(std::uint16_t port) {
    ++calls;
    ++calls_by_port.at(port - 1344U);
    auto& seen = up_at_entry[port];
    seen.push_back(is_up(port));
    if (hang.contains(port)) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(10s);
      co_await timer.async_wait(asio::use_awaitable); // cancelled at stop()
    }
    const auto& script = answers[port];
    const auto n = seen.size() - 1;
    co_return n < script.size() ? script[n] : true;
  }
};

} // namespace

TEST_CASE("pool_group_balancer: the active monitor takes a server down after failed_checks and "
          "back after successful_checks") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", monitored(0));
  scripted_check check;
  check.balancer = &balancer;
  check.answers[1344] = {true, false, false, false, true, true, true};

  asio::io_context io;
  bool monitor_done = false;
  asio::co_spawn(io, balancer.run_monitor(check.fn()), [&](std::exception_ptr e) {
    CHECK_FALSE(e);
    monitor_done = true;
  });
  const auto start = clock::now();
  while (check.up_at_entry[1344].size() < 8 && clock::now() - start < 5s) {
    io.run_for(10ms);
  }
  balancer.stop();
  const auto stopped = clock::now();
  io.run_for(2s);
  CHECK(monitor_done);
  CHECK(clock::now() - stopped < 200ms);

  const auto& seen = check.up_at_entry[1344];
  REQUIRE(seen.size() >= 8);
  // Entry n sees the answers before it: T (up), F (1 failure: up), F (2: down), F, T (1 pass:
  // still down), T (2 passes: up), T.
  const std::vector<bool> expected{true, true, true, false, false, false, true, true};
  CHECK(std::vector<bool>(seen.begin(), seen.begin() + 8) == expected);
  // The other server of the pool was checked all along and stayed up; the backup pool has no
  // monitor and was never checked.
  CHECK(check.up_at_entry[1345].size() >= 6);
  CHECK(check.up_at_entry.count(1346) == 0);
  CHECK(balancer.status()[1].up);
}

TEST_CASE("pool_group_balancer: with a monitor, a passive failure waits for the monitor") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", monitored(0));
  fail(balancer, 1344);
  std::this_thread::sleep_for(30ms); // past passive_hold_down: the monitor decides, not the time
  CHECK_FALSE(balancer.status()[0].up);

  scripted_check check;
  check.balancer = &balancer;
  asio::io_context io;
  asio::co_spawn(io, balancer.run_monitor(check.fn()), [](std::exception_ptr) {});
  const auto start = clock::now();
  while (check.up_at_entry[1344].size() < 3 && clock::now() - start < 5s) {
    io.run_for(10ms);
  }
  balancer.stop();
  io.run_for(2s);
  const auto& seen = check.up_at_entry[1344];
  REQUIRE(seen.size() >= 3);
  CHECK_FALSE(seen[0]);
  CHECK_FALSE(seen[1]); // one pass is not enough
  CHECK(seen[2]);       // two are
}

TEST_CASE("pool_group_balancer: a hanging check counts as failed and does not hold up others; "
          "stop() from another thread ends run_monitor promptly") {
  const auto config = load(two_priorities());
  pool_group_balancer balancer(config, 0, "/s", monitored(0, 300ms));
  scripted_check check;
  check.balancer = &balancer;
  check.hang.insert(1345);

  asio::io_context io;
  std::atomic<bool> monitor_done{false};
  asio::co_spawn(io, balancer.run_monitor(check.fn()),
                 [&](std::exception_ptr) { monitor_done = true; });
  std::thread runner([&] { io.run_for(10s); });

  // While the first check of 1345 hangs for its 300 ms, 1344 is checked every 30 ms: checking
  // one server after the other would allow it one check at most.
  const auto start = clock::now();
  while (check.calls_by_port[1] < 2 && clock::now() - start < 5s) {
    std::this_thread::sleep_for(2ms);
  }
  CHECK(check.calls_by_port[0] >= 4);
  while (balancer.status()[1].up && clock::now() - start < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK_FALSE(balancer.status()[1].up); // after 2 timed-out checks
  CHECK(balancer.status()[1].last_failure == "health check: no answer within receive_timeout");
  CHECK(balancer.status()[0].up);

  const auto stopped = clock::now();
  balancer.stop();
  while (!monitor_done && clock::now() - stopped < 2s) {
    std::this_thread::sleep_for(2ms);
  }
  CHECK(monitor_done);
  CHECK(clock::now() - stopped < 200ms);
  runner.join(); // ends early: the hanging check was cancelled, nothing else is left
  CHECK(clock::now() - stopped < 1s);
}

TEST_CASE("pool_group_balancer: run_monitor returns at once without monitors or after stop()") {
  const auto config = load(two_priorities());
  for (const bool stop_first : {false, true}) {
    pool_group_balancer balancer(config, 0, "/s", stop_first ? monitored(0) : passive_only(1s));
    if (stop_first) {
      balancer.stop();
    }
    scripted_check check;
    check.balancer = &balancer;
    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, balancer.run_monitor(check.fn()), [&](std::exception_ptr) { done = true; });
    io.run_for(1s);
    CHECK(done);
    CHECK(check.calls == 0);
  }
}

} // namespace icapkit::client
