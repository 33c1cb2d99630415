#pragma once
// Error codes of the log layer: what can be wrong with an icap_log record read from JSON, or with
// the file a record is written to.
#include <system_error>

namespace icapkit::log {

enum class errc {
  invalid_json = 1,   // the line is not one JSON document (truncated, trailing garbage, bad UTF-8)
  too_deep,           // nesting deeper than read_options::max_depth
  line_too_long,      // a line longer than read_options::max_line_bytes
  not_an_object,      // the document, or a member that must be an object, is something else
  wrong_type,         // a member has the wrong JSON type (string where a number belongs, ...)
  unknown_enum_value, // a string that is not one of the Avi enum values for that member
  out_of_range,       // a number outside the member's range (negative port, score above 100)
  missing_field,      // a member the record cannot do without (icap_log) is absent
  io_error,           // the output or input stream failed
};

const std::error_category& log_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace icapkit::log

template <>
struct std::is_error_code_enum<icapkit::log::errc> : std::true_type {};
