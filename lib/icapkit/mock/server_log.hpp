#pragma once
// --log FILE: one NDJSON line per transaction the server saw (server::transaction_record), so CI
// can assert what arrived and what was answered. Appends are serialised; each line is flushed.
#include "icapkit/server/transaction_record.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>

namespace icapkit::mock {

// The record as one JSON object (no newline).
std::string to_json_line(const server::transaction_record& record, std::string_view vendor);

class server_log {
public:
  server_log() = default;
  ~server_log();
  server_log(const server_log&) = delete;
  server_log& operator=(const server_log&) = delete;

  // Opens (appending, created if missing). Errors: the system's errno code.
  std::error_code open(const std::string& path, std::string vendor);
  // Thread-safe; a failed write is dropped (the server keeps serving).
  void write(const server::transaction_record& record);

private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::string vendor_;
};

} // namespace icapkit::mock
