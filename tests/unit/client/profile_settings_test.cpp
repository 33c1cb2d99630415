#include "icapkit/client/profile_settings.hpp"

#include <doctest/doctest.h>

using namespace icapkit;

TEST_CASE("profile settings: every vendor maps to the record's enum") {
  CHECK(client::to_log_vendor(config::icap_vendor::generic) == log::icap_vendor::generic);
  CHECK(client::to_log_vendor(config::icap_vendor::opswat) == log::icap_vendor::opswat);
  CHECK(client::to_log_vendor(config::icap_vendor::lastline) == log::icap_vendor::lastline);
}

TEST_CASE(
    "profile settings: the profile's preview, 204, deadlines and status URL reach the client") {
  config::icap_profile profile;
  profile.vendor = config::icap_vendor::lastline;
  profile.enable_preview = false;
  profile.preview_size = 1000;
  profile.allow_204 = false;
  profile.response_timeout = 1234;
  profile.slow_response_warning_threshold = 567;
  profile.nsx_defender_config.status_url = "https://nsx.example/task/$uuid";
  client::client_settings settings;
  settings.user_agent = "kept";
  client::apply_profile(profile, settings);
  CHECK(settings.vendor == log::icap_vendor::lastline);
  CHECK_FALSE(settings.enable_preview);
  CHECK(settings.preview_size == 1000);
  CHECK_FALSE(settings.allow_204);
  CHECK(settings.response_timeout == std::chrono::milliseconds{1234});
  CHECK(settings.slow_threshold == std::chrono::milliseconds{567});
  CHECK(settings.nsx_status_url == "https://nsx.example/task/$uuid");
  CHECK(settings.user_agent == "kept"); // what the profile does not say is left alone
}
