#include "icapkit/load/log_report.hpp"

#include "icapkit/log/json_decode.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace icapkit;
using load::log_report;

namespace {

log::icap_request_log request_log(log::icap_action action, std::uint64_t latency_ms,
                                  std::uint32_t icap_status) {
  log::icap_request_log request;
  request.action = action;
  request.latency = latency_ms;
  request.icap_response_code = icap_status;
  request.vendor = log::icap_vendor::opswat;
  request.pool_name = log::crc_string{"icap-pool", std::nullopt};
  request.icap_absolute_uri = "icap://10.0.0.9:1344/OMSScanReq-AV";
  return request;
}

// A proxy record with one ICAP request; blocked ones carry an OPSWAT EICAR finding.
log::app_log_record proxy_record(log::icap_action action, std::uint64_t latency_ms,
                                 std::uint32_t icap_status = 204, std::uint32_t http_status = 200) {
  log::app_log_record record;
  record.source = log::record_source::proxy;
  record.method = "POST";
  record.host = "upload.example";
  record.uri_path = "/upload/file.bin";
  record.response_code = http_status;
  record.http_security_policy_rule_name = "scan-uploads";
  record.icap_log.action = action;
  auto request = request_log(action, latency_ms, icap_status);
  if (action == log::icap_action::blocked) {
    record.significant_log = {"ADF_ICAP_BLOCKED"};
    log::icap_opswat_log opswat;
    opswat.reason = "Infected";
    opswat.threat_id = "EICAR-Test-File (not a virus)";
    opswat.violations.push_back({"eicar.com", "EICAR-Test-File", std::nullopt, {}});
    request.opswat_log = opswat;
  }
  record.icap_log.request_logs.push_back(request);
  return record;
}

std::string human(const log_report& report) {
  std::ostringstream out;
  report.write_human(out);
  return out.str();
}

std::string html(const log_report& report) {
  std::ostringstream out;
  report.write_html(out);
  return out.str();
}

std::uint64_t count_of(const log_report& report, std::string_view table, const std::string& key) {
  const auto* t = report.table(table);
  REQUIRE(t != nullptr);
  const auto it = t->find(key);
  return it == t->end() ? 0 : it->second;
}

log::app_log_record read_testdata(const std::string& name) {
  std::ifstream in(std::string(ICAPKIT_TESTDATA_DIR) + "/logs/" + name, std::ios::binary);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto record = log::parse_record(text.str());
  REQUIRE_MESSAGE(record.has_value(), record.error().message());
  return record.value();
}

} // namespace

TEST_CASE("log_report: counts per record and per ICAP request, largest first") {
  log_report report;
  for (int i = 0; i < 12; ++i) {
    report.add(proxy_record(log::icap_action::passed, 10), "proxy.ndjson",
               static_cast<std::size_t>(i + 1));
  }
  report.add(proxy_record(log::icap_action::blocked, 40, 200, 403), "proxy.ndjson", 13);
  report.add(proxy_record(log::icap_action::blocked, 50, 200, 403), "proxy.ndjson", 14);
  auto scanned = proxy_record(log::icap_action::modified, 20, 200);
  scanned.source = log::record_source::scan;
  report.add(scanned, "scan.ndjson", 1);

  CHECK(report.records() == 15);
  CHECK(report.request_logs() == 15);
  CHECK(count_of(report, "actions", "ICAP_PASSED") == 12);
  CHECK(count_of(report, "actions", "ICAP_BLOCKED") == 2);
  CHECK(count_of(report, "sources", "proxy") == 14);
  CHECK(count_of(report, "sources", "scan") == 1);
  CHECK(count_of(report, "http_status", "403") == 2);
  CHECK(count_of(report, "icap_status", "204") == 12);
  CHECK(count_of(report, "icap_status", "200") == 3);
  CHECK(count_of(report, "vendors", "ICAP_VENDOR_OPSWAT") == 15);
  CHECK(count_of(report, "pools", "icap-pool") == 15);
  CHECK(count_of(report, "rules", "scan-uploads") == 15);
  CHECK(count_of(report, "significance", "ADF_ICAP_BLOCKED") == 2);
  CHECK(count_of(report, "reasons", "Infected") == 2);
  // The violation names the threat; threat_id summarises the same finding and is not counted.
  CHECK(count_of(report, "threats", "EICAR-Test-File") == 2);
  CHECK(report.table("threats")->size() == 1);
  CHECK(report.table("no such table") == nullptr);

  const auto text = human(report);
  CHECK(text.find("icapkit report: 15 records in 2 files, 15 ICAP requests, 0 failed") == 0);
  const auto passed = text.find("ICAP_PASSED    12   80.0%");
  const auto blocked = text.find("ICAP_BLOCKED    2   13.3%");
  CHECK(passed != std::string::npos);
  CHECK(blocked != std::string::npos);
  CHECK(passed < blocked);
  CHECK(text.find("actions (of 15 records)") != std::string::npos);
  CHECK(text.find("ICAP status (of 15 ICAP requests)") != std::string::npos);
}

TEST_CASE("log_report: a threat_id counts when no violation names the threat") {
  log_report report;
  auto record = proxy_record(log::icap_action::blocked, 5, 200, 403);
  record.icap_log.request_logs[0].opswat_log->violations.clear();
  report.add(record, "a", 1);
  CHECK(count_of(report, "threats", "EICAR-Test-File (not a virus)") == 1);
}

TEST_CASE("log_report: failed records are ICAP_FAILED, ICAP >= 400 or HTTP >= 500") {
  CHECK_FALSE(load::is_failed(proxy_record(log::icap_action::passed, 1)));
  CHECK_FALSE(load::is_failed(proxy_record(log::icap_action::blocked, 1, 200, 403)));
  CHECK(load::is_failed(proxy_record(log::icap_action::failed, 1)));
  CHECK(load::is_failed(proxy_record(log::icap_action::passed, 1, 400)));
  CHECK(load::is_failed(proxy_record(log::icap_action::passed, 1, 204, 503)));
  CHECK_FALSE(load::is_failed(proxy_record(log::icap_action::passed, 1, 204, 499)));

  load::log_report_options options;
  options.failed_listed = 2;
  log_report report(options);
  for (std::size_t line = 1; line <= 5; ++line) {
    auto record = proxy_record(log::icap_action::failed, line, 500, 503);
    record.significance = "ICAP server error 500";
    report.add(record, "proxy.ndjson", line);
  }
  report.add(proxy_record(log::icap_action::passed, 1), "proxy.ndjson", 6);
  CHECK(report.failed() == 5);
  REQUIRE(report.failed_list().size() == 2);
  CHECK(report.failed_list()[0].line == 1);
  CHECK(report.failed_list()[1].line == 2);
  CHECK(report.failed_list()[0].detail == "ICAP server error 500");
  CHECK(report.failed_list()[0].icap_status == 500U);
  CHECK(report.failed_list()[0].http_status == 503U);
  CHECK(report.failed_list()[0].request == "POST upload.example/upload/file.bin");
  const auto text = human(report);
  CHECK(text.find("\nfailed (5)\n  proxy.ndjson:1  ICAP_FAILED  ICAP 500  HTTP 503  POST "
                  "upload.example/upload/file.bin  ICAP server error 500\n") != std::string::npos);
  CHECK(text.find("  ... and 3 more\n") != std::string::npos);
}

TEST_CASE("log_report: the N slowest by their slowest ICAP request, ties keep the earlier") {
  load::log_report_options options;
  options.slowest_listed = 3;
  log_report report(options);
  const std::vector<std::uint64_t> latencies{5, 90, 30, 90, 70, 1, 100};
  std::size_t line = 0;
  for (const auto latency : latencies) {
    report.add(proxy_record(log::icap_action::passed, latency), "x", ++line);
  }
  // Two exchanges in one record (a retry): the slower one counts.
  auto retried = proxy_record(log::icap_action::passed, 2);
  retried.icap_log.request_logs.push_back(request_log(log::icap_action::passed, 95, 204));
  report.add(retried, "x", ++line);
  auto no_latency = proxy_record(log::icap_action::disabled, 0);
  no_latency.icap_log.request_logs.clear();
  report.add(no_latency, "x", ++line);

  REQUIRE(report.slowest().size() == 3);
  CHECK(report.slowest()[0].latency_ms == 100U);
  CHECK(report.slowest()[0].line == 7);
  CHECK(report.slowest()[1].latency_ms == 95U);
  CHECK(report.slowest()[1].line == 8);
  CHECK(report.slowest()[2].latency_ms == 90U);
  CHECK(report.slowest()[2].line == 2);
  CHECK(report.latency().count() == 9);
  CHECK(report.latency().max() == 100000);
  CHECK(report.latency().min() == 1000);
  CHECK(report.request_logs() == 9);
}

TEST_CASE("log_report: latency percentiles in milliseconds from the histogram") {
  log_report report;
  for (std::uint64_t ms = 1; ms <= 100; ++ms) {
    report.add(proxy_record(log::icap_action::passed, ms), "x", ms);
  }
  const auto j = report.to_json();
  const auto& latency = j.at("latency_ms");
  CHECK(latency.at("count") == 100);
  CHECK(latency.at("min").get<double>() == doctest::Approx(1.0));
  CHECK(latency.at("max").get<double>() == doctest::Approx(100.0));
  CHECK(latency.at("p50").get<double>() == doctest::Approx(50.0).epsilon(0.01));
  CHECK(latency.at("p90").get<double>() == doctest::Approx(90.0).epsilon(0.01));
  CHECK(latency.at("p99").get<double>() == doctest::Approx(99.0).epsilon(0.01));
  CHECK(latency.at("mean").get<double>() == doctest::Approx(50.5));
  std::string error;
  const auto back = load::histogram::from_json(nlohmann::json(latency.at("histogram")), error);
  REQUIRE_MESSAGE(back.has_value(), error);
  CHECK(*back == report.latency());
  const auto text = human(report);
  CHECK(text.find("latency of 100 ICAP requests (ms): min 1.0  p50 ") != std::string::npos);
  CHECK(text.find("  max 100  mean 50.5\n") != std::string::npos);
}

TEST_CASE("log_report: JSON members in a fixed order, counts largest first") {
  log_report report;
  report.add(proxy_record(log::icap_action::blocked, 3, 200, 403), "b.ndjson", 1);
  report.add(proxy_record(log::icap_action::passed, 3), "a.ndjson", 1);
  report.add(proxy_record(log::icap_action::passed, 3), "a.ndjson", 2);
  const auto j = report.to_json();
  std::vector<std::string> keys;
  for (const auto& item : j.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys == std::vector<std::string>{"records", "request_logs", "unreadable_lines", "failed",
                                         "files", "counts", "latency_ms", "slowest",
                                         "failed_records", "unreadable"});
  std::vector<std::string> tables;
  for (const auto& item : j.at("counts").items()) {
    tables.push_back(item.key());
  }
  CHECK(tables == std::vector<std::string>{"sources", "actions", "http_status", "icap_status",
                                           "threats", "reasons", "vendors", "pools", "rules",
                                           "significance"});
  CHECK(j.at("counts").at("actions").begin().key() == "ICAP_PASSED");
  CHECK(j.at("counts").at("actions").at("ICAP_BLOCKED") == 1);
  CHECK(j.at("files").size() == 2);
  CHECK(j.at("files")[0].at("file") == "b.ndjson");
  CHECK(j.at("files")[1].at("records") == 2);
  CHECK(j.at("slowest")[0].at("file") == "b.ndjson");
  CHECK(j.at("slowest")[0].at("http_status") == 403);
}

TEST_CASE("log_report: unreadable lines are counted and listed without the line prefix") {
  log_report report;
  log::read_error error{make_error_code(log::errc::wrong_type), 7,
                        "icap_log.request_logs[0].latency", "expected number or numeric string"};
  report.add_unreadable(error, "bad.ndjson");
  report.add(proxy_record(log::icap_action::passed, 1), "bad.ndjson", 8);
  CHECK(report.unreadable() == 1);
  const auto j = report.to_json();
  CHECK(j.at("unreadable_lines") == 1);
  CHECK(j.at("unreadable")[0].at("line") == 7);
  CHECK(j.at("unreadable")[0].at("message") ==
        "icap_log.request_logs[0].latency: expected number or numeric string");
  CHECK(j.at("files")[0].at("unreadable_lines") == 1);
  CHECK(human(report).find("  bad.ndjson:7: icap_log.request_logs[0].latency: expected number") !=
        std::string::npos);
}

TEST_CASE("log_report: log text is escaped in HTML and made printable in text") {
  log_report report;
  auto record = proxy_record(log::icap_action::failed, 9, 500, 503);
  record.host = "<script>alert('x')</script>&\"";
  record.significance = "bad\x1b[31mred\x7f";
  record.http_security_policy_rule_name = "<b>rule</b>";
  report.add(record, "<img src=x>.ndjson", 1);
  const auto page = html(report);
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<b>rule") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;") !=
        std::string::npos);
  CHECK(page.find("&lt;b&gt;rule&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("http://") == std::string::npos); // nothing fetched
  CHECK(page.find("<td class=\"ICAP_FAILED\">ICAP_FAILED</td>") != std::string::npos);
  const auto text = human(report);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("bad\\x1b[31mred\\x7f") != std::string::npos);
}

TEST_CASE("log_report: a table keeps max_distinct values, the rest under (other)") {
  load::log_report_options options;
  options.max_distinct = 3;
  log_report report(options);
  for (std::size_t i = 0; i < 6; ++i) {
    auto record = proxy_record(log::icap_action::passed, 1);
    record.http_security_policy_rule_name = "rule-" + std::to_string(i);
    report.add(record, "x", i + 1);
  }
  report.add(proxy_record(log::icap_action::passed, 1), "x", 7); // scan-uploads: one too many
  const auto* rules = report.table("rules");
  REQUIRE(rules != nullptr);
  CHECK(rules->size() == 4);
  CHECK(rules->at("(other)") == 4);
  CHECK(rules->at("rule-0") == 1);
}

TEST_CASE("log_report: a very long value is clipped at a character boundary and still counted") {
  log_report report;
  auto record = proxy_record(log::icap_action::passed, 1);
  // 'x' then 300 two-byte characters: byte 256 is inside one.
  record.http_security_policy_rule_name = "x";
  for (int i = 0; i < 300; ++i) {
    *record.http_security_policy_rule_name += "\xc3\xa9";
  }
  report.add(record, "x", 1);
  report.add(record, "x", 2);
  const auto* rules = report.table("rules");
  REQUIRE(rules->size() == 1);
  const auto& [value, n] = *rules->begin();
  CHECK(n == 2);
  CHECK(value.size() == 255 + 3);
  CHECK(value.substr(value.size() - 5) == "\xc3\xa9...");
  CHECK_NOTHROW((void)report.to_json().dump());
}

TEST_CASE("log_report: the NSX ALB guide's 20.1-layout examples") {
  log_report report;
  for (const auto* name : {"avi-20.1-blocked.json", "avi-20.1-passed.json",
                           "avi-20.1-blocked-no-rule.json", "avi-disabled.json"}) {
    report.add(read_testdata(name), name, 1);
  }
  CHECK(report.records() == 4);
  CHECK(report.request_logs() == 3);
  CHECK(count_of(report, "sources", "unknown") == 4);
  CHECK(count_of(report, "actions", "ICAP_BLOCKED") == 2);
  CHECK(count_of(report, "actions", "ICAP_PASSED") == 1);
  CHECK(count_of(report, "actions", "ICAP_DISABLED") == 1);
  CHECK(count_of(report, "threats", "EICAR-Test-File (not a virus)") == 1);
  CHECK(count_of(report, "reasons", "Infected") == 1);
  CHECK(count_of(report, "pools", "ICAP-POOL-GROUP") == 3);
  CHECK(count_of(report, "icap_status", "200") == 2);
  CHECK(count_of(report, "icap_status", "204") == 1);
  // No response_code in a bare icap_log: the blocking status stands for what the client got.
  CHECK(count_of(report, "http_status", "403") == 2);
  CHECK(report.failed() == 0);
  REQUIRE(report.slowest().size() == 3);
  CHECK(report.slowest()[0].file == "avi-20.1-blocked.json");
  CHECK(report.slowest()[0].latency_ms == 1275U);
  CHECK(report.slowest()[0].request == "icap://100.64.3.15:1344/OMSScanReq-AV ");
  CHECK(report.slowest()[0].detail == "Infected: EICAR-Test-File (not a virus)");
  CHECK(report.slowest()[0].http_status == 403U);
  CHECK(report.slowest()[2].latency_ms == 17U);
  CHECK(report.latency().max() == 1275000);
  CHECK(report.latency().min() == 17000);
}

TEST_CASE("log_report: an input without records is still listed") {
  log_report report;
  report.begin_file("empty.ndjson");
  report.begin_file("a.ndjson");
  report.add(proxy_record(log::icap_action::passed, 1), "a.ndjson", 1);
  const auto j = report.to_json();
  REQUIRE(j.at("files").size() == 2);
  CHECK(j.at("files")[0].at("file") == "empty.ndjson");
  CHECK(j.at("files")[0].at("records") == 0);
  CHECK(j.at("files")[1].at("records") == 1);
  CHECK(human(report).rfind("icapkit report: 1 record in 2 files, 1 ICAP request, 0 failed\n", 0) ==
        0);
  CHECK(human(log_report{}).rfind("icapkit report: 0 records in 0 files", 0) == 0);
}

TEST_CASE("log_report: icapkit serve lines are summarised apart from the records") {
  log_report report;
  report.begin_file("serve.ndjson");
  log::transaction_record clean;
  clean.method = "REQMOD";
  clean.uri = "icap://127.0.0.1:1344/OMSScanReq-AV";
  clean.decision = "unmodified";
  clean.status = 204;
  clean.total_time = std::chrono::microseconds{2000};
  auto blocked = clean;
  blocked.decision = "respond";
  blocked.status = 200;
  blocked.rule = "eicar";
  auto broken = clean;
  broken.decision = "none";
  broken.status = 0;
  broken.error = "timeout";
  broken.total_time = std::chrono::microseconds{5'000'000};
  report.add_served(clean, "opswat", "serve.ndjson", 1);
  report.add_served(blocked, "opswat", "serve.ndjson", 2);
  report.add_served(broken, "opswat", "serve.ndjson", 3);
  CHECK(report.records() == 0);
  CHECK(report.served() == 3);
  CHECK(report.failed() == 1);
  CHECK(count_of(report, "serve.decisions", "unmodified") == 1);
  CHECK(count_of(report, "serve.status", "204") == 1);
  CHECK(count_of(report, "serve.status", "(none sent)") == 1);
  CHECK(count_of(report, "serve.rules", "eicar") == 1);
  CHECK(count_of(report, "serve.errors", "timeout") == 1);
  CHECK(count_of(report, "serve.vendors", "opswat") == 3);
  REQUIRE(report.failed_list().size() == 1);
  CHECK(report.failed_list()[0].source == "serve");
  CHECK(report.failed_list()[0].line == 3);
  CHECK(report.failed_list()[0].detail == "timeout");
  const auto j = report.to_json();
  CHECK(j.at("serve").at("transactions") == 3);
  CHECK(j.at("serve").at("counts").at("decisions").at("respond") == 1);
  CHECK(j.at("serve").at("time_ms").at("count") == 3);
  CHECK(j.at("files")[0].at("serve_transactions") == 3);
  CHECK_FALSE(j.at("counts").contains("serve.decisions"));
  const auto text = human(report);
  CHECK(text.find("3 icapkit serve transactions") != std::string::npos);
  CHECK(text.find("icapkit serve: decisions (of 3 transactions)") != std::string::npos);
  CHECK(text.find("icapkit serve: time to answer 3 transactions (ms)") != std::string::npos);
  CHECK(html(report).find("serve transactions") != std::string::npos);
  // Without serve lines the JSON keeps its shape.
  CHECK_FALSE(log_report().to_json().contains("serve"));
}

TEST_CASE("log_report: the proxy's upstream retries and errors are summed from the records") {
  log_report report;
  report.add(proxy_record(log::icap_action::passed, 3), "p.ndjson", 1); // no upstream object
  auto retried = proxy_record(log::icap_action::passed, 3);
  retried.upstream = log::upstream_attempts{
      2U, {"upstream 127.0.0.1:8080 closed a reused connection ..."}, std::nullopt, {}};
  report.add(retried, "p.ndjson", 2);
  auto failed = proxy_record(log::icap_action::passed, 3, 204, 502);
  failed.upstream = log::upstream_attempts{
      1U,
      {},
      "upstream 127.0.0.1:8080 closed the connection after the request was sent; a POST is not "
      "sent twice",
      {}};
  report.add(failed, "p.ndjson", 3);
  auto twice = proxy_record(log::icap_action::disabled, 0, 204, 502);
  twice.icap_log.request_logs.clear();
  twice.upstream = log::upstream_attempts{2U, {"why"}, "upstream failed (2 attempts)", {}};
  report.add(twice, "p.ndjson", 4);
  CHECK(report.upstream_records() == 3u);
  CHECK(report.upstream_retries() == 2u);
  CHECK(report.upstream_errors() == 2u);

  const auto j = report.to_json();
  std::vector<std::string> keys;
  for (const auto& item : j.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys == std::vector<std::string>{"records", "request_logs", "unreadable_lines", "failed",
                                         "files", "counts", "latency_ms", "upstream", "slowest",
                                         "failed_records", "unreadable"});
  CHECK(j.at("upstream") == nlohmann::ordered_json{{"records", 3}, {"retries", 2}, {"errors", 2}});
  // A failed record says why: the upstream error.
  REQUIRE(report.failed_list().size() == 2u);
  CHECK(report.failed_list()[0].detail.ends_with("a POST is not sent twice"));
  CHECK(report.failed_list()[1].detail == "upstream failed (2 attempts)");
  const auto text = human(report);
  CHECK_MESSAGE(text.find("\nupstream (icapkit proxy): 2 retries, 2 errors answered 502/504, in 3 "
                          "records\n") != std::string::npos,
                text);
  CHECK(html(report).find("upstream (icapkit proxy): 2 retries") != std::string::npos);

  log_report without;
  without.add(proxy_record(log::icap_action::passed, 3), "p.ndjson", 1);
  CHECK_FALSE(without.to_json().contains("upstream"));
  CHECK(human(without).find("upstream") == std::string::npos);
}
