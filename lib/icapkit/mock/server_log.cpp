#include "icapkit/mock/server_log.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <optional>

namespace icapkit::mock {

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return std::string(text, n) + frac;
}

// "2024-03-26T10:15:00.123456Z" back to a time point; false when it is not that shape.
bool parse_iso_time(const std::string& text, std::chrono::system_clock::time_point& out) {
  std::tm utc{};
  long micros = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6ldZ", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &micros) != 7) {
    return false;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const auto seconds = timegm(&utc);
  out = std::chrono::system_clock::time_point(std::chrono::seconds(seconds) +
                                              std::chrono::microseconds(micros));
  return true;
}

// Reads the members of one line; the first problem is kept in `first_error`.
class line_reader {
public:
  line_reader(const nlohmann::ordered_json& document, std::size_t line)
      : document_(document), line_(line) {}

  void text(const char* key, std::string& out) {
    if (const auto* value = member(key)) {
      value->is_string() ? void(out = value->get<std::string>()) : wrong(key, "string");
    }
  }
  void flag(const char* key, bool& out) {
    if (const auto* value = member(key)) {
      value->is_boolean() ? void(out = value->get<bool>()) : wrong(key, "boolean");
    }
  }
  void count(const nlohmann::ordered_json* value, const std::string& key, std::uint64_t& out) {
    if (value != nullptr) {
      value->is_number_unsigned() ? void(out = value->get<std::uint64_t>())
                                  : wrong(key, "non-negative integer");
    }
  }
  void count(const char* key, std::uint64_t& out) { count(member(key), key, out); }
  void micros(const nlohmann::ordered_json& timings, const char* key,
              std::chrono::microseconds& out) {
    std::uint64_t value = 0;
    const auto it = timings.find(key);
    count(it == timings.end() || it->is_null() ? nullptr : &*it, std::string("timings_us.") + key,
          value);
    out = std::chrono::microseconds(
        static_cast<std::int64_t>(std::min<std::uint64_t>(value, INT64_MAX)));
  }
  const nlohmann::ordered_json* member(const char* key) const {
    const auto it = document_.find(key);
    return it == document_.end() || it->is_null() ? nullptr : &*it;
  }
  void wrong(const std::string& key, const std::string& expected) {
    if (!first_error) {
      first_error = log::read_error{make_error_code(log::errc::wrong_type), line_, key,
                                    "expected " + expected};
    }
  }
  std::optional<log::read_error> first_error;

private:
  const nlohmann::ordered_json& document_;
  std::size_t line_;
};

} // namespace

bool is_server_log_line(const nlohmann::ordered_json& document) {
  return document.is_object() && !document.contains("icap_log") && document.contains("decision") &&
         document.contains("timings_us");
}

log::result<server_log_entry> from_json_line(const nlohmann::ordered_json& document,
                                             std::size_t line) {
  if (!document.is_object()) {
    return log::read_error{make_error_code(log::errc::not_an_object), line, "",
                           "expected a JSON object"};
  }
  server_log_entry entry;
  auto& r = entry.record;
  line_reader in(document, line);
  std::string time;
  in.text("time", time);
  if (!time.empty() && !parse_iso_time(time, r.started)) {
    in.wrong("time", "an RFC 3339 UTC time");
  }
  in.text("vendor", entry.vendor);
  in.text("service", r.service);
  in.text("method", r.method);
  in.text("uri", r.uri);
  in.text("client", r.client);
  in.text("x_client_ip", r.x_client_ip);
  in.flag("tls", r.tls);
  if (in.member("preview") != nullptr) {
    std::uint64_t preview = 0;
    in.count("preview", preview);
    r.preview = preview;
  }
  in.flag("allow_204", r.allow_204);
  in.flag("allow_206", r.allow_206);
  in.flag("ieof", r.ieof);
  in.count("body_bytes", r.body_bytes_received);
  in.count("bytes_received", r.bytes_received);
  in.count("bytes_sent", r.bytes_sent);
  in.flag("sent_continue", r.sent_continue);
  in.flag("trickled", r.trickled);
  in.text("decision", r.decision);
  std::uint64_t status = 0;
  in.count("status", status);
  if (status > 999) {
    in.wrong("status", "an ICAP status (0 to 999)");
  }
  r.status = static_cast<int>(std::min<std::uint64_t>(status, 999));
  in.text("rule", r.rule);
  in.text("error", r.error);
  in.flag("connection_closed", r.connection_closed);
  if (const auto* timings = in.member("timings_us")) {
    if (timings->is_object()) {
      in.micros(*timings, "head", r.head_time);
      in.micros(*timings, "decision", r.decision_time);
      in.micros(*timings, "total", r.total_time);
    } else {
      in.wrong("timings_us", "object");
    }
  }
  if (in.first_error) {
    return *in.first_error;
  }
  return entry;
}

std::string to_json_line(const log::transaction_record& r, std::string_view vendor) {
  nlohmann::ordered_json j;
  j["time"] = iso_time(r.started);
  j["vendor"] = vendor;
  j["service"] = r.service;
  j["method"] = r.method;
  j["uri"] = r.uri;
  j["client"] = r.client;
  if (!r.x_client_ip.empty()) {
    j["x_client_ip"] = r.x_client_ip;
  }
  j["tls"] = r.tls;
  j["preview"] = r.preview ? nlohmann::ordered_json(*r.preview) : nlohmann::ordered_json(nullptr);
  j["allow_204"] = r.allow_204;
  j["allow_206"] = r.allow_206;
  j["ieof"] = r.ieof;
  j["body_bytes"] = r.body_bytes_received;
  j["bytes_received"] = r.bytes_received;
  j["bytes_sent"] = r.bytes_sent;
  j["sent_continue"] = r.sent_continue;
  if (r.trickled) {
    j["trickled"] = true;
  }
  j["decision"] = r.decision;
  j["status"] = r.status;
  j["rule"] = r.rule;
  if (!r.error.empty()) {
    j["error"] = r.error;
  }
  j["connection_closed"] = r.connection_closed;
  j["timings_us"] = {{"head", r.head_time.count()},
                     {"decision", r.decision_time.count()},
                     {"total", r.total_time.count()}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

server_log::~server_log() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

std::error_code server_log::open(const std::string& path, std::string vendor) {
  std::lock_guard lock(mutex_);
  vendor_ = std::move(vendor);
  file_ = std::fopen(path.c_str(), "ae");
  return file_ == nullptr ? std::error_code(errno, std::generic_category()) : std::error_code{};
}

void server_log::write(const log::transaction_record& record) {
  auto line = to_json_line(record, vendor_);
  line += '\n';
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
}

} // namespace icapkit::mock
