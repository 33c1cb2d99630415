#include "icapkit/log/errc.hpp"

#include <string>

namespace icapkit::log {
namespace detail {

class log_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "icapkit.log"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::invalid_json:
      return "invalid JSON";
    case errc::too_deep:
      return "JSON nested too deeply";
    case errc::line_too_long:
      return "line too long";
    case errc::not_an_object:
      return "expected a JSON object";
    case errc::wrong_type:
      return "wrong JSON type";
    case errc::unknown_enum_value:
      return "unknown enum value";
    case errc::out_of_range:
      return "value out of range";
    case errc::missing_field:
      return "missing required field";
    case errc::io_error:
      return "I/O error";
    }
    return "unknown icapkit.log error";
  }
};

} // namespace detail

const std::error_category& log_category() noexcept {
  static const detail::log_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), log_category()};
}

} // namespace icapkit::log
