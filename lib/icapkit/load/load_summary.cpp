#include "icapkit/load/load_summary.hpp"

#include "icapkit/load/duration.hpp"
#include "icapkit/load/prometheus.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace icapkit::load {

namespace {

constexpr std::string_view format_name = "icapkit-load-summary";
constexpr int format_version = 2;
// Version 1 counted every reset as "reset", with no split by connection.
constexpr int unsplit_resets_version = 1;

// The plain counters, by their JSON names, so to_json and from_json cannot disagree.
template <typename Counts, typename F>
void for_each_counter(Counts& c, F&& f) {
  f("requests", c.requests);
  f("passed", c.passed);
  f("blocked", c.blocked);
  f("modified", c.modified);
  f("failed", c.failed);
  f("timeouts", c.timeouts);
  f("slow", c.slow);
  f("got_100", c.got_100);
  f("decided_in_preview", c.decided_in_preview);
  f("preview_204", c.preview_204);
  f("bytes_sent", c.bytes_sent);
  f("late", c.late);
  f("dropped", c.dropped);
}

nlohmann::json counts_to_json(const load_counts& counts) {
  nlohmann::json j = nlohmann::json::object();
  for_each_counter(counts, [&](const char* name, std::uint64_t value) { j[name] = value; });
  nlohmann::json errors = nlohmann::json::object();
  for (const auto kind : all_error_kinds) {
    errors[std::string(to_string(kind))] = counts.errors[static_cast<std::size_t>(kind)];
  }
  j["errors"] = std::move(errors);
  nlohmann::json phases = nlohmann::json::object();
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    phases[std::string(timeout_phase_names[i])] = counts.timeouts_by_phase[i];
  }
  j["timeouts_by_phase"] = std::move(phases);
  return j;
}

bool read_uint(const nlohmann::json& j, const std::string& name, std::uint64_t& out,
               std::string& error) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned()) {
    error = name + ": missing or not a whole number";
    return false;
  }
  out = it->get<std::uint64_t>();
  return true;
}

bool errors_from_json(const nlohmann::json& errors, int version, load_counts& counts,
                      std::string& error) {
  for (const auto kind : all_error_kinds) {
    std::string name(to_string(kind));
    if (version == unsplit_resets_version && kind == error_kind::reset_reused_connection) {
      continue; // stays 0
    }
    if (version == unsplit_resets_version && kind == error_kind::reset_new_connection) {
      name = "reset";
    }
    if (!read_uint(errors, name, counts.errors[static_cast<std::size_t>(kind)], error)) {
      error = "counts.errors." + error;
      return false;
    }
  }
  return true;
}

bool counts_from_json(const nlohmann::json& j, int version, load_counts& counts,
                      std::string& error) {
  if (!j.is_object()) {
    error = "counts: not an object";
    return false;
  }
  bool ok = true;
  for_each_counter(counts, [&](const char* name, std::uint64_t& value) {
    if (ok && !read_uint(j, name, value, error)) {
      error = "counts." + error;
      ok = false;
    }
  });
  const auto errors = j.find("errors");
  if (!ok || errors == j.end() || !errors->is_object()) {
    error = ok ? "counts.errors: missing or not an object" : error;
    return false;
  }
  if (!errors_from_json(*errors, version, counts, error)) {
    return false;
  }
  const auto phases = j.find("timeouts_by_phase");
  if (phases == j.end() || !phases->is_object()) {
    error = "counts.timeouts_by_phase: missing or not an object";
    return false;
  }
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    if (!read_uint(*phases, std::string(timeout_phase_names[i]), counts.timeouts_by_phase[i],
                   error)) {
      error = "counts.timeouts_by_phase." + error;
      return false;
    }
  }
  return true;
}

bool histogram_member(const nlohmann::json& j, const std::string& name, histogram& out,
                      std::string& error) {
  const auto it = j.find(name);
  if (it == j.end()) {
    error = "histograms." + name + ": missing";
    return false;
  }
  std::string problem;
  auto h = histogram::from_json(*it, problem);
  if (!h) {
    error = "histograms." + name + ": " + problem;
    return false;
  }
  out = std::move(*h);
  return true;
}

bool series_from_json(const nlohmann::json& j, std::vector<second_counts>& series,
                      std::string& error) {
  if (!j.is_array()) {
    error = "series: missing or not an array";
    return false;
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& row = j[i];
    if (!row.is_array() || row.size() != 2 || !row[0].is_number_unsigned() ||
        !row[1].is_number_unsigned()) {
      error = "series[" + std::to_string(i) + "]: expected [requests, errors]";
      return false;
    }
    series.push_back({row[0].get<std::uint64_t>(), row[1].get<std::uint64_t>()});
  }
  return true;
}

bool measurements_from_json(const nlohmann::json& j, int version, load_measurements& m,
                            std::string& error) {
  const auto histograms = j.find("histograms");
  if (histograms == j.end() || !histograms->is_object()) {
    error = "histograms: missing or not an object";
    return false;
  }
  const auto counts = j.find("counts");
  if (!histogram_member(*histograms, "total", m.total, error) ||
      !histogram_member(*histograms, "total_uncorrected", m.total_uncorrected, error) ||
      !histogram_member(*histograms, "options", m.options, error) ||
      !histogram_member(*histograms, "connect", m.connect, error) ||
      !histogram_member(*histograms, "tls", m.tls, error) ||
      !histogram_member(*histograms, "preview_decision", m.preview_decision, error) ||
      !counts_from_json(counts == j.end() ? nlohmann::json() : *counts, version, m.counts, error) ||
      !series_from_json(j.contains("series") ? j["series"] : nlohmann::json(), m.series, error)) {
    return false;
  }
  std::uint64_t elapsed_us = 0;
  if (!read_uint(j, "elapsed_us", elapsed_us, error)) {
    return false;
  }
  m.elapsed = std::chrono::microseconds{static_cast<std::int64_t>(elapsed_us)};
  return true;
}

bool string_member(const nlohmann::json& j, const char* name, std::string& out,
                   std::string& error) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    error = std::string(name) + ": missing or not a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool thresholds_from_json(const nlohmann::json& j, load_summary& s, std::string& error) {
  const auto list = j.find("thresholds");
  if (list == j.end() || !list->is_array()) {
    error = "thresholds: missing or not an array";
    return false;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& t = (*list)[i];
    if (!t.is_object() || !t.contains("text") || !t["text"].is_string() || !t.contains("passed") ||
        !t["passed"].is_boolean() || !t.contains("observed") || !t["observed"].is_string()) {
      error = "thresholds[" + std::to_string(i) + "]: expected {text, passed, observed}";
      return false;
    }
    s.thresholds.push_back(t["text"].get<std::string>());
    s.threshold_results.push_back(
        {t["text"].get<std::string>(), t["passed"].get<bool>(), t["observed"].get<std::string>()});
  }
  return true;
}

// "interrupted", "signal", "abandoned": absent in summaries written before they existed.
bool interruption_from_json(const nlohmann::json& j, load_summary& s, std::string& error) {
  const auto flag = j.find("interrupted");
  if (flag == j.end()) {
    return true;
  }
  if (!flag->is_boolean()) {
    error = "interrupted: not a boolean";
    return false;
  }
  if (!flag->get<bool>()) {
    return true;
  }
  if (!string_member(j, "signal", s.interrupted_by, error) ||
      !read_uint(j, "abandoned", s.abandoned, error)) {
    return false;
  }
  if (s.interrupted_by.empty()) {
    error = "signal: empty for an interrupted run";
    return false;
  }
  return true;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string us(std::uint64_t value) {
  return format_duration(std::chrono::microseconds{static_cast<std::int64_t>(value)});
}

void write_percentiles(std::ostream& out, const char* label, const histogram& h) {
  out << "  " << label;
  if (h.count() == 0) {
    out << " no samples\n";
    return;
  }
  static constexpr std::pair<const char*, double> points[] = {
      {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};
  for (const auto& [name, p] : points) {
    out << " " << name << " " << us(h.percentile(p));
  }
  out << " max " << us(h.max()) << "\n";
}

} // namespace

void load_counts::merge(const load_counts& other) noexcept {
  requests += other.requests;
  passed += other.passed;
  blocked += other.blocked;
  modified += other.modified;
  failed += other.failed;
  timeouts += other.timeouts;
  slow += other.slow;
  got_100 += other.got_100;
  decided_in_preview += other.decided_in_preview;
  preview_204 += other.preview_204;
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    timeouts_by_phase[i] += other.timeouts_by_phase[i];
  }
  bytes_sent += other.bytes_sent;
  late += other.late;
  dropped += other.dropped;
  for (std::size_t i = 0; i < error_kind_count; ++i) {
    errors[i] += other.errors[i];
  }
}

void load_measurements::merge(const load_measurements& other) {
  total.merge(other.total);
  total_uncorrected.merge(other.total_uncorrected);
  options.merge(other.options);
  connect.merge(other.connect);
  tls.merge(other.tls);
  preview_decision.merge(other.preview_decision);
  counts.merge(other.counts);
  if (series.size() < other.series.size()) {
    series.resize(other.series.size());
  }
  for (std::size_t i = 0; i < other.series.size(); ++i) {
    series[i].requests += other.series[i].requests;
    series[i].errors += other.series[i].errors;
  }
  elapsed = std::max(elapsed, other.elapsed);
}

double load_summary::achieved_rps() const noexcept {
  const auto seconds = static_cast<double>(measured.elapsed.count()) / 1e6;
  return seconds > 0 ? static_cast<double>(measured.counts.requests) / seconds : 0.0;
}

nlohmann::json load_summary::to_json() const {
  nlohmann::json j;
  j["format"] = format_name;
  j["version"] = format_version;
  j["tool_version"] = tool_version;
  j["started_at"] = started_at;
  j["model"] = model;
  j["target_rps"] = target_rps;
  j["achieved_rps"] = achieved_rps();
  j["shards"] = shards;
  j["settings"] = settings;
  j["elapsed_us"] = static_cast<std::uint64_t>(measured.elapsed.count());
  j["counts"] = counts_to_json(measured.counts);
  j["histograms"] = {{"total", measured.total.to_json()},
                     {"total_uncorrected", measured.total_uncorrected.to_json()},
                     {"options", measured.options.to_json()},
                     {"connect", measured.connect.to_json()},
                     {"tls", measured.tls.to_json()},
                     {"preview_decision", measured.preview_decision.to_json()}};
  nlohmann::json series = nlohmann::json::array();
  for (const auto& second : measured.series) {
    series.push_back({second.requests, second.errors});
  }
  j["series"] = std::move(series);
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    const bool known = i < threshold_results.size();
    results.push_back({{"text", thresholds[i]},
                       {"passed", known && threshold_results[i].passed},
                       {"observed", known ? threshold_results[i].observed : std::string()}});
  }
  j["thresholds"] = std::move(results);
  j["interrupted"] = interrupted();
  if (interrupted()) {
    j["signal"] = interrupted_by;
    j["abandoned"] = abandoned;
  }
  return j;
}

std::optional<load_summary> load_summary::from_json(const nlohmann::json& j, std::string& error) {
  if (!j.is_object() || j.value("format", std::string()) != format_name) {
    error = "format: not an icapkit load summary (expected \"format\": \"" +
            std::string(format_name) + "\")";
    return std::nullopt;
  }
  const auto version_member = j.find("version");
  if (version_member == j.end() || !version_member->is_number_integer() ||
      (*version_member != format_version && *version_member != unsplit_resets_version)) {
    error = "version: unsupported (expected " + std::to_string(unsplit_resets_version) + " or " +
            std::to_string(format_version) + ")";
    return std::nullopt;
  }
  const int version = version_member->get<int>();
  load_summary s;
  if (!string_member(j, "tool_version", s.tool_version, error) ||
      !string_member(j, "started_at", s.started_at, error) ||
      !string_member(j, "model", s.model, error) || !read_uint(j, "shards", s.shards, error)) {
    return std::nullopt;
  }
  if (!j.contains("target_rps") || !j["target_rps"].is_number()) {
    error = "target_rps: missing or not a number";
    return std::nullopt;
  }
  s.target_rps = j["target_rps"].get<double>();
  s.settings = j.value("settings", nlohmann::json::object());
  if (!measurements_from_json(j, version, s.measured, error) ||
      !thresholds_from_json(j, s, error) || !interruption_from_json(j, s, error)) {
    return std::nullopt;
  }
  return s;
}

load_summary merge(const load_summary& a, const load_summary& b) {
  load_summary merged = a;
  merged.measured.merge(b.measured);
  merged.shards = a.shards + b.shards;
  merged.target_rps = a.target_rps + b.target_rps;
  if (a.started_at.empty() || (!b.started_at.empty() && b.started_at < a.started_at)) {
    merged.started_at = b.started_at;
  }
  for (const auto& text : b.thresholds) {
    if (std::find(merged.thresholds.begin(), merged.thresholds.end(), text) ==
        merged.thresholds.end()) {
      merged.thresholds.push_back(text);
    }
  }
  merged.threshold_results.clear();
  if (!merged.interrupted()) {
    merged.interrupted_by = b.interrupted_by;
  }
  merged.abandoned = a.abandoned + b.abandoned;
  return merged;
}

threshold_inputs inputs_of(const load_summary& summary) {
  threshold_inputs in;
  const auto& m = summary.measured;
  in.latencies[latency_phase::total] = &m.total;
  const std::pair<latency_phase, const histogram*> phases[] = {
      {latency_phase::options, &m.options},
      {latency_phase::connect, &m.connect},
      {latency_phase::tls, &m.tls},
      {latency_phase::preview, &m.preview_decision}};
  for (const auto& [phase, h] : phases) {
    if (h->count() > 0) {
      in.latencies[phase] = h;
    }
  }
  in.requests = m.counts.requests;
  in.errors = m.counts.failed;
  in.errors_by_kind = m.counts.errors;
  in.timeouts = m.counts.timeouts;
  in.slow = m.counts.slow;
  in.requests_per_second = summary.achieved_rps();
  return in;
}

bool evaluate_thresholds(load_summary& summary) {
  summary.threshold_results.clear();
  const auto inputs = inputs_of(summary);
  bool all_passed = true;
  for (const auto& text : summary.thresholds) {
    std::string error;
    auto parsed = parse_threshold(text, error);
    auto result = parsed ? evaluate(*parsed, inputs) : threshold_result{text, false, error};
    all_passed = all_passed && result.passed;
    summary.threshold_results.push_back(std::move(result));
  }
  return all_passed;
}

void write_human(std::ostream& out, const load_summary& s) {
  const auto& m = s.measured;
  const auto& c = m.counts;
  const double seconds = static_cast<double>(m.elapsed.count()) / 1e6;
  if (s.interrupted()) {
    out << "interrupted by " << s.interrupted_by << ": stopped early, ";
    if (s.abandoned > 0) {
      out << s.abandoned << " requests in flight abandoned after the grace\n";
    } else {
      out << "every request in flight finished\n";
    }
  }
  out << "requests " << c.requests << " in " << fixed(seconds, 2)
      << " s: " << fixed(s.achieved_rps(), 1) << " req/s";
  if (s.target_rps > 0) {
    out << " (target " << fixed(s.target_rps, 1) << ")";
  }
  const double mb = static_cast<double>(c.bytes_sent) / 1e6;
  out << ", " << fixed(seconds > 0 ? mb / seconds : 0.0, 2) << " MB/s sent";
  if (s.shards > 1) {
    out << ", " << s.shards << " shards";
  }
  out << "\n  passed " << c.passed << "  blocked " << c.blocked << "  modified " << c.modified
      << "  failed " << c.failed << "\n  100-continue " << c.got_100 << "  decided in preview "
      << c.decided_in_preview << " (204: " << c.preview_204 << ")  timeouts " << c.timeouts
      << "  slow " << c.slow;
  if (s.model == "open") {
    out << "  late " << c.late << "  dropped " << c.dropped;
  }
  out << "\n";
  if (c.failed > 0) {
    out << "  errors:";
    for (const auto kind : all_error_kinds) {
      if (const auto n = c.errors[static_cast<std::size_t>(kind)]; n > 0) {
        out << " " << to_string(kind) << " " << n;
      }
    }
    out << "\n";
  }
  if (c.timeouts > 0) {
    out << "  timeouts by phase:";
    for (std::size_t i = 0; i < timeout_phase_count; ++i) {
      if (c.timeouts_by_phase[i] > 0) {
        out << " " << timeout_phase_names[i] << " " << c.timeouts_by_phase[i];
      }
    }
    out << "\n";
  }
  out << "latency (" << m.total.count() << " samples)\n";
  write_percentiles(out, "corrected:  ", m.total);
  write_percentiles(out, "uncorrected:", m.total_uncorrected);
  const std::pair<const char*, const histogram*> phases[] = {{"options:    ", &m.options},
                                                             {"connect:    ", &m.connect},
                                                             {"tls:        ", &m.tls},
                                                             {"preview:    ", &m.preview_decision}};
  for (const auto& [label, h] : phases) {
    if (h->count() > 0) {
      write_percentiles(out, label, *h);
    }
  }
  for (const auto& r : s.threshold_results) {
    out << "threshold " << r.text << ": " << (r.passed ? "passed" : "FAILED") << " (" << r.observed
        << ")\n";
  }
}

void write_prometheus(std::ostream& out, const load_summary& s) {
  prometheus_writer w(out);
  const auto& m = s.measured;
  const auto& c = m.counts;
  const char* latency_help = "ICAP exchange latency of icapkit load";
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "corrected"}},
                    m.total);
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "uncorrected"}},
                    m.total_uncorrected);
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "options"}},
                    m.options);
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "connect"}},
                    m.connect);
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "tls"}}, m.tls);
  w.write_histogram("icapkit_load_latency_seconds", latency_help, {{"latency", "preview"}},
                    m.preview_decision);
  w.write_counter("icapkit_load_requests_total", "requests completed (warm-up excluded)", {},
                  c.requests);
  const char* outcome_help = "requests by outcome";
  w.write_counter("icapkit_load_outcomes_total", outcome_help, {{"outcome", "passed"}}, c.passed);
  w.write_counter("icapkit_load_outcomes_total", outcome_help, {{"outcome", "blocked"}}, c.blocked);
  w.write_counter("icapkit_load_outcomes_total", outcome_help, {{"outcome", "modified"}},
                  c.modified);
  w.write_counter("icapkit_load_outcomes_total", outcome_help, {{"outcome", "failed"}}, c.failed);
  for (const auto kind : all_error_kinds) {
    w.write_counter("icapkit_load_errors_total", "failed requests by kind",
                    {{"kind", std::string(to_string(kind))}},
                    c.errors[static_cast<std::size_t>(kind)]);
  }
  w.write_counter("icapkit_load_timeouts_total", "requests that hit a deadline", {}, c.timeouts);
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    w.write_counter("icapkit_load_phase_timeouts_total", "requests that hit a deadline, by phase",
                    {{"phase", std::string(timeout_phase_names[i])}}, c.timeouts_by_phase[i]);
  }
  w.write_counter("icapkit_load_preview_204_total", "204 answers to a preview", {}, c.preview_204);
  w.write_counter("icapkit_load_slow_total", "requests above the slow threshold", {}, c.slow);
  w.write_counter("icapkit_load_late_total", "open model: sent over 1 ms late", {}, c.late);
  w.write_counter("icapkit_load_dropped_total", "open model: not sent, in-flight cap", {},
                  c.dropped);
  w.write_counter("icapkit_load_body_bytes_sent_total", "body bytes sent", {}, c.bytes_sent);
  w.write_gauge("icapkit_load_achieved_rps", "requests per second achieved", {}, s.achieved_rps());
  w.write_gauge("icapkit_load_interrupted", "1 when a signal ended the run before its limits", {},
                s.interrupted() ? 1.0 : 0.0);
  w.write_gauge("icapkit_load_abandoned", "requests in flight abandoned after an interruption", {},
                static_cast<double>(s.abandoned));
}

} // namespace icapkit::load
