#include "icapkit/log/json_decode.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <vector>

namespace icapkit::log {
namespace detail {

using ojson = nlohmann::ordered_json;

// Keeps the first error; every read function returns false once it has reported one.
class decoder {
public:
  explicit decoder(std::size_t line) : line_(line) {}

  bool fail(errc code, std::string field, std::string detail) {
    if (!error_) {
      error_ = read_error{make_error_code(code), line_, std::move(field), std::move(detail)};
    }
    return false;
  }
  read_error take_error() { return std::move(*error_); }
  std::size_t line() const noexcept { return line_; }

private:
  std::size_t line_;
  std::optional<read_error> error_;
};

// One JSON object being read: remembers the members consumed so the others can be kept.
class object_reader {
public:
  object_reader(const ojson& object, std::string path, decoder& dec)
      : object_(object), path_(std::move(path)), dec_(dec) {}

  // The member, or nullptr when absent or JSON null. Either way it counts as consumed.
  const ojson* take(std::string_view key) {
    const auto it = object_.find(key);
    if (it == object_.end()) {
      return nullptr;
    }
    taken_.emplace_back(key);
    return it->is_null() ? nullptr : &*it;
  }
  // The member without consuming it, or nullptr when absent.
  const ojson* peek(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  decoder& dec() noexcept { return dec_; }

  void keep_unknown(unknown_members& out) const {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (std::find(taken_.begin(), taken_.end(), it.key()) == taken_.end()) {
        out.emplace_back(it.key(),
                         it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
  }

private:
  const ojson& object_;
  std::string path_;
  decoder& dec_;
  std::vector<std::string> taken_;
};

bool read(object_reader& r, std::string_view key, std::optional<std::string>& out) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (!value->is_string()) {
    return r.dec().fail(errc::wrong_type, r.path(key), "expected string");
  }
  out = value->get<std::string>();
  return true;
}

bool read(object_reader& r, std::string_view key, std::optional<bool>& out) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (!value->is_boolean()) {
    return r.dec().fail(errc::wrong_type, r.path(key), "expected true or false");
  }
  out = value->get<bool>();
  return true;
}

bool read(object_reader& r, std::string_view key, std::optional<std::uint32_t>& out,
          std::uint64_t max = std::numeric_limits<std::uint32_t>::max()) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (value->is_number_unsigned() && value->get<std::uint64_t>() <= max) {
    out = static_cast<std::uint32_t>(value->get<std::uint64_t>());
    return true;
  }
  if (value->is_number_integer()) {
    return r.dec().fail(errc::out_of_range, r.path(key),
                        "expected integer 0.." + std::to_string(max));
  }
  return r.dec().fail(errc::wrong_type, r.path(key), "expected unsigned integer");
}

std::optional<std::uint64_t> parse_decimal(const std::string& text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || text[0] == '-' || text[0] == '+') {
    return std::nullopt;
  }
  return value;
}

// 64-bit members: a JSON number, or the decimal string proto-JSON writes ("latency": "1275").
bool read_u64(object_reader& r, std::string_view key, std::optional<std::uint64_t>& out) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (value->is_number_unsigned()) {
    out = value->get<std::uint64_t>();
    return true;
  }
  if (value->is_string()) {
    if (const auto parsed = parse_decimal(value->get<std::string>())) {
      out = parsed;
      return true;
    }
    return r.dec().fail(errc::out_of_range, r.path(key),
                        "expected number or numeric string (unsigned 64-bit decimal)");
  }
  if (value->is_number()) {
    return r.dec().fail(errc::out_of_range, r.path(key), "expected non-negative integer");
  }
  return r.dec().fail(errc::wrong_type, r.path(key), "expected number or numeric string");
}

template <class Enum>
std::string expected_values() {
  std::string text = "expected one of";
  for (const auto v : all_values<Enum>()) {
    text += ' ';
    text += to_string(v);
  }
  return text;
}

template <class Enum>
bool read_enum(object_reader& r, std::string_view key, std::optional<Enum>& out) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (!value->is_string()) {
    return r.dec().fail(errc::wrong_type, r.path(key), expected_values<Enum>());
  }
  const auto& text = value->get_ref<const std::string&>();
  out = from_string<Enum>(text);
  if (!out) {
    return r.dec().fail(errc::unknown_enum_value, r.path(key),
                        "unknown value \"" + text + "\", " + expected_values<Enum>());
  }
  return true;
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

bool read_violations(object_reader& r, std::string_view key, std::vector<icap_violation>& out) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (!value->is_array()) {
    return r.dec().fail(errc::wrong_type, r.path(key), "expected array of objects");
  }
  for (std::size_t i = 0; i < value->size(); ++i) {
    const auto& element = (*value)[i];
    const auto path = index_path(r.path(key), i);
    if (!element.is_object()) {
      return r.dec().fail(errc::not_an_object, path, "expected object");
    }
    object_reader v(element, path, r.dec());
    icap_violation violation;
    if (!read(v, "file_name", violation.file_name) ||
        !read(v, "threat_name", violation.threat_name) ||
        !read_enum(v, "resolution", violation.resolution)) {
      return false;
    }
    v.keep_unknown(violation.unknown);
    out.push_back(std::move(violation));
  }
  return true;
}

// Reads member `key` as an object with `fill`; absent or null leaves `out` unset.
template <class T, class Fill>
bool read_object(object_reader& r, std::string_view key, std::optional<T>& out, Fill fill) {
  const auto* value = r.take(key);
  if (value == nullptr) {
    return true;
  }
  if (!value->is_object()) {
    return r.dec().fail(errc::not_an_object, r.path(key), "expected object");
  }
  object_reader inner(*value, r.path(key), r.dec());
  T parsed;
  if (!fill(inner, parsed)) {
    return false;
  }
  inner.keep_unknown(parsed.unknown);
  out = std::move(parsed);
  return true;
}

bool fill_opswat(object_reader& r, icap_opswat_log& out) {
  return read(r, "reason", out.reason) && read(r, "threat_id", out.threat_id) &&
         read_violations(r, "violations", out.violations);
}

bool fill_nsx_defender(object_reader& r, icap_nsx_defender_log& out) {
  return read(r, "score", out.score, 100) && read(r, "status_url", out.status_url) &&
         read(r, "task_uuid", out.task_uuid);
}

bool fill_file(object_reader& r, scanned_file& out) {
  return read(r, "path", out.path) && read_u64(r, "size", out.size) &&
         read(r, "sha256", out.sha256);
}

bool fill_replay(object_reader& r, replayed_request& out) {
  return read_u64(r, "index", out.index) && read(r, "origin", out.origin) &&
         read(r, "body_captured", out.body_captured) && read(r, "note", out.note);
}

bool read_strings(object_reader& r, std::string_view key, std::vector<std::string>& out) {
  const auto* list = r.take(key);
  if (list == nullptr) {
    return true;
  }
  if (!list->is_array()) {
    return r.dec().fail(errc::wrong_type, r.path(key), "expected array of strings");
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    if (!(*list)[i].is_string()) {
      return r.dec().fail(errc::wrong_type, index_path(r.path(key), i), "expected string");
    }
    out.push_back((*list)[i].get<std::string>());
  }
  return true;
}

bool fill_upstream(object_reader& r, upstream_attempts& out) {
  return read(r, "attempts", out.attempts) && read_strings(r, "retries", out.retries) &&
         read(r, "error", out.error);
}

bool read_pool_name(object_reader& r, std::optional<crc_string>& out) {
  const auto* value = r.take("pool_name");
  if (value == nullptr) {
    return true;
  }
  if (value->is_string()) {
    out = crc_string{value->get<std::string>(), std::nullopt};
    return true;
  }
  const char* expected = "expected string or {\"val\": string, \"crc32\": integer}";
  if (!value->is_object()) {
    return r.dec().fail(errc::wrong_type, r.path("pool_name"), expected);
  }
  object_reader inner(*value, r.path("pool_name"), r.dec());
  std::optional<std::string> val;
  std::optional<std::uint32_t> crc32;
  if (!read(inner, "val", val) || !read(inner, "crc32", crc32)) {
    return false;
  }
  if (!val) {
    return r.dec().fail(errc::missing_field, inner.path("val"), expected);
  }
  out = crc_string{std::move(*val), crc32};
  return true;
}

// 20.1.x carries reason, threat_id and violations on the request log; they fill opswat_log
// unless opswat_log already has them (then the flat copies stay as unknown members).
bool read_legacy_opswat(object_reader& r, icap_request_log& out) {
  icap_opswat_log flat;
  const auto* nested = out.opswat_log ? &*out.opswat_log : nullptr;
  if ((!nested || !nested->reason) && !read(r, "reason", flat.reason)) {
    return false;
  }
  if ((!nested || !nested->threat_id) && !read(r, "threat_id", flat.threat_id)) {
    return false;
  }
  if ((!nested || nested->violations.empty()) &&
      !read_violations(r, "violations", flat.violations)) {
    return false;
  }
  if (!flat.reason && !flat.threat_id && flat.violations.empty()) {
    return true;
  }
  auto& target = out.opswat_log ? *out.opswat_log : out.opswat_log.emplace();
  if (flat.reason) {
    target.reason = std::move(flat.reason);
  }
  if (flat.threat_id) {
    target.threat_id = std::move(flat.threat_id);
  }
  if (!flat.violations.empty()) {
    target.violations = std::move(flat.violations);
  }
  return true;
}

bool fill_request_log(object_reader& r, icap_request_log& out) {
  return read_enum(r, "action", out.action) &&
         read(r, "complete_body_sent", out.complete_body_sent) &&
         read_enum(r, "http_method", out.http_method) &&
         read(r, "http_response_code", out.http_response_code) &&
         read(r, "icap_absolute_uri", out.icap_absolute_uri) &&
         read(r, "icap_headers_received_from_server", out.icap_headers_received_from_server) &&
         read(r, "icap_headers_sent_to_server", out.icap_headers_sent_to_server) &&
         read_enum(r, "icap_method", out.icap_method) &&
         read(r, "icap_response_code", out.icap_response_code) &&
         read(r, "icap_server_ip", out.icap_server_ip) &&
         read(r, "icap_server_port", out.icap_server_port, 65535) &&
         read_u64(r, "latency", out.latency) &&
         read(r, "modified_content_length", out.modified_content_length) &&
         read_object(r, "nsx_defender_log", out.nsx_defender_log, fill_nsx_defender) &&
         read_object(r, "opswat_log", out.opswat_log, fill_opswat) &&
         read_pool_name(r, out.pool_name) && read(r, "pool_uuid", out.pool_uuid) &&
         read(r, "source_port", out.source_port, 65535) && read_enum(r, "vendor", out.vendor) &&
         read_legacy_opswat(r, out);
}

bool fill_icap_log(object_reader& r, icap_log& out) {
  std::optional<icap_action> action;
  if (!read_enum(r, "action", action)) {
    return false;
  }
  if (!action) {
    return r.dec().fail(errc::missing_field, r.path("action"), "missing required field");
  }
  out.action = *action;
  const auto* list = r.take("request_logs");
  if (list == nullptr) {
    return true;
  }
  if (!list->is_array()) {
    return r.dec().fail(errc::wrong_type, r.path("request_logs"), "expected array of objects");
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto path = index_path(r.path("request_logs"), i);
    if (!(*list)[i].is_object()) {
      return r.dec().fail(errc::not_an_object, path, "expected object");
    }
    object_reader inner((*list)[i], path, r.dec());
    icap_request_log request;
    if (!fill_request_log(inner, request)) {
      return false;
    }
    inner.keep_unknown(request.unknown);
    out.request_logs.push_back(std::move(request));
  }
  return true;
}

// Avi's ApplicationLog types `significant` as uint64; icapkit's is a bool. A number is left
// unread so it is kept verbatim as an unknown member and written back unchanged.
bool read_significant(object_reader& r, std::optional<bool>& out) {
  const auto* value = r.peek("significant");
  if (value != nullptr && value->is_number()) {
    return true;
  }
  return read(r, "significant", out);
}

bool fill_record_header(object_reader& r, app_log_record& out) {
  return read(r, "report_timestamp", out.report_timestamp) && read_u64(r, "log_id", out.log_id) &&
         read_enum(r, "source", out.source) && read(r, "client_ip", out.client_ip) &&
         read(r, "client_src_port", out.client_src_port, 65535) && read(r, "method", out.method) &&
         read(r, "host", out.host) && read(r, "uri_path", out.uri_path) &&
         read(r, "uri_query", out.uri_query) && read_u64(r, "request_length", out.request_length) &&
         read(r, "response_code", out.response_code) &&
         read(r, "http_security_policy_rule_name", out.http_security_policy_rule_name);
}

bool fill_record(object_reader& r, app_log_record& out) {
  if (!fill_record_header(r, out) || !read_significant(r, out.significant) ||
      !read_strings(r, "significant_log", out.significant_log) ||
      !read(r, "significance", out.significance)) {
    return false;
  }
  std::optional<icap_log> log;
  auto fill = [](object_reader& inner, icap_log& parsed) { return fill_icap_log(inner, parsed); };
  if (!read_object(r, "icap_log", log, fill)) {
    return false;
  }
  if (!log) {
    return r.dec().fail(errc::missing_field, "icap_log", "missing required field");
  }
  out.icap_log = std::move(*log);
  return read_object(r, "file", out.file, fill_file) &&
         read_object(r, "replay", out.replay, fill_replay) &&
         read_object(r, "upstream", out.upstream, fill_upstream);
}

// Rejects nesting deeper than `max_depth` before parsing, so that neither the parser nor the
// recursive dump of unknown members can exhaust the stack.
bool too_deep(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return true;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the tag is noise to users.
std::string without_exception_tag(std::string message) {
  if (message.starts_with("[json.exception.")) {
    const auto end = message.find("] ");
    if (end != std::string::npos) {
      message.erase(0, end + 2);
    }
  }
  return message;
}

} // namespace detail

result<icap_log> icap_log_from_json(const nlohmann::ordered_json& object, std::size_t line) {
  detail::decoder dec(line);
  if (!object.is_object()) {
    return read_error{make_error_code(errc::not_an_object), line, "", "expected a JSON object"};
  }
  detail::object_reader r(object, "", dec);
  icap_log log;
  if (!detail::fill_icap_log(r, log)) {
    return dec.take_error();
  }
  r.keep_unknown(log.unknown);
  return log;
}

result<app_log_record> record_from_json(const nlohmann::ordered_json& document, std::size_t line) {
  if (!document.is_object()) {
    return read_error{make_error_code(errc::not_an_object), line, "", "expected a JSON object"};
  }
  // A bare IcapLog, as the ICAP guide prints some examples: wrap it in an otherwise empty record.
  if (!document.contains("icap_log") && document.contains("action")) {
    auto log = icap_log_from_json(document, line);
    if (!log) {
      return log.error();
    }
    app_log_record record;
    record.icap_log = std::move(log).value();
    return record;
  }
  detail::decoder dec(line);
  detail::object_reader r(document, "", dec);
  app_log_record record;
  if (!detail::fill_record(r, record)) {
    return dec.take_error();
  }
  r.keep_unknown(record.unknown);
  return record;
}

result<app_log_record> parse_record(std::string_view text, std::size_t line,
                                    const read_options& options) {
  if (detail::too_deep(text, options.max_depth)) {
    return read_error{make_error_code(errc::too_deep), line, "",
                      "JSON nested deeper than " + std::to_string(options.max_depth) + " levels"};
  }
  try {
    const auto document = nlohmann::ordered_json::parse(text.begin(), text.end());
    return record_from_json(document, line);
  } catch (const nlohmann::json::exception& e) {
    return read_error{make_error_code(errc::invalid_json), line, "",
                      "invalid JSON: " + detail::without_exception_tag(e.what())};
  } catch (const std::exception& e) {
    return read_error{make_error_code(errc::invalid_json), line, "",
                      std::string("invalid JSON: ") + e.what()};
  }
}

} // namespace icapkit::log
