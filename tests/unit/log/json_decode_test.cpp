#include "icapkit/log/json_decode.hpp"

#include "icapkit/log/json_encode.hpp"
#include "sample_records.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace icapkit::log;

namespace {

std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(ICAPKIT_TESTDATA_DIR) + "/logs/" + name, std::ios::binary);
  REQUIRE(in.is_open());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `record` in `layout`, reads it back and requires the same model.
void check_round_trip(const app_log_record& record, const write_options& options) {
  const auto text = to_json_text(record, options);
  const auto again = parse_record(text);
  REQUIRE_MESSAGE(again.has_value(), again.error().message());
  CHECK(*again == record);
}

std::string error_of(std::string_view text, std::size_t line = 1) {
  const auto parsed = parse_record(text, line);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message();
}

} // namespace

TEST_CASE("Avi 20.1 blocked example (NSX ALB ICAP guide) reads with every value") {
  const auto parsed = parse_record(read_testdata("avi-20.1-blocked.json"));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
  const auto& log = parsed->icap_log;
  CHECK(log.action == icap_action::blocked);
  REQUIRE(log.request_logs.size() == 1);
  const auto& r = log.request_logs[0];
  CHECK(r.icap_response_code == 200U);
  CHECK(r.icap_method == avi_icap_method::reqmod);
  CHECK(r.http_response_code == 403U);
  CHECK(r.http_method == avi_http_method::post);
  CHECK(r.icap_absolute_uri == "icap://100.64.3.15:1344/OMSScanReq-AV "); // trailing space kept
  CHECK(r.complete_body_sent == true);
  CHECK(r.pool_name == crc_string{"ICAP-POOL-GROUP", 1799851903U});
  CHECK(r.pool_uuid == "poolgroup-c7dd3b93-60c1-4190-b6d6-26c22d55dc30");
  CHECK(r.latency == 1275U); // "1275", a string in the example, milliseconds
  CHECK(r.icap_headers_sent_to_server ==
        "Host: 100.64.3.15:1344\r\nConnection: close\r\nPreview: 653\r\nAllow: 204\r\n"
        "Encapsulated: req-hdr=0, req-body=661\r\n");
  CHECK(r.icap_headers_received_from_server ==
        "Date: Thu, 19 Nov 2020 13:55:00 G11T\r\nServer: Metadefender Core V4\r\n"
        "ISTag: \"001605794100\"\r\nX-ICAP-Profile: File process\r\nX-Response-Info: Blocked\r\n"
        "X-Response-Desc: Infected\r\nX-Blocked-Reason: Infected\r\nX-Infection-Found: Type=0");
  CHECK(r.action == icap_action::blocked);
  REQUIRE(r.opswat_log.has_value()); // legacy flat reason/threat_id land in opswat_log
  CHECK(r.opswat_log->reason == "Infected");
  CHECK(r.opswat_log->threat_id == "EICAR-Test-File (not a virus)");
  CHECK_FALSE(r.vendor.has_value());
  CHECK(r.unknown.empty());
  CHECK(parsed->unknown.empty());
}

TEST_CASE("Avi 20.1 passed example (a bare IcapLog) reads with every value") {
  const auto parsed = parse_record(read_testdata("avi-20.1-passed.json"));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
  CHECK_FALSE(parsed->report_timestamp.has_value());
  CHECK(parsed->icap_log.action == icap_action::passed);
  REQUIRE(parsed->icap_log.request_logs.size() == 1);
  const auto& r = parsed->icap_log.request_logs[0];
  CHECK(r.icap_response_code == 204U);
  CHECK(r.latency == 456U);
  CHECK_FALSE(r.http_response_code.has_value());
  CHECK_FALSE(r.opswat_log.has_value());
  CHECK(r.icap_headers_received_from_server ==
        "Date: Wed, 18 Nov 2020 12:54:06 G11T\r\nServer: Metadefender Core V4\r\n"
        "ISTag: \"000000000096\"\r\nX-Response-Info: Allowed\r\nEncapsulated: null-body=0\r\n");
}

TEST_CASE("Avi examples: read, write legacy, read again gives an equal model") {
  for (const char* name : {"avi-20.1-blocked.json", "avi-20.1-passed.json",
                           "avi-20.1-blocked-no-rule.json", "avi-disabled.json"}) {
    CAPTURE(name);
    const auto first = parse_record(read_testdata(name));
    REQUIRE_MESSAGE(first.has_value(), first.error().message());
    const auto legacy = to_json(*first, {.layout = log_layout::legacy, .int64_as_string = true});
    check_round_trip(*first, {.layout = log_layout::legacy});
    check_round_trip(*first, {.layout = log_layout::current});
    // Written like Avi wrote it, the request log is the same JSON object as the original.
    const auto original = nlohmann::ordered_json::parse(read_testdata(name));
    const auto& original_log = original.contains("icap_log") ? original["icap_log"] : original;
    CHECK(nlohmann::json(legacy["icap_log"]) == nlohmann::json(original_log));
  }
}

TEST_CASE("round trip: every sample record in both layouts and both integer forms") {
  for (const auto& record : test::sample_records()) {
    check_round_trip(record, {});
    check_round_trip(record, {.int64_as_string = true, .pool_name_with_crc32 = false});
  }
  // Legacy drops vendor and nsx_defender_log by definition; the rest survives.
  auto record = test::sample_records()[5];
  const auto legacy = parse_record(to_json_text(record, {.layout = log_layout::legacy}));
  REQUIRE(legacy.has_value());
  auto& request = record.icap_log.request_logs[0];
  request.vendor.reset();
  CHECK(*legacy == record);
}

TEST_CASE("reader: pool_name as a string or as {val, crc32}; latency as a number or string") {
  const auto a = parse_record(
      R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{"pool_name":"p1","latency":12}]}})");
  REQUIRE(a.has_value());
  CHECK(a->icap_log.request_logs[0].pool_name == crc_string{"p1", std::nullopt});
  CHECK(a->icap_log.request_logs[0].latency == 12U);
  const auto b = parse_record(
      R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{"pool_name":{"val":"p1"},"latency":"18446744073709551615"}]}})");
  REQUIRE(b.has_value());
  CHECK(b->icap_log.request_logs[0].pool_name == crc_string{"p1", std::nullopt});
  CHECK(b->icap_log.request_logs[0].latency == 18446744073709551615ULL);
  const auto c =
      parse_record(R"({"log_id":"77","request_length":"9","icap_log":{"action":"ICAP_DISABLED"}})");
  REQUIRE(c.has_value());
  CHECK(c->log_id == 77U);
  CHECK(c->request_length == 9U);
}

TEST_CASE("reader: current layout wins over flat legacy copies, which are kept as unknown") {
  const auto parsed = parse_record(
      R"({"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"opswat_log":{"reason":"A"},"reason":"B","threat_id":"T"}]}})");
  REQUIRE(parsed.has_value());
  const auto& r = parsed->icap_log.request_logs[0];
  CHECK(r.opswat_log->reason == "A");
  CHECK(r.opswat_log->threat_id == "T");
  CHECK(r.unknown == unknown_members{{"reason", "\"B\""}});
}

TEST_CASE("reader: unknown members at every level are kept and written back") {
  const std::string text =
      R"({"adf":true,"significant":0,"icap_log":{"action":"ICAP_BLOCKED","x":{"y":[1]},)"
      R"("request_logs":[{"threat_description":"old","server_ip":{"addr":"1.2.3.4","type":"V4"},)"
      R"("opswat_log":{"violations":[{"file_name":"f","extra":1}]}}]},"virtualservice":"vs-1"})";
  const auto parsed = parse_record(text);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
  CHECK_FALSE(parsed->significant.has_value()); // Avi's numeric significant is kept verbatim
  CHECK(parsed->unknown ==
        unknown_members{{"adf", "true"}, {"significant", "0"}, {"virtualservice", "\"vs-1\""}});
  CHECK(parsed->icap_log.unknown == unknown_members{{"x", R"({"y":[1]})"}});
  CHECK(parsed->icap_log.request_logs[0].unknown.size() == 2);
  CHECK(parsed->icap_log.request_logs[0].opswat_log->violations[0].unknown ==
        unknown_members{{"extra", "1"}});
  CHECK(nlohmann::json(to_json(*parsed)) == nlohmann::json::parse(text));
}

TEST_CASE("reader errors name the line and the field") {
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{"latency":true}]}})", 3) ==
        "line 3: icap_log.request_logs[0].latency: expected number or numeric string");
  CHECK(
      error_of(R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{},{"latency":"12ms"}]}})") ==
      "line 1: icap_log.request_logs[1].latency: expected number or numeric string (unsigned "
      "64-bit decimal)");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{"latency":-5}]}})") ==
        "line 1: icap_log.request_logs[0].latency: expected non-negative integer");
  CHECK(
      error_of(
          R"({"icap_log":{"action":"ICAP_PASSED","request_logs":[{"icap_response_code":"200"}]}})") ==
      "line 1: icap_log.request_logs[0].icap_response_code: expected unsigned integer");
  CHECK(
      error_of(
          R"({"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"icap_server_port":70000}]}})") ==
      "line 1: icap_log.request_logs[0].icap_server_port: expected integer 0..65535");
  CHECK(
      error_of(
          R"({"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"nsx_defender_log":{"score":101}}]}})") ==
      "line 1: icap_log.request_logs[0].nsx_defender_log.score: expected integer 0..100");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"pool_name":5}]}})") ==
        "line 1: icap_log.request_logs[0].pool_name: expected string or {\"val\": string, "
        "\"crc32\": integer}");
  CHECK(
      error_of(
          R"({"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"opswat_log":{"violations":[{"resolution":"FIXED"}]}}]}})") ==
      "line 1: icap_log.request_logs[0].opswat_log.violations[0].resolution: unknown value "
      "\"FIXED\", expected one of ICAP_FILE_NOT_REPAIRED ICAP_FILE_REPAIRED "
      "ICAP_VIOLATING_SECTION_REMOVED");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_OK"}})") ==
        "line 1: icap_log.action: unknown value \"ICAP_OK\", expected one of ICAP_DISABLED "
        "ICAP_PASSED ICAP_MODIFIED ICAP_BLOCKED ICAP_FAILED");
  CHECK(error_of(R"({"icap_log":{}})") == "line 1: icap_log.action: missing required field");
  CHECK(error_of(R"({"source":"scan"})") == "line 1: icap_log: missing required field");
  CHECK(
      error_of(
          R"({"significant_log":["ADF_ICAP_BLOCKED",3],"icap_log":{"action":"ICAP_DISABLED"}})") ==
      "line 1: significant_log[1]: expected string");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_DISABLED","request_logs":{}}})") ==
        "line 1: icap_log.request_logs: expected array of objects");
  CHECK(error_of(R"({"icap_log":"ICAP_DISABLED"})") == "line 1: icap_log: expected object");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_DISABLED"},"upstream":{"retries":["a",2]}})") ==
        "line 1: upstream.retries[1]: expected string");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_DISABLED"},"upstream":{"attempts":"2"}})") ==
        "line 1: upstream.attempts: expected unsigned integer");
  CHECK(error_of(R"({"icap_log":{"action":"ICAP_DISABLED"},"upstream":[]})") ==
        "line 1: upstream: expected object");
}

TEST_CASE("reader: malformed JSON is an error, never an exception or a crash") {
  const auto truncated = parse_record(R"({"icap_log":{"action":"ICAP_PASSED")", 9);
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().code == errc::invalid_json);
  CHECK(truncated.error().message().starts_with("line 9: invalid JSON: parse error"));
  CHECK(error_of("[1,2]") == "line 1: expected a JSON object");
  CHECK(parse_record("").error().code == errc::invalid_json);
  CHECK(parse_record("{} {}").error().code == errc::invalid_json);
  CHECK(parse_record("{\"host\":\"\xff\"}").error().code == errc::invalid_json);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(parse_record(deep).error().code == errc::too_deep);
  const std::string deep_in_string =
      "{\"host\":\"" + std::string(1000, '[') + "\",\"icap_log\":{\"action\":\"ICAP_DISABLED\"}}";
  CHECK(parse_record(deep_in_string).has_value());
}

TEST_CASE("reader: every truncation of a valid record fails cleanly") {
  const auto text = to_json_text(test::sample_records()[5]);
  for (std::size_t n = 0; n < text.size(); ++n) {
    const auto parsed = parse_record(std::string_view(text).substr(0, n));
    CHECK_FALSE(parsed.has_value());
  }
}
