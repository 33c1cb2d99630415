#pragma once
// Reads NDJSON application-log records line by line, in any layout json_decode accepts. A bad
// line is reported (with its line number) and reading goes on with the next one; blank lines are
// skipped. Line length is bounded by read_options::max_line_bytes.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/json_decode.hpp"
#include "icapkit/log/result.hpp"

#include <cstddef>
#include <istream>
#include <optional>
#include <string>

namespace icapkit::log {

class ndjson_reader {
public:
  // Reads from `in`, which must outlive the reader.
  explicit ndjson_reader(std::istream& in, read_options options = {});

  // The next record or the error for the next non-blank line; nullopt at end of input. A read
  // failure of the stream (a directory, an I/O error) is reported once as errc::io_error, then
  // the input ends.
  std::optional<result<app_log_record>> next();

  // 1-based number of the line last returned (0 before the first).
  std::size_t line() const noexcept { return line_; }

private:
  // Next line into `line`, without its "\n" (and "\r"). False at end of input. A line longer
  // than the limit is consumed to its end and flagged in `too_long`. A stream buffer that
  // throws (libstdc++'s filebuf on a read error) sets read_failed_ and ends the input.
  bool read_line(std::string& line, bool& too_long);

  std::istream* in_;
  read_options options_;
  std::size_t line_ = 0;
  std::string read_failed_; // what the stream reported; empty when it did not fail
  bool failure_reported_ = false;
};

} // namespace icapkit::log
