#include "icapkit/mock/scenario.hpp"

#include <arpa/inet.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace icapkit::mock {

namespace {

using json = nlohmann::json;

// Where in the document a value sits, for messages: "rules[2].match.md5[0]".
class field_path {
public:
  field_path(std::string origin, std::string path)
      : origin_(std::move(origin)), path_(std::move(path)) {}
  field_path operator/(std::string_view key) const {
    return {origin_, path_.empty() ? std::string(key) : path_ + "." + std::string(key)};
  }
  field_path operator[](std::size_t index) const {
    return {origin_, path_ + "[" + std::to_string(index) + "]"};
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw scenario_error(origin_ + ": " + (path_.empty() ? "" : path_ + ": ") + message);
  }

private:
  std::string origin_;
  std::string path_;
};

void only_keys(const json& object, const field_path& at,
               std::initializer_list<std::string_view> keys) {
  if (!object.is_object()) {
    at.fail("expected an object");
  }
  for (const auto& [key, value] : object.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      (at / key).fail("unknown field");
    }
  }
}

std::string text_of(const json& value, const field_path& at) {
  if (!value.is_string()) {
    at.fail("expected a string");
  }
  return value.get<std::string>();
}

std::uint64_t number_of(const json& value, const field_path& at, std::uint64_t max = UINT64_MAX) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max) {
    at.fail("expected a whole number from 0 to " + std::to_string(max));
  }
  return value.get<std::uint64_t>();
}

bool flag_of(const json& value, const field_path& at) {
  if (!value.is_boolean()) {
    at.fail("expected true or false");
  }
  return value.get<bool>();
}

// A string or a list of strings, each checked by `check` (which may normalise it).
template <typename Check>
std::vector<std::string> strings_of(const json& value, const field_path& at, Check check) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(check(value.get<std::string>(), at));
    return out;
  }
  if (!value.is_array() || value.empty()) {
    at.fail("expected a string or a non-empty list of strings");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(check(text_of(value[i], at[i]), at[i]));
  }
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

auto hex_digest(std::size_t digits) {
  return [digits](std::string text, const field_path& at) {
    text = lower(std::move(text));
    if (text.size() != digits ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); })) {
      at.fail("expected " + std::to_string(digits) + " hex digits");
    }
    return text;
  };
}

std::string decode_hex(std::string text, const field_path& at) {
  std::erase_if(text, [](unsigned char c) { return std::isspace(c); });
  if (text.empty() || text.size() % 2 != 0 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); })) {
    at.fail("expected an even number of hex digits");
  }
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::regex regex_of(const std::string& text, const field_path& at) {
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    at.fail("invalid regular expression: " + std::string(e.what()));
  }
}

const auto non_empty = [](std::string text, const field_path& at) {
  if (text.empty()) {
    at.fail("must not be empty");
  }
  return text;
};

void parse_header_matches(const json& value, const field_path& at, match_spec& m) {
  const json list = value.is_array() ? value : json::array({value});
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto item_at = value.is_array() ? at[i] : at;
    only_keys(list[i], item_at, {"name", "regex"});
    if (!list[i].contains("name") || !list[i].contains("regex")) {
      item_at.fail("needs \"name\" and \"regex\"");
    }
    header_match h;
    h.name = non_empty(text_of(list[i]["name"], item_at / "name"), item_at / "name");
    h.regex_text = text_of(list[i]["regex"], item_at / "regex");
    h.regex = regex_of(h.regex_text, item_at / "regex");
    m.icap_headers.push_back(std::move(h));
  }
}

void parse_match_lists(const json& value, const field_path& at, match_spec& m) {
  if (value.contains("md5"))
    m.md5 = strings_of(value["md5"], at / "md5", hex_digest(32));
  if (value.contains("sha256"))
    m.sha256 = strings_of(value["sha256"], at / "sha256", hex_digest(64));
  if (value.contains("contains"))
    m.contains = strings_of(value["contains"], at / "contains", non_empty);
  if (value.contains("contains_hex")) {
    for (auto& bytes : strings_of(value["contains_hex"], at / "contains_hex", decode_hex)) {
      m.contains.push_back(std::move(bytes));
    }
  }
  if (value.contains("file_name"))
    m.file_names = strings_of(value["file_name"], at / "file_name", non_empty);
  if (value.contains("extension")) {
    m.extensions =
        strings_of(value["extension"], at / "extension", [](std::string t, const field_path& p) {
          if (!t.empty() && t.front() == '.')
            t.erase(0, 1);
          return lower(non_empty(std::move(t), p));
        });
  }
  if (value.contains("content_type")) {
    m.content_types = strings_of(
        value["content_type"], at / "content_type",
        [](std::string t, const field_path& p) { return lower(non_empty(std::move(t), p)); });
  }
  if (value.contains("method")) {
    m.methods = strings_of(value["method"], at / "method", [](std::string t, const field_path& p) {
      if (t != "REQMOD" && t != "RESPMOD")
        p.fail("expected \"REQMOD\" or \"RESPMOD\"");
      return t;
    });
  }
}

match_spec parse_match(const json& value, const field_path& at) {
  only_keys(value, at,
            {"md5", "sha256", "contains", "contains_hex", "file_name", "extension", "content_type",
             "min_size", "max_size", "url", "icap_header", "client_ip", "method",
             "encrypted_archive"});
  match_spec m;
  parse_match_lists(value, at, m);
  if (value.contains("min_size"))
    m.min_size = number_of(value["min_size"], at / "min_size");
  if (value.contains("max_size"))
    m.max_size = number_of(value["max_size"], at / "max_size");
  if (m.min_size && m.max_size && *m.min_size > *m.max_size) {
    (at / "max_size").fail("is smaller than min_size");
  }
  if (value.contains("url")) {
    m.url_text = text_of(value["url"], at / "url");
    m.url = regex_of(*m.url_text, at / "url");
  }
  if (value.contains("icap_header"))
    parse_header_matches(value["icap_header"], at / "icap_header", m);
  if (value.contains("client_ip")) {
    for (const auto& text : strings_of(value["client_ip"], at / "client_ip", non_empty)) {
      auto range = parse_ip_range(text);
      if (!range)
        (at / "client_ip").fail("\"" + text + "\" is not an IP address or CIDR range");
      m.client_ips.push_back(std::move(*range));
    }
  }
  if (value.contains("encrypted_archive")) {
    m.encrypted_archive = flag_of(value["encrypted_archive"], at / "encrypted_archive");
  }
  return m;
}

} // namespace

namespace {

rewrite_spec parse_rewrite(const json& value, const field_path& at, rewrite_spec::kind mode) {
  rewrite_spec r;
  r.mode = mode;
  if (mode == rewrite_spec::kind::replace) {
    only_keys(value, at, {"pattern", "pattern_hex", "text", "ignore_case"});
    if (value.contains("pattern") == value.contains("pattern_hex")) {
      at.fail("needs exactly one of \"pattern\" and \"pattern_hex\"");
    }
    r.pattern =
        value.contains("pattern")
            ? non_empty(text_of(value["pattern"], at / "pattern"), at / "pattern")
            : decode_hex(text_of(value["pattern_hex"], at / "pattern_hex"), at / "pattern_hex");
  } else {
    only_keys(value, at, {"start", "end", "text", "ignore_case"});
    if (!value.contains("start") || !value.contains("end")) {
      at.fail("needs \"start\" and \"end\" markers");
    }
    r.pattern = non_empty(text_of(value["start"], at / "start"), at / "start");
    r.end = non_empty(text_of(value["end"], at / "end"), at / "end");
  }
  if (value.contains("text"))
    r.text = text_of(value["text"], at / "text");
  if (value.contains("ignore_case"))
    r.ignore_case = flag_of(value["ignore_case"], at / "ignore_case");
  return r;
}

void parse_rewrites(const json& value, const field_path& at, verdict_spec& v) {
  for (const auto& [key, mode] : {std::pair{"replace", rewrite_spec::kind::replace},
                                  std::pair{"strip", rewrite_spec::kind::strip}}) {
    if (!value.contains(key)) {
      continue;
    }
    const json& list = value[key];
    if (!list.is_array() || list.empty()) {
      (at / key).fail("expected a non-empty list");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      v.rewrites.push_back(parse_rewrite(list[i], (at / key)[i], mode));
    }
  }
  if (v.rewrites.empty()) {
    at.fail("a sanitize verdict needs \"replace\" or \"strip\"");
  }
}

verdict_spec parse_verdict(const json& value, const field_path& at) {
  verdict_spec v;
  const json object = value.is_string() ? json{{"type", value}} : value;
  only_keys(object, at, {"type", "threat", "reason", "replace", "strip", "page", "http_status"});
  if (!object.contains("type")) {
    at.fail("needs \"type\": clean, block, sanitize or url_block");
  }
  const auto type = text_of(object["type"], at / "type");
  if (type == "clean")
    v.kind = verdict_kind::clean;
  else if (type == "block")
    v.kind = verdict_kind::block;
  else if (type == "sanitize")
    v.kind = verdict_kind::sanitize;
  else if (type == "url_block")
    v.kind = verdict_kind::url_block;
  else
    (at / "type").fail("\"" + type + "\" is not one of clean, block, sanitize, url_block");
  if (object.contains("threat"))
    v.threat = non_empty(text_of(object["threat"], at / "threat"), at / "threat");
  if (object.contains("reason"))
    v.reason = non_empty(text_of(object["reason"], at / "reason"), at / "reason");
  if (object.contains("page"))
    v.page = text_of(object["page"], at / "page");
  if (object.contains("http_status")) {
    const auto status = number_of(object["http_status"], at / "http_status", 599);
    if (status < 200)
      (at / "http_status").fail("expected an HTTP status from 200 to 599");
    v.http_status = static_cast<int>(status);
  }
  if (v.kind == verdict_kind::sanitize) {
    parse_rewrites(object, at, v);
  } else if (object.contains("replace") || object.contains("strip")) {
    at.fail("\"replace\" and \"strip\" belong to a sanitize verdict");
  }
  if (v.kind == verdict_kind::block) {
    if (v.reason.empty())
      v.reason = "Infected";
    if (v.threat.empty())
      v.threat = v.reason;
  } else if (v.kind == verdict_kind::url_block && v.reason.empty()) {
    v.reason = "URL Filtering";
  }
  return v;
}

delay_spec parse_delay(const json& value, const field_path& at) {
  delay_spec d;
  if (value.is_number_unsigned()) {
    d.min = d.max = std::chrono::milliseconds(number_of(value, at, 3600000));
    return d;
  }
  only_keys(value, at, {"ms", "min_ms", "max_ms", "seed"});
  if (value.contains("ms")) {
    if (value.contains("min_ms") || value.contains("max_ms"))
      at.fail("use \"ms\" or \"min_ms\"/\"max_ms\", not both");
    d.min = d.max = std::chrono::milliseconds(number_of(value["ms"], at / "ms", 3600000));
    return d;
  }
  if (!value.contains("min_ms") || !value.contains("max_ms"))
    at.fail("needs \"ms\", or \"min_ms\" and \"max_ms\"");
  d.min = std::chrono::milliseconds(number_of(value["min_ms"], at / "min_ms", 3600000));
  d.max = std::chrono::milliseconds(number_of(value["max_ms"], at / "max_ms", 3600000));
  if (d.max < d.min)
    (at / "max_ms").fail("is smaller than min_ms");
  if (value.contains("seed"))
    d.seed = number_of(value["seed"], at / "seed");
  return d;
}

fault_type fault_type_of(const std::string& text, const field_path& at) {
  static const std::pair<std::string_view, fault_type> names[] = {
      {"stall", fault_type::stall},
      {"continue_then_hang", fault_type::continue_then_hang},
      {"reset", fault_type::reset},
      {"close", fault_type::close_before_answer},
      {"malformed", fault_type::malformed},
      {"status", fault_type::icap_status},
      {"connection_close", fault_type::connection_close},
      {"istag_change", fault_type::istag_change}};
  for (const auto& [name, type] : names) {
    if (text == name)
      return type;
  }
  at.fail("\"" + text +
          "\" is not one of stall, continue_then_hang, reset, close, malformed, "
          "status, connection_close, istag_change");
}

fault_spec parse_fault(const json& value, const field_path& at) {
  only_keys(value, at, {"type", "ms", "after_bytes", "raw", "status", "istag"});
  if (!value.contains("type"))
    at.fail("needs \"type\"");
  fault_spec f;
  f.type = fault_type_of(text_of(value["type"], at / "type"), at / "type");
  if (value.contains("ms"))
    f.limit = std::chrono::milliseconds(number_of(value["ms"], at / "ms", 86400000));
  if (value.contains("after_bytes"))
    f.reset_after =
        static_cast<std::size_t>(number_of(value["after_bytes"], at / "after_bytes", 1u << 30));
  if (value.contains("raw"))
    f.raw = text_of(value["raw"], at / "raw");
  if (value.contains("status")) {
    const auto status = number_of(value["status"], at / "status", 599);
    if (status < 400)
      (at / "status").fail("expected an ICAP error status from 400 to 599");
    f.status = static_cast<int>(status);
  }
  if (value.contains("istag")) {
    f.istag = non_empty(text_of(value["istag"], at / "istag"), at / "istag");
    if (f.istag.front() != '"')
      f.istag = "\"" + f.istag + "\"";
  }
  if (f.type == fault_type::istag_change && f.istag.empty())
    f.istag = "\"icapkit-changed\"";
  return f;
}

lastline_spec parse_lastline(const json& value, const field_path& at) {
  only_keys(value, at, {"status", "score"});
  lastline_spec l;
  if (value.contains("status")) {
    const auto status = text_of(value["status"], at / "status");
    if (status != "new" && status != "known" && status != "blacklist" && status != "timeout" &&
        status != "error") {
      (at / "status")
          .fail("\"" + status + "\" is not one of new, known, blacklist, timeout, error");
    }
    l.status = status;
  }
  if (value.contains("score"))
    l.score = static_cast<std::uint32_t>(number_of(value["score"], at / "score", 100));
  return l;
}

rule parse_rule(const json& value, const field_path& at, std::size_t index) {
  only_keys(value, at, {"name", "description", "match", "verdict", "delay", "fault", "lastline"});
  rule r;
  r.name = value.contains("name") ? non_empty(text_of(value["name"], at / "name"), at / "name")
                                  : "rule-" + std::to_string(index + 1);
  if (value.contains("description"))
    static_cast<void>(text_of(value["description"], at / "description"));
  if (value.contains("match"))
    r.match = parse_match(value["match"], at / "match");
  if (value.contains("verdict"))
    r.verdict = parse_verdict(value["verdict"], at / "verdict");
  if (value.contains("delay"))
    r.delay = parse_delay(value["delay"], at / "delay");
  if (value.contains("fault"))
    r.fault = parse_fault(value["fault"], at / "fault");
  if (value.contains("lastline"))
    r.lastline = parse_lastline(value["lastline"], at / "lastline");
  return r;
}

} // namespace

bool match_spec::needs_body() const noexcept {
  return !md5.empty() || !sha256.empty() || !contains.empty() || min_size || max_size ||
         encrypted_archive;
}

scenario parse_scenario(const std::string& text, const std::string& origin) {
  const field_path root(origin, "");
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    root.fail("not valid JSON");
  }
  only_keys(doc, root, {"$schema", "name", "description", "builtin", "trickle", "rules"});
  scenario s;
  if (doc.contains("name"))
    s.name = text_of(doc["name"], root / "name");
  if (doc.contains("description"))
    static_cast<void>(text_of(doc["description"], root / "description"));
  if (doc.contains("builtin")) {
    const auto at = root / "builtin";
    only_keys(doc["builtin"], at, {"eicar", "encrypted_archive", "sanitize"});
    if (doc["builtin"].contains("eicar"))
      s.builtin.eicar = flag_of(doc["builtin"]["eicar"], at / "eicar");
    if (doc["builtin"].contains("encrypted_archive"))
      s.builtin.encrypted_archive =
          flag_of(doc["builtin"]["encrypted_archive"], at / "encrypted_archive");
    if (doc["builtin"].contains("sanitize"))
      s.builtin.sanitize = flag_of(doc["builtin"]["sanitize"], at / "sanitize");
  }
  if (doc.contains("trickle")) {
    const auto at = root / "trickle";
    only_keys(doc["trickle"], at, {"after_bytes", "percent"});
    if (!doc["trickle"].contains("after_bytes"))
      at.fail("needs \"after_bytes\" (body bytes received before the 200 goes out)");
    s.trickle.start_after =
        number_of(doc["trickle"]["after_bytes"], at / "after_bytes", std::uint64_t{1} << 40);
    if (s.trickle.start_after == 0)
      (at / "after_bytes").fail("must be at least 1");
    if (doc["trickle"].contains("percent"))
      s.trickle.percent =
          static_cast<unsigned>(number_of(doc["trickle"]["percent"], at / "percent", 100));
    if (s.trickle.percent == 0)
      (at / "percent").fail("must be 1 to 100");
  }
  if (!doc.contains("rules"))
    root.fail("needs \"rules\" (a list, may be empty)");
  if (!doc["rules"].is_array())
    (root / "rules").fail("expected a list of rules");
  for (std::size_t i = 0; i < doc["rules"].size(); ++i) {
    s.rules.push_back(parse_rule(doc["rules"][i], (root / "rules")[i], i));
  }
  return s;
}

scenario load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw scenario_error(path + ": cannot be read");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

std::string_view to_string(verdict_kind kind) noexcept {
  switch (kind) {
  case verdict_kind::clean:
    return "clean";
  case verdict_kind::block:
    return "block";
  case verdict_kind::sanitize:
    return "sanitize";
  case verdict_kind::url_block:
    return "url_block";
  }
  return "clean";
}

std::string_view to_string(fault_type type) noexcept {
  switch (type) {
  case fault_type::none:
    return "none";
  case fault_type::stall:
    return "stall";
  case fault_type::continue_then_hang:
    return "continue_then_hang";
  case fault_type::reset:
    return "reset";
  case fault_type::close_before_answer:
    return "close";
  case fault_type::malformed:
    return "malformed";
  case fault_type::icap_status:
    return "status";
  case fault_type::connection_close:
    return "connection_close";
  case fault_type::istag_change:
    return "istag_change";
  }
  return "none";
}

std::optional<ip_range> parse_ip_range(std::string_view text) {
  ip_range r;
  r.text = std::string(text);
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buffer[16];
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    r.bytes.assign(buffer, buffer + 4);
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    r.bytes.assign(buffer, buffer + 16);
  } else {
    return std::nullopt;
  }
  const unsigned bits = static_cast<unsigned>(r.bytes.size() * 8);
  r.prefix = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
    r.prefix = static_cast<unsigned>(std::stoul(std::string(digits)));
    if (r.prefix > bits) {
      return std::nullopt;
    }
  }
  return r;
}

bool ip_in_range(std::string_view address, const ip_range& range) {
  const auto parsed = parse_ip_range(address);
  if (!parsed || parsed->bytes.size() != range.bytes.size()) {
    return false;
  }
  for (unsigned bit = 0; bit < range.prefix; ++bit) {
    const unsigned mask = 0x80u >> (bit % 8);
    if ((parsed->bytes[bit / 8] & mask) != (range.bytes[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

} // namespace icapkit::mock
