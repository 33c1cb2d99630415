#pragma once
// Writes application-log records as NDJSON: one compact JSON object per line, flushed after each
// record. Safe to call from several threads; each record is written with one write call, so lines
// never interleave (and a file opened by open() is in append mode, O_APPEND, for other processes).
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/layout.hpp"
#include "icapkit/log/result.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <ostream>
#include <system_error>

namespace icapkit::log {

class ndjson_writer {
public:
  // Writes to `out`, which must outlive the writer.
  explicit ndjson_writer(std::ostream& out, write_options options = {});

  // Opens (creates, or appends to) `path`. Reports errc::io_error naming the path on failure.
  static result<std::unique_ptr<ndjson_writer>> open(const std::filesystem::path& path,
                                                     write_options options = {});

  ndjson_writer(const ndjson_writer&) = delete;
  ndjson_writer& operator=(const ndjson_writer&) = delete;

  // One line. Returns errc::io_error when the stream is (or goes) bad; the writer stays usable if
  // the stream recovers.
  std::error_code write(const app_log_record& record);

  // 1, 2, 3, ... for callers that need log_id values unique within this output.
  std::uint64_t next_log_id() noexcept { return ++last_log_id_; }

  const write_options& options() const noexcept { return options_; }

private:
  ndjson_writer(std::unique_ptr<std::ofstream> file, write_options options);

  std::unique_ptr<std::ofstream> owned_;
  std::ostream* out_;
  write_options options_;
  std::mutex mutex_;
  std::atomic<std::uint64_t> last_log_id_{0};
};

} // namespace icapkit::log
