#pragma once
// The Encapsulated header (RFC 3507 section 4.4): parse, validate order, offsets and shape,
// compute.
#include "icapkit/codec/limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace icapkit::codec {

enum class section { req_hdr, res_hdr, req_body, res_body, opt_body, null_body };
std::string_view to_string(section s) noexcept; // "req-hdr", ...
bool is_body(section s) noexcept;               // req-body, res-body, opt-body, null-body

struct encapsulated_entity {
  section kind = section::null_body;
  std::uint64_t offset = 0;
  friend bool operator==(const encapsulated_entity&, const encapsulated_entity&) = default;
};

struct encapsulated {
  std::vector<encapsulated_entity> entities;

  // The terminating body entity (req-body/res-body/opt-body/null-body), if any.
  std::optional<encapsulated_entity> body() const;
  // True when a chunked body follows (a body entity other than null-body).
  bool has_chunked_body() const;
  bool has(section s) const;
  friend bool operator==(const encapsulated&, const encapsulated&) = default;
};

// Which message an Encapsulated header belongs to; decides the legal shapes (RFC 3507 4.4.1,
// errata e1 and e4).
enum class message_role {
  reqmod_request,   // [req-hdr] req-body | [req-hdr] null-body
  respmod_request,  // [req-hdr] [res-hdr] res-body | [req-hdr] [res-hdr] null-body
  options_request,  // empty, null-body, or opt-body
  reqmod_response,  // [req-hdr] req-body|null-body  or  [res-hdr] res-body|null-body
  respmod_response, // [res-hdr] res-body | [res-hdr] null-body
  options_response, // opt-body | null-body
};

// 100 Continue and 204 No Content answer without an encapsulated message (ERRATA e1): no HTTP
// head and no body section (at most "null-body=0" when received, no Encapsulated when sent).
bool status_has_no_sections(int icap_status) noexcept;
// 200, 201 (Symantec's 200) and 206 answer REQMOD/RESPMOD with an adapted message, which only the
// Encapsulated header frames.
bool status_carries_adapted_message(int icap_status) noexcept;

// Parses "req-hdr=0, res-hdr=137, res-body=296". Names are lowercase as the RFC writes them;
// offsets are decimal and may not exceed limits.max_encapsulated_offset.
// Errors: bad_encapsulated, unknown_encapsulated_entity, duplicate_encapsulated_entity,
// encapsulated_order, encapsulated_offset_too_large.
std::error_code parse_encapsulated(std::string_view value, encapsulated& out,
                                   const limits& lim = {});

// Checks the section combination for a message role; errc::encapsulated_shape when illegal.
std::error_code validate_shape(const encapsulated& enc, message_role role);

// "req-hdr=0, req-body=412"
std::string to_string(const encapsulated& enc);

// Computes the header for the given parts: sizes in bytes of the serialized encapsulated HTTP heads
// (start line through the blank line), and which body follows.
encapsulated compute_encapsulated(std::optional<std::size_t> req_hdr_size,
                                  std::optional<std::size_t> res_hdr_size, section body_kind);

} // namespace icapkit::codec
