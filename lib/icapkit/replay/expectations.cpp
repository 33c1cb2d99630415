#include "icapkit/replay/expectations.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string_view>

namespace icapkit::replay {
namespace detail {
namespace {

constexpr std::array<std::string_view, 8> known_members{
    "index", "method", "url", "url_regex", "action", "status", "threat", "body_captured"};

// Thrown only inside this file and caught by parse(): it carries the first error found.
struct invalid_file {
  std::string message;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw invalid_file{where + ": " + what};
}

std::string valid_actions() {
  std::string list;
  for (const auto action : log::all_values<log::icap_action>()) {
    list += list.empty() ? "" : ", ";
    list += log::to_string(action);
  }
  return list;
}

const std::string& read_string(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) {
    fail(where, std::string("must be a string, got ") + value.type_name());
  }
  return value.get_ref<const std::string&>();
}

std::size_t read_index(const nlohmann::json& value, const std::string& where) {
  if (value.is_number_unsigned()) {
    return value.get<std::size_t>();
  }
  if (value.is_number_integer()) {
    fail(where, "must not be negative, got " + value.dump());
  }
  fail(where, std::string("must be a non-negative integer, got ") + value.dump());
}

int read_status(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer()) {
    fail(where, std::string("must be an integer HTTP status, got ") + value.dump());
  }
  // Unsigned values past INT64_MAX wrap negative here, which the range check rejects too.
  const auto status = value.get<std::int64_t>();
  if (status < 100 || status > 599) {
    fail(where, "HTTP status must be within 100..599, got " + value.dump());
  }
  return static_cast<int>(status);
}

log::icap_action read_action(const nlohmann::json& value, const std::string& where) {
  const auto& text = read_string(value, where);
  const auto action = log::from_string<log::icap_action>(text);
  if (!action) {
    fail(where, "unknown action \"" + text + "\"; one of " + valid_actions());
  }
  return *action;
}

std::regex compile_regex(const std::string& pattern, const std::string& where) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(where, "invalid regex \"" + pattern + "\": " + e.what());
  }
}

void read_member(expectation& e, const std::string& key, const nlohmann::json& value,
                 const std::string& where) {
  if (key == "index") {
    e.index = read_index(value, where);
  } else if (key == "method") {
    e.method = read_string(value, where);
  } else if (key == "url") {
    e.url = read_string(value, where);
  } else if (key == "url_regex") {
    e.url_regex = read_string(value, where);
    e.compiled = compile_regex(*e.url_regex, where);
  } else if (key == "action") {
    e.action = read_action(value, where);
  } else if (key == "status") {
    e.status = read_status(value, where);
  } else if (key == "threat") {
    e.threat = read_string(value, where);
  } else if (key == "body_captured") {
    if (!value.is_boolean()) {
      fail(where, std::string("must be true or false, got ") + value.dump());
    }
    e.body_captured = value.get<bool>();
  } else {
    std::string known;
    for (const auto member : known_members) {
      known += known.empty() ? "" : ", ";
      known += member;
    }
    fail(where, "unknown member; known members: " + known);
  }
}

expectation read_entry(const nlohmann::json& entry, std::string where, const std::string& name) {
  if (!entry.is_object()) {
    fail(name + ": " + where, std::string("must be an object, got ") + entry.type_name());
  }
  expectation e;
  e.where = std::move(where);
  for (const auto& [key, value] : entry.items()) {
    read_member(e, key, value, name + ": " + e.where + "." + key);
  }
  if (!e.index && !e.method && !e.url && !e.url_regex) {
    fail(name + ": " + e.where, "selects no request; give index, method, url or url_regex");
  }
  if (e.url && e.url_regex) {
    fail(name + ": " + e.where, "give url or url_regex, not both");
  }
  return e;
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, ...: ";
// the byte position is reported by us, so only the reason after the last ": " prefix stays.
std::string syntax_error_text(const std::string& name, const std::string& text,
                              const nlohmann::json::parse_error& e) {
  std::string reason = e.what();
  if (const auto colon = reason.find(": ", reason.find("parse error"));
      colon != std::string::npos) {
    reason.erase(0, colon + 2);
  }
  const auto end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
  const auto line = 1 + static_cast<std::size_t>(std::count(
                            text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
  return name + ": JSON syntax error at byte " + std::to_string(e.byte) + " (line " +
         std::to_string(line) + "): " + reason;
}

// JSON strings must be UTF-8; a URL or threat name from a capture may not be.
bool representable_in_json(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

// The library may throw at match time (error_complexity, error_stack); find() and check() must
// not throw out of lib/, and a pattern that cannot be searched selects nothing.
bool searches(const std::regex& pattern, const std::string& text) {
  try {
    return std::regex_search(text, pattern);
  } catch (const std::regex_error&) {
    return false;
  }
}

std::string threat_list(const std::vector<std::string>& threats) {
  if (threats.empty()) {
    return "none";
  }
  std::string list;
  for (const auto& threat : threats) {
    list += list.empty() ? "" : ", ";
    list += threat;
  }
  return list;
}

} // namespace
} // namespace detail

std::optional<expectation_set> expectation_set::load(const std::filesystem::path& file,
                                                     std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    error = file.string() + ": is a directory, not an expectation file";
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = file.string() + ": cannot open the file";
    return std::nullopt;
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    error = file.string() + ": cannot read the file";
    return std::nullopt;
  }
  return parse(text, file.string(), error);
}

std::optional<expectation_set> expectation_set::parse(const std::string& text,
                                                      const std::string& name, std::string& error) {
  try {
    const auto doc = nlohmann::json::parse(text);
    if (!doc.is_object() || !doc.contains("expectations") || !doc["expectations"].is_array()) {
      error = name + ": the top level must be an object with an \"expectations\" array";
      return std::nullopt;
    }
    for (const auto& [key, value] : doc.items()) {
      if (key != "expectations") {
        detail::fail(name + ": " + key,
                     "unknown member; the top level holds only \"expectations\"");
      }
    }
    expectation_set set;
    const auto& entries = doc["expectations"];
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto e = detail::read_entry(entries[i], "expectations[" + std::to_string(i) + "]", name);
      if (e.index) {
        const auto [at, inserted] = set.by_index_.emplace(*e.index, set.items_.size());
        if (!inserted) {
          detail::fail(name + ": " + e.where + ".index", "index " + std::to_string(*e.index) +
                                                             " already used by " +
                                                             set.items_[at->second].where);
        }
      }
      set.items_.push_back(std::move(e));
    }
    return set;
  } catch (const nlohmann::json::parse_error& e) {
    error = detail::syntax_error_text(name, text, e);
  } catch (const detail::invalid_file& e) {
    error = e.message;
  } catch (const std::exception& e) {
    // Loading must not throw out of lib/; reaching this is a bug, reported as an error.
    error = name + ": internal error while reading expectations: " + e.what();
  }
  return std::nullopt;
}

const expectation* expectation_set::find(const outcome& o) const {
  if (const auto at = by_index_.find(o.index); at != by_index_.end()) {
    return &items_[at->second];
  }
  for (const auto& e : items_) {
    if (e.index || (e.method && *e.method != o.method) || (e.url && *e.url != o.url)) {
      continue;
    }
    if (e.compiled && !detail::searches(*e.compiled, o.url)) {
      continue;
    }
    return &e;
  }
  return nullptr;
}

namespace {

// An index entry pins a request; its method/url say which one, so a changed capture shows.
void compare_selection(const expectation& e, const outcome& o, std::vector<std::string>& out) {
  if (!e.index) {
    return;
  }
  if (e.method && *e.method != o.method) {
    out.push_back("method: expected " + *e.method + ", got " + o.method);
  }
  if (e.url && *e.url != o.url) {
    out.push_back("url: expected " + *e.url + ", got " + o.url);
  }
  if (e.compiled && !detail::searches(*e.compiled, o.url)) {
    out.push_back("url: expected a match for " + *e.url_regex + ", got " + o.url);
  }
}

void compare_not_replayed(const expectation& e, const outcome& o, std::vector<std::string>& out) {
  if (e.body_captured == true) {
    out.push_back("body_captured: expected true, got false" +
                  (o.body_note.empty() ? std::string() : " (" + o.body_note + ")"));
  }
  if (e.action || e.status || e.threat) {
    out.emplace_back("body not captured: not replayed");
  }
}

void compare_failed(const expectation& e, const outcome& o, std::vector<std::string>& out) {
  if (e.action) {
    out.push_back("action: expected " + std::string(log::to_string(*e.action)) +
                  ", got error: " + o.error);
  }
  if (e.status) {
    out.push_back("status: expected " + std::to_string(*e.status) + ", got error: " + o.error);
  }
}

// Seen from outside a proxy, a request that was not sent to ICAP and one the ICAP server passed
// look the same: both reach the upstream unchanged.
bool same_action(log::icap_action expected, const outcome& o) {
  if (o.action == expected) {
    return true;
  }
  const auto passed_or_disabled = [](log::icap_action a) {
    return a == log::icap_action::passed || a == log::icap_action::disabled;
  };
  return o.verdict_from_outside && o.action && passed_or_disabled(*o.action) &&
         passed_or_disabled(expected);
}

void compare_results(const expectation& e, const outcome& o, std::vector<std::string>& out) {
  if (e.action && !same_action(*e.action, o)) {
    out.push_back("action: expected " + std::string(log::to_string(*e.action)) + ", got " +
                  (o.action ? std::string(log::to_string(*o.action)) : "none"));
  }
  if (e.status && e.status != o.status) {
    out.push_back("status: expected " + std::to_string(*e.status) + ", got " +
                  (o.status ? std::to_string(*o.status) : "none"));
  }
}

} // namespace

check_result check(const expectation_set* expectations, const outcome& o) {
  check_result result;
  const bool failed = !o.error.empty();
  result.applied = expectations ? expectations->find(o) : nullptr;
  if (!result.applied) {
    result.kind = failed ? verdict::error : verdict::no_expectation;
    return result;
  }
  const auto& e = *result.applied;
  auto& diffs = result.differences;
  compare_selection(e, o, diffs);
  const bool not_replayed = !o.sent && !o.body_captured;
  if (not_replayed) {
    compare_not_replayed(e, o, diffs);
  } else if (failed) {
    compare_failed(e, o, diffs);
  } else {
    compare_results(e, o, diffs);
  }
  if (!not_replayed && e.threat &&
      std::find(o.threats.begin(), o.threats.end(), *e.threat) == o.threats.end()) {
    diffs.push_back("threat: expected " + *e.threat + ", got " + detail::threat_list(o.threats));
  }
  if (!not_replayed && e.body_captured == false) {
    diffs.emplace_back("body_captured: expected false, got true");
  }
  result.kind = diffs.empty() ? verdict::matched : verdict::mismatched;
  return result;
}

namespace {

nlohmann::ordered_json entry_of(const outcome& o) {
  nlohmann::ordered_json entry;
  entry["index"] = o.index;
  // Members JSON cannot carry (not UTF-8) are left out rather than written altered: an altered
  // url would make the recorded file mismatch the very capture it came from.
  if (detail::representable_in_json(o.method)) {
    entry["method"] = o.method;
  }
  if (detail::representable_in_json(o.url)) {
    entry["url"] = o.url;
  }
  if (o.action) {
    entry["action"] = log::to_string(*o.action);
  }
  if (o.status) {
    entry["status"] = *o.status;
  }
  if (!o.threats.empty() && detail::representable_in_json(o.threats.front())) {
    entry["threat"] = o.threats.front();
  }
  if (!o.body_captured) {
    entry["body_captured"] = false;
  }
  return entry;
}

} // namespace

void write_expectations(std::ostream& out, const std::vector<outcome>& outcomes) {
  std::vector<const outcome*> ordered;
  for (const auto& o : outcomes) {
    if (o.error.empty()) {
      ordered.push_back(&o);
    }
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const outcome* a, const outcome* b) { return a->index < b->index; });
  auto entries = nlohmann::ordered_json::array();
  for (const auto* o : ordered) {
    entries.push_back(entry_of(*o));
  }
  nlohmann::ordered_json doc;
  doc["expectations"] = std::move(entries);
  out << doc.dump(2) << '\n';
}

} // namespace icapkit::replay
