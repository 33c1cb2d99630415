#include "icapkit/client/threat_headers.hpp"

#include "icapkit/codec/message.hpp"

#include <algorithm>
#include <limits>

namespace icapkit::client {

namespace detail {

namespace {
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
} // namespace

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) noexcept {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

std::vector<std::string_view> split_list(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (true) {
    const auto end = text.find(separator);
    const auto element = trim(text.substr(0, end));
    if (!element.empty()) {
      out.push_back(element);
    }
    if (end == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(end + 1);
  }
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && codec::iequals(text.substr(0, prefix.size()), prefix);
}

} // namespace detail

namespace {

using detail::trim;

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// If `text` at `pos` reads "name =" (spaces allowed before '='), returns the name and moves `pos`
// just past the '='.
std::optional<std::string_view> read_parameter_name(std::string_view text, std::size_t& pos) {
  std::size_t i = pos;
  while (i < text.size() && is_name_char(text[i])) {
    ++i;
  }
  const auto name = text.substr(pos, i - pos);
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
    ++i;
  }
  if (name.empty() || i >= text.size() || text[i] != '=') {
    return std::nullopt;
  }
  pos = i + 1;
  return name;
}

// True when what follows a ';' is the end of the value or another "name=" parameter.
bool parameter_follows(std::string_view text, std::size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == ';')) {
    ++pos;
  }
  return pos >= text.size() || read_parameter_name(text, pos).has_value();
}

// End of a Threat value starting at `pos`: the first ';' at parenthesis depth 0 that ends the
// value or starts another parameter.
std::size_t threat_end(std::string_view text, std::size_t pos) {
  int depth = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')' && depth > 0) {
      --depth;
    } else if (text[i] == ';' && depth == 0 && parameter_follows(text, i + 1)) {
      return i;
    }
  }
  return text.size();
}

// Unbalanced parentheses make the threat run to the end of the value; drop the final ';' then.
std::string clean_threat(std::string_view threat) {
  threat = trim(threat);
  while (!threat.empty() && threat.back() == ';') {
    threat.remove_suffix(1);
    threat = trim(threat);
  }
  return std::string(threat);
}

std::optional<int> small_number(std::string_view text) {
  const auto number = detail::parse_decimal(trim(text));
  if (!number || *number > 1000) {
    return std::nullopt;
  }
  return static_cast<int>(*number);
}

std::optional<log::violation_resolution> resolution_from_id(std::string_view text) {
  switch (small_number(text).value_or(-1)) {
  case 0:
    return log::violation_resolution::file_not_repaired;
  case 1:
    return log::violation_resolution::file_repaired;
  case 2:
    return log::violation_resolution::violating_section_removed;
  default:
    return std::nullopt;
  }
}

} // namespace

std::optional<infection_found> parse_infection_found(std::string_view value) {
  value = trim(value);
  if (value.empty()) {
    return std::nullopt;
  }
  infection_found out;
  bool any_parameter = false;
  bool threat_seen = false;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ';' || value[pos] == ' ' || value[pos] == '\t') {
      ++pos;
      continue;
    }
    const auto name = read_parameter_name(value, pos);
    if (!name) {
      const auto next = value.find(';', pos);
      pos = next == std::string_view::npos ? value.size() : next;
      continue;
    }
    any_parameter = true;
    if (codec::iequals(*name, "threat")) {
      const auto end = threat_end(value, pos);
      if (!threat_seen) {
        out.threat = clean_threat(value.substr(pos, end - pos));
        threat_seen = true;
      }
      pos = end;
      continue;
    }
    const auto end = std::min(value.find(';', pos), value.size());
    const auto text = value.substr(pos, end - pos);
    if (codec::iequals(*name, "type") && !out.type) {
      out.type = small_number(text);
    } else if (codec::iequals(*name, "resolution") && !out.resolution) {
      out.resolution = small_number(text);
    }
    pos = end;
  }
  if (!any_parameter) {
    out.threat = clean_threat(value);
  }
  return out;
}

violations_found parse_violations_found(std::string_view value) {
  // split_list trims each line (a CR too) and drops blank ones.
  const auto lines = detail::split_list(value, '\n');
  violations_found out;
  if (lines.empty()) {
    return out;
  }
  out.announced = detail::parse_decimal(lines.front());
  if (!out.announced) {
    out.truncated = true;
    return out;
  }
  constexpr std::size_t lines_per_violation = 4;
  const std::size_t available = (lines.size() - 1) / lines_per_violation;
  const auto complete = static_cast<std::size_t>(
      std::min<std::uint64_t>(*out.announced, static_cast<std::uint64_t>(available)));
  out.truncated = complete < *out.announced;
  for (std::size_t i = 0; i < complete; ++i) {
    const auto* group = &lines[1 + i * lines_per_violation];
    violation v;
    if (group[0] != "-") {
      v.file_name = std::string(group[0]);
    }
    v.threat_name = std::string(group[1]);
    v.problem_id = detail::parse_decimal(group[2]);
    v.resolution = resolution_from_id(group[3]);
    out.violations.push_back(std::move(v));
  }
  return out;
}

std::optional<std::uint32_t> parse_score(std::string_view text) noexcept {
  const auto number = detail::parse_decimal(trim(text));
  if (!number || *number > 100) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*number);
}

std::optional<lastline_artifact> parse_lastline_artifact(std::string_view text) {
  constexpr std::string_view marker = "LastlineArtifact(";
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i + marker.size() <= text.size(); ++i) {
    if (detail::istarts_with(text.substr(i), marker)) {
      start = i + marker.size();
      break;
    }
  }
  if (start == std::string_view::npos) {
    return std::nullopt;
  }
  auto inside = text.substr(start);
  inside = inside.substr(0, inside.find(')'));
  lastline_artifact out;
  for (const auto parameter : detail::split_list(inside, ';')) {
    const auto eq = parameter.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const auto name = trim(parameter.substr(0, eq));
    const auto val = trim(parameter.substr(eq + 1));
    if (codec::iequals(name, "score")) {
      out.score = parse_score(val);
    } else if (codec::iequals(name, "md5") && !val.empty()) {
      out.md5 = std::string(val);
    } else if ((codec::iequals(name, "uuid") || codec::iequals(name, "task_uuid")) &&
               !val.empty()) {
      out.task_uuid = std::string(val);
    }
  }
  return out;
}

} // namespace icapkit::client
