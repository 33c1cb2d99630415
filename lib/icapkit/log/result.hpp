#pragma once
// The boundary type of the log layer: a value, or a read_error that names the line and the field.
#include "icapkit/log/errc.hpp"

#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace icapkit::log {

struct read_error {
  std::error_code code;
  std::size_t line = 0; // 1-based input line; 0 when the text did not come from a stream
  std::string field;    // JSON path such as "icap_log.request_logs[0].latency"; empty for syntax
  std::string detail;   // what was expected, e.g. "expected number or numeric string"

  // "line 3: icap_log.request_logs[0].latency: expected number or numeric string"; the parts
  // that are unknown (line 0, empty field) are left out.
  std::string message() const;
  friend bool operator==(const read_error&, const read_error&) = default;
};

// A value or an error; never throws on access through the checked accessors below.
template <class T>
class result {
public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(read_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Precondition: has_value().
  T& value() & { return *std::get_if<0>(&state_); }
  const T& value() const& { return *std::get_if<0>(&state_); }
  T&& value() && { return std::move(*std::get_if<0>(&state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !has_value().
  const read_error& error() const& { return *std::get_if<1>(&state_); }

private:
  std::variant<T, read_error> state_;
};

} // namespace icapkit::log
