#include "icapkit/codec/errc.hpp"

#include <string>

namespace icapkit::codec {
namespace {

class codec_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "icapkit.codec"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::bad_request_line:
      return "malformed request line";
    case errc::bad_method:
      return "invalid method token";
    case errc::bad_request_target:
      return "invalid request target";
    case errc::bad_version:
      return "invalid protocol version";
    case errc::bad_status_line:
      return "malformed status line";
    case errc::bad_status_code:
      return "invalid status code";
    case errc::start_line_too_long:
      return "start line too long";
    case errc::bad_header_name:
      return "invalid header field name";
    case errc::bad_header_value:
      return "invalid character in header field value";
    case errc::missing_colon:
      return "header line without ':'";
    case errc::space_before_colon:
      return "whitespace between header field name and ':'";
    case errc::bad_line_ending:
      return "bad line ending (bare CR or LF)";
    case errc::unexpected_fold:
      return "continuation line before the first header field";
    case errc::header_too_long:
      return "header section too large";
    case errc::too_many_headers:
      return "too many header fields";
    case errc::missing_host:
      return "ICAP request without Host header";
    case errc::missing_encapsulated:
      return "REQMOD/RESPMOD without Encapsulated header";
    case errc::bad_encapsulated:
      return "malformed Encapsulated header";
    case errc::unknown_encapsulated_entity:
      return "unknown entity in Encapsulated header";
    case errc::duplicate_encapsulated_entity:
      return "entity repeated in Encapsulated header";
    case errc::encapsulated_order:
      return "Encapsulated sections out of order";
    case errc::encapsulated_shape:
      return "Encapsulated sections not allowed for this message";
    case errc::encapsulated_offset_too_large:
      return "Encapsulated offset too large";
    case errc::encapsulated_offset_mismatch:
      return "encapsulated HTTP header does not end at the next Encapsulated offset";
    case errc::duplicate_encapsulated_header:
      return "more than one Encapsulated header";
    case errc::transfer_encoding_on_icap:
      return "Transfer-Encoding is not allowed on ICAP messages";
    case errc::bad_preview:
      return "invalid Preview header";
    case errc::preview_exceeded:
      return "more preview data than the Preview header announced";
    case errc::bad_chunk_size:
      return "invalid chunk size";
    case errc::chunk_size_too_long:
      return "chunk size has too many digits";
    case errc::chunk_size_overflow:
      return "chunk size too large";
    case errc::bad_chunk_extension:
      return "malformed chunk extension";
    case errc::bad_chunk_terminator:
      return "chunk data not followed by CRLF";
    case errc::bad_use_original_body:
      return "invalid use-original-body offset";
    case errc::ieof_outside_preview:
      return "ieof chunk extension outside a preview";
    case errc::bad_trailer:
      return "malformed trailer field";
    case errc::chunk_line_too_long:
      return "chunk-size line too long";
    case errc::unexpected_eof:
      return "input ended inside a message";
    case errc::bad_uri:
      return "malformed URI";
    case errc::unsupported_scheme:
      return "unsupported URI scheme";
    case errc::bad_host:
      return "invalid host in URI";
    case errc::bad_port:
      return "invalid port in URI";
    case errc::body_source_error:
      return "body source read error";
    case errc::body_shorter_than_declared:
      return "body shorter than its declared size";
    }
    return "unknown codec error";
  }
};

} // namespace

const std::error_category& codec_category() noexcept {
  static const codec_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}

} // namespace icapkit::codec
