#pragma once
// `icapkit scan --profile FILE`: what an Avi-compatible configuration decides for a scan, the
// ICAP profile's settings and the servers of its pool group, turned into client settings and
// service URLs. Flags given on the command line are applied afterwards and win.
#include "icapkit/client/client.hpp"
#include "icapkit/codec/uri.hpp"

#include <string>
#include <vector>

namespace icapkit::app {

struct profile_scan_setup {
  std::vector<codec::uri> servers; // in failover order: higher priority pools first
  std::vector<std::string> warnings;
  std::vector<std::string> errors; // non-empty: the profile cannot be used
};

// Loads `file` (config::load_config_file) and applies vendor, enable_preview, preview_size,
// allow_204, response_timeout, slow_response_warning_threshold, nsx_defender_config.status_url,
// the first usable pool's name, uuid and TLS files to `settings`; lists the enabled servers of
// enabled pools as icap:// (or icaps:// for TLS pools) URLs with the profile's service_uri.
profile_scan_setup apply_profile(const std::string& file, client::client_settings& settings);

} // namespace icapkit::app
