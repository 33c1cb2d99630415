#pragma once
// The overview `icapkit report` prints for icap_log NDJSON: counts by source, action, rule,
// significance and HTTP status (per record) and by ICAP status, vendor, pool, reason and threat
// (per ICAP request log); latency percentiles over every request log; the proxy's upstream
// retries and errors; the slowest records and the failed ones. Lines of `icapkit serve --log` (the
// server's side of a transaction, without a verdict) are summarised apart: counts by vendor, ICAP
// method, decision, status sent, scenario rule and error, and the server's time to answer.
// Streaming: memory is bounded by the number of distinct values kept per table
// (log_report_options::max_distinct) and the list sizes, never by the number of records.
#include "icapkit/load/histogram.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/result.hpp"
#include "icapkit/log/transaction_record.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::load {

struct log_report_options {
  std::size_t slowest_listed = 10;    // the N records with the highest request-log latency
  std::size_t failed_listed = 20;     // the first N failed records; the rest are only counted
  std::size_t max_distinct = 1000;    // per table; further values are counted under "(other)"
  std::size_t unreadable_listed = 20; // the first N unreadable lines, with their messages
};

// One record in the slowest or failed list: where it is, what it was, and what went wrong.
struct listed_record {
  std::string file;
  std::size_t line = 0;
  std::string timestamp;                    // report_timestamp, or empty
  std::string source;                       // scan | proxy | replay | load | unknown | serve
  std::string action;                       // icap_log.action; serve's decision
  std::string request;                      // "POST host/path", the scanned file, or the ICAP URI
  std::optional<std::uint64_t> latency_ms;  // the highest request-log latency
  std::optional<std::uint32_t> icap_status; // of the deciding (last) request log
  std::optional<std::uint32_t> http_status; // response_code, else a blocking http_response_code
  std::string detail;                       // reason and threat, else the significance sentence
  friend bool operator==(const listed_record&, const listed_record&) = default;
};

// A line the NDJSON reader could not read.
struct unreadable_line {
  std::string file;
  std::size_t line = 0;
  std::string message; // "icap_log.action: ..." without the line number
  friend bool operator==(const unreadable_line&, const unreadable_line&) = default;
};

// Value -> occurrences, for one table.
using count_table = std::map<std::string, std::uint64_t, std::less<>>;

class log_report {
public:
  explicit log_report(log_report_options options = {});

  // Lists an input before its first line, so that an empty one shows in the report too.
  void begin_file(std::string_view source_file);
  // Counts one record read from `source_file` (as the user named it) at 1-based `line`.
  void add(const log::app_log_record& record, std::string_view source_file, std::size_t line);
  // Counts a line the reader rejected; the error's own line number is used.
  void add_unreadable(const log::read_error& error, std::string_view source_file);
  // Counts one line of `icapkit serve --log` written by a server of `vendor`. A transaction
  // that ended on an error or with an ICAP status of 400 or more counts as failed.
  void add_served(const log::transaction_record& transaction, std::string_view vendor,
                  std::string_view source_file, std::size_t line);

  std::uint64_t records() const noexcept { return records_; }
  std::uint64_t request_logs() const noexcept { return request_logs_; }
  std::uint64_t unreadable() const noexcept { return unreadable_; }
  std::uint64_t failed() const noexcept { return failed_; }
  std::uint64_t served() const noexcept { return served_; }
  // icapkit proxy records with an upstream object: how many, the extra attempts they made
  // (attempts - 1 each) and how many ended in an upstream error (502/504).
  std::uint64_t upstream_records() const noexcept { return upstream_records_; }
  std::uint64_t upstream_retries() const noexcept { return upstream_retries_; }
  std::uint64_t upstream_errors() const noexcept { return upstream_errors_; }
  const histogram& served_time() const noexcept { return served_time_us_; }
  const histogram& latency() const noexcept { return latency_us_; }
  const std::vector<listed_record>& slowest() const noexcept { return slowest_; }
  const std::vector<listed_record>& failed_list() const noexcept { return failed_list_; }
  // A table by its JSON name ("actions", "threats", ..., "serve.decisions"); nullptr for an
  // unknown name.
  const count_table* table(std::string_view name) const;

  // The report as JSON, members in a fixed order (see the man page); tables largest first.
  // "latency_ms" carries the histogram too, so reports can later be merged exactly.
  nlohmann::ordered_json to_json() const;
  // Aligned text tables for a terminal; control characters from the logs are shown as \xHH.
  void write_human(std::ostream& out) const;
  // One self-contained HTML page (inline CSS, no script, nothing fetched); all log text escaped.
  void write_html(std::ostream& out) const;

private:
  struct file_counts {
    std::string name;
    std::uint64_t records = 0;
    std::uint64_t unreadable = 0;
    std::uint64_t served = 0;
  };

  file_counts& file_entry(std::string_view name);
  // "upstream (icapkit proxy): 3 retries, 1 error answered 502/504, in 4 records"
  std::string upstream_line() const;
  std::uint64_t table_whole(std::size_t index) const noexcept; // what the shares are of
  void count(std::size_t table_index, std::string_view value);
  void add_request_log(const log::icap_request_log& request);
  void consider_slowest(const listed_record& entry);
  void add_failed(listed_record entry);

  log_report_options options_;
  std::vector<count_table> tables_;
  std::vector<file_counts> files_;
  std::uint64_t records_ = 0;
  std::uint64_t request_logs_ = 0;
  std::uint64_t unreadable_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t served_ = 0;
  std::uint64_t upstream_records_ = 0;
  std::uint64_t upstream_retries_ = 0;
  std::uint64_t upstream_errors_ = 0;
  histogram latency_us_;
  histogram served_time_us_;
  std::vector<listed_record> slowest_;     // highest latency first
  std::vector<listed_record> failed_list_; // input order
  std::vector<unreadable_line> unreadable_list_;
};

// Whether a record counts as failed: icap_log.action ICAP_FAILED, a request log with an ICAP
// status of 400 or more, or an HTTP status of 500 or more sent to the client.
bool is_failed(const log::app_log_record& record) noexcept;

} // namespace icapkit::load
