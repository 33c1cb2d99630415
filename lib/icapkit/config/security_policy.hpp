#pragma once
// Avi's HTTPSecurityPolicy: rules with a name, an index, a MatchTarget subset and an action.
// Which rule applies to a request is decided by select_rule() (rule_match.hpp).
#include "icapkit/config/diagnostics.hpp"
#include "icapkit/config/ip_address.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::config {

// Avi StringOperation (path), HdrMatch operations (host_hdr, hdrs, cookie) and QueryMatch
// operations share one shape: a positive test and its negation.
enum class string_op {
  begins_with,
  does_not_begin_with,
  contains,
  does_not_contain,
  ends_with,
  does_not_end_with,
  equals,
  does_not_equal,
  regex_match,
  regex_does_not_match,
  exists,         // HDR_EXISTS, QUERY_MATCH_EXISTS
  does_not_exist, // HDR_DOES_NOT_EXIST, QUERY_MATCH_DOES_NOT_EXIST
};

enum class match_case { sensitive, insensitive }; // Avi's default: INSENSITIVE

// A compiled list of strings: any one of them satisfying the positive test makes it hold.
struct string_match {
  string_op op = string_op::equals;
  match_case case_sensitivity = match_case::insensitive;
  std::vector<std::string> values;
  std::vector<std::regex> regexes; // compiled at load for the regex operations
};

struct header_match {
  std::string name; // Avi "hdr"
  string_match match;
};

struct cookie_match {
  std::string key;
  string_match match;
};

struct method_match {
  bool is_in = true;                // IS_IN / IS_NOT_IN
  std::vector<std::string> methods; // "POST", from Avi's "HTTP_METHOD_POST"
};

struct ip_match {
  bool is_in = true;
  std::vector<ip_address> addrs;
  std::vector<ip_prefix> prefixes;
  std::vector<ip_range> ranges;
};

// Every present part must hold; an empty target matches every request.
struct match_target {
  std::optional<string_match> path;
  std::optional<method_match> method;
  std::optional<string_match> host_hdr;
  std::vector<header_match> hdrs;
  std::optional<string_match> query;
  std::optional<ip_match> client_ip;
  std::optional<cookie_match> cookie;
};

enum class security_action {
  allow,
  close_conn,
  send_response,
  request_check_icap,
  redirect_to_https, // in Avi's enum; refused by the loader on an enabled rule
  rate_limit,        // idem
};
std::string_view to_string(security_action a) noexcept;

struct security_rule {
  std::string name;
  std::int64_t index = 0;
  bool enable = true;
  bool log = false;
  match_target match;
  security_action action = security_action::allow;
  std::uint16_t status_code = 403; // for send_response
};

struct http_security_policy {
  std::string name;
  std::string uuid;
  std::vector<security_rule> rules; // as in the file; order does not decide, index does
};

namespace detail {
http_security_policy read_security_policy(const nlohmann::json& value, const std::string& path,
                                          diagnostics& diags);
} // namespace detail

} // namespace icapkit::config
