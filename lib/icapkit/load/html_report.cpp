#include "icapkit/load/html_report.hpp"

#include "icapkit/codec/html_escape.hpp"
#include "icapkit/load/duration.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icapkit::load {
namespace {

constexpr std::string_view page_style =
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;"
    "color:#1d232b;background:#fff}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.8em 0 .5em}"
    "h3{font-size:1em;margin:1em 0 .3em;color:#4a5564}"
    "p.lead{color:#4a5564;margin-top:0}p.none{color:#6b7480}"
    "table{border-collapse:collapse;margin-bottom:.5em}"
    "th,td{padding:3px 14px 3px 0;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #e3e7ec}"
    "th{font-weight:600;color:#4a5564}.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".cols{display:flex;flex-wrap:wrap;gap:0 3em;align-items:flex-start}"
    ".ok{color:#26734d;font-weight:600}.bad{color:#b3261e;font-weight:600}"
    "svg.plot{display:block;max-width:100%;height:auto;margin:.4em 0 .8em}"
    "svg text{font:12px system-ui,sans-serif;fill:#4a5564}"
    "svg .axis{stroke:#8a94a3}svg .gl{stroke:#e8ebef}"
    "code{font-size:.95em}footer{margin-top:3em;color:#6b7480;font-size:.9em}";

// ---- numbers ----------------------------------------------------------------------------------

// Fixed-point with a '.' whatever the locale. A value that is not finite (or too large to print)
// reads 0, so no coordinate or label can ever say NaN or inf.
std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::isfinite(value)
                             ? std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                             std::chars_format::fixed, decimals)
                             : std::to_chars_result{buffer.data(), std::errc::invalid_argument};
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("0");
}

// An SVG coordinate: one decimal, trailing zeros dropped.
std::string coord(double value) {
  auto text = fixed(value, 1);
  if (text.size() > 2 && text.ends_with(".0")) {
    text.resize(text.size() - 2);
  }
  return text == "-0" ? "0" : text;
}

double share_of(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  return fixed(share_of(part, whole) * 100.0, 1) + "%";
}

std::string duration_text(double microseconds) {
  if (!(microseconds < 9e18)) {
    return fixed(microseconds / 1e6, 0) + " s";
  }
  return format_duration(std::chrono::microseconds{std::llround(std::max(microseconds, 0.0))});
}

std::string duration_text(std::uint64_t microseconds) {
  return duration_text(static_cast<double>(microseconds));
}

double seconds_of(std::chrono::microseconds elapsed) {
  return static_cast<double>(elapsed.count()) / 1e6;
}

// Maps [d0, d1] onto [r0, r1]; an empty or inverted domain maps everything to r0.
double map_linear(double value, double d0, double d1, double r0, double r1) {
  if (!(d1 > d0)) {
    return r0;
  }
  return r0 + (value - d0) / (d1 - d0) * (r1 - r0);
}

// A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks up to `top`; never
// below `smallest` (whole seconds and whole requests have no ticks between them).
double nice_step(double top, double ticks, double smallest) {
  if (!(top > 0)) {
    return smallest;
  }
  const double raw = top / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  const double step = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10;
  return std::max(step * magnitude, smallest);
}

// ---- SVG primitives ---------------------------------------------------------------------------

// The plot area inside an SVG of width x height, margins for the axes' labels around it.
struct frame {
  double width = 720;
  double height = 300;
  double left = 70;
  double right = 20;
  double top = 40;
  double bottom = 46;
  double x0() const { return left; }
  double x1() const { return width - right; }
  double y_top() const { return top; }
  double y_base() const { return height - bottom; }
};

void open_svg(std::ostream& out, std::string_view id, std::string_view title, const frame& f) {
  out << "<svg class=\"plot\" id=\"" << id << "\" width=\"" << coord(f.width) << "\" height=\""
      << coord(f.height) << "\" viewBox=\"0 0 " << coord(f.width) << ' ' << coord(f.height)
      << "\" role=\"img\" aria-labelledby=\"" << id << "-title\"><title id=\"" << id << "-title\">"
      << codec::html_escaped(title) << "</title>\n";
}

void text_at(std::ostream& out, double x, double y, std::string_view text,
             std::string_view anchor = "start", std::string_view attributes = {}) {
  out << "<text x=\"" << coord(x) << "\" y=\"" << coord(y) << "\" text-anchor=\"" << anchor << '"'
      << attributes << '>' << codec::html_escaped(text) << "</text>\n";
}

void line_at(std::ostream& out, double x1, double y1, double x2, double y2, std::string_view cls) {
  out << "<line class=\"" << cls << "\" x1=\"" << coord(x1) << "\" y1=\"" << coord(y1) << "\" x2=\""
      << coord(x2) << "\" y2=\"" << coord(y2) << "\"/>\n";
}

void rect_at(std::ostream& out, double x, double y, double width, double height,
             std::string_view fill, std::string_view tooltip = {}) {
  out << "<rect x=\"" << coord(x) << "\" y=\"" << coord(y) << "\" width=\""
      << coord(std::max(width, 0.0)) << "\" height=\"" << coord(std::max(height, 0.0))
      << "\" fill=\"" << fill << '"';
  if (tooltip.empty()) {
    out << "/>\n";
    return;
  }
  out << "><title>" << codec::html_escaped(tooltip) << "</title></rect>\n";
}

void marker_at(std::ostream& out, double x, double y, std::string_view color,
               std::string_view tooltip) {
  out << "<circle cx=\"" << coord(x) << "\" cy=\"" << coord(y) << "\" r=\"3.5\" fill=\"" << color
      << "\"><title>" << codec::html_escaped(tooltip) << "</title></circle>\n";
}

void polyline_of(std::ostream& out, const std::vector<std::pair<double, double>>& points,
                 std::string_view color, bool dashed) {
  out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\""
      << (dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
  for (const auto& [x, y] : points) {
    out << coord(x) << ',' << coord(y) << ' ';
  }
  out << "\"/>\n";
}

struct legend_item {
  std::string_view label;
  std::string_view color;
  bool dashed = false;
};

// Swatches and names above the plot area, wrapped into rows 18 px apart.
void legend(std::ostream& out, const frame& f, const std::vector<legend_item>& items) {
  double x = f.x0();
  double y = 16;
  for (const auto& item : items) {
    const double item_width = 48 + 7.5 * static_cast<double>(item.label.size());
    if (x > f.x0() && x + item_width > f.x1()) {
      x = f.x0();
      y += 18;
    }
    out << "<g class=\"legend\"><line x1=\"" << coord(x) << "\" y1=\"" << coord(y) << "\" x2=\""
        << coord(x + 22) << "\" y2=\"" << coord(y) << "\" stroke=\"" << item.color
        << "\" stroke-width=\"3\"" << (item.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>";
    text_at(out, x + 28, y + 4, item.label);
    out << "</g>\n";
    x += item_width;
  }
}

void axis_titles(std::ostream& out, const frame& f, std::string_view x_title,
                 std::string_view y_title) {
  line_at(out, f.x0(), f.y_base(), f.x1(), f.y_base(), "axis");
  line_at(out, f.x0(), f.y_top(), f.x0(), f.y_base(), "axis");
  text_at(out, (f.x0() + f.x1()) / 2, f.height - 8, x_title, "middle");
  const auto middle = coord((f.y_top() + f.y_base()) / 2);
  out << "<text x=\"0\" y=\"0\" text-anchor=\"middle\" transform=\"translate(16 " << middle
      << ") rotate(-90)\">" << codec::html_escaped(y_title) << "</text>\n";
}

void no_data(std::ostream& out, const frame& f, std::string_view message) {
  text_at(out, (f.x0() + f.x1()) / 2, (f.y_top() + f.y_base()) / 2, message, "middle");
}

// ---- plot 1: latency percentiles per phase ----------------------------------------------------

struct phase_view {
  std::string_view key;   // data-phase attribute
  std::string_view label; // legend and table
  const histogram* h;
  std::string_view color;
  bool dashed;
};

std::vector<phase_view> sampled_phases(const load_measurements& m) {
  const std::array<phase_view, 6> all{{
      {"total", "total (corrected)", &m.total, "#2f6db3", false},
      {"total_uncorrected", "total (uncorrected)", &m.total_uncorrected, "#7fa6d6", true},
      {"options", "OPTIONS", &m.options, "#7a4fb3", false},
      {"connect", "connect", &m.connect, "#2b8a6e", false},
      {"tls", "TLS handshake", &m.tls, "#c77d1a", false},
      {"preview_decision", "preview decision", &m.preview_decision, "#b3467a", false},
  }};
  std::vector<phase_view> sampled;
  std::copy_if(all.begin(), all.end(), std::back_inserter(sampled),
               [](const phase_view& p) { return p.h->count() > 0; });
  return sampled;
}

constexpr std::array<std::pair<std::string_view, double>, 6> plotted_percentiles{
    {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}, {"max", 100}}};

// A log10 axis over whole decades of microseconds (values below 1 us are drawn at 1 us).
struct log_axis {
  double low = 0;  // exponent of the lowest decade
  double high = 1; // exponent of the highest decade
  double y(double microseconds, const frame& f) const {
    return map_linear(std::log10(std::max(microseconds, 1.0)), low, high, f.y_base(), f.y_top());
  }
};

log_axis axis_for(const std::vector<phase_view>& phases) {
  double lowest = 1e300;
  double highest = 1;
  for (const auto& p : phases) {
    lowest = std::min(lowest, static_cast<double>(p.h->percentile(50)));
    highest = std::max(highest, static_cast<double>(p.h->max()));
  }
  log_axis axis;
  axis.low = std::floor(std::log10(std::clamp(lowest, 1.0, highest)));
  axis.high = std::max(std::ceil(std::log10(highest)), axis.low + 1);
  return axis;
}

// Grid lines at 1, 2 and 5 times each power of ten (only the powers past three decades).
void log_grid(std::ostream& out, const frame& f, const log_axis& axis) {
  const bool minor = axis.high - axis.low <= 3;
  for (double exponent = axis.low; exponent <= axis.high; ++exponent) {
    for (const double factor : {1.0, 2.0, 5.0}) {
      const double value = factor * std::pow(10.0, exponent);
      if ((factor != 1.0 && !minor) || std::log10(value) > axis.high + 1e-9) {
        continue;
      }
      const double y = axis.y(value, f);
      line_at(out, f.x0(), y, f.x1(), y, "gl");
      text_at(out, f.x0() - 6, y + 4, duration_text(value), "end");
    }
  }
}

double category_x(std::size_t index, std::size_t count, const frame& f) {
  return f.x0() + (static_cast<double>(index) + 0.5) * (f.x1() - f.x0()) /
                      static_cast<double>(std::max<std::size_t>(count, 1));
}

void write_latency_plot(std::ostream& out, const load_measurements& m) {
  const frame f{720, 330, 70, 20, 58, 46};
  open_svg(out, "latency-plot", "Latency percentiles per phase (log scale)", f);
  const auto phases = sampled_phases(m);
  if (phases.empty()) {
    axis_titles(out, f, "percentile", "latency (log scale)");
    no_data(out, f, "no latency samples");
    out << "</svg>\n";
    return;
  }
  const auto axis = axis_for(phases);
  log_grid(out, f, axis);
  for (std::size_t i = 0; i < plotted_percentiles.size(); ++i) {
    const double x = category_x(i, plotted_percentiles.size(), f);
    line_at(out, x, f.y_base(), x, f.y_base() + 4, "axis");
    text_at(out, x, f.y_base() + 18, plotted_percentiles[i].first, "middle");
  }
  axis_titles(out, f, "percentile", "latency (log scale)");
  std::vector<legend_item> items;
  for (const auto& p : phases) {
    out << "<g class=\"phase\" data-phase=\"" << p.key << "\">\n";
    std::vector<std::pair<double, double>> points;
    for (std::size_t i = 0; i < plotted_percentiles.size(); ++i) {
      const auto& [name, percentile] = plotted_percentiles[i];
      const auto value = static_cast<double>(p.h->percentile(percentile));
      points.emplace_back(category_x(i, plotted_percentiles.size(), f), axis.y(value, f));
    }
    polyline_of(out, points, p.color, p.dashed);
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto& name = plotted_percentiles[i].first;
      const auto value = p.h->percentile(plotted_percentiles[i].second);
      marker_at(out, points[i].first, points[i].second, p.color,
                std::string(p.label) + " " + std::string(name) + ": " + duration_text(value));
    }
    out << "</g>\n";
    items.push_back({p.label, p.color, p.dashed});
  }
  legend(out, f, items);
  out << "</svg>\n";
}

void write_latency_table(std::ostream& out, const load_measurements& m) {
  out << "<table class=\"latency\">\n<tr><th>phase</th><th class=\"n\">samples</th>"
         "<th class=\"n\">min</th>";
  for (const auto& [name, percentile] : plotted_percentiles) {
    out << "<th class=\"n\">" << name << "</th>";
  }
  out << "<th class=\"n\">mean</th></tr>\n";
  for (const auto& p : sampled_phases(m)) {
    out << "<tr><td>" << p.label << "</td><td class=\"n\">" << p.h->count()
        << "</td><td class=\"n\">" << duration_text(p.h->min()) << "</td>";
    for (const auto& [name, percentile] : plotted_percentiles) {
      out << "<td class=\"n\">" << duration_text(p.h->percentile(percentile)) << "</td>";
    }
    out << "<td class=\"n\">" << duration_text(p.h->mean()) << "</td></tr>\n";
  }
  out << "</table>\n";
}

// ---- plot 2: throughput and errors over time --------------------------------------------------

struct linear_axis {
  double top = 1;
  double step = 1;
};

linear_axis counts_axis(const std::vector<second_counts>& series) {
  std::uint64_t highest = 0;
  for (const auto& second : series) {
    highest = std::max({highest, second.requests, second.errors});
  }
  linear_axis axis;
  axis.step = nice_step(static_cast<double>(highest), 5, 1);
  axis.top = std::max(std::ceil(static_cast<double>(highest) / axis.step), 1.0) * axis.step;
  return axis;
}

void time_grid(std::ostream& out, const frame& f, const linear_axis& y_axis, double seconds) {
  for (double value = 0; value <= y_axis.top + 1e-9; value += y_axis.step) {
    const double y = map_linear(value, 0, y_axis.top, f.y_base(), f.y_top());
    line_at(out, f.x0(), y, f.x1(), y, "gl");
    text_at(out, f.x0() - 6, y + 4, fixed(value, 0), "end");
  }
  const double x_step = nice_step(seconds, 8, 1);
  for (double second = 0; second <= seconds + 1e-9; second += x_step) {
    const double x = map_linear(second, 0, seconds, f.x0(), f.x1());
    line_at(out, x, f.y_base(), x, f.y_base() + 4, "axis");
    text_at(out, x, f.y_base() + 18, fixed(second, 0) + " s", "middle");
  }
}

void write_throughput_plot(std::ostream& out, const std::vector<second_counts>& series) {
  const frame f{720, 300, 70, 20, 40, 46};
  open_svg(out, "throughput-plot", "Requests and errors per second", f);
  if (series.empty()) {
    axis_titles(out, f, "seconds into the measured phase", "per second");
    no_data(out, f, "no per-second data");
    out << "</svg>\n";
    return;
  }
  const auto y_axis = counts_axis(series);
  const auto seconds = static_cast<double>(series.size());
  time_grid(out, f, y_axis, seconds);
  axis_titles(out, f, "seconds into the measured phase (by completion)", "per second");
  const auto x_of = [&](std::size_t i) {
    return map_linear(static_cast<double>(i) + 0.5, 0, seconds, f.x0(), f.x1());
  };
  const auto y_of = [&](std::uint64_t n) {
    return map_linear(static_cast<double>(n), 0, y_axis.top, f.y_base(), f.y_top());
  };
  std::vector<std::pair<double, double>> requests;
  std::vector<std::pair<double, double>> errors;
  for (std::size_t i = 0; i < series.size(); ++i) {
    requests.emplace_back(x_of(i), y_of(series[i].requests));
    errors.emplace_back(x_of(i), y_of(series[i].errors));
  }
  out << "<path fill=\"#2f6db3\" fill-opacity=\"0.12\" d=\"M" << coord(requests.front().first)
      << ',' << coord(f.y_base());
  for (const auto& [x, y] : requests) {
    out << " L" << coord(x) << ',' << coord(y);
  }
  out << " L" << coord(requests.back().first) << ',' << coord(f.y_base()) << " Z\"/>\n";
  out << "<g class=\"series\" data-series=\"requests\">\n";
  polyline_of(out, requests, "#2f6db3", false);
  out << "</g>\n<g class=\"series\" data-series=\"errors\">\n";
  polyline_of(out, errors, "#b3261e", false);
  out << "</g>\n";
  if (series.size() <= 60) { // markers stay readable; they also show a one-second run
    for (std::size_t i = 0; i < series.size(); ++i) {
      const auto tip = "second " + std::to_string(i) + ": " + std::to_string(series[i].requests) +
                       " requests, " + std::to_string(series[i].errors) + " errors";
      marker_at(out, requests[i].first, requests[i].second, "#2f6db3", tip);
      marker_at(out, errors[i].first, errors[i].second, "#b3261e", tip);
    }
  }
  legend(out, f, {{"requests/s", "#2f6db3"}, {"errors/s", "#b3261e"}});
  out << "</svg>\n";
}

// ---- plot 3: outcome mix ----------------------------------------------------------------------

struct outcome_view {
  std::string_view name;
  std::uint64_t count;
  std::string_view color;
};

std::array<outcome_view, 4> outcomes_of(const load_counts& c) {
  return {{{"passed", c.passed, "#3a9a6a"},
           {"blocked", c.blocked, "#d9822b"},
           {"modified", c.modified, "#c9a227"},
           {"failed", c.failed, "#b3261e"}}};
}

// The share of each outcome as one stacked bar, then one bar per outcome with its count.
void write_outcome_plot(std::ostream& out, const load_counts& counts) {
  const frame f{720, 200, 110, 20, 12, 0};
  open_svg(out, "outcome-plot", "Outcome mix", f);
  const auto outcomes = outcomes_of(counts);
  std::uint64_t whole = 0;
  std::uint64_t largest = 0;
  for (const auto& o : outcomes) {
    whole += o.count;
    largest = std::max(largest, o.count);
  }
  const double width = f.x1() - f.x0();
  text_at(out, f.x0() - 10, f.top + 16, "share", "end");
  rect_at(out, f.x0(), f.top, width, 24, "#eef1f4");
  double x = f.x0();
  for (const auto& o : outcomes) {
    const double w = share_of(o.count, whole) * width;
    rect_at(out, x, f.top, w, 24, o.color,
            std::string(o.name) + ": " + std::to_string(o.count) + " (" + percent(o.count, whole) +
                ")");
    x += w;
  }
  if (whole == 0) {
    text_at(out, f.x0() + width / 2, f.top + 16, "no requests", "middle");
  }
  const double bar_width = width - 140; // room for the count after the longest bar
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    const double y = f.top + 50 + 34 * static_cast<double>(i);
    const double w = o.count == 0 ? 0 : std::max(share_of(o.count, largest) * bar_width, 2.0);
    out << "<g class=\"outcome\" data-outcome=\"" << o.name << "\">";
    text_at(out, f.x0() - 10, y + 15, o.name, "end");
    rect_at(out, f.x0(), y, w, 22, o.color);
    text_at(out, f.x0() + w + 8, y + 15,
            std::to_string(o.count) + " (" + percent(o.count, whole) + ")");
    out << "</g>\n";
  }
  out << "</svg>\n";
}

// ---- tables -----------------------------------------------------------------------------------

void row(std::ostream& out, std::string_view name, const std::string& value) {
  out << "<tr><th>" << codec::html_escaped(name) << "</th><td>" << codec::html_escaped(value)
      << "</td></tr>\n";
}

void count_row(std::ostream& out, std::string_view name, std::uint64_t n, std::uint64_t whole) {
  out << "<tr><td>" << codec::html_escaped(name) << "</td><td class=\"n\">" << n
      << "</td><td class=\"n\">" << percent(n, whole) << "</td></tr>\n";
}

void write_run_table(std::ostream& out, const load_summary& s) {
  const auto& m = s.measured;
  const double seconds = seconds_of(m.elapsed);
  const double mb = static_cast<double>(m.counts.bytes_sent) / 1e6;
  out << "<section><h3>run</h3>\n<table class=\"run\">\n";
  row(out, "tool version", s.tool_version.empty() ? "unknown" : s.tool_version);
  row(out, "started", s.started_at.empty() ? "unknown" : s.started_at);
  row(out, "model", s.model.empty() ? "unknown" : s.model);
  row(out, "requests", std::to_string(m.counts.requests));
  row(out, "elapsed", duration_text(static_cast<double>(m.elapsed.count())));
  row(out, "achieved rate", fixed(s.achieved_rps(), 1) + " req/s");
  row(out, "target rate", s.target_rps > 0 ? fixed(s.target_rps, 1) + " req/s" : "none (closed)");
  row(out, "body data sent", fixed(seconds > 0 ? mb / seconds : 0.0, 2) + " MB/s");
  row(out, "shards", std::to_string(s.shards));
  out << "</table></section>\n";
}

std::string setting_text(const nlohmann::json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_settings_table(std::ostream& out, const nlohmann::json& settings) {
  out << "<section><h3>settings</h3>\n";
  if (!settings.is_object()) {
    out << "<p><code>" << codec::html_escaped(setting_text(settings)) << "</code></p></section>\n";
    return;
  }
  if (settings.empty()) {
    out << "<p class=\"none\">none recorded</p></section>\n";
    return;
  }
  out << "<table class=\"settings\">\n";
  for (const auto& [key, value] : settings.items()) {
    out << "<tr><th>" << codec::html_escaped(key) << "</th><td><code>"
        << codec::html_escaped(setting_text(value)) << "</code></td></tr>\n";
  }
  out << "</table></section>\n";
}

void write_thresholds(std::ostream& out, const load_summary& s) {
  out << "<h2>Thresholds</h2>\n";
  if (s.thresholds.empty()) {
    out << "<p class=\"none\">none given (<code>--threshold</code>)</p>\n";
    return;
  }
  out << "<table class=\"thresholds\">\n<tr><th>threshold</th><th>result</th><th>observed</th>"
         "</tr>\n";
  for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
    const auto* result = i < s.threshold_results.size() ? &s.threshold_results[i] : nullptr;
    out << "<tr><td><code>" << codec::html_escaped(s.thresholds[i]) << "</code></td>";
    if (result == nullptr) {
      out << "<td>not evaluated</td><td></td></tr>\n";
      continue;
    }
    out << "<td class=\"" << (result->passed ? "ok\">passed" : "bad\">FAILED") << "</td><td>"
        << codec::html_escaped(result->observed) << "</td></tr>\n";
  }
  out << "</table>\n";
}

void write_protocol_counts(std::ostream& out, const load_counts& c, bool open_model) {
  out << "<section><h3>protocol</h3>\n<table class=\"protocol\">\n";
  count_row(out, "100 Continue", c.got_100, c.requests);
  count_row(out, "decided in preview", c.decided_in_preview, c.requests);
  count_row(out, "of those, 204", c.preview_204, c.requests);
  count_row(out, "timeouts", c.timeouts, c.requests);
  count_row(out, "slow", c.slow, c.requests);
  count_row(out, open_model ? "late" : "late (open model only)", c.late, c.requests);
  count_row(out, open_model ? "dropped" : "dropped (open model only)", c.dropped, c.requests);
  out << "</table></section>\n";
}

void write_error_counts(std::ostream& out, const load_counts& c) {
  out << "<section><h3>errors by kind</h3>\n<table class=\"errors\">\n";
  for (std::size_t i = 0; i < error_kind_count; ++i) {
    count_row(out, to_string(static_cast<error_kind>(i)), c.errors[i], c.requests);
  }
  out << "</table></section>\n";
  if (c.timeouts == 0) {
    return;
  }
  out << "<section><h3>timeouts by phase</h3>\n<table class=\"timeouts\">\n";
  for (std::size_t i = 0; i < timeout_phase_count; ++i) {
    count_row(out, timeout_phase_names[i], c.timeouts_by_phase[i], c.timeouts);
  }
  out << "</table></section>\n";
}

void write_outcomes(std::ostream& out, const load_summary& s) {
  const auto& c = s.measured.counts;
  out << "<h2>Outcomes</h2>\n";
  write_outcome_plot(out, c);
  out << "<div class=\"cols\">\n<section><h3>outcomes</h3>\n<table class=\"outcomes\">\n";
  for (const auto& o : outcomes_of(c)) {
    count_row(out, o.name, o.count, c.requests);
  }
  out << "</table></section>\n";
  write_protocol_counts(out, c, s.model == "open");
  write_error_counts(out, c);
  out << "</div>\n";
}

std::string lead_line(const load_summary& s) {
  const auto& c = s.measured.counts;
  std::string line = std::to_string(c.requests) + " requests in " +
                     fixed(seconds_of(s.measured.elapsed), 2) + " s, " +
                     fixed(s.achieved_rps(), 1) + " req/s";
  if (s.target_rps > 0) {
    line += " (target " + fixed(s.target_rps, 1) + ")";
  }
  line += ", " + std::to_string(c.failed) + " failed";
  if (!s.threshold_results.empty()) {
    const bool all_passed = std::all_of(s.threshold_results.begin(), s.threshold_results.end(),
                                        [](const threshold_result& r) { return r.passed; });
    line += all_passed ? ", every threshold passed" : ", a threshold FAILED";
  }
  return line;
}

} // namespace

void write_html(std::ostream& out, const load_summary& summary) {
  const auto& m = summary.measured;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>icapkit load report</title>\n<style>" << page_style << "</style>\n</head>\n"
      << "<body>\n<h1>icapkit load</h1>\n<p class=\"lead\">"
      << codec::html_escaped(lead_line(summary)) << "</p>\n";
  if (summary.interrupted()) {
    out << "<p class=\"bad interrupted\">Interrupted by "
        << codec::html_escaped(summary.interrupted_by) << ": the run stopped before its limits; ";
    if (summary.abandoned > 0) {
      out << summary.abandoned << " requests in flight were abandoned after the grace.";
    } else {
      out << "every request in flight finished.";
    }
    out << " The numbers cover what completed.</p>\n";
  }
  out << "<div class=\"cols\">\n";
  write_run_table(out, summary);
  write_settings_table(out, summary.settings);
  out << "</div>\n";
  write_thresholds(out, summary);
  write_outcomes(out, summary);
  out << "<h2>Latency percentiles</h2>\n<p class=\"lead\">corrected: from the intended send time "
         "(open model); uncorrected: from the actual send time</p>\n";
  write_latency_plot(out, m);
  write_latency_table(out, m);
  out << "<h2>Throughput</h2>\n";
  write_throughput_plot(out, m.series);
  out << "<footer>icapkit "
      << codec::html_escaped(summary.tool_version.empty() ? "(unknown version)"
                                                          : summary.tool_version)
      << " load report; self-contained, no scripts, no external resources.</footer>\n"
      << "</body>\n</html>\n";
}

} // namespace icapkit::load
