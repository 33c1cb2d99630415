#pragma once
// Every way ICAP/HTTP input (or a serializer argument) can be wrong has its own code and message.
#include <optional>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

enum class errc {
  // start lines
  bad_request_line = 1, // not "METHOD SP URI SP VERSION"
  bad_method,           // method token has characters outside tchar
  bad_request_target,   // empty target or control characters in it
  bad_version,          // not "ICAP/d.d" or "HTTP/d.d"
  bad_status_line,      // not "VERSION SP 3DIGIT [SP reason]"
  bad_status_code,      // status code not three digits or out of 100..599
  start_line_too_long,  // start line longer than limits::max_start_line
  // header fields
  bad_header_name,    // empty name or a character outside tchar
  bad_header_value,   // control character (other than HTAB) in a value
  missing_colon,      // header line without ':'
  space_before_colon, // "Name : value" (refused unless leniency space_before_colon)
  bad_line_ending,    // bare CR, or bare LF without leniency bare_lf
  unexpected_fold,    // continuation line before the first header field
  header_too_long,    // head larger than limits::max_header_bytes
  too_many_headers,   // more fields than limits::max_header_count
  // ICAP framing
  missing_host,                // request without Host
  missing_encapsulated,        // REQMOD/RESPMOD without Encapsulated (and no leniency)
  bad_encapsulated,            // Encapsulated value does not follow the grammar
  unknown_encapsulated_entity, // entity name that is not
                               // req-hdr/res-hdr/req-body/res-body/opt-body/null-body
  duplicate_encapsulated_entity,
  encapsulated_order, // sections out of the order RFC 3507 4.4.1 allows or offsets not increasing
  encapsulated_shape, // combination of sections not legal for this method/status
  encapsulated_offset_too_large, // offset beyond limits::max_encapsulated_offset
  encapsulated_offset_mismatch, // an encapsulated HTTP head does not end where the next offset says
  duplicate_encapsulated_header,   // two Encapsulated fields
  response_without_encapsulated,   // 200/201/206 to REQMOD/RESPMOD without Encapsulated: unframable
  sections_not_allowed_for_status, // 100 or 204 with an HTTP head or a body section (ERRATA e1)
  data_after_response, // bytes after a whole response (the client's check: the parser stops there)
  transfer_encoding_on_icap, // Transfer-Encoding is not allowed on ICAP messages
  bad_preview,               // Preview value not a decimal number
  preview_exceeded,          // more body bytes than Preview announced before the zero chunk
  // chunked coding
  bad_chunk_size,        // empty or non-hex chunk size
  chunk_size_too_long,   // more hex digits than limits::max_chunk_size_digits
  chunk_size_overflow,   // chunk size does not fit in 64 bits
  bad_chunk_extension,   // chunk extension does not follow the RFC 9112 grammar
  bad_chunk_terminator,  // chunk data not followed by CRLF
  bad_use_original_body, // use-original-body without a valid decimal offset
  ieof_outside_preview,  // ieof on a message that is not a preview
  bad_trailer,           // malformed trailer field
  chunk_line_too_long,   // chunk-size line (with extensions) longer than limits::max_chunk_line
  // input ends
  unexpected_eof, // input ended inside a message
  // URIs
  bad_uri,            // not scheme://authority/path
  unsupported_scheme, // scheme other than icap, icaps, http, https
  bad_host,           // empty host, unbalanced IPv6 brackets, bad characters
  bad_port,           // port not a number in 1..65535
  // serializer
  body_source_error,          // the body source reported a read error
  body_shorter_than_declared, // source ended before the size it declared
};

const std::error_category& codec_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// The enumerator's name ("bad_chunk_size") for a codec error, empty for any other category.
std::string_view errc_name(const std::error_code& ec) noexcept;
// The code named `name`, as vectors and logs write it.
std::optional<errc> errc_from_name(std::string_view name) noexcept;

} // namespace icapkit::codec

template <>
struct std::is_error_code_enum<icapkit::codec::errc> : std::true_type {};
