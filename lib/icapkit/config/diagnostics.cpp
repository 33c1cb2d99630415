#include "icapkit/config/diagnostics.hpp"

namespace icapkit::config {

std::string diagnostic::text() const {
  return path.empty() ? message : path + ": " + message;
}

void diagnostics::error(std::string path, std::string message) {
  errors_.push_back({std::move(path), std::move(message)});
}

void diagnostics::warning(std::string path, std::string message) {
  warnings_.push_back({std::move(path), std::move(message)});
}

void diagnostics::unknown_field(std::string path) {
  unknown_fields_.push_back(std::move(path));
}

void diagnostics::add_unknown_fields_warning() {
  if (unknown_fields_.empty()) {
    return;
  }
  // One warning for all of them: an Avi export carries dozens of controller-only fields and a
  // warning per field would bury the ones that matter.
  std::string message = "unknown fields ignored: ";
  for (std::size_t i = 0; i < unknown_fields_.size(); ++i) {
    message += (i == 0 ? "" : ", ") + unknown_fields_[i];
  }
  warnings_.push_back({"", std::move(message)});
}

} // namespace icapkit::config
