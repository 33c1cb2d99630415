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

server::transaction_record sample_record() {
  server::transaction_record r;
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
