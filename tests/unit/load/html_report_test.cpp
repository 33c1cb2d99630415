#include "icapkit/load/html_report.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>

namespace icapkit::load {

namespace {

// `n` requests over `seconds` seconds: every tenth blocked, every 50th a connect timeout.
load_summary make_run(std::uint64_t n, std::size_t seconds) {
  load_summary s;
  s.tool_version = "0.test";
  s.started_at = "2026-11-25T10:00:00.000Z";
  s.model = "open";
  s.target_rps = 200;
  s.settings = {{"server", "icap://127.0.0.1:1344/OMSScanReq-AV"}, {"rate", 200}};
  auto& m = s.measured;
  m.series.resize(seconds);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t latency = 800 + (i * 7919) % 90'000;
    m.total.record(latency + 50);
    m.total_uncorrected.record(latency);
    const bool failed = i % 50 == 49;
    const bool blocked = !failed && i % 10 == 0;
    ++m.counts.requests;
    m.counts.failed += failed ? 1U : 0U;
    m.counts.errors[static_cast<std::size_t>(error_kind::timeout)] += failed ? 1U : 0U;
    m.counts.timeouts += failed ? 1U : 0U;
    m.counts.timeouts_by_phase[2] += failed ? 1U : 0U; // connect
    m.counts.blocked += blocked ? 1U : 0U;
    m.counts.passed += !blocked && !failed ? 1U : 0U;
    auto& second = m.series[static_cast<std::size_t>(i % seconds)];
    ++second.requests;
    second.errors += failed ? 1U : 0U;
  }
  m.connect.record(150);
  m.connect.record(420);
  m.counts.bytes_sent = n * 4096;
  m.elapsed = std::chrono::seconds{static_cast<std::int64_t>(seconds)};
  s.thresholds = {"p99<200ms", "errors<0.1%"};
  evaluate_thresholds(s);
  return s;
}

std::string html(const load_summary& s) {
  std::ostringstream out;
  write_html(out, s);
  return out.str();
}

std::size_t occurrences(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// "nan" or "inf" standing alone (not inside a word such as "info"): what a printed NaN or
// infinity looks like, in a coordinate or in a label.
bool has_nan_or_inf(const std::string& page) {
  static const std::regex bad(R"((^|[^a-z])-?(nan|inf)([^a-z]|$))");
  return std::regex_search(lowercase(page), bad);
}

// Every geometry attribute in the SVGs holds only plain decimal numbers (and path letters).
std::string bad_geometry(const std::string& page) {
  static const std::regex attribute(
      R"~( (x|y|x1|y1|x2|y2|cx|cy|r|width|height|points|d|viewBox)="([^"]*)")~");
  for (std::sregex_iterator it(page.begin(), page.end(), attribute), end; it != end; ++it) {
    const auto value = (*it)[2].str();
    if (value.find_first_not_of("0123456789.,- MLZ") != std::string::npos) {
      return (*it)[0].str();
    }
  }
  return {};
}

// The text of the element with id="ID" up to its closing </svg>.
std::string svg_named(const std::string& page, std::string_view id) {
  const auto start = page.find("id=\"" + std::string(id) + "\"");
  REQUIRE(start != std::string::npos);
  const auto end = page.find("</svg>", start);
  REQUIRE(end != std::string::npos);
  return page.substr(start, end - start);
}

void check_well_formed(const std::string& page) {
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(page.find("</html>") != std::string::npos);
  CHECK(occurrences(page, "<svg") == 3);
  CHECK(occurrences(page, "</svg>") == 3);
  CHECK(page.find("id=\"latency-plot\"") != std::string::npos);
  CHECK(page.find("id=\"throughput-plot\"") != std::string::npos);
  CHECK(page.find("id=\"outcome-plot\"") != std::string::npos);
  CHECK_FALSE(has_nan_or_inf(page));
  CHECK(bad_geometry(page).empty());
}

} // namespace

TEST_CASE("html report: a run's page has the three plots and loads nothing from outside") {
  const auto page = html(make_run(1000, 5));
  check_well_formed(page);
  const auto lower = lowercase(page);
  CHECK(lower.find("<script") == std::string::npos);
  CHECK(lower.find("http://") == std::string::npos);
  CHECK(lower.find("https://") == std::string::npos);
  CHECK(lower.find("src=") == std::string::npos);
  CHECK(lower.find("href=") == std::string::npos);
  CHECK(lower.find("url(") == std::string::npos);
  CHECK(lower.find("@import") == std::string::npos);
  static const std::regex event_handler(R"(<[^>]*\son[a-z]+\s*=)"); // onload=, onerror=, ...
  CHECK_FALSE(std::regex_search(lower, event_handler));
}

TEST_CASE("html report: the run, its settings, counts and thresholds are on the page") {
  const auto page = html(make_run(1000, 5));
  CHECK(page.find("1000 requests in 5.00 s, 200.0 req/s (target 200.0), 20 failed") !=
        std::string::npos);
  CHECK(page.find("<th>tool version</th><td>0.test</td>") != std::string::npos);
  CHECK(page.find("<th>started</th><td>2026-11-25T10:00:00.000Z</td>") != std::string::npos);
  CHECK(page.find("<th>model</th><td>open</td>") != std::string::npos);
  CHECK(page.find("<th>body data sent</th><td>0.82 MB/s</td>") != std::string::npos);
  CHECK(page.find("<th>server</th><td><code>icap://127.0.0.1:1344/OMSScanReq-AV</code>") !=
        std::string::npos);
  CHECK(page.find("<th>rate</th><td><code>200</code>") != std::string::npos);
  // 1000 requests: 20 failed (i % 50 == 49), 100 blocked (i % 10 == 0), 880 passed
  CHECK(page.find("<td>blocked</td><td class=\"n\">100</td><td class=\"n\">10.0%</td>") !=
        std::string::npos);
  CHECK(page.find("<td>passed</td><td class=\"n\">880</td>") != std::string::npos);
  CHECK(page.find("<td>timeout</td><td class=\"n\">20</td>") != std::string::npos);
  CHECK(page.find("timeouts by phase") != std::string::npos);
  CHECK(page.find("<td>connect</td><td class=\"n\">20</td><td class=\"n\">100.0%</td>") !=
        std::string::npos);
  CHECK(page.find("<code>p99&lt;200ms</code></td><td class=\"ok\">passed</td><td>p99 = ") !=
        std::string::npos);
  CHECK(page.find("<code>errors&lt;0.1%</code></td><td class=\"bad\">FAILED</td>") !=
        std::string::npos);
  CHECK(page.find("a threshold FAILED") != std::string::npos);
}

TEST_CASE("html report: the outcome plot draws one bar per outcome with its count") {
  const auto plot = svg_named(html(make_run(1000, 5)), "outcome-plot");
  CHECK(plot.find(">100 (10.0%)</text>") != std::string::npos);
  CHECK(plot.find(">880 (88.0%)</text>") != std::string::npos);
  CHECK(plot.find(">0 (0.0%)</text>") != std::string::npos); // modified
  CHECK(plot.find(">20 (2.0%)</text>") != std::string::npos);
  CHECK(occurrences(plot, "data-outcome=") == 4);
}

TEST_CASE("html report: the throughput plot has one point per second") {
  const auto plot = svg_named(html(make_run(600, 6)), "throughput-plot");
  const auto requests = plot.find("data-series=\"requests\"");
  REQUIRE(requests != std::string::npos);
  const auto points_at = plot.find("points=\"", requests) + 8;
  const auto points = plot.substr(points_at, plot.find('"', points_at) - points_at);
  CHECK(occurrences(points, ",") == 6);
  CHECK(plot.find("second 5: 100 requests, 4 errors") != std::string::npos);
  CHECK(plot.find(">6 s</text>") != std::string::npos); // the x axis reaches the last second
}

TEST_CASE("html report: phases with samples are plotted and listed, the others are not") {
  auto s = make_run(200, 2);
  const auto page = html(s);
  const auto plot = svg_named(page, "latency-plot");
  for (const auto* phase : {"total", "total_uncorrected", "connect"}) {
    CAPTURE(phase);
    CHECK(plot.find("data-phase=\"" + std::string(phase) + "\"") != std::string::npos);
  }
  for (const auto* phase : {"options", "tls", "preview_decision"}) {
    CAPTURE(phase);
    CHECK(plot.find("data-phase=\"" + std::string(phase) + "\"") == std::string::npos);
  }
  CHECK(page.find("TLS handshake") == std::string::npos);
  CHECK(page.find("preview decision") == std::string::npos);
  CHECK(page.find("<tr><td>connect</td><td class=\"n\">2</td><td class=\"n\">150 us</td>") !=
        std::string::npos);

  s.measured.tls.record(2500);
  s.measured.options.record(900);
  s.measured.preview_decision.record(3000);
  const auto more = html(s);
  CHECK(occurrences(svg_named(more, "latency-plot"), "data-phase=") == 6);
  CHECK(more.find("<tr><td>TLS handshake</td><td class=\"n\">1</td>") != std::string::npos);
}

TEST_CASE("html report: text from the summary is escaped") {
  auto s = make_run(10, 1);
  const std::string hostile = "<img src=x onerror=alert(1)>";
  s.tool_version = "1.0 <script>alert(1)</script>";
  s.started_at = hostile;
  s.model = "\"><svg onload=alert(1)>";
  s.settings = {{"server", hostile}, {"<b>key</b>", "a & b"}, {"list", {hostile, 1}}};
  s.thresholds = {hostile};
  s.threshold_results = {{hostile, false, "observed " + hostile}};
  const auto page = html(s);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<b>") == std::string::npos);
  CHECK(page.find("<svg onload") == std::string::npos);
  CHECK(page.find("<th>model</th><td>&quot;&gt;&lt;svg onload=alert(1)&gt;</td>") !=
        std::string::npos);
  CHECK(occurrences(page, "<svg") == 3);
  CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(page.find("<th>&lt;b&gt;key&lt;/b&gt;</th><td><code>a &amp; b</code>") !=
        std::string::npos);
  CHECK(page.find("observed &lt;img") != std::string::npos);
  CHECK(page.find("1.0 &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
}

TEST_CASE("html report: an empty summary draws empty plots, with no NaN or inf") {
  load_summary s;
  const auto page = html(s);
  check_well_formed(page);
  CHECK(page.find("0 requests in 0.00 s, 0.0 req/s, 0 failed") != std::string::npos);
  CHECK(svg_named(page, "latency-plot").find("no latency samples") != std::string::npos);
  CHECK(svg_named(page, "throughput-plot").find("no per-second data") != std::string::npos);
  CHECK(svg_named(page, "outcome-plot").find("no requests") != std::string::npos);
  CHECK(page.find("data-phase=") == std::string::npos);
}

TEST_CASE("html report: one request, one second: still plotted, with no NaN or inf") {
  load_summary s;
  s.model = "closed";
  s.measured.total.record(0); // a 0 us latency cannot sit on a log axis: drawn at 1 us
  s.measured.total_uncorrected.record(0);
  s.measured.counts.requests = 1;
  s.measured.counts.passed = 1;
  s.measured.series = {{1, 0}};
  s.measured.elapsed = std::chrono::microseconds{0};
  const auto page = html(s);
  check_well_formed(page);
  const auto throughput = svg_named(page, "throughput-plot");
  CHECK(throughput.find("second 0: 1 requests, 0 errors") != std::string::npos);
  CHECK(throughput.find("<circle") != std::string::npos); // a single point is still visible
  CHECK(svg_named(page, "latency-plot").find("data-phase=\"total\"") != std::string::npos);
  CHECK(svg_named(page, "outcome-plot").find(">1 (100.0%)</text>") != std::string::npos);
  CHECK(page.find("late (open model only)") != std::string::npos);
}

TEST_CASE("html report: a run where every request failed") {
  load_summary s;
  s.model = "closed";
  auto& c = s.measured.counts;
  c.requests = c.failed = 40;
  c.errors[static_cast<std::size_t>(error_kind::refused)] = 30;
  c.errors[static_cast<std::size_t>(error_kind::reset_reused_connection)] = 10;
  s.measured.series = {{20, 20}, {20, 20}};
  s.measured.elapsed = std::chrono::seconds{2};
  const auto page = html(s);
  check_well_formed(page);
  CHECK(svg_named(page, "outcome-plot").find(">40 (100.0%)</text>") != std::string::npos);
  CHECK(page.find("<td>refused</td><td class=\"n\">30</td><td class=\"n\">75.0%</td>") !=
        std::string::npos);
  CHECK(page.find("<td>reset_reused_connection</td><td class=\"n\">10</td><td "
                  "class=\"n\">25.0%</td>") != std::string::npos);
  CHECK(page.find("<td>reset_new_connection</td><td class=\"n\">0</td>") != std::string::npos);
  CHECK(svg_named(page, "latency-plot").find("no latency samples") != std::string::npos);
  CHECK(page.find("timeouts by phase") == std::string::npos);
}

TEST_CASE("html report: huge values stay on the plots") {
  auto s = make_run(10, 1);
  s.measured.total.record(UINT64_MAX);
  s.measured.series.push_back({UINT64_MAX, UINT64_MAX});
  const auto page = html(s);
  CHECK_FALSE(has_nan_or_inf(page));
  CHECK(bad_geometry(page).empty());
}

TEST_CASE("html report: an interrupted run carries a note, a complete one none") {
  auto s = make_run(100, 5);
  CHECK(html(s).find("Interrupted by") == std::string::npos);
  s.interrupted_by = "SIGTERM";
  s.abandoned = 4;
  const auto page = html(s);
  check_well_formed(page);
  CHECK(page.find("Interrupted by SIGTERM") != std::string::npos);
  CHECK(page.find("4 requests in flight were abandoned") != std::string::npos);
}

} // namespace icapkit::load
