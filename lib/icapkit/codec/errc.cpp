#include "icapkit/codec/errc.hpp"

#include <array>
#include <string>

namespace icapkit::codec {
namespace {

struct errc_info {
  errc code;
  std::string_view name;
  std::string_view message;
};

// One row per code: the enumerator's name (for logs, vectors and error lines) and its message.
constexpr std::array<errc_info, 47> errc_table{{
    {errc::bad_request_line, "bad_request_line", "malformed request line"},
    {errc::bad_method, "bad_method", "invalid method token"},
    {errc::bad_request_target, "bad_request_target", "invalid request target"},
    {errc::bad_version, "bad_version", "invalid protocol version"},
    {errc::bad_status_line, "bad_status_line", "malformed status line"},
    {errc::bad_status_code, "bad_status_code", "invalid status code"},
    {errc::start_line_too_long, "start_line_too_long", "start line too long"},
    {errc::bad_header_name, "bad_header_name", "invalid header field name"},
    {errc::bad_header_value, "bad_header_value", "invalid character in header field value"},
    {errc::missing_colon, "missing_colon", "header line without ':'"},
    {errc::space_before_colon, "space_before_colon",
     "whitespace between header field name and ':'"},
    {errc::bad_line_ending, "bad_line_ending", "bad line ending (bare CR or LF)"},
    {errc::unexpected_fold, "unexpected_fold", "continuation line before the first header field"},
    {errc::header_too_long, "header_too_long", "header section too large"},
    {errc::too_many_headers, "too_many_headers", "too many header fields"},
    {errc::missing_host, "missing_host", "ICAP request without Host header"},
    {errc::missing_encapsulated, "missing_encapsulated",
     "REQMOD/RESPMOD without Encapsulated header"},
    {errc::bad_encapsulated, "bad_encapsulated", "malformed Encapsulated header"},
    {errc::unknown_encapsulated_entity, "unknown_encapsulated_entity",
     "unknown entity in Encapsulated header"},
    {errc::duplicate_encapsulated_entity, "duplicate_encapsulated_entity",
     "entity repeated in Encapsulated header"},
    {errc::encapsulated_order, "encapsulated_order", "Encapsulated sections out of order"},
    {errc::encapsulated_shape, "encapsulated_shape",
     "Encapsulated sections not allowed for this message"},
    {errc::encapsulated_offset_too_large, "encapsulated_offset_too_large",
     "Encapsulated offset too large"},
    {errc::encapsulated_offset_mismatch, "encapsulated_offset_mismatch",
     "encapsulated HTTP header does not end at the next Encapsulated offset"},
    {errc::duplicate_encapsulated_header, "duplicate_encapsulated_header",
     "more than one Encapsulated header"},
    {errc::response_without_encapsulated, "response_without_encapsulated",
     "ICAP 200/201/206 without an Encapsulated header"},
    {errc::sections_not_allowed_for_status, "sections_not_allowed_for_status",
     "ICAP 100/204 with an encapsulated HTTP head or body"},
    {errc::data_after_response, "data_after_response", "data after the end of the ICAP response"},
    {errc::transfer_encoding_on_icap, "transfer_encoding_on_icap",
     "Transfer-Encoding is not allowed on ICAP messages"},
    {errc::bad_preview, "bad_preview", "invalid Preview header"},
    {errc::preview_exceeded, "preview_exceeded",
     "more preview data than the Preview header announced"},
    {errc::bad_chunk_size, "bad_chunk_size", "invalid chunk size"},
    {errc::chunk_size_too_long, "chunk_size_too_long", "chunk size has too many digits"},
    {errc::chunk_size_overflow, "chunk_size_overflow", "chunk size too large"},
    {errc::bad_chunk_extension, "bad_chunk_extension", "malformed chunk extension"},
    {errc::bad_chunk_terminator, "bad_chunk_terminator", "chunk data not followed by CRLF"},
    {errc::bad_use_original_body, "bad_use_original_body", "invalid use-original-body offset"},
    {errc::ieof_outside_preview, "ieof_outside_preview", "ieof chunk extension outside a preview"},
    {errc::bad_trailer, "bad_trailer", "malformed trailer field"},
    {errc::chunk_line_too_long, "chunk_line_too_long", "chunk-size line too long"},
    {errc::unexpected_eof, "unexpected_eof", "input ended inside a message"},
    {errc::bad_uri, "bad_uri", "malformed URI"},
    {errc::unsupported_scheme, "unsupported_scheme", "unsupported URI scheme"},
    {errc::bad_host, "bad_host", "invalid host in URI"},
    {errc::bad_port, "bad_port", "invalid port in URI"},
    {errc::body_source_error, "body_source_error", "body source read error"},
    {errc::body_shorter_than_declared, "body_shorter_than_declared",
     "body shorter than its declared size"},
}};

const errc_info* find_info(int value) noexcept {
  for (const auto& info : errc_table) {
    if (static_cast<int>(info.code) == value) {
      return &info;
    }
  }
  return nullptr;
}

class codec_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "icapkit.codec"; }
  std::string message(int value) const override {
    const auto* info = find_info(value);
    return info != nullptr ? std::string(info->message) : "unknown codec error";
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

std::string_view errc_name(const std::error_code& ec) noexcept {
  if (ec.category() != codec_category()) {
    return {};
  }
  const auto* info = find_info(ec.value());
  return info != nullptr ? info->name : std::string_view{};
}

std::optional<errc> errc_from_name(std::string_view name) noexcept {
  for (const auto& info : errc_table) {
    if (info.name == name) {
      return info.code;
    }
  }
  return std::nullopt;
}

} // namespace icapkit::codec
