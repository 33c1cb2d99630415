#include "icapkit/log/field_format.hpp"

#include <array>

namespace icapkit::log {
namespace detail {

// One octet: 1-3 digits, no leading zero (so "010" is not silently read as 10 or as octal 8).
std::optional<std::uint32_t> parse_octet(std::string_view text) noexcept {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  std::uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value <= 255 ? std::optional<std::uint32_t>{value} : std::nullopt;
}

constexpr std::array<std::uint32_t, 256> make_crc_table() noexcept {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    }
    table[n] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

} // namespace detail

std::optional<std::uint32_t> icap_server_ip_from_string(std::string_view address) noexcept {
  std::uint32_t ip = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = address.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) {
      return std::nullopt;
    }
    const auto octet = detail::parse_octet(address.substr(0, dot));
    if (!octet) {
      return std::nullopt;
    }
    ip = (ip << 8) | *octet;
    address = dot == std::string_view::npos ? std::string_view{} : address.substr(dot + 1);
  }
  return ip;
}

std::string icap_server_ip_to_string(std::uint32_t ip) {
  std::string text;
  for (int shift = 24; shift >= 0; shift -= 8) {
    text += std::to_string((ip >> shift) & 0xFFU);
    if (shift != 0) {
      text += '.';
    }
  }
  return text;
}

std::string join_icap_headers(const codec::header_list& headers) {
  std::size_t size = 0;
  for (const auto& field : headers) {
    size += field.name.size() + field.value.size() + 4; // ": " and CRLF; folds add a little
  }
  std::string text;
  text.reserve(size);
  for (const auto& field : headers) {
    text += field.name;
    text += ": ";
    std::string_view value = field.value;
    for (auto fold = value.find('\n'); fold != std::string_view::npos; fold = value.find('\n')) {
      text += value.substr(0, fold);
      text += "\r\n\t"; // TAB folding, as c-icap and our serializer write it
      value.remove_prefix(fold + 1);
    }
    text += value;
    text += "\r\n";
  }
  return text;
}

codec::header_list split_icap_headers(std::string_view text) {
  codec::header_list headers;
  std::string name;
  std::string value;
  bool have_field = false;
  auto flush = [&] {
    if (have_field) {
      headers.add(std::move(name), std::move(value));
      name.clear();
      value.clear();
    }
  };
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (have_field) {
        value += '\n';
        value += detail::trim_ows(line);
      }
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    flush();
    name = std::string(detail::trim_ows(line.substr(0, colon)));
    value = std::string(detail::trim_ows(line.substr(colon + 1)));
    have_field = true;
  }
  flush();
  return headers;
}

std::uint32_t crc32_of(std::string_view text) noexcept {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const char c : text) {
    crc = detail::crc_table[(crc ^ static_cast<unsigned char>(c)) & 0xFFU] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFU;
}

} // namespace icapkit::log
