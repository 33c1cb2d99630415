#pragma once
// What a load run measured (counts, histograms, a per-second series) and the `--json` summary
// built from it. Summaries of the shards of one run merge exactly (`icapkit report --merge`):
// histograms and counts add, the series adds second by second, percentiles are recomputed from
// the merged histograms and never averaged (DESIGN.md section 9).
#include "icapkit/load/error_kind.hpp"
#include "icapkit/load/histogram.hpp"
#include "icapkit/load/thresholds.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::load {

// Where a timed-out request was when its deadline fired (client::exchange_phase, same order).
inline constexpr std::size_t timeout_phase_count = 7;
inline constexpr std::array<std::string_view, timeout_phase_count> timeout_phase_names = {
    "options", "pool", "connect", "tls", "send", "preview", "response"};

struct load_counts {
  std::uint64_t requests = 0; // completed and counted (warm-up excluded)
  std::uint64_t passed = 0;
  std::uint64_t blocked = 0;
  std::uint64_t modified = 0;
  std::uint64_t failed = 0;                             // the sum of errors
  std::array<std::uint64_t, error_kind_count> errors{}; // by error_kind
  std::uint64_t timeouts = 0;                           // a deadline fired (also an error)
  std::uint64_t slow = 0;                               // above the slow threshold
  std::uint64_t got_100 = 0;                            // a 100 Continue arrived
  std::uint64_t decided_in_preview = 0;                 // answered during the preview
  std::uint64_t preview_204 = 0;                        // of those, a 204 (no 100 Continue)
  std::array<std::uint64_t, timeout_phase_count> timeouts_by_phase{}; // of `timeouts`
  std::uint64_t bytes_sent = 0; // body bytes, preview included
  std::uint64_t late = 0;       // open model: sent more than 1 ms after the intended time
  std::uint64_t dropped = 0;    // open model: not sent, the in-flight cap was reached
  void merge(const load_counts& other) noexcept;
  friend bool operator==(const load_counts&, const load_counts&) = default;
};

// One second of the measured phase (index = whole seconds since its start, by completion time).
struct second_counts {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  friend bool operator==(const second_counts&, const second_counts&) = default;
};

struct load_measurements {
  // Latency from the intended send time (open model; same as uncorrected for the closed model).
  histogram total;
  histogram total_uncorrected; // from the actual send time
  histogram options;           // OPTIONS round trips, when measured
  histogram connect;           // TCP connects (with name resolution) of new connections
  histogram tls;               // TLS handshakes of new icaps:// connections
  histogram preview_decision;  // the preview's end to the server's 100, 204 or final answer
  load_counts counts;
  std::vector<second_counts> series;
  std::chrono::microseconds elapsed{0}; // measured phase: start to last completion
  void merge(const load_measurements& other);
  friend bool operator==(const load_measurements&, const load_measurements&) = default;
};

struct load_summary {
  std::string tool_version;
  std::string started_at; // RFC 3339, start of the measured phase (empty when unknown)
  std::string model;      // "open" or "closed"
  double target_rps = 0;  // open model: the configured (final) rate; 0 for closed
  std::uint64_t shards = 1;
  nlohmann::json settings = nlohmann::json::object(); // echo of what the run was asked to do
  load_measurements measured;
  std::vector<std::string> thresholds; // as given
  std::vector<threshold_result> threshold_results;
  // A signal ended the run early ("SIGINT", "SIGTERM"; empty: it ran to its limits), with the
  // requests still in flight when the grace ran out (abandoned, not counted).
  std::string interrupted_by;
  std::uint64_t abandoned = 0;
  bool interrupted() const noexcept { return !interrupted_by.empty(); }

  double achieved_rps() const noexcept;
  // {"format":"icapkit-load-summary","version":2,...,"interrupted":false,...}; histograms via
  // histogram::to_json; counts.errors has one member per error_kind. "signal" and "abandoned"
  // are written only for an interrupted run; from_json takes the three as absent (not
  // interrupted) in older summaries. from_json also reads version 1, written before resets were
  // split by connection: its errors.reset is read as reset_new_connection (that client retried
  // a reused connection that failed before any answer on a new one, so its resets were on new
  // connections, but for a reused one reset in mid-answer).
  nlohmann::json to_json() const;
  // Validates; on failure returns nullopt and names the member in `error`.
  static std::optional<load_summary> from_json(const nlohmann::json& j, std::string& error);
  friend bool operator==(const load_summary&, const load_summary&) = default;
};

// a + b: measurements merged exactly; shards and target_rps add; thresholds are the union (a's
// first); a's settings, version and model are kept, the earlier started_at. threshold_results
// are cleared: evaluate them again on the merged numbers (evaluate_thresholds). The merge is
// interrupted when either part was (a's signal first); abandoned requests add.
load_summary merge(const load_summary& a, const load_summary& b);

// The numbers --threshold checks: total (corrected), options, connect, tls and preview
// latencies, errors, timeouts, slow, achieved rps.
threshold_inputs inputs_of(const load_summary& summary);
// Parses summary.thresholds and fills threshold_results; a text that no longer parses fails
// with the parser's message. Returns true when every threshold passed.
bool evaluate_thresholds(load_summary& summary);

// The human summary: an "interrupted by SIGINT" line first when it was, requests, rps achieved
// vs target, MB/s, outcomes, errors by kind, corrected and uncorrected percentiles (p50 p90 p99
// p99.9 p99.99 max), threshold results.
void write_human(std::ostream& out, const load_summary& summary);
// Prometheus text: icapkit_load_latency_seconds{latency="corrected"|"uncorrected"|"options"},
// icapkit_load_requests_total, icapkit_load_outcomes_total{outcome}, icapkit_load_errors_total
// {kind}, icapkit_load_*_total for timeouts, slow, late, dropped, bytes_sent, and the gauge
// icapkit_load_interrupted (1 when a signal ended the run early).
void write_prometheus(std::ostream& out, const load_summary& summary);

} // namespace icapkit::load
