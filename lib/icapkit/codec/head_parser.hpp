#pragma once
// Incremental parser of one message head: start line, header fields, blank line. One header
// grammar serves ICAP and HTTP heads (and chunked trailers), so a leniency or a limit means the
// same thing everywhere. Usable on its own (the "HTTP heads" fuzz target drives it directly).
#include "icapkit/codec/limits.hpp"
#include "icapkit/codec/message.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

// Which start line the head begins with. `fields_only` has none: header fields up to the blank
// line, as in a chunked trailer section.
enum class head_kind { icap_request, icap_response, http_request, http_response, fields_only };

// What the head parser reports, in wire order. Views are valid only during the call.
class head_events {
public:
  virtual ~head_events() = default;
  // "METHOD SP target SP ICAP/d.d" or "... HTTP/d.d" (request kinds).
  virtual void on_request_line(std::string_view /*method*/, std::string_view /*target*/,
                               version /*v*/) {}
  // "ICAP/d.d SP 3DIGIT [SP reason]" (response kinds); the reason may be empty.
  virtual void on_status_line(version /*v*/, int /*status*/, std::string_view /*reason*/) {}
  // One field, reported once it is known not to continue: OWS trimmed, obs-fold continuation
  // lines joined with "\n" (their leading whitespace stripped).
  virtual void on_field(std::string_view /*name*/, std::string_view /*value*/) {}
  // A field line (or an obs-fold continuation line) was consumed and checked, before the parser
  // knows whether continuation lines follow: for a caller that refuses obs-fold anyway and wants
  // to reject a bad field without waiting for the next line. on_field still follows. The fold
  // hook gets the continuation's value, OWS trimmed.
  virtual void on_field_line(std::string_view /*name*/, std::string_view /*value*/) {}
  virtual void on_fold_line(std::string_view /*value*/) {}
  // The blank line ending the head was consumed.
  virtual void on_head_complete() {}
};

class head_parser {
public:
  head_parser(head_kind kind, head_events& events, limits lim = {}, leniency len = {});

  // Feeds bytes; returns how many were consumed. Stops right after the blank line that ends the
  // head (bytes after it stay with the caller) or at an error (ec set, sticky until reset()).
  // A partial line is buffered internally, bounded by limits::max_start_line and
  // limits::max_header_bytes.
  // Errors: bad_request_line, bad_method, bad_request_target, bad_version, bad_status_line,
  // bad_status_code, start_line_too_long, bad_header_name, bad_header_value, missing_colon,
  // space_before_colon, bad_line_ending, unexpected_fold, header_too_long, too_many_headers.
  std::size_t put(std::string_view data, std::error_code& ec);

  bool is_done() const noexcept { return done_; }
  // Some byte of the head has been seen (skipped leading empty lines do not count).
  // With leniency::leading_empty_lines, more than limits::max_leading_empty_lines of them are
  // bad_request_line / bad_status_line.
  bool started() const noexcept { return start_done_ || !line_.empty(); }
  // Bytes consumed for this head so far, including skipped leading empty lines.
  std::size_t head_bytes() const noexcept { return head_bytes_; }
  head_kind kind() const noexcept { return kind_; }

  // Ready for a new head (of the same or another kind); keeps events, limits and leniencies.
  void reset();
  void reset(head_kind kind);

private:
  std::error_code check_growth(std::size_t take) const;
  std::error_code process_line();
  std::error_code parse_start_line(std::string_view line);
  std::error_code parse_request_line(std::string_view line);
  std::error_code parse_status_line(std::string_view line);
  std::error_code parse_field_line(std::string_view line);
  std::error_code parse_fold_line(std::string_view line);
  void flush_pending();
  bool in_start_line() const noexcept { return !start_done_ && kind_ != head_kind::fields_only; }

  head_kind kind_;
  head_events& events_;
  limits lim_;
  leniency len_;
  std::string line_; // the current, incomplete line (including its terminator once complete)
  std::string pending_name_;
  std::string pending_value_;
  bool has_pending_ = false;
  bool start_done_ = false;
  bool done_ = false;
  std::size_t head_bytes_ = 0;
  std::size_t field_count_ = 0;
  std::size_t empty_lines_ = 0; // leading empty lines skipped
  std::error_code error_;
};

namespace detail {
// tchar of RFC 9110 5.6.2: the characters of methods, header names and chunk-extension names.
bool is_token_char(char c) noexcept;
bool is_valid_token(std::string_view s) noexcept;
// Parses "ICAP/d.d" or "HTTP/d.d" with the given protocol name.
bool parse_version(std::string_view text, std::string_view protocol, version& out) noexcept;
} // namespace detail

} // namespace icapkit::codec
