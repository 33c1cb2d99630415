#include "icapkit/load/log_report.hpp"

#include "icapkit/codec/html_escape.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ostream>
#include <set>
#include <utility>

namespace icapkit::load {
namespace detail {
namespace {

// What a table's shares are of.
enum class table_unit { record, request_log, served };

struct table_info {
  std::string_view name;  // JSON member under "counts" ("serve.x": "x" under "serve.counts")
  std::string_view title; // heading in human and HTML output
  table_unit unit;
};

// The order every output shows the tables in: what happened first, then why, then where.
enum table_index : std::size_t {
  sources,
  actions,
  http_status,
  icap_status,
  threats,
  reasons,
  vendors,
  pools,
  rules,
  significance,
  served_vendors,
  served_methods,
  served_decisions,
  served_status,
  served_rules,
  served_errors,
  table_count,
};

constexpr std::array<table_info, table_count> tables{{
    {"sources", "sources", table_unit::record},
    {"actions", "actions", table_unit::record},
    {"http_status", "HTTP status to the client", table_unit::record},
    {"icap_status", "ICAP status", table_unit::request_log},
    {"threats", "threats", table_unit::request_log},
    {"reasons", "reasons", table_unit::request_log},
    {"vendors", "vendors", table_unit::request_log},
    {"pools", "pools", table_unit::request_log},
    {"rules", "security policy rules", table_unit::record},
    {"significance", "significance (ADF codes)", table_unit::record},
    {"serve.vendors", "icapkit serve: vendors", table_unit::served},
    {"serve.methods", "icapkit serve: ICAP methods", table_unit::served},
    {"serve.decisions", "icapkit serve: decisions", table_unit::served},
    {"serve.status", "icapkit serve: ICAP status sent", table_unit::served},
    {"serve.rules", "icapkit serve: scenario rules", table_unit::served},
    {"serve.errors", "icapkit serve: errors", table_unit::served},
}};

constexpr std::string_view served_prefix = "serve.";

bool is_served(const table_info& table) {
  return table.unit == table_unit::served;
}

constexpr std::string_view other_values = "(other)";
// Values from the logs are cut to this many bytes, so one huge string cannot dominate memory.
constexpr std::size_t max_value_bytes = 256;
constexpr std::size_t human_rows = 10;

// Cuts at a UTF-8 character boundary so the result stays valid UTF-8 for JSON.
std::string clipped(std::string_view text, std::size_t limit = max_value_bytes) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) {
    --end;
  }
  return std::string(text.substr(0, end)) + "...";
}

constexpr std::string_view hex_digits = "0123456789abcdef";

// Log text could drive a terminal (C0, DEL, C1 in UTF-8): such bytes are shown as \xHH.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto escape = [&out](unsigned char byte) {
    out += "\\x";
    out += hex_digits[byte >> 4U];
    out += hex_digits[byte & 0xFU];
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0U;
    if (byte < 0x20 || byte == 0x7F) {
      escape(byte);
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      escape(byte);
      escape(static_cast<unsigned char>(next));
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Fixed-point with a '.', whatever the locale.
std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                       std::chars_format::fixed, decimals);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("0");
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  const double share =
      whole == 0 ? 0.0 : static_cast<double>(part) * 100.0 / static_cast<double>(whole);
  return fixed(share, 1) + "%";
}

double us_to_ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

// Milliseconds for people: one decimal below 100 ms (the histogram's precision is ~0.8%).
std::string human_ms(double ms) {
  return fixed(ms, ms < 100.0 ? 1 : 0);
}

std::string plural(std::uint64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// "actions (of 25 records)": the title and what the shares are of.
std::string table_heading(const table_info& table, std::uint64_t whole) {
  const auto* noun = table.unit == table_unit::record        ? "record"
                     : table.unit == table_unit::request_log ? "ICAP request"
                                                             : "transaction";
  return std::string(table.title) + " (of " + plural(whole, noun) + ")";
}

// Rows of a table, largest count first, equal counts by value.
std::vector<std::pair<std::string, std::uint64_t>> sorted_rows(const count_table& table) {
  std::vector<std::pair<std::string, std::uint64_t>> rows(table.begin(), table.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return rows;
}

// "POST upload.example/upload?a=1", the scanned file, or the ICAP URI of a bare icap_log.
std::string describe_request(const log::app_log_record& record) {
  if (record.file && record.file->path) {
    return clipped(*record.file->path);
  }
  std::string text;
  if (record.method) {
    text += *record.method + " ";
  }
  text += record.host.value_or("") + record.uri_path.value_or("");
  if (record.uri_query && !record.uri_query->empty()) {
    text += "?" + *record.uri_query;
  }
  if (text.empty() && !record.icap_log.request_logs.empty()) {
    text = record.icap_log.request_logs.front().icap_absolute_uri.value_or("");
  }
  return clipped(text);
}

// Why the record is notable: the ICAP server's reason and threat (the most specific), else the
// upstream failure, else the significance sentence, else the ADF codes.
std::string describe_outcome(const log::app_log_record& record) {
  std::string text;
  for (const auto& request : record.icap_log.request_logs) {
    if (!request.opswat_log) {
      continue;
    }
    const auto& opswat = *request.opswat_log;
    auto threat = opswat.threat_id.value_or("");
    for (const auto& violation : opswat.violations) {
      if (threat.empty() && violation.threat_name) {
        threat = *violation.threat_name;
      }
    }
    const auto reason = opswat.reason.value_or("");
    if (!reason.empty() || !threat.empty()) {
      text = reason;
      text.append(reason.empty() || threat.empty() ? "" : ": ").append(threat);
    }
  }
  if (text.empty() && record.upstream && record.upstream->error) {
    text = *record.upstream->error;
  }
  if (text.empty() && record.significance) {
    text = *record.significance;
  }
  for (const auto& code : record.significant_log) {
    if (text.empty()) {
      text = code;
    }
  }
  return clipped(text);
}

// The HTTP status the client got. A bare icap_log export has no response_code; the blocking
// status the ICAP server sent is what the client got then.
std::optional<std::uint32_t> client_status(const log::app_log_record& record) {
  if (record.response_code) {
    return record.response_code;
  }
  for (const auto& request : record.icap_log.request_logs) {
    if (request.http_response_code) {
      return request.http_response_code;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> highest_latency(const log::icap_log& icap) {
  std::optional<std::uint64_t> highest;
  for (const auto& request : icap.request_logs) {
    if (request.latency && (!highest || *request.latency > *highest)) {
      highest = request.latency;
    }
  }
  return highest;
}

listed_record make_listed(const log::app_log_record& record, std::string_view file,
                          std::size_t line) {
  listed_record entry;
  entry.file = std::string(file);
  entry.line = line;
  entry.timestamp = clipped(record.report_timestamp.value_or(""));
  entry.source = record.source ? std::string(log::to_string(*record.source)) : "unknown";
  entry.action = std::string(log::to_string(record.icap_log.action));
  entry.request = describe_request(record);
  entry.latency_ms = highest_latency(record.icap_log);
  if (!record.icap_log.request_logs.empty()) {
    entry.icap_status = record.icap_log.request_logs.back().icap_response_code;
  }
  entry.http_status = client_status(record);
  entry.detail = describe_outcome(record);
  return entry;
}

} // namespace
} // namespace detail

bool is_failed(const log::app_log_record& record) noexcept {
  if (record.icap_log.action == log::icap_action::failed) {
    return true;
  }
  if (record.response_code && *record.response_code >= 500) {
    return true;
  }
  return std::any_of(record.icap_log.request_logs.begin(), record.icap_log.request_logs.end(),
                     [](const log::icap_request_log& request) {
                       return request.icap_response_code && *request.icap_response_code >= 400;
                     });
}

log_report::log_report(log_report_options options)
    : options_(options), tables_(detail::table_count) {}

log_report::file_counts& log_report::file_entry(std::string_view name) {
  // Files arrive one after another, so the last entry is almost always the one.
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    if (it->name == name) {
      return *it;
    }
  }
  files_.push_back({std::string(name), 0, 0, 0});
  return files_.back();
}

void log_report::count(std::size_t table_index, std::string_view value) {
  auto& table = tables_[table_index];
  // Long values are kept clipped, so they are looked up clipped too.
  const auto clipped =
      value.size() > detail::max_value_bytes ? detail::clipped(value) : std::string();
  const auto key = clipped.empty() ? value : std::string_view(clipped);
  if (auto it = table.find(key); it != table.end()) {
    ++it->second;
  } else if (table.size() < options_.max_distinct) {
    table.emplace(std::string(key), 1);
  } else {
    ++table[std::string(detail::other_values)];
  }
}

void log_report::add_request_log(const log::icap_request_log& request) {
  using namespace detail;
  ++request_logs_;
  if (request.latency) {
    // Saturating: a corrupt latency must not wrap into a small value.
    const auto ms = *request.latency;
    latency_us_.record(ms > UINT64_MAX / 1000 ? UINT64_MAX : ms * 1000);
  }
  if (request.icap_response_code) {
    count(icap_status, std::to_string(*request.icap_response_code));
  }
  if (request.vendor) {
    count(vendors, log::to_string(*request.vendor));
  }
  if (request.pool_name && !request.pool_name->val.empty()) {
    count(pools, request.pool_name->val);
  }
  if (!request.opswat_log) {
    return;
  }
  const auto& opswat = *request.opswat_log;
  if (opswat.reason && !opswat.reason->empty()) {
    count(reasons, *opswat.reason);
  }
  // Violations name each threat (per file); threat_id is the summary of the same finding, so it
  // counts only when there are no violations. Each threat counts once per request log.
  std::set<std::string_view> threat_names;
  for (const auto& violation : opswat.violations) {
    if (violation.threat_name && !violation.threat_name->empty()) {
      threat_names.insert(*violation.threat_name);
    }
  }
  if (threat_names.empty() && opswat.threat_id && !opswat.threat_id->empty()) {
    threat_names.insert(*opswat.threat_id);
  }
  for (const auto name : threat_names) {
    count(threats, name);
  }
}

void log_report::begin_file(std::string_view source_file) {
  file_entry(source_file);
}

void log_report::add(const log::app_log_record& record, std::string_view source_file,
                     std::size_t line) {
  using namespace detail;
  ++records_;
  ++file_entry(source_file).records;
  count(sources, record.source ? log::to_string(*record.source) : "unknown");
  count(actions, log::to_string(record.icap_log.action));
  for (const auto& request : record.icap_log.request_logs) {
    add_request_log(request);
  }
  if (const auto status = client_status(record)) {
    count(http_status, std::to_string(*status));
  }
  if (record.http_security_policy_rule_name && !record.http_security_policy_rule_name->empty()) {
    count(rules, *record.http_security_policy_rule_name);
  }
  for (const auto& code : record.significant_log) {
    count(significance, code);
  }
  if (record.upstream) {
    const auto& upstream = *record.upstream;
    ++upstream_records_;
    // retries(record) = attempts - 1; the list stands in only when attempts is missing.
    if (upstream.attempts) {
      upstream_retries_ += *upstream.attempts > 0 ? *upstream.attempts - 1U : 0U;
    } else {
      upstream_retries_ += upstream.retries.size();
    }
    if (upstream.error) {
      ++upstream_errors_;
    }
  }
  if (is_failed(record)) {
    add_failed(make_listed(record, source_file, line));
  }
  const auto latency = highest_latency(record.icap_log);
  if (latency && options_.slowest_listed > 0 &&
      (slowest_.size() < options_.slowest_listed || *latency > *slowest_.back().latency_ms)) {
    consider_slowest(make_listed(record, source_file, line));
  }
}

void log_report::add_failed(listed_record entry) {
  ++failed_;
  if (failed_list_.size() < options_.failed_listed) {
    failed_list_.push_back(std::move(entry));
  }
}

void log_report::add_served(const log::transaction_record& transaction, std::string_view vendor,
                            std::string_view source_file, std::size_t line) {
  using namespace detail;
  ++served_;
  ++file_entry(source_file).served;
  const auto total = transaction.total_time.count();
  served_time_us_.record(total < 0 ? 0 : static_cast<std::uint64_t>(total));
  count(served_vendors, vendor.empty() ? "unknown" : vendor);
  count(served_methods, transaction.method.empty() ? "(none)" : transaction.method);
  count(served_decisions, transaction.decision.empty() ? "(none)" : transaction.decision);
  count(served_status,
        transaction.status == 0 ? "(none sent)" : std::to_string(transaction.status));
  if (!transaction.rule.empty()) {
    count(served_rules, transaction.rule);
  }
  if (!transaction.error.empty()) {
    count(served_errors, transaction.error);
  }
  if (transaction.error.empty() && transaction.status < 400) {
    return;
  }
  listed_record entry;
  entry.file = std::string(source_file);
  entry.line = line;
  entry.source = "serve";
  entry.action = clipped(transaction.decision);
  entry.request = clipped(transaction.method + " " + transaction.uri);
  entry.latency_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(total, 0)) / 1000;
  if (transaction.status != 0) {
    entry.icap_status = static_cast<std::uint32_t>(transaction.status);
  }
  entry.detail = clipped(transaction.error.empty() ? transaction.rule : transaction.error);
  add_failed(std::move(entry));
}

void log_report::consider_slowest(const listed_record& entry) {
  // Strictly slower goes first, so of equal latencies the earlier record stays listed.
  const auto position =
      std::find_if(slowest_.begin(), slowest_.end(), [&entry](const listed_record& listed) {
        return *entry.latency_ms > *listed.latency_ms;
      });
  slowest_.insert(position, entry);
  if (slowest_.size() > options_.slowest_listed) {
    slowest_.pop_back();
  }
}

void log_report::add_unreadable(const log::read_error& error, std::string_view source_file) {
  ++unreadable_;
  ++file_entry(source_file).unreadable;
  if (unreadable_list_.size() < options_.unreadable_listed) {
    auto without_line = error;
    without_line.line = 0;
    unreadable_list_.push_back(
        {std::string(source_file), error.line, detail::clipped(without_line.message())});
  }
}

std::uint64_t log_report::table_whole(std::size_t index) const noexcept {
  switch (detail::tables[index].unit) {
  case detail::table_unit::record:
    return records_;
  case detail::table_unit::request_log:
    return request_logs_;
  case detail::table_unit::served:
    return served_;
  }
  return records_;
}

const count_table* log_report::table(std::string_view name) const {
  for (std::size_t i = 0; i < detail::tables.size(); ++i) {
    if (detail::tables[i].name == name) {
      return &tables_[i];
    }
  }
  return nullptr;
}

namespace {

nlohmann::ordered_json listed_json(const listed_record& entry) {
  nlohmann::ordered_json j;
  j["file"] = entry.file;
  j["line"] = entry.line;
  j["timestamp"] = entry.timestamp;
  j["source"] = entry.source;
  j["action"] = entry.action;
  j["request"] = entry.request;
  j["latency_ms"] = entry.latency_ms ? nlohmann::ordered_json(*entry.latency_ms) : nullptr;
  j["icap_status"] = entry.icap_status ? nlohmann::ordered_json(*entry.icap_status) : nullptr;
  j["http_status"] = entry.http_status ? nlohmann::ordered_json(*entry.http_status) : nullptr;
  j["detail"] = entry.detail;
  return j;
}

// Milliseconds with microsecond precision, the unit the histogram keeps.
double json_ms(std::uint64_t us) {
  return detail::us_to_ms(us);
}

constexpr std::array<std::pair<std::string_view, double>, 4> reported_percentiles{
    {{"p50", 50.0}, {"p90", 90.0}, {"p95", 95.0}, {"p99", 99.0}}};

nlohmann::ordered_json latency_json(const histogram& h) {
  nlohmann::ordered_json j;
  j["count"] = h.count();
  if (h.count() > 0) {
    j["min"] = json_ms(h.min());
    for (const auto& [name, p] : reported_percentiles) {
      j[std::string(name)] = json_ms(h.percentile(p));
    }
    j["max"] = json_ms(h.max());
    j["mean"] = std::round(h.mean()) / 1000.0;
  }
  j["histogram"] = nlohmann::ordered_json(h.to_json());
  return j;
}

} // namespace

nlohmann::ordered_json log_report::to_json() const {
  nlohmann::ordered_json j;
  j["records"] = records_;
  j["request_logs"] = request_logs_;
  j["unreadable_lines"] = unreadable_;
  j["failed"] = failed_;
  auto& files = j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : files_) {
    files.push_back({{"file", f.name}, {"records", f.records}, {"unreadable_lines", f.unreadable}});
    if (served_ > 0) {
      files.back()["serve_transactions"] = f.served;
    }
  }
  auto& counts = j["counts"] = nlohmann::ordered_json::object();
  nlohmann::ordered_json served_counts = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < detail::tables.size(); ++i) {
    const auto& info = detail::tables[i];
    auto& table = detail::is_served(info)
                      ? served_counts[std::string(info.name.substr(detail::served_prefix.size()))]
                      : counts[std::string(info.name)];
    table = nlohmann::ordered_json::object();
    for (const auto& [value, n] : detail::sorted_rows(tables_[i])) {
      table[value] = n;
    }
  }
  j["latency_ms"] = latency_json(latency_us_);
  // Only when a record has an upstream object, so other reports keep their shape.
  if (upstream_records_ > 0) {
    j["upstream"] = {{"records", upstream_records_},
                     {"retries", upstream_retries_},
                     {"errors", upstream_errors_}};
  }
  // Only when there are serve lines, so reports of records alone keep their shape.
  if (served_ > 0) {
    j["serve"] = {{"transactions", served_},
                  {"counts", std::move(served_counts)},
                  {"time_ms", latency_json(served_time_us_)}};
  }
  auto& slowest = j["slowest"] = nlohmann::ordered_json::array();
  for (const auto& entry : slowest_) {
    slowest.push_back(listed_json(entry));
  }
  auto& failed = j["failed_records"] = nlohmann::ordered_json::array();
  for (const auto& entry : failed_list_) {
    failed.push_back(listed_json(entry));
  }
  auto& unreadable = j["unreadable"] = nlohmann::ordered_json::array();
  for (const auto& bad : unreadable_list_) {
    unreadable.push_back({{"file", bad.file}, {"line", bad.line}, {"message", bad.message}});
  }
  return j;
}

namespace {

// "  1275 ms  proxy.ndjson:12  ICAP_BLOCKED  ICAP 200  HTTP 403  POST a.example/up  Infected"
// `latency_width` > 0: the latency first, right-aligned to that many digits.
std::string listed_line(const listed_record& entry, std::size_t latency_width) {
  using detail::printable;
  std::string line = "  ";
  if (latency_width > 0 && entry.latency_ms) {
    const auto ms = std::to_string(*entry.latency_ms);
    line += std::string(latency_width - std::min(latency_width, ms.size()), ' ') + ms + " ms  ";
  }
  line += printable(entry.file) + ":" + std::to_string(entry.line) + "  " + entry.action;
  if (entry.icap_status) {
    line += "  ICAP " + std::to_string(*entry.icap_status);
  }
  if (entry.http_status) {
    line += "  HTTP " + std::to_string(*entry.http_status);
  }
  for (const auto* text : {&entry.request, &entry.detail}) {
    if (!text->empty()) {
      line += "  " + printable(*text);
    }
  }
  return line + "\n";
}

void write_human_table(std::ostream& out, std::string_view heading, const count_table& table,
                       std::uint64_t whole) {
  using detail::printable;
  const auto rows = detail::sorted_rows(table);
  const auto shown = std::min(rows.size(), detail::human_rows);
  std::size_t name_width = 0;
  std::uint64_t rest = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i < shown) {
      name_width = std::max(name_width, std::min<std::size_t>(printable(rows[i].first).size(), 40));
    } else {
      rest += rows[i].second;
    }
  }
  const auto more = rows.size() > shown ? "(" + std::to_string(rows.size() - shown) + " more)" : "";
  name_width = std::max(name_width, more.size());
  const auto count_width = rows.empty() ? 1 : std::to_string(rows.front().second).size();
  out << '\n' << heading << '\n';
  const auto row = [&](const std::string& name, std::uint64_t n) {
    const auto number = std::to_string(n);
    const auto share = detail::percent(n, whole);
    out << "  " << name << std::string(name_width - std::min(name_width, name.size()) + 2, ' ')
        << std::string(count_width - std::min(count_width, number.size()), ' ') << number
        << std::string(8 - std::min<std::size_t>(8, share.size()), ' ') << share << '\n';
  };
  for (std::size_t i = 0; i < shown; ++i) {
    row(printable(rows[i].first), rows[i].second);
  }
  if (!more.empty()) {
    row(more, rest);
  }
}

} // namespace

std::string log_report::upstream_line() const {
  using detail::plural;
  const auto retries =
      std::to_string(upstream_retries_) + (upstream_retries_ == 1 ? " retry" : " retries");
  return "upstream (icapkit proxy): " + retries + ", " + plural(upstream_errors_, "error") +
         " answered 502/504, in " + plural(upstream_records_, "record");
}

void log_report::write_human(std::ostream& out) const {
  using namespace detail;
  out << "icapkit report: " << plural(records_, "record") << " in " << plural(files_.size(), "file")
      << ", " << plural(request_logs_, "ICAP request") << ", " << failed_ << " failed";
  if (unreadable_ > 0) {
    out << ", " << plural(unreadable_, "unreadable line");
  }
  if (served_ > 0) {
    out << ", " << plural(served_, "icapkit serve transaction");
  }
  out << '\n';
  const auto percentiles = [&out](const histogram& h) {
    out << " (ms): min " << human_ms(us_to_ms(h.min()));
    for (const auto& [name, p] : reported_percentiles) {
      out << "  " << name << ' ' << human_ms(us_to_ms(h.percentile(p)));
    }
    out << "  max " << human_ms(us_to_ms(h.max())) << "  mean " << human_ms(h.mean() / 1000.0)
        << '\n';
  };
  if (latency_us_.count() > 0) {
    out << "latency of " << plural(latency_us_.count(), "ICAP request");
    percentiles(latency_us_);
  }
  if (served_time_us_.count() > 0) {
    out << "icapkit serve: time to answer " << plural(served_time_us_.count(), "transaction");
    percentiles(served_time_us_);
  }
  if (upstream_records_ > 0) {
    out << upstream_line() << '\n';
  }
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (tables_[i].empty()) {
      continue;
    }
    const auto whole = table_whole(i);
    write_human_table(out, table_heading(tables[i], whole), tables_[i], whole);
  }
  if (!slowest_.empty()) {
    out << "\nslowest (highest ICAP request latency)\n";
    // Highest first, so the first entry has the most digits.
    const auto width = std::to_string(slowest_.front().latency_ms.value_or(0)).size();
    for (const auto& entry : slowest_) {
      out << listed_line(entry, width);
    }
  }
  if (failed_ > 0) {
    out << "\nfailed (" << failed_ << ")\n";
    for (const auto& entry : failed_list_) {
      out << listed_line(entry, 0);
    }
    if (failed_ > failed_list_.size()) {
      out << "  ... and " << failed_ - failed_list_.size() << " more\n";
    }
  }
  if (unreadable_ > 0) {
    out << "\nunreadable lines (" << unreadable_ << ")\n";
    for (const auto& bad : unreadable_list_) {
      out << "  " << printable(bad.file) << ':' << bad.line << ": " << printable(bad.message)
          << '\n';
    }
    if (unreadable_ > unreadable_list_.size()) {
      out << "  ... and " << unreadable_ - unreadable_list_.size() << " more\n";
    }
  }
}

namespace {

constexpr std::string_view html_style =
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;"
    "color:#1d232b}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin:1.6em 0 .4em}"
    "p.summary{color:#4a5564;margin-top:0}"
    "table{border-collapse:collapse;margin-bottom:.5em}"
    "th,td{padding:3px 12px 3px 0;text-align:left;vertical-align:top;border-bottom:1px solid "
    "#e3e7ec}"
    "th{font-weight:600;color:#4a5564}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.bar{width:8em}td.bar span{display:block;height:.7em;background:#6b8fbf;min-width:1px}"
    ".grid{display:flex;flex-wrap:wrap;gap:0 3em}"
    ".ICAP_PASSED{color:#26734d}.ICAP_MODIFIED{color:#8a6100}.ICAP_BLOCKED{color:#b3261e}"
    ".ICAP_FAILED{color:#b3261e;font-weight:600}.ICAP_DISABLED{color:#6b7480}"
    "code{font-size:.95em}";

// A class name only for the action strings the reader accepts, never for other log text.
std::string action_class(std::string_view action) {
  return log::from_string<log::icap_action>(action) ? " class=\"" + std::string(action) + "\""
                                                    : std::string();
}

void write_html_table(std::ostream& out, std::string_view heading, const count_table& table,
                      std::uint64_t whole) {
  out << "<section><h2>" << codec::html_escaped(heading) << "</h2>\n<table>\n";
  for (const auto& [value, n] : detail::sorted_rows(table)) {
    const auto share = detail::percent(n, whole);
    out << "<tr><td" << action_class(value) << ">" << codec::html_escaped(value)
        << "</td><td class=\"n\">" << n << "</td><td class=\"n\">" << share
        << "</td><td class=\"bar\"><span style=\"width:" << share << "\"></span></td></tr>\n";
  }
  out << "</table></section>\n";
}

void write_html_listed(std::ostream& out, const std::vector<listed_record>& entries,
                       bool with_latency) {
  out << "<table>\n<tr>" << (with_latency ? "<th>latency ms</th>" : "")
      << "<th>where</th><th>time</th><th>source</th><th>action</th><th>ICAP</th><th>HTTP</th>"
         "<th>request</th><th>detail</th></tr>\n";
  const auto optional_number = [](const auto& value) {
    return value ? std::to_string(*value) : std::string();
  };
  for (const auto& e : entries) {
    out << "<tr>";
    if (with_latency) {
      out << "<td class=\"n\">" << optional_number(e.latency_ms) << "</td>";
    }
    out << "<td><code>" << codec::html_escaped(e.file) << ':' << e.line << "</code></td><td>"
        << codec::html_escaped(e.timestamp) << "</td><td>" << codec::html_escaped(e.source)
        << "</td><td" << action_class(e.action) << ">" << codec::html_escaped(e.action)
        << "</td><td class=\"n\">" << optional_number(e.icap_status) << "</td><td class=\"n\">"
        << optional_number(e.http_status) << "</td><td>" << codec::html_escaped(e.request)
        << "</td><td>" << codec::html_escaped(e.detail) << "</td></tr>\n";
  }
  out << "</table>\n";
}

} // namespace

void log_report::write_html(std::ostream& out) const {
  using namespace detail;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>icapkit report</title>\n<style>" << html_style << "</style>\n</head>\n<body>\n"
      << "<h1>icapkit report</h1>\n<p class=\"summary\">" << plural(records_, "record") << " in "
      << plural(files_.size(), "file") << ", " << plural(request_logs_, "ICAP request") << ", "
      << failed_ << " failed, " << plural(unreadable_, "unreadable line")
      << (served_ > 0 ? ", " + plural(served_, "icapkit serve transaction") : std::string())
      << "</p>\n";
  if (latency_us_.count() > 0) {
    out << "<h2>Latency of " << plural(latency_us_.count(), "ICAP request")
        << " (ms)</h2>\n<table>\n<tr><th>min</th>";
    for (const auto& [name, p] : reported_percentiles) {
      out << "<th>" << name << "</th>";
    }
    out << "<th>max</th><th>mean</th></tr>\n<tr><td class=\"n\">"
        << human_ms(us_to_ms(latency_us_.min())) << "</td>";
    for (const auto& [name, p] : reported_percentiles) {
      out << "<td class=\"n\">" << human_ms(us_to_ms(latency_us_.percentile(p))) << "</td>";
    }
    out << "<td class=\"n\">" << human_ms(us_to_ms(latency_us_.max())) << "</td><td class=\"n\">"
        << human_ms(latency_us_.mean() / 1000.0) << "</td></tr>\n</table>\n";
  }
  if (upstream_records_ > 0) {
    out << "<p>" << codec::html_escaped(upstream_line()) << "</p>\n";
  }
  out << "<div class=\"grid\">\n";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (!tables_[i].empty()) {
      const auto whole = table_whole(i);
      write_html_table(out, table_heading(tables[i], whole), tables_[i], whole);
    }
  }
  out << "</div>\n";
  if (!slowest_.empty()) {
    out << "<h2>Slowest (highest ICAP request latency)</h2>\n";
    write_html_listed(out, slowest_, true);
  }
  if (failed_ > 0) {
    out << "<h2>Failed (" << failed_ << ")</h2>\n";
    write_html_listed(out, failed_list_, false);
    if (failed_ > failed_list_.size()) {
      out << "<p>... and " << failed_ - failed_list_.size() << " more</p>\n";
    }
  }
  out << "<h2>Files</h2>\n<table>\n<tr><th>file</th><th>records</th><th>unreadable lines</th>"
      << (served_ > 0 ? "<th>serve transactions</th>" : "") << "</tr>\n";
  for (const auto& f : files_) {
    out << "<tr><td><code>" << codec::html_escaped(f.name) << "</code></td><td class=\"n\">"
        << f.records << "</td><td class=\"n\">" << f.unreadable << "</td>";
    if (served_ > 0) {
      out << "<td class=\"n\">" << f.served << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
  if (!unreadable_list_.empty()) {
    out << "<h2>Unreadable lines</h2>\n<table>\n";
    for (const auto& bad : unreadable_list_) {
      out << "<tr><td><code>" << codec::html_escaped(bad.file) << ':' << bad.line
          << "</code></td><td>" << codec::html_escaped(bad.message) << "</td></tr>\n";
    }
    out << "</table>\n";
  }
  out << "</body>\n</html>\n";
}

} // namespace icapkit::load
