#pragma once
// IPv4/IPv6 addresses, prefixes and ranges as Avi's IpAddr / IpAddrPrefix / IpAddrRange carry
// them; used for pool servers and client_ip matches.
#include "icapkit/config/diagnostics.hpp"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::config {

enum class ip_family { v4, v6 };

struct ip_address {
  ip_family family = ip_family::v4;
  std::array<std::uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4

  // Dotted quad or RFC 4291 text (no brackets, no zone); nullopt otherwise.
  static std::optional<ip_address> parse(std::string_view text);
  // ::ffff:a.b.c.d becomes a.b.c.d: a dual-stack listener reports IPv4 clients that way and
  // a rule written for 10.0.0.0/8 must still match them.
  ip_address unmapped() const noexcept;
  std::size_t size() const noexcept { return family == ip_family::v4 ? 4 : 16; }
  std::string to_string() const;
  friend auto operator<=>(const ip_address&, const ip_address&) = default;
};

struct ip_prefix {
  ip_address address;
  unsigned mask = 32; // prefix length: 0..32 for IPv4, 0..128 for IPv6
  bool contains(const ip_address& candidate) const noexcept;
  friend bool operator==(const ip_prefix&, const ip_prefix&) = default;
};

struct ip_range {
  ip_address begin;
  ip_address end; // inclusive
  bool contains(const ip_address& candidate) const noexcept;
  friend bool operator==(const ip_range&, const ip_range&) = default;
};

namespace detail {
// Reads an Avi IpAddr object {"addr": "...", "type": "V4"|"V6"}; the type must agree with the
// address. DNS-typed addresses are refused: a match or server needs a literal address here.
std::optional<ip_address> read_ip_addr(const nlohmann::json& value, const std::string& path,
                                       diagnostics& diags);
// Avi IpAddrPrefix {"ip_addr": IpAddr, "mask": N}.
std::optional<ip_prefix> read_ip_prefix(const nlohmann::json& value, const std::string& path,
                                        diagnostics& diags);
// Avi IpAddrRange {"begin": IpAddr, "end": IpAddr}.
std::optional<ip_range> read_ip_range(const nlohmann::json& value, const std::string& path,
                                      diagnostics& diags);
} // namespace detail

} // namespace icapkit::config
