#pragma once
// Explicit limits and named leniencies for the parsers. Strict by default: every leniency is off
// unless a real peer needs it and the caller asks for it by name.
#include <cstddef>
#include <cstdint>

namespace icapkit::codec {

struct limits {
  std::size_t max_start_line = 8192;      // bytes in a request or status line
  std::size_t max_header_bytes = 65536;   // bytes in one head (start line + fields + blank line)
  std::size_t max_header_count = 128;     // fields in one head
  std::size_t max_chunk_size_digits = 16; // hex digits of a chunk size (16 = 64 bits)
  std::size_t max_chunk_line = 4096;      // bytes in a chunk-size line including extensions
  std::uint64_t max_encapsulated_offset = 1u << 20; // encapsulated HTTP heads are small
  std::size_t max_trailer_bytes = 16384;
  // Empty lines skipped before a start line with leniency::leading_empty_lines (RFC 9112 2.2:
  // "at least one"); one more is a bad start line.
  std::size_t max_leading_empty_lines = 4;
};

struct leniency {
  bool bare_lf = false;                   // accept LF without CR as a line terminator
  bool space_before_colon = false;        // accept "Name : value" (a smuggling vector in HTTP)
  bool leading_empty_lines = false;       // skip CRLFs before a start line (c-icap #70, g3proxy)
  bool missing_encapsulated = false;      // treat REQMOD/RESPMOD without Encapsulated as null-body
  bool chunk_size_trailing_space = false; // "44 \r\n" (Squid bug 4492: IBM_HTTP_Server)
  bool ieof_outside_preview = false;      // accept 0; ieof on a message that had no Preview
  bool missing_host = false;              // accept an ICAP request without Host
};

} // namespace icapkit::codec
