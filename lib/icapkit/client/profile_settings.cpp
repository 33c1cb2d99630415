#include "icapkit/client/profile_settings.hpp"

namespace icapkit::client {

log::icap_vendor to_log_vendor(config::icap_vendor vendor) noexcept {
  switch (vendor) {
  case config::icap_vendor::generic:
    return log::icap_vendor::generic;
  case config::icap_vendor::lastline:
    return log::icap_vendor::lastline;
  case config::icap_vendor::opswat:
    break;
  }
  return log::icap_vendor::opswat;
}

void apply_profile(const config::icap_profile& profile, client_settings& settings) {
  settings.vendor = to_log_vendor(profile.vendor);
  settings.enable_preview = profile.enable_preview;
  settings.preview_size = profile.preview_size;
  settings.allow_204 = profile.allow_204;
  settings.response_timeout = std::chrono::milliseconds{profile.response_timeout};
  settings.slow_threshold = std::chrono::milliseconds{profile.slow_response_warning_threshold};
  settings.nsx_status_url = profile.nsx_defender_config.status_url;
}

} // namespace icapkit::client
