#include "icapkit/mock/server_log.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace icapkit;

namespace {

log::transaction_record sample_record() {
  log::transaction_record r;
  r.service = "OMSScanReq-AV";
  r.method = "REQMOD";
  r.uri = "icap://127.0.0.1:1344/OMSScanReq-AV";
  r.client = "127.0.0.1:40000";
  r.preview = 4096;
  r.allow_204 = true;
  r.ieof = true;
  r.body_bytes_received = 68;
  r.decision = "respond";
  r.status = 200;
  r.rule = "eicar";
  r.total_time = std::chrono::microseconds{1500};
  return r;
}

} // namespace

TEST_CASE("server_log: one JSON object per transaction with what CI asserts on") {
  auto j = nlohmann::json::parse(mock::to_json_line(sample_record(), "opswat"));
  CHECK(j["vendor"] == "opswat");
  CHECK(j["service"] == "OMSScanReq-AV");
  CHECK(j["method"] == "REQMOD");
  CHECK(j["preview"] == 4096);
  CHECK(j["ieof"] == true);
  CHECK(j["body_bytes"] == 68);
  CHECK(j["decision"] == "respond");
  CHECK(j["status"] == 200);
  CHECK(j["rule"] == "eicar");
  CHECK(j["timings_us"]["total"] == 1500);
  CHECK_FALSE(j.contains("error"));
  auto no_preview = sample_record();
  no_preview.preview.reset();
  CHECK(nlohmann::json::parse(mock::to_json_line(no_preview, "generic"))["preview"].is_null());
}

TEST_CASE("server_log: concurrent writers append whole lines to the file") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("icapkit-server-log-" + std::to_string(::getpid()) + ".ndjson");
  std::filesystem::remove(path);
  {
    mock::server_log log;
    REQUIRE_FALSE(log.open(path.string(), "lastline"));
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&log] {
        for (int i = 0; i < 50; ++i) {
          log.write(sample_record());
        }
      });
    }
    for (auto& w : writers) {
      w.join();
    }
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    CHECK(nlohmann::json::parse(line)["vendor"] == "lastline");
    ++lines;
  }
  CHECK(lines == 200);
  std::filesystem::remove(path);
  mock::server_log bad;
  CHECK(bad.open("/nonexistent-dir/x.ndjson", "opswat"));
}

TEST_CASE("server_log: a line reads back as the record it was written from") {
  auto written = sample_record();
  written.started = std::chrono::system_clock::time_point(
      std::chrono::microseconds(1'711'448'100'123'456LL)); // 2024-03-26T10:15:00.123456Z
  written.x_client_ip = "10.1.2.3";
  written.error = "timeout";
  written.connection_closed = true;
  written.trickled = true;
  written.head_time = std::chrono::microseconds{20};
  written.decision_time = std::chrono::microseconds{700};
  const auto document = nlohmann::ordered_json::parse(mock::to_json_line(written, "opswat"));
  CHECK(mock::is_server_log_line(document));
  const auto entry = mock::from_json_line(document, 4);
  REQUIRE_MESSAGE(entry.has_value(), entry.error().message());
  CHECK(entry->vendor == "opswat");
  const auto& read = entry->record;
  CHECK(read.started == written.started);
  CHECK(read.service == written.service);
  CHECK(read.method == written.method);
  CHECK(read.uri == written.uri);
  CHECK(read.client == written.client);
  CHECK(read.x_client_ip == written.x_client_ip);
  CHECK(read.preview == written.preview);
  CHECK(read.allow_204 == written.allow_204);
  CHECK(read.ieof == written.ieof);
  CHECK(read.body_bytes_received == written.body_bytes_received);
  CHECK(read.decision == written.decision);
  CHECK(read.status == written.status);
  CHECK(read.rule == written.rule);
  CHECK(read.error == written.error);
  CHECK(read.connection_closed);
  CHECK(read.trickled);
  CHECK(read.head_time == written.head_time);
  CHECK(read.decision_time == written.decision_time);
  CHECK(read.total_time == written.total_time);
}

TEST_CASE("server_log: icap_log records and other JSON are not taken for its lines") {
  using nlohmann::ordered_json;
  CHECK_FALSE(
      mock::is_server_log_line(ordered_json::parse(R"({"icap_log":{"action":"ICAP_PASSED"}})")));
  CHECK_FALSE(mock::is_server_log_line(
      ordered_json::parse(R"({"icap_log":{},"decision":"x","timings_us":{}})")));
  CHECK_FALSE(mock::is_server_log_line(ordered_json::parse("[1]")));
  const auto bad = mock::from_json_line(
      ordered_json::parse(R"({"decision":"respond","status":"200","timings_us":{}})"), 9);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() == "line 9: status: expected non-negative integer");
  const auto bad_time = mock::from_json_line(
      ordered_json::parse(R"({"decision":"respond","timings_us":{"total":-1}})"));
  REQUIRE_FALSE(bad_time.has_value());
  CHECK(bad_time.error().field == "timings_us.total");
}
