// icapkit::proxy::proxy end to end on loopback: a blocking test client, the proxy, the mock ICAP
// server (OPSWAT personality) and an in-process origin that records what it receives. Each case
// checks what a user of `icapkit proxy` would notice: the status the client gets, the bytes the
// origin gets, the record and the counters.
#include "icapkit/proxy/proxy.hpp"

#include "icapkit/log/enums.hpp"
#include "icapkit/mock/scenario.hpp"
#include "icapkit/mock/stream_matcher.hpp"

#include "proxy_test_peers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace icapkit;
using namespace icapkit::proxy::test;
using namespace std::chrono_literals;

namespace {

// The standard 68-byte EICAR anti-virus test string.
constexpr std::string_view eicar =
    R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

// The proxy with the given configuration, records into `sink`, stopped at the end of the scope.
class running_proxy {
public:
  running_proxy(config::virtual_service_config cfg, record_sink& sink) {
    proxy::proxy_options o;
    o.config = std::move(cfg);
    o.listen = {"127.0.0.1:0"};
    o.threads = 2;
    o.header_timeout = 3s;
    o.idle_timeout = 5s;
    o.body_timeout = 3s;
    o.upstream_connect_timeout = 2s;
    o.upstream_timeout = 4s;
    o.drain_timeout = 2s;
    o.on_record = sink.callback();
    proxy_ = std::make_unique<proxy::proxy>(std::move(o));
    std::string detail;
    const auto ec = proxy_->start(detail);
    REQUIRE_MESSAGE(!ec, detail << ": " << ec.message());
    REQUIRE(proxy_->listen_addresses().size() == 1);
    address_ = proxy_->listen_addresses().front();
  }
  ~running_proxy() { proxy_->stop(); }
  running_proxy(const running_proxy&) = delete;
  running_proxy& operator=(const running_proxy&) = delete;

  const std::string& address() const noexcept { return address_; }
  proxy::stats_snapshot stats() const { return proxy_->stats(); }

private:
  std::unique_ptr<proxy::proxy> proxy_;
  std::string address_;
};

// Origin, optional ICAP server, records and the proxy, torn down proxy first.
struct bench {
  explicit bench(config_knobs knobs = {}, bool with_icap = true, mock::scenario rules = {}) {
    if (with_icap) {
      icap = std::make_unique<running_icap>(std::move(rules));
      knobs.icap_port = icap->port();
    } else if (knobs.icap_port == 0) {
      knobs.icap_port = unused_port(); // nothing listens: every connect is refused
    }
    if (knobs.upstream.empty()) {
      knobs.upstream = origin.url();
    }
    proxy = std::make_unique<running_proxy>(make_config(knobs), sink);
  }
  ~bench() { proxy.reset(); }

  std::optional<http_message> send(std::string_view request) {
    return round_trip(proxy->address(), request);
  }

  origin_server origin;
  std::unique_ptr<running_icap> icap;
  record_sink sink;
  std::unique_ptr<running_proxy> proxy;
};

std::string post(std::string_view target, std::string_view body,
                 std::string_view content_type = "application/octet-stream") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: app.example\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: app.example\r\n\r\n";
}

// `body` in chunks of `piece` bytes, with the last chunk.
std::string chunked(std::string_view body, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const auto part = body.substr(at, piece);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size;
    out += part;
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string post_chunked(std::string_view target, std::string_view body, std::size_t piece) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/octet-stream\r\n"
         "Transfer-Encoding: chunked\r\n\r\n" +
         chunked(body, piece);
}

// A body that is not all one byte, so a shifted or reordered copy differs.
std::string patterned(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  }
  return out;
}

bool has_code(const log::app_log_record& r, log::significance_code code) {
  const auto text = std::string(log::to_string(code));
  return std::find(r.significant_log.begin(), r.significant_log.end(), text) !=
         r.significant_log.end();
}

std::string codes_of(const log::app_log_record& r) {
  std::string out;
  for (const auto& c : r.significant_log) {
    out += c + " ";
  }
  return out;
}

// The single record the proxy wrote for the single request of a case.
log::app_log_record only_record(record_sink& sink) {
  const auto records = sink.wait_for(1);
  REQUIRE(records.size() == 1);
  return records.front();
}

} // namespace

TEST_CASE("proxy: a clean POST passes and the origin receives exactly the client's bytes") {
  bench b;
  const auto body = patterned(3000);
  const auto response = b.send(post("/upload/report.bin", body));
  REQUIRE(response);
  CHECK(response->status() == 200);
  CHECK(response->body == origin_body);

  const auto received = b.origin.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].method == "POST");
  CHECK(received[0].target == "/upload/report.bin");
  CHECK(received[0].body_length == body.size());
  CHECK(received[0].body_sha256 == sha256_hex(body));
  CHECK(received[0].message.header("Content-Length") == std::to_string(body.size()));
  CHECK(received[0].message.count("Transfer-Encoding") == 0);
  CHECK(received[0].message.header("Host") == "app.example");

  const auto record = only_record(b.sink);
  CHECK(record.source == log::record_source::proxy);
  CHECK(record.icap_log.action == log::icap_action::passed);
  CHECK(record.http_security_policy_rule_name == std::string(scan_rule_name));
  CHECK(record.significant == false);
  CHECK(record.response_code == 200u);
  CHECK(record.method == "POST");
  CHECK(record.uri_path == "/upload/report.bin");
  REQUIRE(record.icap_log.request_logs.size() == 1);
  const auto& icap = record.icap_log.request_logs[0];
  CHECK(icap.icap_method == log::avi_icap_method::reqmod);
  CHECK(icap.icap_server_port == b.icap->port());
  CHECK(icap.vendor == log::icap_vendor::opswat);
}

TEST_CASE("proxy: EICAR gets the ICAP server's 403 block page and never reaches the origin") {
  bench b;
  REQUIRE(eicar.size() == 68);
  REQUIRE(eicar == mock::eicar_string);
  const auto response = b.send(post("/upload/eicar.com", eicar));
  REQUIRE(response);
  CHECK(response->status() == 403);
  CHECK(response->header("Content-Length") == std::to_string(response->body.size()));
  CHECK(response->body.find("blocked") != std::string::npos);
  CHECK(b.origin.requests().empty());

  const auto record = only_record(b.sink);
  CHECK(record.icap_log.action == log::icap_action::blocked);
  CHECK(record.http_security_policy_rule_name == std::string(scan_rule_name));
  CHECK(record.significant == true);
  CHECK_MESSAGE(has_code(record, log::significance_code::blocked), codes_of(record));
  CHECK(record.response_code == 403u);
  REQUIRE(record.icap_log.request_logs.size() == 1);
  CHECK(record.icap_log.request_logs[0].http_response_code == 403u);
  CHECK(b.origin.requests().empty());
}

TEST_CASE("proxy: a content rewrite reaches the origin modified, with a right Content-Length") {
  bench b;
  const std::string page = "<html><p>kept paragraph</p><script>alert(1)</script></html>";
  const auto response = b.send(post("/upload/page.html", page, "text/html"));
  REQUIRE(response);
  CHECK(response->status() == 200);
  const auto received = b.origin.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].message.body.find("<script>") == std::string::npos);
  CHECK(received[0].message.body.find("kept paragraph") != std::string::npos);
  CHECK(received[0].message.header("Content-Length") == std::to_string(received[0].body_length));

  const auto record = only_record(b.sink);
  CHECK(record.icap_log.action == log::icap_action::modified);
  CHECK_MESSAGE(has_code(record, log::significance_code::modified), codes_of(record));
}

TEST_CASE("proxy: a request that matches no rule is forwarded without ICAP (ICAP_DISABLED)") {
  bench b;
  const auto response = b.send(get("/index.html?lang=en"));
  REQUIRE(response);
  CHECK(response->status() == 200);
  CHECK(response->body == origin_body);
  const auto received = b.origin.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].method == "GET");
  CHECK(received[0].target == "/index.html?lang=en");

  const auto record = only_record(b.sink);
  CHECK(record.icap_log.action == log::icap_action::disabled);
  CHECK(record.icap_log.request_logs.empty());
  CHECK_FALSE(record.http_security_policy_rule_name);
  CHECK(record.significant == false);
  CHECK(record.uri_path == "/index.html");
  CHECK(record.uri_query == "lang=en");
  const auto stats = b.proxy->stats();
  CHECK(stats.icap_requests == 0u);
  CHECK(stats.http_requests == 1u);
}

TEST_CASE("proxy: ICAP server unreachable, fail_action open: forwarded, significant") {
  config_knobs knobs;
  knobs.fail_action = "ICAP_FAIL_OPEN";
  bench b(knobs, false);
  const auto body = patterned(1500);
  const auto response = b.send(post("/upload/data.bin", body));
  REQUIRE(response);
  CHECK(response->status() == 200);
  const auto received = b.origin.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].body_sha256 == sha256_hex(body));

  const auto record = only_record(b.sink);
  CHECK(record.significant == true);
  CHECK_MESSAGE(has_code(record, log::significance_code::connection_error), codes_of(record));
  CHECK(record.icap_log.action == log::icap_action::failed);
  CHECK(record.response_code == 200u);
  CHECK(b.proxy->stats().icap_error == 1u);
}

TEST_CASE("proxy: ICAP server unreachable, fail_action closed: 503, nothing forwarded") {
  config_knobs knobs;
  knobs.fail_action = "ICAP_FAIL_CLOSED";
  bench b(knobs, false);
  const auto response = b.send(post("/upload/data.bin", patterned(1500)));
  REQUIRE(response);
  CHECK(response->status() == 503);
  CHECK(b.origin.requests().empty());

  const auto record = only_record(b.sink);
  CHECK(record.significant == true);
  CHECK_MESSAGE(has_code(record, log::significance_code::connection_error), codes_of(record));
  CHECK(record.response_code == 503u);
}

TEST_CASE("proxy: an ICAP server slower than response_timeout gets fail_action") {
  config_knobs knobs;
  knobs.response_timeout_ms = 300;
  const auto rules = mock::parse_scenario(R"({"name": "slow", "rules": [
      {"name": "slow-uploads", "match": {"url": "/upload/slow"}, "verdict": "clean",
       "delay": {"ms": 1500}}]})");
  SUBCASE("open: forwarded, ICAP_TIMEDOUT") {
    knobs.fail_action = "ICAP_FAIL_OPEN";
    bench b(knobs, true, rules);
    const auto body = patterned(800);
    const auto started = steady::now();
    const auto response = b.send(post("/upload/slow.bin", body));
    REQUIRE(response);
    CHECK(response->status() == 200);
    CHECK(steady::now() - started < 1400ms); // the proxy did not wait for the slow verdict
    const auto received = b.origin.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].body_sha256 == sha256_hex(body));
    const auto record = only_record(b.sink);
    CHECK(record.significant == true);
    CHECK_MESSAGE(has_code(record, log::significance_code::timedout), codes_of(record));
    CHECK(b.proxy->stats().icap_timedout == 1u);
  }
  SUBCASE("closed: 503") {
    knobs.fail_action = "ICAP_FAIL_CLOSED";
    bench b(knobs, true, rules);
    const auto response = b.send(post("/upload/slow.bin", patterned(800)));
    REQUIRE(response);
    CHECK(response->status() == 503);
    CHECK(b.origin.requests().empty());
    const auto record = only_record(b.sink);
    CHECK_MESSAGE(has_code(record, log::significance_code::timedout), codes_of(record));
  }
}

// A pool of two ICAP servers where the first one fails every exchange with `fault` (a scenario
// fault object) and the second one is healthy.
struct failover_bench {
  failover_bench(const std::string& fault, config_knobs knobs)
      : flaky(mock::parse_scenario(R"({"name": "flaky", "rules": [
            {"name": "fail", "match": {"url": "/upload"}, "verdict": "clean", "fault": )" +
                                   fault + "}]}")) {
    knobs.icap_port = flaky.port();
    knobs.more_icap_ports = {healthy.port()};
    knobs.upstream = origin.url();
    proxy = std::make_unique<running_proxy>(make_config(knobs), sink);
  }
  ~failover_bench() { proxy.reset(); }
  std::optional<http_message> send(std::string_view request) {
    return round_trip(proxy->address(), request);
  }
  origin_server origin;
  running_icap flaky;
  running_icap healthy;
  record_sink sink;
  std::unique_ptr<running_proxy> proxy;
};

// Requests `count` clean uploads one after another; each must reach the origin whole.
void expect_all_pass_with_one_failover(failover_bench& b, std::size_t count) {
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < count; ++i) {
    sent.push_back(patterned(2000 + i * 700));
    const auto response = b.send(post("/upload/part" + std::to_string(i) + ".bin", sent.back()));
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  const auto received = b.origin.requests();
  REQUIRE(received.size() == count);
  for (std::size_t i = 0; i < count; ++i) {
    CHECK(received[i].body_sha256 == sha256_hex(sent[i]));
  }
  const auto records = b.sink.wait_for(count);
  REQUIRE(records.size() == count);
  std::size_t with_failover = 0;
  for (const auto& r : records) {
    CHECK(r.icap_log.action == log::icap_action::passed);
    CHECK(r.response_code == 200u);
    CHECK(r.significant == false); // a request that another server passed is not a failure
    if (r.icap_log.request_logs.size() == 2) {
      ++with_failover;
      // The failed attempt went to the flaky server and stays in the record; the healthy one
      // answered.
      CHECK(r.icap_log.request_logs[0].action == log::icap_action::failed);
      CHECK(r.icap_log.request_logs[0].icap_server_port == b.flaky.port());
      CHECK(r.icap_log.request_logs[1].action == log::icap_action::passed);
      CHECK(r.icap_log.request_logs[1].icap_server_port == b.healthy.port());
    } else {
      REQUIRE(r.icap_log.request_logs.size() == 1);
      CHECK(r.icap_log.request_logs[0].icap_server_port == b.healthy.port());
    }
  }
  // Passive detection took the flaky server down after its first failure: later requests went
  // straight to the healthy one.
  CHECK(with_failover == 1u);
  const auto stats = b.proxy->stats();
  CHECK(stats.icap_failovers == 1u);
  CHECK(stats.icap_passed == count);
  CHECK(stats.icap_fail_open + stats.icap_fail_closed == 0u);
}

TEST_CASE("proxy: an ICAP server that fails mid-exchange: the next server of the pool gets it") {
  config_knobs knobs;
  knobs.fail_action = "ICAP_FAIL_CLOSED";
  SUBCASE("reset in the middle of the answer, body held (allow_204 on)") {
    failover_bench b(R"({"type": "reset", "after_bytes": 20})", knobs);
    expect_all_pass_with_one_failover(b, 4);
  }
  SUBCASE("closed without an answer") {
    failover_bench b(R"({"type": "close"})", knobs);
    expect_all_pass_with_one_failover(b, 4);
  }
  SUBCASE("reset while the body streams to ICAP (allow_204 off)") {
    knobs.allow_204 = false;
    failover_bench b(R"({"type": "reset", "after_bytes": 0})", knobs);
    expect_all_pass_with_one_failover(b, 4);
  }
}

// allow_204 off: the body streams to ICAP while it still arrives, and the proxy answers only once
// the client's body is complete (it keeps the connection in step). The proxy is woken when the last
// byte is in, not by a timer: the answer follows it promptly, also when the ICAP server answered
// early (a header-only block rule decides on the preview).
TEST_CASE("proxy: allow_204 off, a body that arrives in two parts: answered once it is whole") {
  config_knobs knobs;
  knobs.allow_204 = false;
  const auto rules = mock::parse_scenario(R"({"name": "early", "rules": [
      {"name": "early-block", "match": {"url": "/upload/early"}, "verdict": "block"}]})");
  bench b(knobs, true, rules);
  const auto body = patterned(20000);
  std::string target = "/upload/late.bin";
  int expected = 200;
  SUBCASE("clean: forwarded whole") {}
  SUBCASE("blocked by the ICAP server before the body is in") {
    target = "/upload/early.bin";
    expected = 403;
  }
  const auto request = post(target, body);
  const auto split = request.size() - 3000;
  http_client client(b.proxy->address());
  REQUIRE(client.send(request.substr(0, split)));
  // Nothing before the body is whole (the client is still sending).
  CHECK_FALSE(client.read_response(300ms));
  REQUIRE(client.send(request.substr(split)));
  const auto last_byte = steady::now();
  const auto response = client.read_response(5s);
  const auto waited = steady::now() - last_byte;
  REQUIRE(response);
  CHECK(response->status() == expected);
  CHECK(waited < 2s); // generous for a loaded machine; a missed wake-up would hang to the timeout
  const auto received = b.origin.requests();
  if (expected == 200) {
    REQUIRE(received.size() == 1);
    CHECK(received[0].body_sha256 == sha256_hex(body));
    CHECK(only_record(b.sink).icap_log.action == log::icap_action::passed);
  } else {
    CHECK(received.empty());
  }
}

TEST_CASE("proxy: every server fails mid-exchange: fail_action after one attempt each") {
  config_knobs knobs;
  knobs.fail_action = "ICAP_FAIL_CLOSED";
  const auto scenario = mock::parse_scenario(R"({"name": "flaky", "rules": [
      {"name": "fail", "match": {"url": "/upload"}, "verdict": "clean",
       "fault": {"type": "reset", "after_bytes": 10}}]})");
  origin_server origin;
  running_icap first(scenario);
  running_icap second(scenario);
  knobs.icap_port = first.port();
  knobs.more_icap_ports = {second.port()};
  knobs.upstream = origin.url();
  record_sink sink;
  auto proxy = std::make_unique<running_proxy>(make_config(knobs), sink);
  const auto response = round_trip(proxy->address(), post("/upload/x.bin", patterned(900)));
  REQUIRE(response);
  CHECK(response->status() == 503);
  CHECK(origin.requests().empty());
  const auto record = only_record(sink);
  REQUIRE(record.icap_log.request_logs.size() == 2); // each server once, no more
  CHECK(record.icap_log.request_logs[0].action == log::icap_action::failed);
  CHECK(record.icap_log.request_logs[1].action == log::icap_action::failed);
  CHECK(record.icap_log.request_logs[0].icap_server_port !=
        record.icap_log.request_logs[1].icap_server_port);
  CHECK(record.icap_log.action == log::icap_action::failed);
  CHECK_MESSAGE(has_code(record, log::significance_code::connection_error), codes_of(record));
  const auto stats = proxy->stats();
  CHECK(stats.icap_failovers == 1u);
  CHECK(stats.icap_fail_closed == 1u);
  CHECK(stats.icap_fail_open == 0u);
  proxy.reset();
}

TEST_CASE("proxy: a response timeout spends the budget: no second attempt, fail_action") {
  config_knobs knobs;
  knobs.fail_action = "ICAP_FAIL_OPEN";
  knobs.response_timeout_ms = 400;
  failover_bench b(R"({"type": "stall", "ms": 3000})", knobs);
  const auto body = patterned(1200);
  const auto started = steady::now();
  const auto response = b.send(post("/upload/slow.bin", body));
  REQUIRE(response);
  CHECK(response->status() == 200); // fail open: forwarded unscanned
  CHECK(steady::now() - started < 2500ms);
  const auto record = only_record(b.sink);
  REQUIRE(record.icap_log.request_logs.size() == 1);
  CHECK_MESSAGE(has_code(record, log::significance_code::timedout), codes_of(record));
  const auto stats = b.proxy->stats();
  CHECK(stats.icap_failovers == 0u);
  CHECK(stats.icap_fail_open == 1u);
}

TEST_CASE("proxy: a body over buffer_size, exceed action closed: 413, nothing forwarded") {
  config_knobs knobs;
  knobs.buffer_size_kb = 1;
  knobs.buffer_size_exceed_action = "ICAP_FAIL_CLOSED";
  bench b(knobs);
  http_client client(b.proxy->address());
  REQUIRE(client.send(post("/upload/big.bin", patterned(2000))));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 413);
  CHECK(response->header("Connection") == "close");
  CHECK(client.closed_by_peer());
  CHECK(b.origin.requests().empty());

  const auto record = only_record(b.sink);
  CHECK(record.significant == true);
  CHECK_MESSAGE(has_code(record, log::significance_code::body_size_bigger_than_configured),
                codes_of(record));
  CHECK(record.response_code == 413u);
  CHECK(b.proxy->stats().http_errors == 1u); // stats.hpp: 413 is one of the proxy's refusals
}

TEST_CASE("proxy: a body over buffer_size, exceed action open: forwarded unscanned, whole") {
  config_knobs knobs;
  knobs.buffer_size_kb = 1;
  knobs.buffer_size_exceed_action = "ICAP_FAIL_OPEN";
  bench b(knobs);
  const auto body = patterned(2000);

  SUBCASE("with Content-Length") {
    const auto response = b.send(post("/upload/big.bin", body));
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  SUBCASE("chunked: the part already held and the rest still arriving") {
    const auto response = b.send(post_chunked("/upload/big.bin", body, 300));
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  const auto received = b.origin.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].body_length == body.size());
  CHECK(received[0].body_sha256 == sha256_hex(body));

  const auto record = only_record(b.sink);
  CHECK(record.significant == true);
  CHECK_MESSAGE(has_code(record, log::significance_code::body_size_bigger_than_configured),
                codes_of(record));
  CHECK(record.response_code == 200u);
}

TEST_CASE("proxy: a chunked request body arrives at the origin whole") {
  bench b;
  const auto body = patterned(5000);

  SUBCASE("through ICAP: de-chunked, with a Content-Length") {
    const auto response = b.send(post_chunked("/upload/chunked.bin", body, 700));
    REQUIRE(response);
    CHECK(response->status() == 200);
    const auto received = b.origin.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].body_sha256 == sha256_hex(body));
    CHECK(received[0].message.header("Content-Length") == std::to_string(body.size()));
    CHECK(received[0].message.count("Transfer-Encoding") == 0);
    CHECK(only_record(b.sink).icap_log.action == log::icap_action::passed);
  }
  SUBCASE("passing through (no rule): still chunked") {
    const auto response = b.send(post_chunked("/api/chunked.bin", body, 700));
    REQUIRE(response);
    CHECK(response->status() == 200);
    const auto received = b.origin.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].body_sha256 == sha256_hex(body));
    CHECK(received[0].message.chunked);
    CHECK(received[0].message.count("Content-Length") == 0);
    CHECK(only_record(b.sink).icap_log.action == log::icap_action::disabled);
  }
}

TEST_CASE("proxy: chunked and close-delimited origin responses reach the client whole") {
  bench b;
  http_client client(b.proxy->address());
  REQUIRE(client.send(get("/files/chunked-response")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 200);
  CHECK(response->body == origin_chunked_body);

  // The origin ends this body by closing; the proxy re-frames it for the keep-alive client.
  REQUIRE(client.send(get("/files/close-response")));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 200);
  CHECK(response->body == origin_close_body);
  CHECK(response->chunked);

  // The client connection survived the origin's close.
  REQUIRE(client.send(get("/files/after")));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == origin_body);
  CHECK(b.origin.requests().size() == 3);
}

TEST_CASE("proxy: keep-alive: several requests on one client connection are all answered") {
  bench b;
  http_client client(b.proxy->address());
  const auto body = patterned(1200);
  REQUIRE(client.send(post("/upload/one.bin", body)));
  auto first = client.read_response();
  REQUIRE(first);
  CHECK(first->status() == 200);
  CHECK(first->header("Connection") != "close");

  REQUIRE(client.send(get("/two")));
  auto second = client.read_response();
  REQUIRE(second);
  CHECK(second->status() == 200);
  CHECK(second->body == origin_body);

  // Pipelined: a scanned POST and a GET in one write.
  REQUIRE(client.send(post("/upload/three.bin", body) + get("/four")));
  auto third = client.read_response();
  auto fourth = client.read_response();
  REQUIRE(third);
  REQUIRE(fourth);
  CHECK(third->status() == 200);
  CHECK(fourth->status() == 200);

  const auto received = b.origin.requests();
  REQUIRE(received.size() == 4);
  CHECK(received[0].target == "/upload/one.bin");
  CHECK(received[1].target == "/two");
  CHECK(received[2].target == "/upload/three.bin");
  CHECK(received[2].body_sha256 == sha256_hex(body));
  CHECK(received[3].target == "/four");
  CHECK(b.sink.wait_for(4).size() == 4);
}

TEST_CASE("proxy: ambiguous or broken request framing (smuggling) is refused with 400") {
  bench b;
  std::string request;
  SUBCASE("Content-Length and Transfer-Encoding") {
    request = "POST /upload/x HTTP/1.1\r\nHost: app.example\r\n"
              "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
              "0\r\n\r\n"
              "GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n";
  }
  SUBCASE("two different Content-Length values") {
    request = "POST /api/x HTTP/1.1\r\nHost: app.example\r\n"
              "Content-Length: 5\r\nContent-Length: 30\r\n\r\n"
              "hello"
              "GET /smuggled HTTP/1.1\r\n\r\n";
  }
  SUBCASE("a chunk size that is not hex, on the way to ICAP") {
    request = "POST /upload/x HTTP/1.1\r\nHost: app.example\r\n"
              "Transfer-Encoding: chunked\r\n\r\n"
              "zz\r\nhello\r\n0\r\n\r\n";
  }
  SUBCASE("a Content-Length list of equal values, on a path without ICAP") {
    request = "POST /api/x HTTP/1.1\r\nHost: app.example\r\n"
              "Content-Length: 5, 5\r\n\r\n"
              "hello";
  }
  SUBCASE("two equal Content-Length fields") {
    request = "POST /api/x HTTP/1.1\r\nHost: app.example\r\n"
              "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"
              "hello";
  }
  http_client client(b.proxy->address());
  REQUIRE(client.send(request));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 400);
  CHECK(response->header("Connection") == "close");
  CHECK(client.closed_by_peer());
  CHECK(b.origin.requests().empty());
  const auto record = only_record(b.sink);
  CHECK(record.response_code == 400u);
  CHECK(record.method == "POST");
  // A refused smuggling attempt is flagged, with the reason and what the client got.
  CHECK(record.significant == true);
  REQUIRE(record.significance.has_value());
  CHECK(record.significance->find("refused") != std::string::npos);
  CHECK(record.significance->find("HTTP 400") != std::string::npos);
  CHECK(b.proxy->stats().http_errors == 1u);
}

TEST_CASE("proxy: a head that cannot be parsed is a 400 recorded without a method") {
  bench b;
  http_client client(b.proxy->address());
  REQUIRE(client.send("\x16\x03\x01\x02 not http\r\n\r\n"));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 400);
  const auto record = only_record(b.sink);
  CHECK_FALSE(record.method.has_value()); // not "GET": nothing was parsed
  CHECK(record.response_code == 400u);
  CHECK(record.significant == true);
  CHECK(record.icap_log.action == log::icap_action::disabled);
}

TEST_CASE("proxy: a target with non-ASCII bytes is a 400 before any ICAP work") {
  bench b;
  http_client client(b.proxy->address());
  REQUIRE(client.send(post("/upload/caf\xc3\xa9.txt", "clean body")));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 400);
  CHECK(b.origin.requests().empty());
  const auto record = only_record(b.sink);
  CHECK(record.response_code == 400u);
  CHECK(record.method == "POST");
  CHECK(record.icap_log.request_logs.empty());
  CHECK(record.icap_log.action == log::icap_action::disabled);
  CHECK_FALSE(has_code(record, log::significance_code::server_error));
  CHECK_FALSE(has_code(record, log::significance_code::failed));
  CHECK(b.proxy->stats().icap_error == 0u);
}

TEST_CASE("proxy: empty lines before a request line are ignored (RFC 9112 2.2)") {
  bench b;
  http_client client(b.proxy->address());
  REQUIRE(client.send("\r\n" + post("/api/one", "hello") + "\r\n" + get("/api/two")));
  for (int i = 0; i < 2; ++i) {
    const auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  const auto seen = b.origin.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].target == "/api/one");
  CHECK(seen[1].target == "/api/two");
}

TEST_CASE("proxy: an absolute-form request gets the target's authority as Host") {
  bench b;
  const auto authority = "127.0.0.1:" + std::to_string(b.origin.port());
  SUBCASE("without ICAP") {
    const auto response =
        b.send("GET http://" + authority + "/api/abs?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  SUBCASE("through ICAP") {
    const auto response =
        b.send("POST http://user@" + authority +
               "/upload/abs HTTP/1.1\r\nHost: other.example\r\nContent-Length: 5\r\n\r\nhello");
    REQUIRE(response);
    CHECK(response->status() == 200);
  }
  const auto seen = b.origin.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].message.header("Host") == authority);
  const auto record = only_record(b.sink);
  CHECK(record.host == authority);
}

TEST_CASE("proxy: protocol upgrades and CONNECT are refused with 501") {
  bench b;
  std::string request;
  SUBCASE("WebSocket") {
    request = "GET /chat HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\n"
              "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
              "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  }
  SUBCASE("CONNECT") {
    request = "CONNECT app.example:443 HTTP/1.1\r\nHost: app.example:443\r\n\r\n";
  }
  http_client client(b.proxy->address());
  REQUIRE(client.send(request));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status() == 501);
  CHECK(response->header("Connection") == "close");
  CHECK(client.closed_by_peer());
  CHECK(b.origin.requests().empty());
  const auto record = only_record(b.sink);
  CHECK(record.response_code == 501u);
  CHECK(record.significant == true);
}

TEST_CASE("proxy: an h2c upgrade offer is ignored and answered in HTTP/1.1") {
  bench b;
  const auto response =
      b.send("GET /api/h2c HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade, "
             "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status() == 200);
  const auto seen = b.origin.requests();
  REQUIRE(seen.size() == 1);
  CHECK_FALSE(seen[0].message.header("Upgrade").has_value());
}

TEST_CASE("proxy: an unreachable origin is a 502 and an http error") {
  config_knobs knobs;
  knobs.upstream = "http://127.0.0.1:" + std::to_string(unused_port());
  bench b(knobs);
  SUBCASE("scanned first") {
    const auto response = b.send(post("/upload/clean.bin", "clean body"));
    REQUIRE(response);
    CHECK(response->status() == 502);
  }
  SUBCASE("passing through") {
    const auto response = b.send(get("/index.html"));
    REQUIRE(response);
    CHECK(response->status() == 502);
  }
  CHECK(only_record(b.sink).response_code == 502u);
  CHECK(b.proxy->stats().http_errors == 1u);
}

TEST_CASE("proxy: a GET the origin dropped before answering goes out once more; record and stats "
          "say so") {
  bench b({}, false);
  const auto response = b.send(get("/page/drop-first"));
  REQUIRE(response);
  CHECK(response->status() == 200);
  CHECK(response->body == origin_body);
  CHECK(b.origin.requests().size() == 2u);
  const auto record = only_record(b.sink);
  REQUIRE(record.upstream);
  CHECK(record.upstream->attempts == 2u);
  REQUIRE(record.upstream->retries.size() == 1u);
  CHECK(record.upstream->retries[0].find("closed the connection after the request was sent; the "
                                         "GET is idempotent") != std::string::npos);
  CHECK_FALSE(record.upstream->error);
  const auto stats = b.proxy->stats();
  CHECK(stats.upstream_retries == 1u);
  CHECK(stats.upstream_errors == 0u);
}

TEST_CASE("proxy: a GET dropped twice is a 502 after two attempts") {
  bench b({}, false);
  const auto response = b.send(get("/page/drop-always"));
  REQUIRE(response);
  CHECK(response->status() == 502);
  CHECK(b.origin.requests().size() == 2u);
  const auto record = only_record(b.sink);
  CHECK(record.response_code == 502u);
  REQUIRE(record.upstream);
  CHECK(record.upstream->attempts == 2u);
  CHECK(record.upstream->retries.size() == 1u);
  REQUIRE(record.upstream->error);
  CHECK(record.upstream->error->ends_with("(2 attempts)"));
  CHECK(response->body.find(*record.upstream->error) != std::string::npos);
  const auto stats = b.proxy->stats();
  CHECK(stats.upstream_retries == 1u);
  CHECK(stats.upstream_errors == 1u);
}

TEST_CASE("proxy: a POST that may have reached the origin is not sent twice: 502 with the reason") {
  bench b;
  SUBCASE("scanned first (the body is held and could be replayed)") {
    const auto response = b.send(post("/upload/drop-first", "clean body"));
    REQUIRE(response);
    CHECK(response->status() == 502);
    CHECK(response->body.find("a POST is not sent twice") != std::string::npos);
  }
  SUBCASE("passing through") {
    const auto response = b.send(post("/form/drop-first", "clean body"));
    REQUIRE(response);
    CHECK(response->status() == 502);
  }
  CHECK(b.origin.requests().size() == 1u);
  const auto record = only_record(b.sink);
  CHECK(record.response_code == 502u);
  REQUIRE(record.upstream);
  CHECK(record.upstream->attempts == 1u);
  CHECK(record.upstream->retries.empty());
  REQUIRE(record.upstream->error);
  const auto peer = "127.0.0.1:" + std::to_string(b.origin.port());
  CHECK(*record.upstream->error == "upstream " + peer +
                                       " closed the connection after the request was sent; a POST "
                                       "is not sent twice");
  const auto stats = b.proxy->stats();
  CHECK(stats.upstream_retries == 0u);
  CHECK(stats.upstream_errors == 1u);
}

TEST_CASE("proxy: an idle upstream connection the origin closed is not used for the next request") {
  bench b({}, false);
  http_client client(b.proxy->address());
  REQUIRE(client.send(get("/page/idle-close")));
  const auto first = client.read_response();
  REQUIRE(first);
  CHECK(first->status() == 200);
  const auto deadline = steady::now() + 5s;
  while (b.origin.idle_closes() == 0 && steady::now() < deadline) {
    std::this_thread::sleep_for(2ms); // bounded polling for the origin's close
  }
  REQUIRE(b.origin.idle_closes() == 1u);
  // The same client connection, so the same worker and its pooled upstream connection.
  REQUIRE(client.send(post("/form/after-idle-close", "must arrive once")));
  const auto second = client.read_response();
  REQUIRE(second);
  CHECK(second->status() == 200);
  const auto records = b.sink.wait_for(2);
  REQUIRE(records.size() == 2u);
  CHECK_FALSE(records[1].upstream); // one attempt, no failure: no upstream object
  CHECK(b.origin.requests().size() == 2u);
  const auto stats = b.proxy->stats();
  CHECK(stats.upstream_stale_closed == 1u);
  CHECK(stats.upstream_retries == 0u);
}

TEST_CASE("proxy: stats count what happened") {
  bench b;
  REQUIRE(b.send(post("/upload/clean.bin", "clean body")));
  REQUIRE(b.send(post("/upload/eicar.com", eicar)));
  REQUIRE(b.send(get("/plain")));
  REQUIRE(b.send("GET / HTTP/1.1\r\n\r\n")); // no Host: 400
  REQUIRE(b.sink.wait_for(4).size() == 4);
  const auto stats = b.proxy->stats();
  CHECK(stats.http_requests == 4u);
  CHECK(stats.http_errors == 1u);
  CHECK(stats.icap_requests == 2u);
  CHECK(stats.icap_passed == 1u);
  CHECK(stats.icap_blocked == 1u);
  CHECK(stats.icap_modified == 0u);
  CHECK(stats.icap_error == 0u);
}

// The enforcer measures each exchange in microseconds: even a sub-millisecond exchange on
// loopback shows in the percentiles.
TEST_CASE("proxy: stats report a non-zero ICAP latency for a real exchange") {
  bench b;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(b.send(post("/upload/clean.bin", "clean body")));
  }
  REQUIRE(b.sink.wait_for(3).size() == 3);
  const auto stats = b.proxy->stats();
  CHECK(stats.icap_requests == 3u);
  CHECK(stats.latency_max_ms > 0.0);
  CHECK(stats.latency_p50_ms > 0.0);
}

TEST_CASE("proxy: on_request_record hands over each record with the client's request head") {
  origin_server origin;
  running_icap icap;
  config_knobs knobs;
  knobs.icap_port = icap.port();
  knobs.upstream = origin.url();
  proxy::proxy_options o;
  o.config = make_config(knobs);
  o.listen = {"127.0.0.1:0"};
  o.threads = 1;
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> seen; // (action, X-Tag)
  o.on_request_record = [&](const log::app_log_record& r, const codec::http_request_head& head) {
    const std::lock_guard lock(mutex);
    seen.emplace_back(log::to_string(r.icap_log.action), head.headers.get("X-Tag").value_or(""));
  };
  proxy::proxy p(std::move(o));
  std::string detail;
  REQUIRE_FALSE(p.start(detail));
  const auto address = p.listen_addresses().front();
  std::string request = post("/upload", "clean");
  request.insert(request.find("\r\n") + 2, "X-Tag: 41\r\n");
  REQUIRE(round_trip(address, request));
  std::string blocked = post("/upload", eicar);
  blocked.insert(blocked.find("\r\n") + 2, "X-Tag: 42\r\n");
  REQUIRE(round_trip(address, blocked));
  p.stop();
  const std::lock_guard lock(mutex);
  CHECK(seen == std::vector<std::pair<std::string, std::string>>{{"ICAP_PASSED", "41"},
                                                                 {"ICAP_BLOCKED", "42"}});
}
