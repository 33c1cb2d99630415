#pragma once
// Avi's HealthMonitor (/api/healthmonitor), restricted to its timing: how often a server is
// checked, how long one check may take, and how many passes or failures in a row change its
// state. Whatever the type says (HEALTH_MONITOR_TCP, _HTTP, _PING, ...), icapkit always checks an
// ICAP server with an OPTIONS request to the profile's service: that is the one check that proves
// the ICAP service answers. The type is kept as written, for reports.
#include "icapkit/config/diagnostics.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::config {

struct health_monitor {
  // Avi ranges (seconds, counts).
  static constexpr std::uint32_t min_send_interval = 1;
  static constexpr std::uint32_t max_send_interval = 3600;
  static constexpr std::uint32_t min_receive_timeout = 1;
  static constexpr std::uint32_t max_receive_timeout = 2400;
  static constexpr std::uint32_t min_checks = 1;
  static constexpr std::uint32_t max_checks = 50;
  static constexpr std::string_view type_prefix = "HEALTH_MONITOR_";

  std::string name; // required
  std::string uuid;
  std::string type;                    // "HEALTH_MONITOR_TCP", ...; empty when absent
  std::uint32_t send_interval = 10;    // seconds between two checks of one server
  std::uint32_t receive_timeout = 4;   // seconds one check may take; < send_interval
  std::uint32_t successful_checks = 2; // consecutive passes that bring a down server up
  std::uint32_t failed_checks = 2;     // consecutive failures that take an up server down
  std::string description;
  std::string tenant_ref;
  // True for a System-* monitor that pools refer to without the file defining it: every Avi
  // controller has them built in, so exports refer to them without carrying them.
  bool system_defined = false;
};

namespace detail {
// Reads a HealthMonitor object; problems go to `diags` with paths under `path`.
health_monitor read_health_monitor(const nlohmann::json& value, const std::string& path,
                                   diagnostics& diags);
// The built-in monitor an undefined ref named `name` stands for ("System-TCP" ->
// HEALTH_MONITOR_TCP with Avi's default timing), or nullopt when `name` is not a System-* name.
std::optional<health_monitor> system_health_monitor(std::string_view name);
} // namespace detail

} // namespace icapkit::config
