#include "icapkit/load/thresholds.hpp"

#include "icapkit/load/duration.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace icapkit::load {

namespace {

constexpr std::array<std::pair<std::string_view, latency_phase>, 5> phases{{
    {"connect", latency_phase::connect},
    {"tls", latency_phase::tls},
    {"options", latency_phase::options},
    {"preview", latency_phase::preview},
    {"total", latency_phase::total},
}};

constexpr std::array<std::pair<std::string_view, threshold_metric>, 6> named_metrics{{
    {"max", threshold_metric::max},
    {"mean", threshold_metric::mean},
    {"errors", threshold_metric::errors},
    {"timeouts", threshold_metric::timeouts},
    {"slow", threshold_metric::slow},
    {"rps", threshold_metric::rps},
}};

bool is_space(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_latency(threshold_metric m) {
  return m == threshold_metric::percentile || m == threshold_metric::max ||
         m == threshold_metric::mean;
}

bool is_operator_char(char c) {
  return c == '<' || c == '>' || c == '=';
}

// digits ["." digits], the whole text; nullopt otherwise (no sign, no exponent, no "1.").
std::optional<double> read_number(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) {
    ++i;
  }
  const std::size_t whole = i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) {
      ++i;
    }
    if (i == whole + 1) {
      return std::nullopt;
    }
  }
  if (whole == 0 || i != s.size()) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

constexpr std::string_view errors_of_kind = "errors.";

// Fills phase, metric and percentile from the left side ("connect.p99.9"), or metric and kind
// ("errors.refused"); returns the problem.
std::string read_metric(std::string_view left, threshold& t) {
  if (left.starts_with(errors_of_kind)) {
    const auto name = left.substr(errors_of_kind.size());
    t.kind = error_kind_from_string(name);
    if (!t.kind) {
      return "unknown error kind '" + std::string(name) + "' (" + std::string(error_kind_names()) +
             ")";
    }
    t.metric = threshold_metric::errors;
    return {};
  }
  const auto dot = left.find('.');
  bool has_phase = false;
  if (dot != std::string_view::npos && dot > 0 && is_letter(left[0]) &&
      !(left[0] == 'p' && dot > 1 && is_digit(left[1]))) {
    const auto prefix = left.substr(0, dot);
    const auto phase = std::find_if(phases.begin(), phases.end(),
                                    [&](const auto& p) { return p.first == prefix; });
    if (phase == phases.end()) {
      return "unknown phase '" + std::string(prefix) + "' (connect, tls, options, preview, total)";
    }
    t.phase = phase->second;
    has_phase = true;
    left.remove_prefix(dot + 1);
  }
  const auto named = std::find_if(named_metrics.begin(), named_metrics.end(),
                                  [&](const auto& m) { return m.first == left; });
  if (named != named_metrics.end()) {
    t.metric = named->second;
  } else if (left.size() > 1 && left[0] == 'p') {
    const auto p = read_number(left.substr(1));
    if (!p || *p > 100.0) {
      return "bad percentile '" + std::string(left) + "' (p0 to p100, e.g. p99.9)";
    }
    t.metric = threshold_metric::percentile;
    t.percentile = *p;
  } else {
    return "unknown metric '" + std::string(left) +
           "' (pN, max, mean, errors, errors.KIND, timeouts, slow, rps)";
  }
  if (has_phase && !is_latency(t.metric)) {
    return "a phase applies only to latency metrics (pN, max, mean), not " + std::string(left);
  }
  return {};
}

// Fills value and is_percentage from the right side; returns the problem.
std::string read_value(std::string_view right, threshold& t) {
  if (right.empty()) {
    return "expected a value after " + std::string(to_string(t.op));
  }
  if (is_latency(t.metric)) {
    std::string problem;
    const auto us = detail::read_duration(right, 1'000, problem);
    if (!us) {
      return "bad duration '" + std::string(right) + "' for " + t.label + ": " + problem;
    }
    t.value = static_cast<double>(us->count());
    return {};
  }
  if (t.metric == threshold_metric::rps) {
    const auto n = read_number(right);
    if (!n) {
      return "expected a number of requests per second, not '" + std::string(right) + "'";
    }
    t.value = *n;
    return {};
  }
  if (right.back() == '%') {
    const auto n = read_number(right.substr(0, right.size() - 1));
    if (!n || *n > 100.0) {
      return "bad percentage '" + std::string(right) + "' for " + t.label + " (0% to 100%)";
    }
    t.value = *n;
    t.is_percentage = true;
    return {};
  }
  const auto n = read_number(right);
  if (!n || right.find('.') != std::string_view::npos) {
    return "expected a whole count or a percentage (e.g. 5 or 0.1%) for " + t.label + ", not '" +
           std::string(right) + "'";
  }
  t.value = *n;
  return {};
}

} // namespace

std::string_view to_string(latency_phase phase) noexcept {
  for (const auto& [name, value] : phases) {
    if (value == phase) {
      return name;
    }
  }
  return "total";
}

std::string_view to_string(comparison op) noexcept {
  switch (op) {
  case comparison::less:
    return "<";
  case comparison::less_equal:
    return "<=";
  case comparison::greater:
    return ">";
  case comparison::greater_equal:
    return ">=";
  }
  return "<";
}

std::optional<threshold> parse_threshold(std::string_view text, std::string& error) {
  threshold t;
  t.text = std::string(trim(text));
  const std::string_view whole = t.text;
  const auto fail = [&](const std::string& problem) {
    error = "--threshold '" + t.text + "': " + problem;
    return std::nullopt;
  };
  const auto op_at = whole.find_first_of("<>=");
  t.label = std::string(trim(whole.substr(0, std::min(op_at, whole.size()))));
  if (t.label.empty()) {
    return fail("expected a metric (pN, max, mean, errors, errors.KIND, timeouts, slow, rps) "
                "before the comparison");
  }
  if (const auto problem = read_metric(t.label, t); !problem.empty()) {
    return fail(problem);
  }
  // One of < <= > >=, not followed by another operator character ("<>", "<<", "==").
  const bool has_op = op_at != std::string_view::npos && whole[op_at] != '=';
  const bool has_equal = has_op && op_at + 1 < whole.size() && whole[op_at + 1] == '=';
  const std::size_t value_at = has_op ? op_at + (has_equal ? 2 : 1) : whole.size();
  if (!has_op || (value_at < whole.size() && is_operator_char(whole[value_at]))) {
    return fail("expected < <= > >= after " + t.label);
  }
  t.op = whole[op_at] == '<' ? (has_equal ? comparison::less_equal : comparison::less)
                             : (has_equal ? comparison::greater_equal : comparison::greater);
  if (const auto problem = read_value(trim(whole.substr(value_at)), t); !problem.empty()) {
    return fail(problem);
  }
  return t;
}

namespace {

bool holds(double observed, comparison op, double limit) {
  switch (op) {
  case comparison::less:
    return observed < limit;
  case comparison::less_equal:
    return observed <= limit;
  case comparison::greater:
    return observed > limit;
  case comparison::greater_equal:
    return observed >= limit;
  }
  return false;
}

// Fixed point with at most `decimals` decimals, trailing zeros dropped: 0.12, 512.3, 100.
std::string format_number(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  std::string out(buffer.data());
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') {
      out.pop_back();
    }
    if (out.back() == '.') {
      out.pop_back();
    }
  }
  return out;
}

threshold_result evaluate_latency(const threshold& t, const threshold_inputs& inputs) {
  const auto it = inputs.latencies.find(t.phase);
  const histogram* h = it == inputs.latencies.end() ? nullptr : it->second;
  if (h == nullptr || h->count() == 0) {
    return {t.text, false, t.label + ": no samples"};
  }
  double observed = 0;
  switch (t.metric) {
  case threshold_metric::max:
    observed = static_cast<double>(h->max());
    break;
  case threshold_metric::mean:
    observed = h->mean();
    break;
  default:
    observed = static_cast<double>(h->percentile(t.percentile));
    break;
  }
  const auto shown = std::chrono::microseconds{static_cast<std::int64_t>(std::llround(observed))};
  return {t.text, holds(observed, t.op, t.value), t.label + " = " + format_duration(shown)};
}

threshold_result evaluate_outcome(const threshold& t, const threshold_inputs& inputs) {
  const std::uint64_t n = t.kind ? inputs.errors_by_kind[static_cast<std::size_t>(*t.kind)]
                          : t.metric == threshold_metric::errors   ? inputs.errors
                          : t.metric == threshold_metric::timeouts ? inputs.timeouts
                                                                   : inputs.slow;
  if (!t.is_percentage) {
    return {t.text, holds(static_cast<double>(n), t.op, t.value),
            t.label + " = " + std::to_string(n)};
  }
  if (inputs.requests == 0) {
    return {t.text, false, t.label + ": no requests"};
  }
  const double percent = 100.0 * static_cast<double>(n) / static_cast<double>(inputs.requests);
  return {t.text, holds(percent, t.op, t.value),
          t.label + " = " + format_number(percent, 3) + "% (" + std::to_string(n) + " of " +
              std::to_string(inputs.requests) + ")"};
}

} // namespace

threshold_result evaluate(const threshold& t, const threshold_inputs& inputs) {
  if (is_latency(t.metric)) {
    return evaluate_latency(t, inputs);
  }
  if (t.metric == threshold_metric::rps) {
    return {t.text, holds(inputs.requests_per_second, t.op, t.value),
            t.label + " = " + format_number(inputs.requests_per_second, 1)};
  }
  return evaluate_outcome(t, inputs);
}

std::vector<threshold_result> evaluate(const std::vector<threshold>& thresholds,
                                       const threshold_inputs& inputs) {
  std::vector<threshold_result> out;
  out.reserve(thresholds.size());
  for (const auto& t : thresholds) {
    out.push_back(evaluate(t, inputs));
  }
  return out;
}

} // namespace icapkit::load
