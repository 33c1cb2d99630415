#pragma once
// Pass/fail thresholds for `icapkit load --threshold` (DESIGN.md section 9): the run's exit code
// says whether every threshold held.
//
// Grammar (whitespace around the parts is allowed):
//   threshold := [PHASE "."] METRIC OP VALUE
//   PHASE     := connect | tls | options | preview | total      (latency metrics only; default
//   total) METRIC    := "p" N (a percentile 0..100: p50, p99, p99.9, p99.99) | max | mean (latency)
//              | errors | errors.KIND | timeouts | slow                              (outcomes)
//              | rps                                                      (requests per second)
//   OP        := < | <= | > | >=
//   VALUE     := a duration for latency metrics: NUMBER [us | ms | s | m | h], a bare number is ms
//              | NUMBER "%" (of all requests) or a whole count, for errors, timeouts and slow
//              | NUMBER for rps
//   NUMBER    := digits ["." digits]
//   KIND      := an error_kind's name (refused, reset_new_connection, reset_reused_connection,
//                timeout, overload, protocol, other): only the failures of that kind
// Examples: p99<200ms, p50<=20ms, connect.p99<10ms, max<2s, errors<0.1%, errors<=5, rps>500,
// errors.reset_reused_connection<1.
#include "icapkit/load/error_kind.hpp"
#include "icapkit/load/histogram.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::load {

enum class latency_phase { connect, tls, options, preview, total };
std::string_view to_string(latency_phase phase) noexcept;

enum class threshold_metric { percentile, max, mean, errors, timeouts, slow, rps };
enum class comparison { less, less_equal, greater, greater_equal };
std::string_view to_string(comparison op) noexcept;

struct threshold {
  std::string text;  // as given, trimmed: reports quote it
  std::string label; // the left side as given, e.g. "p99" or "connect.p99.9"
  latency_phase phase = latency_phase::total;
  threshold_metric metric = threshold_metric::percentile;
  double percentile = 0; // for threshold_metric::percentile
  // errors.KIND: threshold_metric::errors counts only the failures of this kind.
  std::optional<error_kind> kind;
  comparison op = comparison::less;
  // Microseconds for latency metrics, requests per second for rps, a count or a percentage (see
  // is_percentage) for errors, timeouts and slow.
  double value = 0;
  bool is_percentage = false;
  friend bool operator==(const threshold&, const threshold&) = default;
};

// Parses one expression. On failure returns nullopt and sets `error` to a message that quotes
// the expression and names the bad part:
// "--threshold 'p99<>200ms': expected < <= > >= after p99".
std::optional<threshold> parse_threshold(std::string_view text, std::string& error);

// What a run measured. Histogram pointers may be null or absent for phases that did not happen
// (no TLS, no OPTIONS); the caller decides whether timeouts also count as errors.
struct threshold_inputs {
  std::map<latency_phase, const histogram*> latencies;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::array<std::uint64_t, error_kind_count> errors_by_kind{}; // by error_kind
  std::uint64_t timeouts = 0;
  std::uint64_t slow = 0;
  double requests_per_second = 0;
};

struct threshold_result {
  std::string text;     // the threshold as given
  bool passed = false;  // false too when there was nothing to measure (no samples, no requests)
  std::string observed; // "p99 = 183.2 ms", "errors = 0.12% (12 of 10000)", "tls.p99: no samples"
  friend bool operator==(const threshold_result&, const threshold_result&) = default;
};

threshold_result evaluate(const threshold& t, const threshold_inputs& inputs);
std::vector<threshold_result> evaluate(const std::vector<threshold>& thresholds,
                                       const threshold_inputs& inputs);

} // namespace icapkit::load
