#pragma once
// Avi's IcapProfile (/api/icapprofile): field names, enums, defaults and ranges as the Avi SDK
// models define them (see DESIGN.md section 5).
#include "icapkit/config/diagnostics.hpp"
#include "icapkit/config/ref.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::config {

enum class icap_vendor { generic, opswat, lastline };
// What happens when the ICAP exchange fails or the body is too large to buffer.
// Closed: 503 for fail_action (the NSX ALB ICAP guide), 413 for buffer_size_exceed_action.
enum class icap_fail_action { fail_open, fail_closed };

std::string_view to_string(icap_vendor v) noexcept;      // "ICAP_VENDOR_OPSWAT", …
std::string_view to_string(icap_fail_action a) noexcept; // "ICAP_FAIL_OPEN", …

struct icap_nsx_defender_config {
  static constexpr std::string_view default_status_url =
      "https://user.lastline.com/portal#/analyst/task/$uuid/overview";
  std::string status_url{default_status_url}; // "$uuid" is literal, replaced per request
};

// Replaces every "$uuid" in `status_url` with `task_uuid` (the X-Lastline-Task value).
std::string expand_status_url(std::string_view status_url, std::string_view task_uuid);

struct icap_profile {
  // Avi ranges and units, shared by the loader's checks and the command-line overrides.
  static constexpr std::uint32_t max_preview_size = 5000;             // bytes
  static constexpr std::uint32_t lastline_min_preview_size = 10;      // bytes, Avi model text
  static constexpr std::uint32_t lastline_recommended_preview = 1000; // bytes
  static constexpr std::uint32_t min_buffer_size = 1;                 // KB
  static constexpr std::uint32_t max_buffer_size = 51200;             // KB
  static constexpr std::uint32_t min_timeout = 50;                    // ms
  static constexpr std::uint32_t max_timeout = 3600000;               // ms

  std::string name;           // required
  std::string pool_group_ref; // required, as written in the file
  std::string service_uri;    // required: path and query of the ICAP URL ("/OMSScanReq-AV")
  icap_vendor vendor = icap_vendor::opswat;
  bool allow_204 = true;
  bool enable_preview = true;
  std::uint32_t preview_size = 5000; // bytes
  std::uint32_t buffer_size = 51200; // KB
  icap_fail_action buffer_size_exceed_action = icap_fail_action::fail_open;
  icap_fail_action fail_action = icap_fail_action::fail_open;
  std::uint32_t response_timeout = 60000;                // ms
  std::uint32_t slow_response_warning_threshold = 10000; // ms
  icap_nsx_defender_config nsx_defender_config;
  std::string description;
  std::string uuid;
  std::string cloud_ref;
  std::string tenant_ref;

  // Filled by the loader: index of the pool group pool_group_ref designates.
  std::size_t pool_group_index = 0;

  std::uint64_t buffer_size_bytes() const noexcept { return std::uint64_t{buffer_size} * 1024U; }
};

namespace detail {
// Reads an IcapProfile object; problems go to `diags` with paths under `path`.
icap_profile read_icap_profile(const nlohmann::json& value, const std::string& path,
                               diagnostics& diags);
} // namespace detail

} // namespace icapkit::config
