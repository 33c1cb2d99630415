#pragma once
// JSON -> model, for records written by icapkit and records exported from Avi. Accepts, without
// being told which: the current (21.1.1+) and legacy (20.1.x) layouts, pool_name as a string or
// {"val", "crc32"}, 64-bit integers (latency, log_id, request_length, file.size) as numbers or
// decimal strings, a bare IcapLog object ({"action", "request_logs"}) in place of a whole record.
// Unknown members are kept (unknown_members) and written back; JSON null counts as absent.
// Never throws and never crashes on bad input: every problem is a read_error naming the field.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/result.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace icapkit::log {

struct read_options {
  std::size_t max_line_bytes = 16 * 1024 * 1024; // a longer NDJSON line is errc::line_too_long
  std::size_t max_depth = 64; // deeper nesting is errc::too_deep (bounds recursion on write)
};

// One JSON document (compact or pretty-printed). `line` is only used in error messages.
result<app_log_record> parse_record(std::string_view text, std::size_t line = 0,
                                    const read_options& options = {});

// An already parsed document.
result<app_log_record> record_from_json(const nlohmann::ordered_json& document,
                                        std::size_t line = 0);

// A bare IcapLog object ({"action": ..., "request_logs": [...]}).
result<icap_log> icap_log_from_json(const nlohmann::ordered_json& object, std::size_t line = 0);

} // namespace icapkit::log
