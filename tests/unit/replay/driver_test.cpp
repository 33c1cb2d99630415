// run_replay end to end on loopback: raw HTTP captures through the in-process proxy with the mock
// ICAP server (OPSWAT personality), the recorded upstream, and --target mode against a separately
// running proxy::proxy. What a user of `icapkit replay` would notice: the verdict, status and
// threat of each request, the records, uploads without their body never sent.
#include "icapkit/replay/driver.hpp"

#include "icapkit/proxy/proxy.hpp"

#include "../proxy/proxy_test_peers.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

using namespace icapkit;
using namespace icapkit::proxy::test;

namespace {

constexpr std::string_view eicar =
    R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/octet-stream\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::filesystem::path capture_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("icapkit_driver_test_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Three uploads (clean, EICAR, clean), a GET the policy does not scan, and an upload whose body
// the file lost (it ends 90 bytes short).
std::filesystem::path sample_capture() {
  return capture_file("sample.http", post("/upload/a.txt", "clean text") +
                                         post("/upload/eicar.com", eicar) +
                                         post("/upload/b.txt", "more clean text") +
                                         "GET /index.html HTTP/1.1\r\nHost: app.example\r\n\r\n" +
                                         "POST /upload/cut.bin HTTP/1.1\r\nHost: app.example\r\n"
                                         "Content-Length: 100\r\n\r\nonly ten b");
}

struct collected {
  std::mutex mutex;
  std::vector<log::app_log_record> records;
  void attach(replay::replay_options& o) {
    o.on_record = [this](const log::app_log_record& r) {
      const std::lock_guard lock(mutex);
      records.push_back(r);
    };
  }
  const log::app_log_record* of(std::size_t index) {
    for (const auto& r : records) {
      if (r.replay && r.replay->index == index) {
        return &r;
      }
    }
    return nullptr;
  }
};

} // namespace

TEST_CASE("run_replay: in-process verdicts, records and a body the capture lacks") {
  running_icap icap;
  config_knobs knobs;
  knobs.icap_port = icap.port();
  knobs.upstream = "http://127.0.0.1:9"; // replaced by the replay's own upstream
  replay::replay_options o;
  o.captures = {sample_capture()};
  o.config = make_config(knobs);
  o.concurrency = 3;
  collected c;
  c.attach(o);
  const auto report = replay::run_replay(o);
  REQUIRE(report.error.empty());
  REQUIRE(report.outcomes.size() == 5);
  const auto& out = report.outcomes;
  CHECK(out[0].action == log::icap_action::passed);
  CHECK(out[0].status == 200);
  CHECK(out[1].action == log::icap_action::blocked);
  CHECK(out[1].status == 403);
  REQUIRE_FALSE(out[1].threats.empty());
  CHECK(out[1].threats.front().find("EICAR") != std::string::npos);
  CHECK(out[2].action == log::icap_action::passed);
  CHECK(out[3].action == log::icap_action::disabled);
  CHECK(out[3].url == "http://app.example/index.html");
  CHECK_FALSE(out[4].sent);
  CHECK_FALSE(out[4].body_captured);
  CHECK_FALSE(out[4].action);
  CHECK(out[4].body_note.find("100") != std::string::npos);
  for (const auto& o2 : out) {
    CHECK(o2.error.empty());
  }
  REQUIRE(c.records.size() == 5);
  const auto* blocked = c.of(1);
  REQUIRE(blocked);
  CHECK(blocked->source == log::record_source::proxy);
  CHECK(blocked->icap_log.action == log::icap_action::blocked);
  CHECK(blocked->replay->origin == "icapkit_driver_test_sample.http message 2");
  const auto* lost = c.of(4);
  REQUIRE(lost);
  CHECK(lost->source == log::record_source::replay);
  CHECK(lost->replay->body_captured == false);
  CHECK(lost->significant == true);
  CHECK(report.unmatched_upstream_requests == 0);
}

TEST_CASE("run_replay: --filter and --limit choose what is replayed, indexes count those") {
  running_icap icap;
  config_knobs knobs;
  knobs.icap_port = icap.port();
  knobs.upstream = "http://127.0.0.1:9";
  replay::replay_options o;
  o.captures = {sample_capture()};
  o.config = make_config(knobs);
  std::string error;
  auto filter = replay::parse_filter("POST /upload/[ab]", error);
  REQUIRE(filter);
  o.filters.push_back(std::move(*filter));
  o.limit = 1;
  const auto report = replay::run_replay(o);
  REQUIRE(report.outcomes.size() == 1);
  CHECK(report.outcomes[0].index == 0);
  CHECK(report.outcomes[0].url == "http://app.example/upload/a.txt");
}

TEST_CASE("run_replay: --target reads the verdicts from outside a running proxy") {
  running_icap icap;
  const auto upstream_port = unused_port();
  config_knobs knobs;
  knobs.icap_port = icap.port();
  knobs.upstream = "http://127.0.0.1:" + std::to_string(upstream_port);
  proxy::proxy_options p;
  p.config = make_config(knobs);
  p.listen = {"127.0.0.1:0"};
  p.threads = 1;
  proxy::proxy running(std::move(p));
  std::string detail;
  REQUIRE_FALSE(running.start(detail));
  replay::replay_options o;
  o.captures = {sample_capture()};
  std::string error;
  codec::uri target;
  REQUIRE_FALSE(codec::parse_uri("http://" + running.listen_addresses().front(), target));
  o.target = target;
  o.upstream_listen = "127.0.0.1:" + std::to_string(upstream_port);
  collected c;
  c.attach(o);
  const auto report = replay::run_replay(o);
  running.stop();
  REQUIRE(report.error.empty());
  REQUIRE(report.outcomes.size() == 5);
  CHECK(report.outcomes[0].action == log::icap_action::passed);
  CHECK(report.outcomes[0].verdict_from_outside);
  CHECK(report.outcomes[1].action == log::icap_action::blocked);
  CHECK(report.outcomes[1].status == 403);
  CHECK(report.outcomes[3].action == log::icap_action::passed); // DISABLED, seen from outside
  const auto* blocked = c.of(1);
  REQUIRE(blocked);
  CHECK(blocked->source == log::record_source::replay);
  CHECK(blocked->replay->note.value_or("").find("never reached the upstream") != std::string::npos);
}

TEST_CASE("run_replay: an unreadable capture is an error; earlier requests keep their outcome") {
  running_icap icap;
  config_knobs knobs;
  knobs.icap_port = icap.port();
  knobs.upstream = "http://127.0.0.1:9";
  replay::replay_options o;
  o.captures = {capture_file("good.http", post("/upload/a.txt", "x")),
                capture_file("bad.http", "NOT A REQUEST\r\n\r\n")};
  o.config = make_config(knobs);
  const auto report = replay::run_replay(o);
  CHECK(report.outcomes.size() == 1);
  CHECK(report.error.find("icapkit_driver_test_bad.http: message 1") != std::string::npos);
}

TEST_CASE("run_replay: nothing listening at --target fails each request, with the reason") {
  replay::replay_options o;
  o.captures = {capture_file("one.http", post("/upload/a.txt", "x"))};
  codec::uri target;
  REQUIRE_FALSE(codec::parse_uri("http://127.0.0.1:" + std::to_string(unused_port()), target));
  o.target = target;
  o.timeout = std::chrono::milliseconds{3000};
  const auto report = replay::run_replay(o);
  REQUIRE(report.outcomes.size() == 1);
  CHECK_FALSE(report.outcomes[0].error.empty());
  CHECK_FALSE(report.outcomes[0].status);
}

TEST_CASE("parse_filter: methods, a URL expression, or both") {
  std::string error;
  const auto both = replay::parse_filter("PUT|POST ^http://a\\.example/", error);
  REQUIRE(both);
  CHECK(both->methods == std::vector<std::string>{"PUT", "POST"});
  replay::captured_exchange e;
  e.head.method = "POST";
  e.url = "http://a.example/upload";
  CHECK(both->matches(e));
  e.head.method = "GET";
  CHECK_FALSE(both->matches(e));
  const auto url_only = replay::parse_filter("/upload", error);
  REQUIRE(url_only);
  CHECK(url_only->methods.empty());
  CHECK(url_only->matches(e));
  CHECK_FALSE(replay::parse_filter("", error));
  CHECK_FALSE(replay::parse_filter("POST (", error));
  CHECK(error.find("not a valid regular expression") != std::string::npos);
}
