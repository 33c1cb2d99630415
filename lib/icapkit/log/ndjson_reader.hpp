#pragma once
// Reads application-log records from JSON text, one document at a time, in any layout
// json_decode accepts: NDJSON, concatenated or pretty-printed documents, a top-level array of
// records (`icapkit scan --output json`) and export pages ({"results": [...]}), mixed freely
// (json_splitter says exactly what is accepted). A bad document is reported with the line it
// begins on and reading goes on with the next one; whitespace between documents is skipped. A
// document's size is bounded by read_options::max_line_bytes, so memory never grows with the
// input.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/json_decode.hpp"
#include "icapkit/log/json_splitter.hpp"
#include "icapkit/log/result.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::log {

class ndjson_reader {
public:
  // Reads from `in`, which must outlive the reader.
  explicit ndjson_reader(std::istream& in, read_options options = {});

  // The next record, or the error for the next document; nullopt at end of input. A read
  // failure of the stream (a directory, an I/O error) is reported once as errc::io_error, then
  // the input ends.
  std::optional<result<app_log_record>> next();

  // The next document parsed but not decoded (for callers that also read other JSON lines),
  // or the error that replaces it; the same errors as next() except the record's own.
  std::optional<result<nlohmann::ordered_json>> next_document();

  // 1-based number of the line the document last returned begins on (0 before the first).
  std::size_t line() const noexcept { return line_; }

private:
  // The next complete document's text (valid until the next call), or its error; nullopt at
  // the end.
  std::optional<result<std::string_view>> next_text();

  std::istream* in_;
  read_options options_;
  json_splitter splitter_;
  std::size_t line_ = 0;
  bool finished_ = false;
  std::string read_failed_; // what the stream reported; empty when it did not fail
  bool failure_reported_ = false;
};

} // namespace icapkit::log
