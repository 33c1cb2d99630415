#pragma once
// What an Avi IcapProfile means for the ICAP client: one mapping shared by `icapkit scan
// --profile` and the proxy, so both send the same Preview/Allow and apply the same deadlines.
#include "icapkit/client/client.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/log/enums.hpp"

namespace icapkit::client {

// ICAP_VENDOR_* of the profile as the record's vendor enum.
log::icap_vendor to_log_vendor(config::icap_vendor vendor) noexcept;

// Sets vendor, enable_preview, preview_size, allow_204, response_timeout,
// slow_threshold and nsx_status_url from the profile; other settings are left as they are.
void apply_profile(const config::icap_profile& profile, client_settings& settings);

} // namespace icapkit::client
