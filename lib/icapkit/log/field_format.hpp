#pragma once
// Conversions between what the ICAP client knows (addresses, header lists, names) and the exact
// encodings Avi uses for them in icap_log.
#include "icapkit/codec/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::log {

// "100.64.3.15" -> 1681916687 (a<<24|b<<16|c<<8|d). nullopt for IPv6 literals, names and
// anything that is not four decimal octets 0..255 without leading zeros: the caller then omits
// icap_server_ip.
std::optional<std::uint32_t> icap_server_ip_from_string(std::string_view address) noexcept;

// 1681916687 -> "100.64.3.15".
std::string icap_server_ip_to_string(std::uint32_t ip);

// Header fields as Avi logs them: "Name: value\r\n" per field, in order, no start line. A folded
// value (the codec keeps its lines joined with "\n") is written folded again ("\r\n\t" between).
std::string join_icap_headers(const codec::header_list& headers);

// The inverse of join_icap_headers, lenient: lines split on "\r\n" (or "\n"), continuation
// lines appended to the previous value with "\n", lines without ':' skipped, a missing final
// CRLF accepted (Avi's own example ends without one).
codec::header_list split_icap_headers(std::string_view text);

// CRC-32 (IEEE 802.3, as zlib's crc32) of a name; Avi's {"val", "crc32"} form carries it:
// crc32_of("ICAP-POOL-GROUP") == 1799851903.
std::uint32_t crc32_of(std::string_view text) noexcept;

} // namespace icapkit::log
