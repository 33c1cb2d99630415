#include "icapkit/config/rule_match.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;
using icapkit::codec::header_list;

namespace {

http_security_policy policy_from(const char* rules_json) {
  auto doc = minimal_doc();
  doc["http_security_policy"]["rules"] = nlohmann::json::parse(rules_json);
  auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  return *r.config->security_policy;
}

// One enabled rule named "m" with `match_json`; whether it selects the request.
bool rule_matches(const std::string& match_json, const http_request_view& request) {
  const std::string rules = R"([{"name": "m", "index": 1, "enable": true, "match": )" + match_json +
                            R"(, "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])";
  const auto policy = policy_from(rules.c_str());
  return select_rule(policy, request) != nullptr;
}

http_request_view req(std::string_view method, std::string_view target) {
  return http_request_view::from_target(method, target);
}

} // namespace

TEST_CASE("rule_match: the lowest index wins, not the array order") {
  const auto policy = policy_from(R"([
    {"name": "allow-all", "index": 20, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}},
    {"name": "scan-post", "index": 10, "enable": true,
     "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST"]}},
     "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}},
    {"name": "close-first", "index": 5, "enable": false,
     "action": {"action": "HTTP_SECURITY_ACTION_CLOSE_CONN"}}
  ])");
  const auto* post = select_rule(policy, req("POST", "/upload"));
  REQUIRE(post != nullptr);
  CHECK(post->name == "scan-post");
  const auto* get = select_rule(policy, req("GET", "/"));
  REQUIRE(get != nullptr);
  CHECK(get->name == "allow-all"); // disabled index 5 skipped, index 10 does not match
}

TEST_CASE("rule_match: no rule, no enabled rule, empty match") {
  CHECK(select_rule(http_security_policy{}, req("GET", "/")) == nullptr);
  const auto disabled = policy_from(R"([{"name": "off", "index": 1, "enable": false,
    "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])");
  CHECK(select_rule(disabled, req("GET", "/")) == nullptr);
  CHECK(rule_matches("{}", req("DELETE", "/anything?x")));
}

TEST_CASE("rule_match: path operations and case sensitivity") {
  const auto path = [](const char* criteria, const char* str, const char* mc = "INSENSITIVE") {
    return std::string(R"({"path": {"match_criteria": ")") + criteria + R"(", "match_str": [")" +
           str + R"("], "match_case": ")" + mc + R"("}})";
  };
  CHECK(rule_matches(path("BEGINS_WITH", "/upload"), req("POST", "/upload/a.zip?x=1")));
  CHECK_FALSE(rule_matches(path("BEGINS_WITH", "/upload"), req("POST", "/x/upload")));
  CHECK(rule_matches(path("DOES_NOT_BEGIN_WITH", "/upload"), req("POST", "/x/upload")));
  CHECK(rule_matches(path("CONTAINS", "load"), req("POST", "/upload")));
  CHECK(rule_matches(path("DOES_NOT_CONTAIN", "zip"), req("POST", "/upload")));
  CHECK(rule_matches(path("ENDS_WITH", ".exe"), req("POST", "/a/b.EXE")));
  CHECK_FALSE(rule_matches(path("ENDS_WITH", ".exe", "SENSITIVE"), req("POST", "/a/b.EXE")));
  CHECK(rule_matches(path("DOES_NOT_END_WITH", ".exe"), req("POST", "/a/b.txt")));
  CHECK(rule_matches(path("EQUALS", "/Upload"), req("POST", "/upload")));
  CHECK_FALSE(rule_matches(path("EQUALS", "/Upload", "SENSITIVE"), req("POST", "/upload")));
  CHECK(rule_matches(path("DOES_NOT_EQUAL", "/upload"), req("POST", "/upload2")));
  CHECK(rule_matches(path("REGEX_MATCH", "^/files/[0-9]+$"), req("PUT", "/files/42")));
  CHECK(rule_matches(path("REGEX_MATCH", "^/FILES/"), req("PUT", "/files/42")));
  CHECK_FALSE(rule_matches(path("REGEX_MATCH", "^/FILES/", "SENSITIVE"), req("PUT", "/files/42")));
  CHECK(rule_matches(path("REGEX_DOES_NOT_MATCH", "\\\\.zip$"), req("PUT", "/a.txt")));
  CHECK_FALSE(rule_matches(path("REGEX_DOES_NOT_MATCH", "\\\\.zip$"), req("PUT", "/a.zip")));
}

TEST_CASE("rule_match: any of several strings") {
  const std::string m = R"({"path": {"match_criteria": "BEGINS_WITH", "match_str": ["/a", "/b"]}})";
  CHECK(rule_matches(m, req("GET", "/b/1")));
  CHECK_FALSE(rule_matches(m, req("GET", "/c")));
  const std::string neg =
      R"({"path": {"match_criteria": "DOES_NOT_BEGIN_WITH", "match_str": ["/a", "/b"]}})";
  CHECK_FALSE(rule_matches(neg, req("GET", "/b/1")));
  CHECK(rule_matches(neg, req("GET", "/c")));
}

TEST_CASE("rule_match: methods") {
  const std::string in =
      R"({"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]}})";
  CHECK(rule_matches(in, req("PUT", "/")));
  CHECK_FALSE(rule_matches(in, req("GET", "/")));
  CHECK_FALSE(rule_matches(in, req("post", "/"))); // methods are case-sensitive
  const std::string not_in =
      R"({"method": {"match_criteria": "IS_NOT_IN", "methods": ["HTTP_METHOD_GET"]}})";
  CHECK(rule_matches(not_in, req("POST", "/")));
  CHECK_FALSE(rule_matches(not_in, req("GET", "/")));
}

TEST_CASE("rule_match: query") {
  const auto q = [](const char* criteria, const char* str) {
    return std::string(R"({"query": {"match_criteria": ")") + criteria + R"(", "match_str": [")" +
           str + R"("]}})";
  };
  CHECK(rule_matches(q("QUERY_MATCH_CONTAINS", "scan=1"), req("GET", "/?a=b&scan=1")));
  CHECK_FALSE(rule_matches(q("QUERY_MATCH_CONTAINS", "scan=1"), req("GET", "/scan=1")));
  CHECK(rule_matches(q("QUERY_MATCH_EQUALS", "A=B"), req("GET", "/?a=b")));
  CHECK(rule_matches(q("QUERY_MATCH_DOES_NOT_CONTAIN", "x"), req("GET", "/")));
  CHECK(rule_matches(R"({"query": {"match_criteria": "QUERY_MATCH_EXISTS"}})", req("GET", "/?a")));
  CHECK_FALSE(
      rule_matches(R"({"query": {"match_criteria": "QUERY_MATCH_EXISTS"}})", req("GET", "/?")));
  CHECK(rule_matches(R"({"query": {"match_criteria": "QUERY_MATCH_DOES_NOT_EXIST"}})",
                     req("GET", "/")));
}

TEST_CASE("rule_match: host header and other headers") {
  header_list headers;
  headers.add("Host", "Files.Example:8443");
  headers.add("Content-Type", "multipart/form-data; boundary=x");
  headers.add("X-Tag", "one");
  headers.add("x-tag", "two");
  auto r = req("POST", "/upload");
  r.headers = &headers;
  CHECK(rule_matches(R"({"host_hdr": {"match_criteria": "HDR_BEGINS_WITH", "value": ["files."]}})",
                     r));
  CHECK_FALSE(rule_matches(
      R"({"host_hdr": {"match_criteria": "HDR_BEGINS_WITH", "value": ["files."], "match_case": "SENSITIVE"}})",
      r));
  r.host = "other.example"; // an explicit host wins over the Host header
  CHECK(rule_matches(
      R"({"host_hdr": {"match_criteria": "HDR_EQUALS", "value": ["other.example"]}})", r));
  CHECK(rule_matches(
      R"({"hdrs": [{"hdr": "content-type", "match_criteria": "HDR_CONTAINS", "value": ["multipart"]}]})",
      r));
  CHECK(rule_matches(
      R"({"hdrs": [{"hdr": "X-Tag", "match_criteria": "HDR_EQUALS", "value": ["two"]}]})",
      r)); // any occurrence
  CHECK_FALSE(rule_matches(
      R"({"hdrs": [{"hdr": "X-Tag", "match_criteria": "HDR_DOES_NOT_EQUAL", "value": ["two"]}]})",
      r));
  CHECK(rule_matches(R"({"hdrs": [{"hdr": "X-Tag", "match_criteria": "HDR_EXISTS"}]})", r));
  CHECK(
      rule_matches(R"({"hdrs": [{"hdr": "X-None", "match_criteria": "HDR_DOES_NOT_EXIST"}]})", r));
  CHECK_FALSE(rule_matches(R"({"hdrs": [{"hdr": "X-None", "match_criteria": "HDR_EXISTS"}]})", r));
  CHECK(rule_matches(
      R"({"hdrs": [{"hdr": "X-None", "match_criteria": "HDR_DOES_NOT_CONTAIN", "value": ["a"]}]})",
      r)); // absent header: the negation holds
  // Every header match must hold.
  CHECK_FALSE(rule_matches(R"({"hdrs": [{"hdr": "X-Tag", "match_criteria": "HDR_EXISTS"},
                                        {"hdr": "X-None", "match_criteria": "HDR_EXISTS"}]})",
                           r));
}

TEST_CASE("rule_match: cookies") {
  header_list headers;
  headers.add("Cookie", "theme=dark; session=AbC123");
  headers.add("Cookie", "lang=en");
  auto r = req("GET", "/");
  r.headers = &headers;
  CHECK(rule_matches(R"({"cookie": {"key": "session", "match_criteria": "HDR_EXISTS"}})", r));
  CHECK(rule_matches(
      R"({"cookie": {"key": "lang", "match_criteria": "HDR_EQUALS", "value": "EN"}})", r));
  CHECK_FALSE(rule_matches(
      R"({"cookie": {"key": "lang", "match_criteria": "HDR_EQUALS", "value": "EN", "match_case": "SENSITIVE"}})",
      r));
  CHECK_FALSE(rule_matches(R"({"cookie": {"key": "Session", "match_criteria": "HDR_EXISTS"}})", r));
  CHECK(rule_matches(R"({"cookie": {"key": "none", "match_criteria": "HDR_DOES_NOT_EXIST"}})", r));
}

TEST_CASE("rule_match: client_ip addresses and IPv4/IPv6 prefixes") {
  const std::string in = R"({"client_ip": {"match_criteria": "IS_IN",
    "addrs": [{"addr": "192.0.2.7", "type": "V4"}],
    "prefixes": [{"ip_addr": {"addr": "10.0.0.0", "type": "V4"}, "mask": 8},
                 {"ip_addr": {"addr": "2001:db8::", "type": "V6"}, "mask": 32}]}})";
  auto r = req("POST", "/");
  for (const char* inside : {"192.0.2.7", "10.255.0.1", "2001:db8:1::5", "::ffff:10.1.1.1"}) {
    r.client_ip = ip_address::parse(inside);
    CHECK_MESSAGE(rule_matches(in, r), inside);
  }
  for (const char* outside : {"192.0.2.8", "11.0.0.1", "2001:db9::1", "::1"}) {
    r.client_ip = ip_address::parse(outside);
    CHECK_MESSAGE(!rule_matches(in, r), outside);
  }
  r.client_ip.reset();
  CHECK_FALSE(rule_matches(in, r));
  const std::string not_in = R"({"client_ip": {"match_criteria": "IS_NOT_IN",
    "prefixes": [{"ip_addr": {"addr": "127.0.0.0", "type": "V4"}, "mask": 8}]}})";
  r.client_ip = ip_address::parse("127.0.0.1");
  CHECK_FALSE(rule_matches(not_in, r));
  r.client_ip = ip_address::parse("198.51.100.1");
  CHECK(rule_matches(not_in, r));
}

TEST_CASE("rule_match: every part of a match must hold") {
  const std::string m = R"({
    "method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST"]},
    "path": {"match_criteria": "BEGINS_WITH", "match_str": ["/upload"]}})";
  CHECK(rule_matches(m, req("POST", "/upload")));
  CHECK_FALSE(rule_matches(m, req("GET", "/upload")));
  CHECK_FALSE(rule_matches(m, req("POST", "/download")));
}

TEST_CASE("rule_match: from_target splits path and query") {
  const auto r = http_request_view::from_target("GET", "/a/b?x=1&y=2");
  CHECK(r.path == "/a/b");
  CHECK(r.query == "x=1&y=2");
  CHECK(http_request_view::from_target("GET", "/").query.empty());
}
