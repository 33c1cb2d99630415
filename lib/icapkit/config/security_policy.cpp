#include "icapkit/config/security_policy.hpp"

#include "icapkit/config/json_reader.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <map>

namespace icapkit::config {
namespace detail {
namespace {

constexpr std::array<enum_name<string_op>, 10> path_ops{{
    {"BEGINS_WITH", string_op::begins_with},
    {"DOES_NOT_BEGIN_WITH", string_op::does_not_begin_with},
    {"CONTAINS", string_op::contains},
    {"DOES_NOT_CONTAIN", string_op::does_not_contain},
    {"ENDS_WITH", string_op::ends_with},
    {"DOES_NOT_END_WITH", string_op::does_not_end_with},
    {"EQUALS", string_op::equals},
    {"DOES_NOT_EQUAL", string_op::does_not_equal},
    {"REGEX_MATCH", string_op::regex_match},
    {"REGEX_DOES_NOT_MATCH", string_op::regex_does_not_match},
}};

constexpr std::array<enum_name<string_op>, 10> hdr_ops{{
    {"HDR_EXISTS", string_op::exists},
    {"HDR_DOES_NOT_EXIST", string_op::does_not_exist},
    {"HDR_BEGINS_WITH", string_op::begins_with},
    {"HDR_DOES_NOT_BEGIN_WITH", string_op::does_not_begin_with},
    {"HDR_CONTAINS", string_op::contains},
    {"HDR_DOES_NOT_CONTAIN", string_op::does_not_contain},
    {"HDR_ENDS_WITH", string_op::ends_with},
    {"HDR_DOES_NOT_END_WITH", string_op::does_not_end_with},
    {"HDR_EQUALS", string_op::equals},
    {"HDR_DOES_NOT_EQUAL", string_op::does_not_equal},
}};

constexpr std::array<enum_name<string_op>, 12> query_ops{{
    {"QUERY_MATCH_CONTAINS", string_op::contains},
    {"QUERY_MATCH_DOES_NOT_CONTAIN", string_op::does_not_contain},
    {"QUERY_MATCH_EXISTS", string_op::exists},
    {"QUERY_MATCH_DOES_NOT_EXIST", string_op::does_not_exist},
    {"QUERY_MATCH_BEGINS_WITH", string_op::begins_with},
    {"QUERY_MATCH_DOES_NOT_BEGIN_WITH", string_op::does_not_begin_with},
    {"QUERY_MATCH_ENDS_WITH", string_op::ends_with},
    {"QUERY_MATCH_DOES_NOT_END_WITH", string_op::does_not_end_with},
    {"QUERY_MATCH_EQUALS", string_op::equals},
    {"QUERY_MATCH_DOES_NOT_EQUAL", string_op::does_not_equal},
    {"QUERY_MATCH_REGEX_MATCH", string_op::regex_match},
    {"QUERY_MATCH_REGEX_DOES_NOT_MATCH", string_op::regex_does_not_match},
}};

constexpr std::array<enum_name<match_case>, 2> case_names{{
    {"SENSITIVE", match_case::sensitive},
    {"INSENSITIVE", match_case::insensitive},
}};

constexpr std::array<enum_name<bool>, 2> in_names{{{"IS_IN", true}, {"IS_NOT_IN", false}}};

constexpr std::array<std::string_view, 16> method_names{
    "GET",   "HEAD",     "PUT",       "DELETE", "POST", "OPTIONS", "TRACE", "CONNECT",
    "PATCH", "PROPFIND", "PROPPATCH", "MKCOL",  "COPY", "MOVE",    "LOCK",  "UNLOCK"};

constexpr std::array<enum_name<security_action>, 6> action_names{{
    {"HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP", security_action::request_check_icap},
    {"HTTP_SECURITY_ACTION_ALLOW", security_action::allow},
    {"HTTP_SECURITY_ACTION_SEND_RESPONSE", security_action::send_response},
    {"HTTP_SECURITY_ACTION_CLOSE_CONN", security_action::close_conn},
    {"HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS", security_action::redirect_to_https},
    {"HTTP_SECURITY_ACTION_RATE_LIMIT", security_action::rate_limit},
}};

constexpr std::array<enum_name<std::uint16_t>, 6> status_names{{
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_200", 200},
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_204", 204},
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_403", 403},
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_404", 404},
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_429", 429},
    {"HTTP_LOCAL_RESPONSE_STATUS_CODE_501", 501},
}};

bool is_regex(string_op op) {
  return op == string_op::regex_match || op == string_op::regex_does_not_match;
}

bool needs_values(string_op op) {
  return op != string_op::exists && op != string_op::does_not_exist;
}

// Regexes are compiled once here, so a typo is a load error naming the rule, not a surprise
// on the first request.
void compile_regexes(string_match& m, const std::string& values_path, const std::string& rule,
                     diagnostics& diags) {
  auto flags = std::regex::ECMAScript;
  if (m.case_sensitivity == match_case::insensitive) {
    flags |= std::regex::icase;
  }
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    try {
      m.regexes.emplace_back(m.values[i], flags);
    } catch (const std::regex_error& e) {
      diags.error(index_path(values_path, i), "bad regular expression \"" + m.values[i] +
                                                  "\" in rule \"" + rule + "\": " + e.what());
    }
  }
}

// Reads match_criteria, match_case and the value list (`values_key`) of one match object.
string_match read_string_match(object_reader& reader, std::span<const enum_name<string_op>> ops,
                               std::string_view values_key, const std::string& rule) {
  string_match m;
  reader.get_enum<string_op>("match_criteria", m.op, ops, true);
  reader.get_enum<match_case>("match_case", m.case_sensitivity, case_names);
  const auto* values = reader.find(values_key);
  if (values != nullptr && values->is_string()) {
    m.values.push_back(values->get<std::string>()); // CookieMatch.value is a single string
  } else {
    reader.get_string_array(values_key, m.values);
  }
  if (reader.find("string_group_refs") != nullptr) {
    reader.diags().error(reader.path_of("string_group_refs"),
                         "string groups are not supported; list the strings in " +
                             std::string(values_key));
  }
  if (needs_values(m.op) && m.values.empty()) {
    reader.diags().error(reader.path_of(values_key),
                         "needs at least one value for " + std::string(enum_to_string(ops, m.op)));
  }
  if (is_regex(m.op)) {
    compile_regexes(m, reader.path_of(values_key), rule, reader.diags());
  }
  return m;
}

method_match read_method_match(object_reader& reader) {
  method_match m;
  reader.get_enum<bool>("match_criteria", m.is_in, in_names, true);
  std::vector<std::string> methods;
  reader.get_string_array("methods", methods);
  for (std::size_t i = 0; i < methods.size(); ++i) {
    constexpr std::string_view prefix = "HTTP_METHOD_";
    const std::string_view text = methods[i];
    const auto bare = text.starts_with(prefix) ? text.substr(prefix.size()) : std::string_view{};
    if (std::find(method_names.begin(), method_names.end(), bare) == method_names.end()) {
      std::string allowed;
      for (const auto name : method_names) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(prefix) + std::string(name);
      }
      reader.diags().error(index_path(reader.path_of("methods"), i),
                           "\"" + methods[i] + "\" is not one of " + allowed);
      continue;
    }
    m.methods.emplace_back(bare);
  }
  return m;
}

ip_match read_ip_match(object_reader& reader) {
  ip_match m;
  reader.get_enum<bool>("match_criteria", m.is_in, in_names, true);
  auto& diags = reader.diags();
  if (const auto* addrs = reader.get_array("addrs")) {
    for (std::size_t i = 0; i < addrs->size(); ++i) {
      if (auto a = read_ip_addr((*addrs)[i], index_path(reader.path_of("addrs"), i), diags)) {
        m.addrs.push_back(*a);
      }
    }
  }
  if (const auto* prefixes = reader.get_array("prefixes")) {
    for (std::size_t i = 0; i < prefixes->size(); ++i) {
      const auto path = index_path(reader.path_of("prefixes"), i);
      if (auto p = read_ip_prefix((*prefixes)[i], path, diags)) {
        m.prefixes.push_back(*p);
      }
    }
  }
  if (const auto* ranges = reader.get_array("ranges")) {
    for (std::size_t i = 0; i < ranges->size(); ++i) {
      if (auto r = read_ip_range((*ranges)[i], index_path(reader.path_of("ranges"), i), diags)) {
        m.ranges.push_back(*r);
      }
    }
  }
  if (reader.find("group_refs") != nullptr) {
    diags.error(reader.path_of("group_refs"),
                "IP groups are not supported; list addrs, prefixes or ranges");
  }
  return m;
}

// Runs `read` on the sub-object `key` of `parent` if present.
template <typename Read>
void with_child(object_reader& parent, std::string_view key, Read read) {
  if (const auto* value = parent.find(key)) {
    object_reader child(*value, parent.path_of(key), parent.diags());
    if (child.is_object()) {
      read(child);
    }
  }
}

void read_headers(object_reader& reader, match_target& t, const std::string& rule) {
  const auto* hdrs = reader.get_array("hdrs");
  if (hdrs == nullptr) {
    return;
  }
  for (std::size_t i = 0; i < hdrs->size(); ++i) {
    object_reader h((*hdrs)[i], index_path(reader.path_of("hdrs"), i), reader.diags());
    if (!h.is_object()) {
      continue;
    }
    header_match hm;
    h.get_string("hdr", hm.name, true);
    hm.match = read_string_match(h, hdr_ops, "value", rule);
    t.hdrs.push_back(std::move(hm));
  }
}

match_target read_match(object_reader& reader, const std::string& rule) {
  match_target t;
  with_child(reader, "path",
             [&](object_reader& r) { t.path = read_string_match(r, path_ops, "match_str", rule); });
  with_child(reader, "method", [&](object_reader& r) { t.method = read_method_match(r); });
  with_child(reader, "host_hdr",
             [&](object_reader& r) { t.host_hdr = read_string_match(r, hdr_ops, "value", rule); });
  read_headers(reader, t, rule);
  with_child(reader, "query", [&](object_reader& r) {
    t.query = read_string_match(r, query_ops, "match_str", rule);
  });
  with_child(reader, "client_ip", [&](object_reader& r) { t.client_ip = read_ip_match(r); });
  with_child(reader, "cookie", [&](object_reader& r) {
    cookie_match c;
    r.get_string("key", c.key, true);
    c.match = read_string_match(r, hdr_ops, "value", rule);
    t.cookie = std::move(c);
  });
  return t;
}

void read_action(object_reader& reader, security_rule& rule) {
  const auto* value = reader.find("action");
  if (value == nullptr) {
    reader.missing("action");
    return;
  }
  object_reader a(*value, reader.path_of("action"), reader.diags());
  a.get_enum<security_action>("action", rule.action, action_names, true);
  a.accept({"file", "rate_profile", "https_port"}); // parts of the refused actions
  if (const auto* code = a.find("status_code"); code != nullptr && code->is_number()) {
    a.get_unsigned("status_code", rule.status_code, 200, 599);
  } else {
    a.get_enum<std::uint16_t>("status_code", rule.status_code, status_names);
  }
  const bool unsupported = rule.action == security_action::redirect_to_https ||
                           rule.action == security_action::rate_limit;
  // A disabled rule never runs, so an Avi export with one still loads.
  if (unsupported && rule.enable) {
    reader.diags().error(a.path_of("action"),
                         std::string(to_string(rule.action)) +
                             " is valid in Avi but not supported by icapkit; use "
                             "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP, _ALLOW, _SEND_RESPONSE "
                             "or _CLOSE_CONN, or disable rule \"" +
                             rule.name + "\"");
  }
}

security_rule read_rule(const nlohmann::json& value, const std::string& path, diagnostics& diags) {
  security_rule rule;
  object_reader reader(value, path, diags);
  reader.get_string("name", rule.name, true);
  reader.get_integer("index", rule.index, INT32_MIN, INT32_MAX, {}, true);
  reader.get_bool("enable", rule.enable, true);
  reader.get_bool("log", rule.log);
  with_child(reader, "match", [&](object_reader& r) { rule.match = read_match(r, rule.name); });
  read_action(reader, rule);
  return rule;
}

} // namespace

http_security_policy read_security_policy(const nlohmann::json& value, const std::string& path,
                                          diagnostics& diags) {
  http_security_policy policy;
  object_reader reader(value, path, diags);
  reader.get_string("name", policy.name);
  reader.get_string("uuid", policy.uuid);
  const auto* rules = reader.get_array("rules");
  if (rules == nullptr) {
    return policy;
  }
  std::map<std::int64_t, std::string> seen; // index -> rule name: "first by index" needs unique
  for (std::size_t i = 0; i < rules->size(); ++i) {
    const auto rule_path = index_path(reader.path_of("rules"), i);
    const auto& item = (*rules)[i];
    const bool has_index = item.is_object() && item.contains("index");
    auto rule = read_rule(item, rule_path, diags);
    if (auto [it, inserted] = seen.emplace(rule.index, rule.name); has_index && !inserted) {
      diags.error(rule_path + ".index",
                  std::to_string(rule.index) + " is already used by rule \"" + it->second + "\"");
    }
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

} // namespace detail

std::string_view to_string(security_action a) noexcept {
  return detail::enum_to_string<security_action>(detail::action_names, a);
}

} // namespace icapkit::config
