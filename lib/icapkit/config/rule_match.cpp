#include "icapkit/config/rule_match.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace icapkit::config {
namespace detail {
namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool positive_test(string_op op, std::string_view subject, std::string_view value) {
  switch (op) {
  case string_op::begins_with:
  case string_op::does_not_begin_with:
    return subject.starts_with(value);
  case string_op::contains:
  case string_op::does_not_contain:
    return subject.find(value) != std::string_view::npos;
  case string_op::ends_with:
  case string_op::does_not_end_with:
    return subject.ends_with(value);
  case string_op::equals:
  case string_op::does_not_equal:
    return subject == value;
  default:
    return false; // regex and existence tests are handled by the caller
  }
}

bool is_negative(string_op op) {
  switch (op) {
  case string_op::does_not_begin_with:
  case string_op::does_not_contain:
  case string_op::does_not_end_with:
  case string_op::does_not_equal:
  case string_op::regex_does_not_match:
  case string_op::does_not_exist:
    return true;
  default:
    return false;
  }
}

// Whether one present subject satisfies the positive form of m.op with any of m's values.
bool subject_holds(const string_match& m, std::string_view subject) {
  if (m.op == string_op::regex_match || m.op == string_op::regex_does_not_match) {
    const std::string text(subject);
    return std::any_of(m.regexes.begin(), m.regexes.end(),
                       [&](const std::regex& re) { return std::regex_search(text, re); });
  }
  if (m.case_sensitivity == match_case::sensitive) {
    return std::any_of(m.values.begin(), m.values.end(),
                       [&](const std::string& v) { return positive_test(m.op, subject, v); });
  }
  const std::string folded = lowered(subject);
  return std::any_of(m.values.begin(), m.values.end(),
                     [&](const std::string& v) { return positive_test(m.op, folded, lowered(v)); });
}

// A field may occur several times (repeated headers); the positive form holds when any
// occurrence holds, and the DOES_NOT_* forms are its negation, as in Avi.
bool holds_for_any(const string_match& m, const std::vector<std::string_view>& subjects) {
  if (m.op == string_op::exists || m.op == string_op::does_not_exist) {
    return subjects.empty() == (m.op == string_op::does_not_exist);
  }
  const bool any = std::any_of(subjects.begin(), subjects.end(),
                               [&](std::string_view s) { return subject_holds(m, s); });
  return is_negative(m.op) ? !any : any;
}

std::vector<std::string_view> header_values(const codec::header_list* headers,
                                            std::string_view name) {
  std::vector<std::string_view> values;
  if (headers != nullptr) {
    for (const auto& field : *headers) {
      if (codec::iequals(field.name, name)) {
        values.emplace_back(field.value);
      }
    }
  }
  return values;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Values of cookie `key` across every Cookie header ("a=1; b=2"); cookie names are
// case-sensitive (RFC 6265), match_case applies to the value.
std::vector<std::string_view> cookie_values(const codec::header_list* headers,
                                            std::string_view key) {
  std::vector<std::string_view> values;
  for (auto line : header_values(headers, "Cookie")) {
    while (!line.empty()) {
      const auto semi = line.find(';');
      const auto pair = trim(line.substr(0, semi));
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == key) {
        values.push_back(trim(pair.substr(eq + 1)));
      }
      line = (semi == std::string_view::npos) ? std::string_view{} : line.substr(semi + 1);
    }
  }
  return values;
}

bool ip_holds(const ip_match& m, const std::optional<ip_address>& client) {
  bool in = false;
  if (client) {
    const auto address = client->unmapped();
    in = std::find(m.addrs.begin(), m.addrs.end(), address) != m.addrs.end() ||
         std::any_of(m.prefixes.begin(), m.prefixes.end(),
                     [&](const ip_prefix& p) { return p.contains(address); }) ||
         std::any_of(m.ranges.begin(), m.ranges.end(),
                     [&](const ip_range& r) { return r.contains(address); });
  }
  return m.is_in ? in : !in;
}

bool method_holds(const method_match& m, std::string_view method) {
  const bool in = std::find(m.methods.begin(), m.methods.end(), method) != m.methods.end();
  return m.is_in ? in : !in;
}

std::vector<std::string_view> one(std::string_view s) {
  return {s};
}

} // namespace
} // namespace detail

http_request_view http_request_view::from_target(std::string_view method, std::string_view target) {
  http_request_view view;
  view.method = method;
  const auto question = target.find('?');
  view.path = target.substr(0, question);
  if (question != std::string_view::npos) {
    view.query = target.substr(question + 1);
  }
  return view;
}

bool matches(const string_match& m, std::optional<std::string_view> subject) {
  return detail::holds_for_any(m, subject ? std::vector<std::string_view>{*subject}
                                          : std::vector<std::string_view>{});
}

bool matches(const match_target& t, const http_request_view& r) {
  using namespace detail;
  if (t.method && !method_holds(*t.method, r.method)) {
    return false;
  }
  if (t.path && !holds_for_any(*t.path, one(r.path))) {
    return false;
  }
  if (t.query) {
    // No query and an empty one are the same to QUERY_MATCH_EXISTS: nothing to match.
    const auto subjects = r.query.empty() ? std::vector<std::string_view>{} : one(r.query);
    if (!holds_for_any(*t.query, subjects)) {
      return false;
    }
  }
  if (t.host_hdr) {
    const auto hosts = r.host ? one(*r.host) : header_values(r.headers, "Host");
    if (!holds_for_any(*t.host_hdr, hosts)) {
      return false;
    }
  }
  for (const auto& h : t.hdrs) {
    if (!holds_for_any(h.match, header_values(r.headers, h.name))) {
      return false;
    }
  }
  if (t.cookie && !holds_for_any(t.cookie->match, cookie_values(r.headers, t.cookie->key))) {
    return false;
  }
  return !t.client_ip || ip_holds(*t.client_ip, r.client_ip);
}

const security_rule* select_rule(const http_security_policy& policy,
                                 const http_request_view& request) {
  // Scan for the lowest matching index instead of trusting the array order: exports list rules
  // in any order and Avi evaluates by index.
  const security_rule* best = nullptr;
  for (const auto& rule : policy.rules) {
    if (!rule.enable || (best != nullptr && best->index <= rule.index)) {
      continue;
    }
    if (matches(rule.match, request)) {
      best = &rule;
    }
  }
  return best;
}

} // namespace icapkit::config
