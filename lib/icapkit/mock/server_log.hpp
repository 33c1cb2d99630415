#pragma once
// --log FILE: one NDJSON line per transaction the server saw (log::transaction_record), so CI
// can assert what arrived and what was answered. Appends are serialised; each line is flushed.
#include "icapkit/log/result.hpp"
#include "icapkit/log/transaction_record.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>

namespace icapkit::mock {

// The record as one JSON object (no newline).
std::string to_json_line(const log::transaction_record& record, std::string_view vendor);

// A line of the log read back (`icapkit report`): what to_json_line wrote.
struct server_log_entry {
  std::string vendor;
  log::transaction_record record;
};

// Whether `document` is a line of this log rather than an icap_log record: an object without
// "icap_log" that has "decision" and "timings_us".
bool is_server_log_line(const nlohmann::ordered_json& document);

// The entry, or a read_error naming the member of the wrong type (`line` is for messages).
// Members to_json_line writes may be absent (a line of an older icapkit); none is invented.
log::result<server_log_entry> from_json_line(const nlohmann::ordered_json& document,
                                             std::size_t line = 0);

class server_log {
public:
  server_log() = default;
  ~server_log();
  server_log(const server_log&) = delete;
  server_log& operator=(const server_log&) = delete;

  // Opens (appending, created if missing). Errors: the system's errno code.
  std::error_code open(const std::string& path, std::string vendor);
  // Thread-safe; a failed write is dropped (the server keeps serving).
  void write(const log::transaction_record& record);

private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::string vendor_;
};

} // namespace icapkit::mock
