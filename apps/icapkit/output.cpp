#include "output.hpp"

#include "icapkit/log/json_encode.hpp"

#include <cstdio>
#include <iostream>

namespace icapkit::app {

namespace {

std::string_view color_of(file_verdict v) noexcept {
  switch (v) {
  case file_verdict::passed:
    return "\033[32m";
  case file_verdict::modified:
    return "\033[33m";
  case file_verdict::blocked:
    return "\033[31m";
  case file_verdict::failed:
    return "\033[1;35m";
  }
  return "";
}

} // namespace

void scan_counts::add(file_verdict v) noexcept {
  switch (v) {
  case file_verdict::passed:
    ++passed;
    break;
  case file_verdict::modified:
    ++modified;
    break;
  case file_verdict::blocked:
    ++blocked;
    break;
  case file_verdict::failed:
    ++failed;
    break;
  }
}

int decide_exit_code(const scan_counts& counts) noexcept {
  if (counts.failed > 0) {
    return 2;
  }
  return counts.blocked > 0 || counts.modified > 0 ? 1 : 0;
}

std::string_view to_string(file_verdict v) noexcept {
  switch (v) {
  case file_verdict::passed:
    return "passed";
  case file_verdict::modified:
    return "modified";
  case file_verdict::blocked:
    return "blocked";
  case file_verdict::failed:
    return "failed";
  }
  return "failed";
}

std::string format_file_line(const file_report& report, bool color) {
  std::string line;
  const auto word = to_string(report.verdict);
  if (color) {
    line += color_of(report.verdict);
  }
  line += word;
  if (color) {
    line += "\033[0m";
  }
  line.append(word.size() < 9 ? 9 - word.size() : 1, ' ');
  line += report.threat.value_or("-");
  line += "  ICAP ";
  line += report.icap_status ? std::to_string(*report.icap_status) : std::string("-");
  line += "  ";
  line += report.latency_ms ? std::to_string(*report.latency_ms) : std::string("-");
  line += " ms  ";
  line += report.path;
  if (!report.detail.empty()) {
    line += "  (" + report.detail + ")";
  }
  return line;
}

std::string format_summary(const scan_counts& counts, std::chrono::milliseconds elapsed) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", static_cast<double>(elapsed.count()) / 1000.0);
  return std::to_string(counts.total()) + (counts.total() == 1 ? " file: " : " files: ") +
         std::to_string(counts.passed) + " passed, " + std::to_string(counts.modified) +
         " modified, " + std::to_string(counts.blocked) + " blocked, " +
         std::to_string(counts.failed) + " failed in " + seconds + " s";
}

void scan_output::clear_progress() {
  if (progress_shown_) {
    std::cerr << "\r\033[K" << std::flush;
    progress_shown_ = false;
  }
}

void scan_output::file_done(const file_report& report, const log::app_log_record* record) {
  clear_progress();
  if (record != nullptr && settings_.ndjson) {
    std::cout << log::to_json_text(*record, settings_.layout) << '\n' << std::flush;
  }
  if (record != nullptr && settings_.json) {
    records_.push_back(log::to_json(*record, settings_.layout));
  }
  const bool interesting = report.verdict != file_verdict::passed;
  if (settings_.human_to_stdout && (interesting || !settings_.quiet)) {
    std::cout << format_file_line(report, settings_.color) << '\n';
    if (settings_.verbose > 0) {
      for (const auto& extra : report.verbose_lines) {
        std::cout << "          " << extra << '\n';
      }
    }
    std::cout << std::flush;
  }
}

void scan_output::error(std::string_view line) {
  clear_progress();
  std::cout << std::flush;
  std::cerr << "icapkit: " << line << '\n' << std::flush;
}

void scan_output::progress(std::size_t done, std::size_t total, std::uint64_t bytes) {
  if (!settings_.progress || settings_.quiet) {
    return;
  }
  char text[96];
  std::snprintf(text, sizeof text, "[%zu/%zu] %.1f MiB read", done, total,
                static_cast<double>(bytes) / (1024.0 * 1024.0));
  std::cerr << "\r\033[K" << text << std::flush;
  progress_shown_ = true;
}

void scan_output::finish(const scan_counts& counts, std::chrono::milliseconds elapsed) {
  clear_progress();
  if (settings_.json) {
    std::cout << records_.dump(2) << '\n' << std::flush;
  }
  if (!settings_.quiet) {
    auto& out = settings_.human_to_stdout ? std::cout : std::cerr;
    out << format_summary(counts, elapsed) << '\n' << std::flush;
  }
}

} // namespace icapkit::app
