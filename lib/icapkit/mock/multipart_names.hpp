#pragma once
// File names in a multipart/form-data body, found while it streams past: part headers are read
// line by line with a bounded line buffer, part bodies are skipped without being kept. Also the
// small header helpers the rules use to find names (Content-Disposition, URL paths).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::mock {

class multipart_names {
public:
  // `boundary` as in the Content-Type parameter (without the leading "--"); empty: never finds.
  explicit multipart_names(std::string boundary);

  void feed(std::string_view piece);
  const std::vector<std::string>& names() const noexcept { return names_; }

private:
  void end_line();

  std::string delimiter_; // "--" + boundary
  std::string line_;
  bool line_too_long_ = false;
  bool in_headers_ = false;
  std::vector<std::string> names_;
};

// The boundary parameter of a multipart Content-Type; empty when not multipart or absent.
std::string multipart_boundary(std::string_view content_type);
// filename= (or filename*=UTF-8''...) of a Content-Disposition value, unquoted; empty if none.
std::string disposition_filename(std::string_view value);
// The last path segment of a URL or request target, percent-decoded, without query; may be empty.
std::string url_file_name(std::string_view target);
// The extension of a file name, lowercase, without the dot; empty when none.
std::string file_extension(std::string_view name);

} // namespace icapkit::mock
