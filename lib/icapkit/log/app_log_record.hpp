#pragma once
// One application-log record (one NDJSON line): the subset of Avi's ApplicationLog that icapkit
// fills, around one icap_log. Optional members are omitted from JSON when unset.
#include "icapkit/log/icap_log.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::log {

// The file `icapkit scan` scanned.
struct scanned_file {
  std::optional<std::string> path;
  std::optional<std::uint64_t> size; // bytes
  std::optional<std::string> sha256; // lower-case hex
  unknown_members unknown;
  friend bool operator==(const scanned_file&, const scanned_file&) = default;
};

// The captured request `icapkit replay` sent (or could not send) for this record.
struct replayed_request {
  std::optional<std::uint64_t> index; // 0-based among the replayed requests
  std::optional<std::string>
      origin; // "uploads.har entry 3", "up.pcap 10.0.0.1:5000->... request 1"
  std::optional<bool> body_captured; // false: the capture lacks the body; nothing was sent
  std::optional<std::string> note;   // why the body is missing, or how the verdict was read
  unknown_members unknown;
  friend bool operator==(const replayed_request&, const replayed_request&) = default;
};

// icapkit proxy: how the request went to the origin, present when it was written more than once
// or the upstream step failed (502/504). retries has attempts - 1 entries.
struct upstream_attempts {
  std::optional<std::uint32_t> attempts; // connections the request was tried on
  std::vector<std::string> retries;      // why each attempt after the first was made
  std::optional<std::string> error;      // the failure the client got 502/504 for, one line
  unknown_members unknown;
  friend bool operator==(const upstream_attempts&, const upstream_attempts&) = default;
};

struct app_log_record {
  std::optional<std::string> report_timestamp; // RFC 3339 UTC, e.g. "2024-03-26T10:15:00.123Z"
  std::optional<std::uint64_t> log_id;
  std::optional<record_source> source;
  std::optional<std::string> client_ip;
  std::optional<std::uint32_t> client_src_port;
  std::optional<std::string> method; // HTTP method token as received ("POST")
  std::optional<std::string> host;
  std::optional<std::string> uri_path;
  std::optional<std::string> uri_query;
  std::optional<std::uint64_t> request_length; // bytes
  std::optional<std::uint32_t> response_code;  // HTTP status sent to the client
  std::optional<std::string> http_security_policy_rule_name;
  std::optional<bool> significant;
  // ADF_* codes. Strings, not significance_code, so that records exported from Avi with other ADF
  // codes (ADF_RESPONSE_CODE_4XX, ...) read and write back unchanged; icapkit writes only ICAP
  // ones.
  std::vector<std::string> significant_log;
  std::optional<std::string> significance; // one human sentence
  icapkit::log::icap_log icap_log;
  std::optional<scanned_file> file;
  std::optional<replayed_request> replay;
  std::optional<upstream_attempts> upstream;
  unknown_members unknown;
  friend bool operator==(const app_log_record&, const app_log_record&) = default;
};

// RFC 3339 UTC with milliseconds: "2024-03-26T10:15:00.123Z".
std::string format_report_timestamp(std::chrono::system_clock::time_point when);

// A record with what every icapkit record carries (report_timestamp, log_id, source, significant
// = false, icap_log.action = ICAP_DISABLED); the caller fills the rest.
app_log_record make_record(record_source source, std::uint64_t log_id,
                           std::chrono::system_clock::time_point when);

} // namespace icapkit::log
