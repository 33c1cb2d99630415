#pragma once
// A file wrapped as the multipart/form-data body a browser form upload sends (RFC 7578): one part
// named "file" with the file name and its Content-Type. Streams the file; never buffers it.
#include "icapkit/codec/body_source.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::app {

// A boundary like a browser's ("----icapkitFormBoundary" + 16 random letters and digits).
std::string make_form_boundary();

// The bytes before the file: "--B\r\nContent-Disposition: form-data; name=\"file\";
// filename=\"N\"\r\nContent-Type: T\r\n\r\n". As browsers do, '"' and CR/LF in the name are
// percent-encoded so they cannot end the quoted string or the header.
std::string form_preamble(std::string_view boundary, std::string_view file_name,
                          std::string_view content_type);
// The bytes after the file: "\r\n--B--\r\n".
std::string form_epilogue(std::string_view boundary);

// The Content-Type header value of the whole body: "multipart/form-data; boundary=B".
std::string form_content_type(std::string_view boundary);

// The body: preamble, then `inner` (read through, never copied whole), then the epilogue. Its
// size is known when the inner size is.
class multipart_body_source final : public codec::body_source {
public:
  multipart_body_source(codec::body_source& inner, std::string_view boundary,
                        std::string_view file_name, std::string_view content_type);
  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override;

private:
  enum class stage { preamble, file, epilogue, done };
  std::size_t copy_fixed(const std::string& text, std::span<char> buf);

  codec::body_source& inner_;
  std::string preamble_;
  std::string epilogue_;
  stage stage_ = stage::preamble;
  std::size_t offset_ = 0; // within the preamble or the epilogue
};

} // namespace icapkit::app
