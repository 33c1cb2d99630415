#include "icapkit/config/security_policy.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

namespace {

nlohmann::json with_rules(const char* rules_json) {
  auto doc = minimal_doc();
  doc["http_security_policy"]["rules"] = nlohmann::json::parse(rules_json);
  return doc;
}

} // namespace

TEST_CASE("security_policy: a full rule is read with Avi's names") {
  const auto r = load(with_rules(R"([{
    "name": "scan", "index": 3, "enable": true, "log": true,
    "match": {
      "path": {"match_criteria": "BEGINS_WITH", "match_str": ["/upload"]},
      "method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]},
      "host_hdr": {"match_criteria": "HDR_EQUALS", "value": ["a.example"]},
      "hdrs": [{"hdr": "Content-Type", "match_criteria": "HDR_CONTAINS", "value": ["multipart"]}],
      "query": {"match_criteria": "QUERY_MATCH_CONTAINS", "match_str": ["x=1"]},
      "client_ip": {"match_criteria": "IS_NOT_IN",
                    "addrs": [{"addr": "10.0.0.1", "type": "V4"}],
                    "prefixes": [{"ip_addr": {"addr": "fd00::", "type": "V6"}, "mask": 8}],
                    "ranges": [{"begin": {"addr": "10.0.0.5", "type": "V4"},
                                "end": {"addr": "10.0.0.9", "type": "V4"}}]},
      "cookie": {"key": "session", "match_criteria": "HDR_EXISTS"}
    },
    "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}
  }])"));
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& rule = r.config->security_policy->rules[0];
  CHECK(rule.name == "scan");
  CHECK(rule.index == 3);
  CHECK(rule.log);
  CHECK(rule.action == security_action::request_check_icap);
  CHECK(rule.match.path->case_sensitivity == match_case::insensitive); // Avi's default
  CHECK(rule.match.method->methods == std::vector<std::string>{"POST", "PUT"});
  CHECK(rule.match.hdrs[0].name == "Content-Type");
  CHECK_FALSE(rule.match.client_ip->is_in);
  CHECK(rule.match.client_ip->prefixes[0].mask == 8);
  CHECK(rule.match.client_ip->ranges.size() == 1);
  CHECK(rule.match.cookie->key == "session");
}

TEST_CASE("security_policy: name, index and enable are required") {
  const auto r = load(with_rules(R"([{"action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])"));
  CHECK(has_error(r, "http_security_policy.rules[0].name: required field is missing"));
  CHECK(has_error(r, "http_security_policy.rules[0].index: required field is missing"));
  CHECK(has_error(r, "http_security_policy.rules[0].enable: required field is missing"));
}

TEST_CASE("security_policy: actions") {
  auto r = load(with_rules(R"([
    {"name": "a", "index": 1, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}},
    {"name": "b", "index": 2, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_CLOSE_CONN"}},
    {"name": "c", "index": 3, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE",
                                                       "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_429"}},
    {"name": "d", "index": 4, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE"}},
    {"name": "e", "index": 5, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE",
                                                       "status_code": 451}}
  ])"));
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const auto& rules = r.config->security_policy->rules;
  CHECK(rules[0].action == security_action::allow);
  CHECK(rules[1].action == security_action::close_conn);
  CHECK(rules[2].status_code == 429);
  CHECK(rules[3].status_code == 403);
  CHECK(rules[4].status_code == 451);
  CHECK(to_string(rules[2].action) == "HTTP_SECURITY_ACTION_SEND_RESPONSE");
}

TEST_CASE("security_policy: Avi actions icapkit does not implement are refused when enabled") {
  const char* rules = R"([{"name": "https", "index": 1, "enable": true,
                           "action": {"action": "HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS",
                                      "https_port": 443}}])";
  auto r = load(with_rules(rules));
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].path == "http_security_policy.rules[0].action.action");
  CHECK(r.errors[0].message.find("HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS is valid in Avi but "
                                 "not supported by icapkit") == 0);
  CHECK(r.errors[0].message.find("rule \"https\"") != std::string::npos);
  auto doc = with_rules(rules);
  doc["http_security_policy"]["rules"][0]["enable"] = false;
  r = load(doc);
  CHECK(r.ok());
  CHECK(r.warnings.empty());
  doc["http_security_policy"]["rules"][0]["action"]["action"] = "HTTP_SECURITY_ACTION_ENABLE_ICAP";
  CHECK(has_error(load(doc),
                  "http_security_policy.rules[0].action.action: "
                  "\"HTTP_SECURITY_ACTION_ENABLE_ICAP\" is not one of "
                  "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP, HTTP_SECURITY_ACTION_ALLOW, "
                  "HTTP_SECURITY_ACTION_SEND_RESPONSE, HTTP_SECURITY_ACTION_CLOSE_CONN, "
                  "HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS, HTTP_SECURITY_ACTION_RATE_LIMIT"));
}

TEST_CASE("security_policy: a bad regex is a load error naming the rule") {
  const auto r = load(with_rules(R"([{"name": "regex-rule", "index": 1, "enable": true,
    "match": {"path": {"match_criteria": "REGEX_MATCH", "match_str": ["^/ok$", "(unclosed"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])"));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].path == "http_security_policy.rules[0].match.path.match_str[1]");
  CHECK(r.errors[0].message.find("bad regular expression \"(unclosed\" in rule \"regex-rule\"") ==
        0);
}

TEST_CASE("security_policy: match enum refusals list the allowed values") {
  const auto r = load(with_rules(R"([{"name": "x", "index": 1, "enable": true,
    "match": {"path": {"match_criteria": "STARTS_WITH", "match_str": ["/"], "match_case": "NONE"},
              "method": {"match_criteria": "IN", "methods": ["POST"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])"));
  const std::string base = "http_security_policy.rules[0].match.";
  CHECK(has_error(r, base + "path.match_criteria: \"STARTS_WITH\" is not one of BEGINS_WITH, "
                            "DOES_NOT_BEGIN_WITH, CONTAINS, DOES_NOT_CONTAIN, ENDS_WITH, "
                            "DOES_NOT_END_WITH, EQUALS, DOES_NOT_EQUAL, REGEX_MATCH, "
                            "REGEX_DOES_NOT_MATCH"));
  CHECK(has_error(r, base + "path.match_case: \"NONE\" is not one of SENSITIVE, INSENSITIVE"));
  CHECK(has_error(r, base + "method.match_criteria: \"IN\" is not one of IS_IN, IS_NOT_IN"));
  CHECK(r.errors.size() == 4);
  CHECK(r.errors[3].path == base + "method.methods[0]");
  CHECK(r.errors[3].message.find("HTTP_METHOD_POST") != std::string::npos);
}

TEST_CASE("security_policy: duplicate indexes, empty value lists, string groups") {
  const auto r = load(with_rules(R"([
    {"name": "a", "index": 1, "enable": true, "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}},
    {"name": "b", "index": 1, "enable": true,
     "match": {"hdrs": [{"hdr": "X", "match_criteria": "HDR_EQUALS"}],
               "query": {"match_criteria": "QUERY_MATCH_CONTAINS", "string_group_refs": ["/api/stringgroup?name=s"]}},
     "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}
  ])"));
  const std::string rule = "http_security_policy.rules[1].";
  CHECK(has_error(r, rule + "index: 1 is already used by rule \"a\""));
  CHECK(has_error(r, rule + "match.hdrs[0].value: needs at least one value for HDR_EQUALS"));
  CHECK(has_error(r, rule + "match.query.string_group_refs: string groups are not supported; "
                            "list the strings in match_str"));
}

TEST_CASE("security_policy: client_ip prefix mask ranges follow the family") {
  const char* rules = R"([{"name": "x", "index": 1, "enable": true,
    "match": {"client_ip": {"match_criteria": "IS_IN",
      "prefixes": [{"ip_addr": {"addr": "10.0.0.0", "type": "V4"}, "mask": 33},
                   {"ip_addr": {"addr": "fd00::", "type": "V6"}, "mask": 129},
                   {"ip_addr": {"addr": "fd00::", "type": "V6"}, "mask": 128}]}},
    "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}])";
  const auto r = load(with_rules(rules));
  const std::string base = "http_security_policy.rules[0].match.client_ip.prefixes";
  CHECK(has_error(r, base + "[0].mask: 33 is out of range 0..32 (prefix length)"));
  CHECK(has_error(r, base + "[1].mask: 129 is out of range 0..128 (prefix length)"));
  CHECK(r.errors.size() == 2);
}
