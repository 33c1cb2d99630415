#include "icapkit/client/verdict.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/net/errc.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using namespace icapkit::client;
using icapkit::codec::icap_method;
using icapkit::log::icap_action;
using icapkit::log::icap_request_log;
using icapkit::log::icap_vendor;
using icapkit::log::violation_resolution;

namespace {

constexpr std::string_view status_url_template =
    icapkit::config::icap_nsx_defender_config::default_status_url;

std::string hex(std::size_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%zx", n);
  return buffer;
}

// An ICAP response off the wire: `icap_head` is the status line and fields (CRLF each) without
// Encapsulated; `http_head` an encapsulated HTTP head ("" = none) in section `head_section`;
// `body` sent as one chunk. Encapsulated is computed, as the server would.
icapkit::codec::parsed_message receive(icap_method method, const std::string& icap_head,
                                       const std::string& http_head = "",
                                       const std::string& body = "",
                                       const std::string& head_section = "res-hdr") {
  std::string encapsulated = "null-body=0";
  if (!http_head.empty()) {
    const auto body_name =
        body.empty() ? std::string("null-body") : head_section.substr(0, 3) + "-body";
    encapsulated = head_section + "=0, " + body_name + "=" + std::to_string(http_head.size());
  }
  std::string wire = icap_head + "Encapsulated: " + encapsulated + "\r\n\r\n" + http_head;
  if (!body.empty()) {
    wire += hex(body.size()) + "\r\n" + body + "\r\n0\r\n\r\n";
  }
  icapkit::codec::parsed_message message;
  std::error_code ec;
  icapkit::codec::parse_message(wire, icapkit::codec::parse_mode::icap_response, message, ec,
                                method);
  REQUIRE_MESSAGE(!ec, ec.message());
  REQUIRE(message.complete);
  return message;
}

// A 204 or 100, which carry no Encapsulated (c-icap omits it).
icapkit::codec::parsed_message receive_bare(const std::string& icap_head) {
  icapkit::codec::parsed_message message;
  std::error_code ec;
  icapkit::codec::parse_message(icap_head + "\r\n", icapkit::codec::parse_mode::icap_response,
                                message, ec, icap_method::respmod);
  REQUIRE_MESSAGE(!ec, ec.message());
  return message;
}

verdict classify_message(const icapkit::codec::parsed_message& message, icap_method method,
                         bool content_changed = false) {
  auto input = input_from(message, method);
  input.content_changed = content_changed;
  if (!message.body.empty()) {
    input.returned_body_length = message.body.size();
  }
  return classify(input);
}

icap_request_log record_of(const verdict& v, icap_vendor vendor) {
  icap_request_log record;
  fill_record(v, record, vendor, status_url_template);
  return record;
}

const std::string block_page_403 = "HTTP/1.0 403 Forbidden\r\n"
                                   "Server: C-ICAP\r\n"
                                   "Content-Type: text/html\r\n"
                                   "Content-Language: en\r\n"
                                   "\r\n";

// icap-protocol.md 3.4: c-icap 0.5.10 + clamd, EICAR, TAB-folded X-Violations-Found.
const std::string c_icap_eicar_head =
    "ICAP/1.0 200 OK\r\n"
    "Server: C-ICAP/0.5.10\r\n"
    "Connection: keep-alive\r\n"
    "ISTag: \"CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA\"\r\n"
    "X-Infection-Found: Type=0; Resolution=2; Threat=Test.EICAR.Custom-NDB.UNOFFICIAL;\r\n"
    "X-Violations-Found: 1\r\n"
    "\t-\r\n"
    "\tTest.EICAR.Custom-NDB.UNOFFICIAL\r\n"
    "\t0\r\n"
    "\t0\r\n";

// The Avi guide's OPSWAT block record (icap_headers_received_from_server, completed).
const std::string opswat_block_head = "ICAP/1.0 200 OK\r\n"
                                      "Date: Thu, 19 Nov 2020 13:55:00 GMT\r\n"
                                      "Server: Metadefender Core V4\r\n"
                                      "ISTag: \"001605794100\"\r\n"
                                      "X-ICAP-Profile: File process\r\n"
                                      "X-Response-Info: Blocked\r\n"
                                      "X-Response-Desc: Infected\r\n"
                                      "X-Blocked-Reason: Infected\r\n"
                                      "X-Virus-ID: EICAR-Test-File (not a virus)\r\n"
                                      "X-Infection-Found: Type=0; Resolution=2; "
                                      "Threat=EICAR-Test-File (not a virus);\r\n";

const std::string nsx_uuid = "5f1c0a3e9b7d4c2a8e6f1b3d5a7c9e0f";

} // namespace

TEST_CASE("c-icap EICAR via RESPMOD: blocked, threat, 403, one violation") {
  const auto m = receive(icap_method::respmod, c_icap_eicar_head, block_page_403,
                         std::string("<html>VIRUS FOUND</html>") + '\0' + '\0');
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "X-Infection-Found Resolution=2");
  CHECK(v.icap_status == 200);
  CHECK(v.threat == "Test.EICAR.Custom-NDB.UNOFFICIAL");
  CHECK(v.http_status == 403U);
  CHECK_FALSE(v.reason);
  REQUIRE(v.violations.size() == 1);
  CHECK_FALSE(v.violations[0].file_name);
  CHECK(v.violations[0].threat_name == "Test.EICAR.Custom-NDB.UNOFFICIAL");
  CHECK_FALSE(v.violations_truncated);

  const auto record = record_of(v, icap_vendor::generic);
  CHECK(record.action == icap_action::blocked);
  CHECK(record.http_response_code == 403U);
  REQUIRE(record.opswat_log);
  CHECK_FALSE(record.opswat_log->reason);
  CHECK(record.opswat_log->threat_id == "Test.EICAR.Custom-NDB.UNOFFICIAL");
  REQUIRE(record.opswat_log->violations.size() == 1);
  CHECK_FALSE(record.opswat_log->violations[0].file_name);
  CHECK(record.opswat_log->violations[0].threat_name == "Test.EICAR.Custom-NDB.UNOFFICIAL");
  CHECK(record.opswat_log->violations[0].resolution == violation_resolution::file_not_repaired);
  CHECK_FALSE(record.nsx_defender_log);
}

TEST_CASE("c-icap EICAR via REQMOD: the request was answered with a 403 page") {
  const auto m = receive(icap_method::reqmod, c_icap_eicar_head, block_page_403, "VIRUS FOUND");
  const auto v = classify_message(m, icap_method::reqmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "REQMOD answered with an HTTP response");
  CHECK(v.http_status == 403U);
  CHECK(v.threat == "Test.EICAR.Custom-NDB.UNOFFICIAL");
}

TEST_CASE("c-icap 204 Unmodified: passed, nothing else in the record") {
  const auto m = receive_bare("ICAP/1.0 204 Unmodified\r\n"
                              "Server: C-ICAP/0.5.10\r\n"
                              "Connection: keep-alive\r\n"
                              "ISTag: \"CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA\"\r\n");
  const auto v = classify_message(m, icap_method::respmod);
  CHECK(v.outcome == verdict_outcome::passed);
  CHECK(v.icap_status == 204);
  auto record = record_of(v, icap_vendor::opswat);
  CHECK(record.action == icap_action::passed);
  CHECK_FALSE(record.http_response_code);
  CHECK_FALSE(record.opswat_log);
  icapkit::log::significance_conditions conditions;
  fill_significance(v, conditions);
  CHECK_FALSE(icapkit::log::assess_significance(conditions).significant);
}

TEST_CASE("c-icap 200 echo without Allow: 204: passed when unchanged, modified when changed") {
  const std::string echo_head = "ICAP/1.0 200 OK\r\n"
                                "Server: C-ICAP/0.5.10\r\n"
                                "Connection: keep-alive\r\n"
                                "ISTag: \"CI0001-XXXXXXXXX\"\r\n"
                                "Via: ICAP/1.0 icaplab (C-ICAP/0.5.10 Echo demo service )\r\n";
  const std::string http_head = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
  const auto m = receive(icap_method::respmod, echo_head, http_head, "hello world");
  const auto unchanged = classify_message(m, icap_method::respmod, false);
  CHECK(unchanged.outcome == verdict_outcome::passed);
  CHECK(unchanged.rule == "content unchanged");
  CHECK(unchanged.http_status == 200U);
  const auto record = record_of(unchanged, icap_vendor::opswat);
  CHECK_FALSE(record.http_response_code); // only when blocked
  CHECK_FALSE(record.modified_content_length);

  const auto changed = classify_message(m, icap_method::respmod, true);
  CHECK(changed.outcome == verdict_outcome::modified);
  CHECK(changed.modified_content_length == 11U);
  CHECK(record_of(changed, icap_vendor::opswat).modified_content_length == 11U);
}

TEST_CASE("OPSWAT block from the Avi example: blocked, reason Infected, threat_id") {
  const std::string page = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n\r\n";
  const auto m = receive(icap_method::reqmod, opswat_block_head, page, "<html>Blocked</html>");
  const auto v = classify_message(m, icap_method::reqmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.reason == "Infected");
  CHECK(v.threat == "EICAR-Test-File (not a virus)");
  CHECK(v.http_status == 403U);
  const auto record = record_of(v, icap_vendor::opswat);
  CHECK(record.action == icap_action::blocked);
  CHECK(record.http_response_code == 403U);
  REQUIRE(record.opswat_log);
  CHECK(record.opswat_log->reason == "Infected");
  CHECK(record.opswat_log->threat_id == "EICAR-Test-File (not a virus)");
  CHECK(record.opswat_log->violations.empty());
  icapkit::log::significance_conditions conditions;
  fill_significance(v, conditions);
  CHECK(icapkit::log::assess_significance(conditions).codes ==
        std::vector{icapkit::log::significance_code::blocked});
}

TEST_CASE("OPSWAT X-Virus-ID alone names the threat when X-Infection-Found is absent") {
  const auto m = receive(icap_method::respmod,
                         "ICAP/1.0 200 OK\r\nX-Response-Info: Blocked\r\n"
                         "X-Virus-ID: EICAR Test String\r\n",
                         "HTTP/1.1 403 Forbidden\r\n\r\n", "blocked");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.threat == "EICAR Test String");
}

TEST_CASE("OPSWAT 'No security rule matched': blocked with the reason, no threat") {
  const auto m = receive(icap_method::reqmod,
                         "ICAP/1.0 200 OK\r\n"
                         "Date: Thu, 19 Nov 2020 13:25:15 GMT\r\n"
                         "Server: Metadefender Core V4\r\n"
                         "ISTag: \"001605792300\"\r\n"
                         "X-Response-Info: Blocked\r\n"
                         "X-Response-Desc: No security rule matched\r\n",
                         "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\n", "Blocked");
  const auto v = classify_message(m, icap_method::reqmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.reason == "No security rule matched");
  CHECK_FALSE(v.threat);
  const auto record = record_of(v, icap_vendor::opswat);
  CHECK(record.http_response_code == 403U);
  REQUIRE(record.opswat_log);
  CHECK(record.opswat_log->reason == "No security rule matched");
  CHECK_FALSE(record.opswat_log->threat_id);
}

TEST_CASE("OPSWAT sanitized (CDR): 200 + X-Response-Info: Sanitized + a new body -> modified") {
  const auto m =
      receive(icap_method::respmod,
              "ICAP/1.0 200 OK\r\nServer: Metadefender Core V4\r\n"
              "ISTag: \"001605794100\"\r\nX-Response-Info: Sanitized\r\n",
              "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n", "%PDF-1.7 sanitized");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::modified);
  CHECK(v.rule == "X-Response-Info: Sanitized");
  const auto record = record_of(v, icap_vendor::opswat);
  CHECK(record.action == icap_action::modified);
  CHECK_FALSE(record.http_response_code);
  CHECK(record.modified_content_length == 18U);
  icapkit::log::significance_conditions conditions;
  fill_significance(v, conditions);
  CHECK(icapkit::log::assess_significance(conditions).codes ==
        std::vector{icapkit::log::significance_code::modified});
}

TEST_CASE("Symantec 201 Created with Resolution=1: modified, repaired violation") {
  const auto m =
      receive(icap_method::respmod,
              "ICAP/1.0 201 Created\r\n"
              "ISTag: \"1D5B5A14B0C1\"\r\n"
              "Service-ID: Respmod AV Scan\r\n"
              "X-Infection-Found: Type=0; Resolution=1; Threat=Trojan.Gen.2;\r\n"
              "X-Violations-Found: 1\r\n"
              "\tsetup.exe\r\n"
              "\tTrojan.Gen.2\r\n"
              "\t11101\r\n"
              "\t1\r\n"
              "X-Outer-Container-Is-Mime: 1\r\n",
              "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n", "repaired");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::modified);
  CHECK(v.rule == "X-Infection-Found Resolution=1 (repaired)");
  CHECK(v.threat == "Trojan.Gen.2");
  const auto record = record_of(v, icap_vendor::generic);
  REQUIRE(record.opswat_log);
  REQUIRE(record.opswat_log->violations.size() == 1);
  CHECK(record.opswat_log->violations[0].file_name == "setup.exe");
  CHECK(record.opswat_log->violations[0].resolution == violation_resolution::file_repaired);
}

TEST_CASE("McAfee X-Virus-Name + X-Block-Reason: blocked, with or without a page") {
  const std::string head = "ICAP/1.0 200 OK\r\n"
                           "X-Virus-Name: EICAR test file\r\n"
                           "X-Block-Reason: Malware found\r\n"
                           "X-WWBlockResult: 80\r\n";
  const auto page = receive(icap_method::respmod, head, "HTTP/1.1 403 Forbidden\r\n\r\n", "x");
  const auto v = classify_message(page, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.reason == "Malware found");
  CHECK(v.threat == "EICAR test file");

  // X-Virus-Name alone on an unchanged echo: a named, unrepaired threat is still a block.
  const auto echo =
      receive(icap_method::respmod, "ICAP/1.0 200 OK\r\nX-Virus-Name: EICAR test file\r\n",
              "HTTP/1.1 200 OK\r\n\r\n", "x");
  const auto named = classify_message(echo, icap_method::respmod, false);
  CHECK(named.outcome == verdict_outcome::blocked);
  CHECK(named.rule == "X-Virus-ID/X-Virus-Name present");
}

TEST_CASE("ESET: X-Response-Description is the reason") {
  const auto m = receive(icap_method::respmod,
                         "ICAP/1.0 200 OK\r\n"
                         "X-Infection-Found: Type=0; Resolution=0; Threat=Eicar test file;\r\n"
                         "X-Virus-ID: Eicar test file\r\n"
                         "X-Response-Info: Blocked\r\n"
                         "X-Response-Description: Threat found\r\n",
                         "HTTP/1.1 403 Forbidden\r\n\r\n", "blocked");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.reason == "Threat found");
  CHECK(v.threat == "Eicar test file");
}

TEST_CASE("NSX Defender: LastlineArtifact score 100 + X-Lastline-* on a block page") {
  const auto m = receive(icap_method::respmod,
                         "ICAP/1.0 200 OK\r\n"
                         "ISTag: \"lastline-1\"\r\n"
                         "X-Infection-Found: Type=0;Resolution=1;Threat=LastlineArtifact(score=100;"
                         "md5=44d88612fea8a8f36de82e1278abb02f;uuid=" +
                             nsx_uuid +
                             ")\r\n"
                             "X-Virus-ID: LastlineArtifact(score=100;md5=44d88612fea8a8f36de82e1278"
                             "abb02f;task_uuid=" +
                             nsx_uuid + ")\r\n",
                         "HTTP/1.1 403 Forbidden\r\n"
                         "X-Lastline-Status: known\r\n"
                         "X-Lastline-Score: 100\r\n"
                         "X-Lastline-Task: " +
                             nsx_uuid + "\r\n\r\n",
                         "<html>blocked by NSX Defender</html>");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "NSX Defender score 100 >= 70 with a blocking page");
  CHECK(v.nsx_score == 100U);
  CHECK(v.nsx_task_uuid == nsx_uuid);
  CHECK(v.nsx_status == "known");
  CHECK(v.http_status == 403U);

  const auto record = record_of(v, icap_vendor::lastline);
  CHECK(record.action == icap_action::blocked);
  CHECK(record.http_response_code == 403U);
  CHECK_FALSE(record.opswat_log);
  REQUIRE(record.nsx_defender_log);
  CHECK(record.nsx_defender_log->score == 100U);
  CHECK(record.nsx_defender_log->task_uuid == nsx_uuid);
  CHECK(record.nsx_defender_log->status_url ==
        "https://user.lastline.com/portal#/analyst/task/" + nsx_uuid + "/overview");
}

TEST_CASE("NSX Defender: the artifact form alone gives score and task uuid") {
  const auto m = receive(icap_method::respmod,
                         "ICAP/1.0 200 OK\r\n"
                         "X-Virus-ID: LastlineArtifact(score=85;md5=;task_uuid=abc)\r\n",
                         "HTTP/1.1 200 OK\r\n\r\n", "<html>This file was blocked</html>");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.nsx_score == 85U);
  CHECK(v.nsx_task_uuid == "abc");
  CHECK(v.threat == "LastlineArtifact(score=85;md5=;task_uuid=abc)");
}

TEST_CASE("NSX Defender: low score or passive mode with the original content -> passed") {
  const std::string infection = "ICAP/1.0 200 OK\r\n"
                                "X-Infection-Found: Type=0;Resolution=1;Threat=LastlineArtifact("
                                "score=10;md5=;uuid=u1)\r\n";
  const auto low = receive(icap_method::respmod, infection,
                           "HTTP/1.1 200 OK\r\nX-Lastline-Status: known\r\nX-Lastline-Score: "
                           "10\r\nX-Lastline-Task: u1\r\n\r\n",
                           "original");
  const auto v = classify_message(low, icap_method::respmod, false);
  CHECK(v.outcome == verdict_outcome::passed); // Resolution=1 here is no repair
  CHECK(v.nsx_score == 10U);

  const auto fresh = receive(icap_method::respmod, "ICAP/1.0 200 OK\r\n",
                             "HTTP/1.1 200 OK\r\nX-Lastline-Status: new\r\n\r\n", "original");
  CHECK(classify_message(fresh, icap_method::respmod, false).outcome == verdict_outcome::passed);

  // PASSIVE blocking mode: a score of 100 is reported but the file goes through unchanged.
  const auto passive = receive(icap_method::respmod, "ICAP/1.0 200 OK\r\n",
                               "HTTP/1.1 200 OK\r\nX-Lastline-Score: 100\r\n\r\n", "original");
  CHECK(classify_message(passive, icap_method::respmod, false).outcome == verdict_outcome::passed);
}

TEST_CASE("NSX Defender: blacklist with a page -> blocked; threshold is a policy") {
  const auto m = receive(icap_method::respmod, "ICAP/1.0 200 OK\r\n",
                         "HTTP/1.1 403 Forbidden\r\nX-Lastline-Status: blacklist\r\n\r\n", "no");
  const auto v = classify_message(m, icap_method::respmod, true);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "NSX Defender status blacklist with a blocking page");
  // No task uuid: no nsx_defender_log at all.
  CHECK_FALSE(record_of(v, icap_vendor::lastline).nsx_defender_log);

  const auto scored = receive(icap_method::respmod, "ICAP/1.0 200 OK\r\n",
                              "HTTP/1.1 200 OK\r\nX-Lastline-Score: 50\r\n\r\n", "page");
  auto input = input_from(scored, icap_method::respmod);
  input.content_changed = true;
  CHECK(classify(input).outcome == verdict_outcome::modified);
  CHECK(classify(input, {.nsx_block_score = 50}).outcome == verdict_outcome::blocked);
}

TEST_CASE("ICAP 4xx/5xx, 100 as final answer, unexpected statuses -> failed") {
  const auto overloaded = receive_bare("ICAP/1.0 503 Service Overloaded\r\n");
  const auto v = classify_message(overloaded, icap_method::reqmod);
  CHECK(v.outcome == verdict_outcome::failed);
  CHECK(v.failure == "ICAP 503 Service Overloaded");
  CHECK(v.icap_status == 503);
  const auto record = record_of(v, icap_vendor::opswat);
  CHECK(record.action == icap_action::failed);
  CHECK_FALSE(record.opswat_log);
  icapkit::log::significance_conditions conditions;
  fill_significance(v, conditions);
  CHECK(conditions.server_error);
  CHECK(icapkit::log::assess_significance(conditions).codes ==
        std::vector{icapkit::log::significance_code::server_error,
                    icapkit::log::significance_code::failed});

  icapkit::codec::icap_response_head head;
  head.status = 404;
  head.reason = "";
  classify_input input;
  input.response = &head;
  CHECK(classify(input).failure == "ICAP 404 Service Not Found");
  head.status = 100;
  head.reason = "Continue";
  CHECK(classify(input).failure == "ICAP 100 Continue as the final answer");
  head.status = 302;
  head.reason = "Found";
  CHECK(classify(input).failure == "unexpected ICAP 302 Found");
  CHECK(classify(classify_input{}).failure == "no ICAP response");
}

TEST_CASE("exchange errors -> failed with their message; significance by error kind") {
  classify_input input;
  input.error = icapkit::net::errc::idle_timeout;
  input.error_message = "timed out waiting for 127.0.0.1:1344";
  const auto timeout = classify(input);
  CHECK(timeout.outcome == verdict_outcome::failed);
  CHECK(timeout.failure == "timed out waiting for 127.0.0.1:1344");
  CHECK(timeout.error == icapkit::net::errc::idle_timeout);
  icapkit::log::significance_conditions conditions;
  fill_significance(timeout, conditions);
  CHECK(conditions.timed_out);
  CHECK_FALSE(conditions.connection_error);

  input.error = icapkit::net::errc::connection_refused;
  input.error_message.clear();
  const auto refused = classify(input);
  CHECK(refused.failure == input.error.message());
  conditions = {};
  fill_significance(refused, conditions);
  CHECK(conditions.connection_error);
  CHECK_FALSE(conditions.timed_out);

  // A malformed response is the server's error; a failing body source is ours.
  input.error = icapkit::codec::errc::bad_status_line;
  conditions = {};
  fill_significance(classify(input), conditions);
  CHECK(conditions.server_error);
  input.error = icapkit::codec::errc::body_source_error;
  conditions = {};
  fill_significance(classify(input), conditions);
  CHECK_FALSE(conditions.server_error);
  CHECK(conditions.action == icap_action::failed);

  // An error wins over a response that had started to arrive.
  const auto partial = receive_bare("ICAP/1.0 204 No Content\r\n");
  auto with_error = input_from(partial, icap_method::reqmod);
  with_error.error = icapkit::net::errc::connection_reset;
  CHECK(classify(with_error).outcome == verdict_outcome::failed);
}

TEST_CASE("RESPMOD error page without threat headers: blocked only if the sent status was OK") {
  const auto m = receive(icap_method::respmod, "ICAP/1.0 200 OK\r\n",
                         "HTTP/1.1 403 Forbidden\r\n\r\n", "denied");
  auto input = input_from(m, icap_method::respmod);
  input.content_changed = true;
  input.sent_http_status = 200;
  const auto v = classify(input);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "RESPMOD answered with HTTP 403");
  // The origin's own 403, echoed: nothing was blocked.
  input.sent_http_status = 403;
  input.content_changed = false;
  CHECK(classify(input).outcome == verdict_outcome::passed);
}

TEST_CASE("X-Infection-Found without Resolution, and X-Violations-Found alone") {
  const auto typed =
      receive(icap_method::respmod, "ICAP/1.0 200 OK\r\nX-Infection-Found: Type=0; Threat=Foo;\r\n",
              "HTTP/1.1 200 OK\r\n\r\n", "x");
  const auto v = classify_message(typed, icap_method::respmod, false);
  CHECK(v.outcome == verdict_outcome::blocked);
  CHECK(v.rule == "X-Infection-Found without Resolution");

  const auto removed = receive(icap_method::respmod,
                               "ICAP/1.0 200 OK\r\nX-Violations-Found: 1\r\n a.zip/m.doc\r\n "
                               "Macro\r\n 3\r\n 2\r\n",
                               "HTTP/1.1 200 OK\r\n\r\n", "cleaned");
  CHECK(classify_message(removed, icap_method::respmod, true).outcome == verdict_outcome::modified);
  const auto unrepaired = receive(icap_method::respmod,
                                  "ICAP/1.0 200 OK\r\nX-Violations-Found: 1\r\n a.zip/m.doc\r\n "
                                  "Macro\r\n 3\r\n 0\r\n",
                                  "HTTP/1.1 200 OK\r\n\r\n", "x");
  const auto blocked = classify_message(unrepaired, icap_method::respmod, false);
  CHECK(blocked.outcome == verdict_outcome::blocked);
  CHECK(blocked.threat == "Macro");
}

TEST_CASE("206 with use-original-body: modified when something changed, else passed") {
  icapkit::codec::icap_response_head head;
  head.status = 206;
  head.reason = "Partial Content";
  icapkit::codec::http_response_head http;
  classify_input input;
  input.method = icap_method::respmod;
  input.response = &head;
  input.http_response = &http;
  input.use_original_body = 22;
  input.content_changed = true;
  CHECK(classify(input).outcome == verdict_outcome::modified);
  input.content_changed = false;
  CHECK(classify(input).outcome == verdict_outcome::passed);
}

TEST_CASE("fill_record clears what an earlier verdict left, per vendor") {
  const auto m = receive(icap_method::respmod, c_icap_eicar_head, block_page_403, "x");
  const auto blocked = classify_message(m, icap_method::respmod, true);
  icap_request_log record;
  fill_record(blocked, record, icap_vendor::opswat, status_url_template);
  REQUIRE(record.http_response_code);
  REQUIRE(record.opswat_log);
  verdict passed;
  passed.outcome = verdict_outcome::passed;
  fill_record(passed, record, icap_vendor::opswat, status_url_template);
  CHECK(record.action == icap_action::passed);
  CHECK_FALSE(record.http_response_code);
  CHECK_FALSE(record.opswat_log);
  // LASTLINE: the threat of a generic server does not go into opswat_log.
  fill_record(blocked, record, icap_vendor::lastline, status_url_template);
  CHECK_FALSE(record.opswat_log);
  CHECK_FALSE(record.nsx_defender_log);
}

TEST_CASE("outcome names and Avi actions") {
  CHECK(to_string(verdict_outcome::modified) == "modified");
  CHECK(to_icap_action(verdict_outcome::passed) == icap_action::passed);
  CHECK(to_icap_action(verdict_outcome::blocked) == icap_action::blocked);
  CHECK(to_icap_action(verdict_outcome::failed) == icap_action::failed);
}
