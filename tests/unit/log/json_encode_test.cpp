#include "icapkit/log/json_decode.hpp"
#include "icapkit/log/json_encode.hpp"

#include "sample_records.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::log;
using icapkit::log::test::sample_request;

namespace {
std::vector<std::string> keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    out.push_back(it.key());
  }
  return out;
}
} // namespace

TEST_CASE("to_json: request log uses Avi's exact field names and enum strings") {
  auto request = sample_request(icap_action::blocked);
  request.modified_content_length = 12;
  request.opswat_log = test::sample_opswat();
  request.nsx_defender_log = test::sample_nsx();
  const auto j = to_json(request);
  CHECK(keys(j) == std::vector<std::string>{
                       "action", "complete_body_sent", "http_method", "http_response_code",
                       "icap_absolute_uri", "icap_headers_received_from_server",
                       "icap_headers_sent_to_server", "icap_method", "icap_response_code",
                       "icap_server_ip", "icap_server_port", "latency", "modified_content_length",
                       "nsx_defender_log", "opswat_log", "pool_name", "pool_uuid", "source_port",
                       "vendor"});
  CHECK(j["action"] == "ICAP_BLOCKED");
  CHECK(j["http_method"] == "HTTP_METHOD_POST");
  CHECK(j["icap_method"] == "ICAP_METHOD_REQMOD");
  CHECK(j["vendor"] == "ICAP_VENDOR_GENERIC");
  CHECK(j["http_response_code"] == 403);
  CHECK(j["icap_server_ip"] == 1681916687U); // 100.64.3.15, an integer, not a string
  CHECK(j["icap_server_ip"].is_number_unsigned());
  CHECK(j["latency"] == 1275); // milliseconds, a number by default
  CHECK(j["pool_name"] == "ICAP-POOL-GROUP");
  CHECK(keys(j["opswat_log"]) == std::vector<std::string>{"reason", "threat_id", "violations"});
  CHECK(j["opswat_log"]["violations"][0] ==
        nlohmann::ordered_json{{"file_name", "eicar.com"},
                               {"resolution", "ICAP_FILE_NOT_REPAIRED"},
                               {"threat_name", "EICAR-Test-File"}});
  CHECK(j["opswat_log"]["violations"][1]["resolution"] == "ICAP_FILE_REPAIRED");
  CHECK(j["nsx_defender_log"] ==
        nlohmann::ordered_json{
            {"score", 70},
            {"status_url", "https://user.lastline.com/portal#/analyst/task/abc/overview"},
            {"task_uuid", "3a9f7c0e2b5d4e8f9a1b2c3d4e5f6a7b"}});
}

TEST_CASE("to_json: unset fields are omitted, not null") {
  icap_request_log request;
  request.action = icap_action::passed;
  CHECK(to_json(request).dump() == R"({"action":"ICAP_PASSED"})");
  CHECK(to_json(icap_log{}).dump() == R"({"action":"ICAP_DISABLED"})");
  app_log_record record;
  CHECK(to_json(record).dump() == R"({"icap_log":{"action":"ICAP_DISABLED"}})");
}

TEST_CASE("to_json: record members and the scan file object") {
  const auto records = test::sample_records();
  const auto j = to_json(records.front());
  CHECK(keys(j) == std::vector<std::string>{
                       "report_timestamp", "log_id", "source", "client_ip", "client_src_port",
                       "method", "host", "uri_path", "uri_query", "request_length", "response_code",
                       "http_security_policy_rule_name", "significant", "icap_log"});
  CHECK(j["report_timestamp"] == "2024-03-26T10:00:00.000Z");
  CHECK(j["source"] == "proxy");
  CHECK(j["significant"] == false);
  CHECK(j["request_length"] == 5000000000ULL);
  const auto scan = to_json(records.back());
  CHECK(scan["source"] == "scan");
  CHECK(keys(scan["file"]) == std::vector<std::string>{"path", "size", "sha256"});
  const auto opswat = to_json(records[5]);
  CHECK(opswat["significant_log"] == nlohmann::ordered_json::array({"ADF_ICAP_BLOCKED"}));
  CHECK(opswat["significance"] == "ICAP server blocked the request.");
}

TEST_CASE("to_json: legacy layout puts OPSWAT members on the request log and drops vendor") {
  auto request = sample_request(icap_action::blocked);
  request.vendor = icap_vendor::opswat;
  request.opswat_log = test::sample_opswat();
  request.nsx_defender_log = test::sample_nsx();
  const auto j = to_json(request, {.layout = log_layout::legacy});
  CHECK(j["reason"] == "Infected");
  CHECK(j["threat_id"] == "EICAR-Test-File (not a virus)");
  CHECK(j["violations"].size() == 2);
  CHECK_FALSE(j.contains("vendor"));
  CHECK_FALSE(j.contains("opswat_log"));
  CHECK_FALSE(j.contains("nsx_defender_log"));
  const auto current = to_json(request);
  CHECK_FALSE(current.contains("reason"));
  CHECK_FALSE(current.contains("violations"));
}

TEST_CASE("to_json: proto-JSON options, 64-bit integers as strings and pool_name with crc32") {
  auto record = test::sample_records()[3];
  const auto j = to_json(record, {.int64_as_string = true, .pool_name_with_crc32 = true});
  CHECK(j["log_id"] == "4");
  CHECK(j["request_length"] == "5000000000");
  const auto& request = j["icap_log"]["request_logs"][0];
  CHECK(request["latency"] == "1275");
  CHECK(request["icap_response_code"] == 200); // 32-bit stays a number
  CHECK(request["pool_name"] ==
        nlohmann::ordered_json{{"val", "ICAP-POOL-GROUP"}, {"crc32", 1799851903U}});
}

TEST_CASE("to_json: a pool_name read with a crc32 keeps that form and value") {
  icap_request_log request;
  request.pool_name = crc_string{"p", 7};
  CHECK(to_json(request)["pool_name"] == nlohmann::ordered_json{{"val", "p"}, {"crc32", 7}});
}

TEST_CASE("to_json_text: one compact line; invalid UTF-8 from a peer does not throw") {
  icap_request_log request;
  request.icap_headers_received_from_server = std::string("X-Bad: \xff\xfe\r\n");
  app_log_record record;
  record.icap_log.request_logs.push_back(request);
  std::string text;
  CHECK_NOTHROW(text = to_json_text(record));
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("\xef\xbf\xbd") != std::string::npos); // U+FFFD
}

TEST_CASE("to_json: unknown members kept from reading are written after known ones") {
  app_log_record record;
  record.unknown = {{"service_engine", "\"se-1\""}, {"vcpu_id", "3"}, {"broken", "{"}};
  record.icap_log.unknown = {{"extra", "[1,2]"}};
  const auto j = to_json(record);
  CHECK(keys(j) == std::vector<std::string>{"icap_log", "service_engine", "vcpu_id"});
  CHECK(j["vcpu_id"] == 3);
  CHECK(j["icap_log"]["extra"] == nlohmann::ordered_json::array({1, 2}));
}

TEST_CASE("to_json: a replay record carries its captured request, and reads back the same") {
  auto record = make_record(record_source::replay, 7, std::chrono::system_clock::time_point{});
  record.method = "POST";
  record.significant = true;
  record.significance = "request body not in the capture; not replayed";
  record.replay = replayed_request{
      3, "uploads.har entry 4", false, "postData.text is 0 bytes, bodySize 52311", {}};
  const auto j = to_json(record);
  CHECK(j["source"] == "replay");
  CHECK(keys(j["replay"]) == std::vector<std::string>{"index", "origin", "body_captured", "note"});
  CHECK(j["replay"]["body_captured"] == false);
  const auto back = parse_record(to_json_text(record));
  REQUIRE(back);
  CHECK(*back == record);
}

TEST_CASE("to_json: the proxy's upstream object (attempts, retries, error) reads back the same") {
  auto record = make_record(record_source::proxy, 9, std::chrono::system_clock::time_point{});
  record.method = "GET";
  record.response_code = 502U;
  record.upstream =
      upstream_attempts{2U,
                        {"upstream 127.0.0.1:8080 reset the connection after the request was "
                         "sent; the GET is idempotent"},
                        "upstream 127.0.0.1:8080 closed the connection after the request was sent "
                        "(2 attempts)",
                        {}};
  const auto j = to_json(record);
  CHECK(keys(j["upstream"]) == std::vector<std::string>{"attempts", "retries", "error"});
  CHECK(j["upstream"]["attempts"] == 2);
  CHECK(j["upstream"]["retries"].size() == 1);
  const auto back = parse_record(to_json_text(record));
  REQUIRE(back);
  CHECK(*back == record);

  // Empty retries and no error are omitted; no upstream object at all without one.
  record.upstream = upstream_attempts{1U, {}, std::nullopt, {}};
  CHECK(keys(to_json(record)["upstream"]) == std::vector<std::string>{"attempts"});
  record.upstream.reset();
  CHECK_FALSE(to_json(record).contains("upstream"));
}
