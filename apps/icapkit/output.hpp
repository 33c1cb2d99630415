#pragma once
// What `icapkit scan` shows: one human line per file, a summary, a progress line on a TTY, and
// the machine records (NDJSON lines, or one JSON array at the end). Human lines go to stdout with
// --output human and are left out otherwise; the summary and errors go to stderr when stdout
// carries records (DESIGN.md section 6).
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/layout.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace icapkit::app {

enum class file_verdict { passed, modified, blocked, failed };

// What a human line needs about one file.
struct file_report {
  std::string path;
  file_verdict verdict = file_verdict::failed;
  std::optional<std::string> threat;
  std::optional<int> icap_status;
  std::optional<std::int64_t> latency_ms;
  std::string detail;                     // why it failed, or where the returned content was saved
  std::vector<std::string> verbose_lines; // shown with -v
};

struct scan_counts {
  std::size_t passed = 0;
  std::size_t modified = 0;
  std::size_t blocked = 0;
  std::size_t failed = 0; // exchange failures and unreadable inputs
  void add(file_verdict v) noexcept;
  std::size_t total() const noexcept { return passed + modified + blocked + failed; }
};

// 2 when anything failed (the answer is incomplete), else 1 when anything was blocked or modified,
// else 0. Pure.
int decide_exit_code(const scan_counts& counts) noexcept;

std::string_view to_string(file_verdict v) noexcept;

// "blocked   Test.EICAR  ICAP 200  12 ms  path/eicar.com" (threat "-" when none; "ICAP -" when no
// response; the detail after the path in parentheses). Pure; `color` adds ANSI colours.
std::string format_file_line(const file_report& report, bool color = false);

// "3 files: 1 passed, 0 modified, 1 blocked, 1 failed in 0.42 s". Pure.
std::string format_summary(const scan_counts& counts, std::chrono::milliseconds elapsed);

struct output_settings {
  bool human_to_stdout = true; // --output human
  bool ndjson = false;         // records as lines on stdout
  bool json = false;           // records as one array on stdout, at the end
  bool quiet = false;
  int verbose = 0;
  bool color = false;        // colour the human lines
  bool progress = false;     // stderr is a TTY and progress is wanted
  log::write_options layout; // how records are written
};

class scan_output {
public:
  explicit scan_output(output_settings settings) : settings_(std::move(settings)) {}

  // One file, in input order. `record` is null for inputs that were never sent (unreadable).
  void file_done(const file_report& report, const log::app_log_record* record);
  // "icapkit: " + line on stderr.
  void error(std::string_view line);
  // "[12/500] 3.1 MiB sent" on stderr, replacing the previous progress line.
  void progress(std::size_t done, std::size_t total, std::uint64_t bytes);
  bool wants_progress() const noexcept { return settings_.progress && !settings_.quiet; }
  // The JSON array (--output json) and the summary line.
  void finish(const scan_counts& counts, std::chrono::milliseconds elapsed);

private:
  void clear_progress();

  output_settings settings_;
  nlohmann::ordered_json records_ = nlohmann::ordered_json::array();
  bool progress_shown_ = false;
};

} // namespace icapkit::app
