#pragma once
// Records shared by the log tests: one per action, both vendors' sub-objects.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/field_format.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace icapkit::log::test {

inline icap_request_log sample_request(icap_action action) {
  icap_request_log request;
  request.action = action;
  request.complete_body_sent = true;
  request.http_method = avi_http_method::post;
  request.icap_absolute_uri = "icap://100.64.3.15:1344/OMSScanReq-AV";
  request.icap_headers_sent_to_server =
      "Host: 100.64.3.15:1344\r\nAllow: 204\r\nEncapsulated: req-hdr=0, req-body=661\r\n";
  request.icap_headers_received_from_server = "ISTag: \"001605794100\"\r\n";
  request.icap_method = avi_icap_method::reqmod;
  request.icap_response_code = action == icap_action::passed ? 204U : 200U;
  request.icap_server_ip = icap_server_ip_from_string("100.64.3.15");
  request.icap_server_port = 1344;
  request.latency = 1275;
  request.pool_name = crc_string{"ICAP-POOL-GROUP", std::nullopt};
  request.pool_uuid = "poolgroup-c7dd3b93-60c1-4190-b6d6-26c22d55dc30";
  request.source_port = 40312;
  request.vendor = icap_vendor::generic;
  if (action == icap_action::blocked) {
    request.http_response_code = 403;
  }
  if (action == icap_action::modified) {
    request.modified_content_length = 120;
  }
  return request;
}

inline icap_opswat_log sample_opswat() {
  icap_opswat_log opswat;
  opswat.reason = "Infected";
  opswat.threat_id = "EICAR-Test-File (not a virus)";
  opswat.violations.push_back(
      {"eicar.com", "EICAR-Test-File", violation_resolution::file_not_repaired, {}});
  opswat.violations.push_back({"doc.docx", "Macro", violation_resolution::file_repaired, {}});
  return opswat;
}

inline icap_nsx_defender_log sample_nsx() {
  icap_nsx_defender_log nsx;
  nsx.score = 70;
  nsx.status_url = "https://user.lastline.com/portal#/analyst/task/abc/overview";
  nsx.task_uuid = "3a9f7c0e2b5d4e8f9a1b2c3d4e5f6a7b";
  return nsx;
}

// One record per action, one OPSWAT-blocked, one Lastline-blocked, two proxy records with an
// upstream object (retried; failed), and last one scan with a file.
inline std::vector<app_log_record> sample_records() {
  std::vector<app_log_record> records;
  const auto when =
      std::chrono::sys_days{std::chrono::year{2024} / 3 / 26} + std::chrono::hours{10};
  std::uint64_t id = 0;
  for (const auto action : all_values<icap_action>()) {
    auto record = make_record(record_source::proxy, ++id, when);
    record.client_ip = "10.0.0.5";
    record.client_src_port = 51000;
    record.method = "POST";
    record.host = "upload.example";
    record.uri_path = "/upload";
    record.uri_query = "a=1";
    record.request_length = 5000000000ULL;
    record.response_code = action == icap_action::blocked ? 403U : 200U;
    record.http_security_policy_rule_name = "scan-uploads";
    record.icap_log.action = action;
    if (action != icap_action::disabled) {
      record.icap_log.request_logs.push_back(sample_request(action));
    }
    records.push_back(record);
  }
  auto opswat = make_record(record_source::replay, ++id, when);
  opswat.icap_log.action = icap_action::blocked;
  opswat.icap_log.request_logs.push_back(sample_request(icap_action::blocked));
  opswat.icap_log.request_logs.back().vendor = icap_vendor::opswat;
  opswat.icap_log.request_logs.back().opswat_log = sample_opswat();
  opswat.significant = true;
  opswat.significant_log = {"ADF_ICAP_BLOCKED"};
  opswat.significance = "ICAP server blocked the request.";
  records.push_back(opswat);

  auto lastline = make_record(record_source::load, ++id, when);
  lastline.icap_log.action = icap_action::blocked;
  lastline.icap_log.request_logs.push_back(sample_request(icap_action::blocked));
  lastline.icap_log.request_logs.back().vendor = icap_vendor::lastline;
  lastline.icap_log.request_logs.back().nsx_defender_log = sample_nsx();
  records.push_back(lastline);

  // The proxy sent a GET twice (the origin closed the first connection), and a POST once (502).
  auto retried = make_record(record_source::proxy, ++id, when);
  retried.method = "GET";
  retried.response_code = 200U;
  retried.upstream = upstream_attempts{
      2U,
      {"upstream 127.0.0.1:8080 closed a reused connection after the request was sent; the GET "
       "is idempotent"},
      std::nullopt,
      {}};
  records.push_back(retried);
  auto failed = make_record(record_source::proxy, ++id, when);
  failed.method = "POST";
  failed.response_code = 502U;
  failed.upstream = upstream_attempts{
      1U,
      {},
      "upstream 127.0.0.1:8080 closed the connection after the request was sent; a POST is not "
      "sent twice",
      {}};
  records.push_back(failed);

  auto scan = make_record(record_source::scan, ++id, when);
  scan.icap_log.action = icap_action::passed;
  scan.icap_log.request_logs.push_back(sample_request(icap_action::passed));
  scan.file = scanned_file{
      "/tmp/eicar.com", 68, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", {}};
  records.push_back(scan);
  return records;
}

} // namespace icapkit::log::test
