#pragma once
// What loading a configuration found wrong (errors) or worth saying (warnings), each tied to the
// JSON path of the field it is about, so a user can find it in a file exported from the controller.
#include <string>
#include <vector>

namespace icapkit::config {

struct diagnostic {
  std::string path;    // JSON path, e.g. "icap_profile.preview_size" or "pools[0].servers[1].port"
  std::string message; // what is wrong and what is allowed
  // "path: message" (or just the message when the path is the document itself).
  std::string text() const;
  friend bool operator==(const diagnostic&, const diagnostic&) = default;
};

// Collects diagnostics while a document is read; the readers never throw or print.
class diagnostics {
public:
  void error(std::string path, std::string message);
  void warning(std::string path, std::string message);
  // A field icapkit does not know; reported together as one warning by take_unknown_warning().
  void unknown_field(std::string path);

  bool has_errors() const noexcept { return !errors_.empty(); }
  const std::vector<diagnostic>& errors() const noexcept { return errors_; }
  const std::vector<diagnostic>& warnings() const noexcept { return warnings_; }
  const std::vector<std::string>& unknown_fields() const noexcept { return unknown_fields_; }
  // Appends the single "unknown fields ignored" warning (if any field was unknown).
  void add_unknown_fields_warning();

private:
  std::vector<diagnostic> errors_;
  std::vector<diagnostic> warnings_;
  std::vector<std::string> unknown_fields_;
};

} // namespace icapkit::config
