#include "icapkit/log/result.hpp"

namespace icapkit::log {

std::string read_error::message() const {
  std::string text;
  if (line != 0) {
    text += "line " + std::to_string(line) + ": ";
  }
  if (!field.empty()) {
    text += field + ": ";
  }
  text += detail.empty() ? code.message() : detail;
  return text;
}

} // namespace icapkit::log
