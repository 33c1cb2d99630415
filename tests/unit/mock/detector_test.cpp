#include "icapkit/mock/detector.hpp"

#include "mock_test_util.hpp"

#include <doctest/doctest.h>

using namespace icapkit;
using namespace icapkit::mock;
using mock::test::reqmod_info;

namespace {

std::string decide_name(const scenario& s, const server::request_info& info,
                        const std::string& body) {
  const auto facts = facts_of(info);
  body_scan_options o;
  o.multipart_boundary = facts.multipart_boundary;
  body_scan scan(s, o);
  scan.feed(body);
  return detector(s).decide(facts, &scan, true).rule_name;
}

} // namespace

TEST_CASE("rules: first match wins, then the built-ins") {
  const auto s = parse_scenario(R"({"rules": [
    {"name": "pdf-clean", "match": {"extension": "pdf"}, "verdict": "clean"},
    {"name": "big", "match": {"min_size": 100}, "verdict": "block"}]})");
  CHECK(decide_name(s, reqmod_info("http://h.test/a.pdf"), std::string(eicar_string)) ==
        "pdf-clean");
  CHECK(decide_name(s, reqmod_info("http://h.test/a.txt"), std::string(200, 'x')) == "big");
  CHECK(decide_name(s, reqmod_info("http://h.test/a.txt"), std::string(eicar_string)) ==
        "builtin:eicar");
  CHECK(decide_name(s, reqmod_info("http://h.test/a.txt"), "<script>x</script>") ==
        "builtin:sanitize");
  CHECK(decide_name(s, reqmod_info("http://h.test/a.txt"), "plain").empty());
}

TEST_CASE("each matcher kind") {
  const auto s = parse_scenario(R"({"builtin": {"eicar": false}, "rules": [
    {"name": "md5", "match": {"md5": "44d88612fea8a8f36de82e1278abb02f"}},
    {"name": "bytes", "match": {"contains": "MAGIC"}},
    {"name": "name", "match": {"file_name": "Secret.DOC"}},
    {"name": "type", "match": {"content_type": "application/x-danger"}},
    {"name": "size", "match": {"min_size": 10, "max_size": 12}},
    {"name": "url", "match": {"url": "casino\\.test"}},
    {"name": "header", "match": {"icap_header": {"name": "X-Tenant", "regex": "^blue$"}}},
    {"name": "ip", "match": {"client_ip": "192.0.2.0/24"}},
    {"name": "zip", "match": {"encrypted_archive": true}}]})");
  auto info = reqmod_info("http://h.test/up");
  CHECK(decide_name(s, info, std::string(eicar_string)) == "md5");
  CHECK(decide_name(s, info, "xxMAGICxx") == "bytes");
  CHECK(decide_name(s, reqmod_info("/dir/secret.doc"), "x") == "name");
  auto typed = info;
  typed.http_request->headers.add("Content-Type", "Application/X-Danger; v=1");
  CHECK(decide_name(s, typed, "x") == "type");
  CHECK(decide_name(s, info, "elevenbytes") == "size");
  CHECK(decide_name(s, reqmod_info("http://www.casino.test/"), "x") == "url");
  auto tenant = info;
  tenant.icap.headers.add("X-Tenant", "blue");
  CHECK(decide_name(s, tenant, "x") == "header");
  auto client = info;
  client.x_client_ip = "192.0.2.77";
  CHECK(decide_name(s, client, "x") == "ip");
  CHECK(decide_name(s, info, std::string("PK\x03\x04\x14\x00\x01\x00", 8)) == "zip");
  CHECK(decide_name(s, info, "x").empty());
}

TEST_CASE("multipart part names and Content-Disposition feed name rules") {
  const auto s = parse_scenario(R"({"rules": [{"name": "exe", "match": {"extension": "exe"}}]})");
  auto info = reqmod_info("http://h.test/upload");
  info.http_request->headers.add("Content-Type", "multipart/form-data; boundary=b0");
  const std::string body = "--b0\r\nContent-Disposition: form-data; name=\"f\"; "
                           "filename=\"tool.exe\"\r\n\r\nMZ\r\n--b0--\r\n";
  CHECK(decide_name(s, info, body) == "exe");
  CHECK_FALSE(detector(s).decide_early(facts_of(info))); // needs the body
  auto disposition = reqmod_info("http://h.test/upload");
  disposition.http_request->headers.add("Content-Disposition", "attachment; filename=\"a.exe\"");
  const auto early = detector(s).decide_early(facts_of(disposition));
  REQUIRE(early);
  CHECK(early->rule_name == "exe");
}

TEST_CASE("decide_early stops at the first rule that needs the body") {
  const auto s = parse_scenario(R"({"rules": [
    {"name": "hash", "match": {"md5": "44d88612fea8a8f36de82e1278abb02f"}},
    {"name": "all", "verdict": "block"}]})");
  CHECK_FALSE(detector(s).decide_early(facts_of(reqmod_info("/x"))));
  const auto t = parse_scenario(R"({"rules": [{"name": "all", "verdict": "block"}]})");
  CHECK(detector(t).decide_early(facts_of(reqmod_info("/x")))->rule_name == "all");
}
