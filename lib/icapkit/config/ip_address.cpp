#include "icapkit/config/ip_address.hpp"

#include "icapkit/config/json_reader.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace icapkit::config {

std::optional<ip_address> ip_address::parse(std::string_view text) {
  constexpr std::size_t max_text = 64; // longest IPv6 text is 45 characters
  if (text.empty() || text.size() >= max_text) {
    return std::nullopt;
  }
  const std::string copy(text); // inet_pton needs a terminated string
  ip_address address;
  if (::inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
    address.family = ip_family::v4;
    return address;
  }
  if (::inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
    address.family = ip_family::v6;
    return address;
  }
  return std::nullopt;
}

ip_address ip_address::unmapped() const noexcept {
  constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family != ip_family::v6 ||
      !std::equal(mapped_prefix.begin(), mapped_prefix.end(), bytes.begin())) {
    return *this;
  }
  ip_address v4;
  v4.family = ip_family::v4;
  std::copy(bytes.begin() + 12, bytes.end(), v4.bytes.begin());
  return v4;
}

std::string ip_address::to_string() const {
  std::array<char, 64> text{};
  ::inet_ntop(family == ip_family::v4 ? AF_INET : AF_INET6, bytes.data(), text.data(),
              static_cast<socklen_t>(text.size()));
  return text.data();
}

bool ip_prefix::contains(const ip_address& candidate) const noexcept {
  const ip_address client = candidate.unmapped();
  if (client.family != address.family) {
    return false;
  }
  const unsigned whole_bytes = mask / 8;
  for (unsigned i = 0; i < whole_bytes; ++i) {
    if (client.bytes[i] != address.bytes[i]) {
      return false;
    }
  }
  const unsigned rest_bits = mask % 8;
  if (rest_bits == 0) {
    return true;
  }
  const auto bits = static_cast<std::uint8_t>(0xffU << (8 - rest_bits));
  return (client.bytes[whole_bytes] & bits) == (address.bytes[whole_bytes] & bits);
}

bool ip_range::contains(const ip_address& candidate) const noexcept {
  const ip_address client = candidate.unmapped();
  return client.family == begin.family && begin <= client && client <= end;
}

namespace detail {
namespace {

enum class avi_ip_type { v4, v6, dns };
constexpr std::array<enum_name<avi_ip_type>, 3> ip_type_names{{
    {"V4", avi_ip_type::v4},
    {"V6", avi_ip_type::v6},
    {"DNS", avi_ip_type::dns},
}};

} // namespace

std::optional<ip_address> read_ip_addr(const nlohmann::json& value, const std::string& path,
                                       diagnostics& diags) {
  object_reader reader(value, path, diags);
  std::string text;
  auto type = avi_ip_type::v4;
  const bool has_addr = reader.get_string("addr", text, true);
  const bool has_type = reader.get_enum<avi_ip_type>("type", type, ip_type_names, true);
  if (!has_addr || !has_type) {
    return std::nullopt;
  }
  if (type == avi_ip_type::dns) {
    diags.error(reader.path_of("type"), "DNS addresses are not supported here; use V4 or V6");
    return std::nullopt;
  }
  auto address = ip_address::parse(text);
  if (!address) {
    diags.error(reader.path_of("addr"), "\"" + text + "\" is not an IP address");
    return std::nullopt;
  }
  const auto expected = (type == avi_ip_type::v4) ? ip_family::v4 : ip_family::v6;
  if (address->family != expected) {
    diags.error(reader.path_of("type"), "\"" + text + "\" is not a " +
                                            (type == avi_ip_type::v4 ? "V4" : "V6") + " address");
    return std::nullopt;
  }
  return address;
}

std::optional<ip_prefix> read_ip_prefix(const nlohmann::json& value, const std::string& path,
                                        diagnostics& diags) {
  object_reader reader(value, path, diags);
  const auto* addr = reader.find("ip_addr");
  if (addr == nullptr) {
    reader.missing("ip_addr");
    return std::nullopt;
  }
  auto address = read_ip_addr(*addr, reader.path_of("ip_addr"), diags);
  if (!address) {
    reader.accept({"mask"});
    return std::nullopt;
  }
  const std::int64_t max_mask = address->family == ip_family::v4 ? 32 : 128;
  std::int64_t mask = 0;
  if (!reader.get_integer("mask", mask, 0, max_mask, "prefix length", true)) {
    return std::nullopt;
  }
  return ip_prefix{*address, static_cast<unsigned>(mask)};
}

std::optional<ip_range> read_ip_range(const nlohmann::json& value, const std::string& path,
                                      diagnostics& diags) {
  object_reader reader(value, path, diags);
  const auto* begin = reader.find("begin");
  const auto* end = reader.find("end");
  if (begin == nullptr || end == nullptr) {
    reader.missing(begin == nullptr ? "begin" : "end");
    return std::nullopt;
  }
  auto first = read_ip_addr(*begin, reader.path_of("begin"), diags);
  auto last = read_ip_addr(*end, reader.path_of("end"), diags);
  if (!first || !last) {
    return std::nullopt;
  }
  if (first->family != last->family || *last < *first) {
    diags.error(path, "range " + first->to_string() + " .. " + last->to_string() +
                          " is empty or mixes IPv4 and IPv6");
    return std::nullopt;
  }
  return ip_range{*first, *last};
}

} // namespace detail
} // namespace icapkit::config
