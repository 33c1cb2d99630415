#include "icapkit/config/icap_profile.hpp"

#include "icapkit/config/json_reader.hpp"

#include <array>

namespace icapkit::config {
namespace detail {
namespace {

constexpr std::array<enum_name<icap_vendor>, 3> vendor_names{{
    {"ICAP_VENDOR_GENERIC", icap_vendor::generic},
    {"ICAP_VENDOR_OPSWAT", icap_vendor::opswat},
    {"ICAP_VENDOR_LASTLINE", icap_vendor::lastline},
}};

constexpr std::array<enum_name<icap_fail_action>, 2> fail_action_names{{
    {"ICAP_FAIL_OPEN", icap_fail_action::fail_open},
    {"ICAP_FAIL_CLOSED", icap_fail_action::fail_closed},
}};

// Avi: "The path and query component of the ICAP URL. Host name and port will be taken from
// the pool." A full URL here is the most common mistake, so it gets its own message.
void check_service_uri(const std::string& uri, const std::string& path, diagnostics& diags) {
  if (uri.find("://") != std::string::npos) {
    diags.error(path, "\"" + uri +
                          "\" is a URL; give only the path and query (e.g. /OMSScanReq-AV), "
                          "host and port come from the pool");
    return;
  }
  if (!uri.starts_with('/')) {
    diags.error(path, "\"" + uri + "\" must start with '/'");
    return;
  }
  for (const char c : uri) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '#') {
      diags.error(path, "\"" + uri + "\" contains a space, control character or '#'");
      return;
    }
  }
}

void read_nsx_defender_config(object_reader& parent, icap_nsx_defender_config& out) {
  const auto* value = parent.find("nsx_defender_config");
  if (value == nullptr) {
    return;
  }
  object_reader reader(*value, parent.path_of("nsx_defender_config"), parent.diags());
  reader.get_string("status_url", out.status_url);
}

void read_limits(object_reader& reader, icap_profile& p) {
  using limits = icap_profile;
  reader.get_unsigned("preview_size", p.preview_size, 0, limits::max_preview_size, "bytes");
  reader.get_unsigned("buffer_size", p.buffer_size, limits::min_buffer_size,
                      limits::max_buffer_size, "KB");
  reader.get_unsigned("response_timeout", p.response_timeout, limits::min_timeout,
                      limits::max_timeout, "milliseconds");
  reader.get_unsigned("slow_response_warning_threshold", p.slow_response_warning_threshold,
                      limits::min_timeout, limits::max_timeout, "milliseconds");
}

} // namespace

icap_profile read_icap_profile(const nlohmann::json& value, const std::string& path,
                               diagnostics& diags) {
  icap_profile p;
  object_reader reader(value, path, diags);
  reader.get_string("name", p.name, true);
  reader.get_string("pool_group_ref", p.pool_group_ref, true);
  if (reader.get_string("service_uri", p.service_uri, true)) {
    check_service_uri(p.service_uri, reader.path_of("service_uri"), diags);
  }
  reader.get_enum<icap_vendor>("vendor", p.vendor, vendor_names);
  reader.get_bool("allow_204", p.allow_204);
  reader.get_bool("enable_preview", p.enable_preview);
  reader.get_enum<icap_fail_action>("buffer_size_exceed_action", p.buffer_size_exceed_action,
                                    fail_action_names);
  reader.get_enum<icap_fail_action>("fail_action", p.fail_action, fail_action_names);
  read_limits(reader, p);
  read_nsx_defender_config(reader, p.nsx_defender_config);
  reader.get_string("description", p.description);
  reader.get_string("uuid", p.uuid);
  reader.get_string("cloud_ref", p.cloud_ref);
  reader.get_string("tenant_ref", p.tenant_ref);

  // Avi's schema range is 0..5000 for every vendor; the LASTLINE minimum lives only in the
  // field's description, so a controller export may hold a smaller value. Warn, do not refuse.
  if (p.vendor == icap_vendor::lastline && p.enable_preview &&
      p.preview_size < icap_profile::lastline_min_preview_size) {
    diags.warning(reader.path_of("preview_size"),
                  std::to_string(p.preview_size) + " is below the minimum of " +
                      std::to_string(icap_profile::lastline_min_preview_size) +
                      " bytes for ICAP_VENDOR_LASTLINE (recommended: " +
                      std::to_string(icap_profile::lastline_recommended_preview) + ")");
  }
  return p;
}

} // namespace detail

std::string_view to_string(icap_vendor v) noexcept {
  return detail::enum_to_string<icap_vendor>(detail::vendor_names, v);
}

std::string_view to_string(icap_fail_action a) noexcept {
  return detail::enum_to_string<icap_fail_action>(detail::fail_action_names, a);
}

std::string expand_status_url(std::string_view status_url, std::string_view task_uuid) {
  constexpr std::string_view placeholder = "$uuid";
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto found = status_url.find(placeholder, pos);
    out += status_url.substr(pos, found - pos);
    if (found == std::string_view::npos) {
      return out;
    }
    out += task_uuid;
    pos = found + placeholder.size();
  }
}

} // namespace icapkit::config
