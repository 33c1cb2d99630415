// The enforcer's exchanges themselves run in proxy_test.cpp (in-process proxy, mock ICAP server,
// origin); here: what a profile means for the proxy's ICAP client.
#include "icapkit/proxy/enforcement.hpp"

#include <doctest/doctest.h>

using namespace icapkit;

TEST_CASE("enforcement: a profile's response_timeout bounds connect and silence too") {
  config::icap_profile profile;
  profile.response_timeout = 2000;
  profile.allow_204 = false;
  auto settings = proxy::settings_of(profile);
  CHECK(settings.response_timeout == std::chrono::milliseconds{2000});
  // A server that stalls is the profile's timeout (fail_action), not an earlier idle cut.
  CHECK(settings.io_timeout == std::chrono::milliseconds{2000});
  CHECK(settings.connect_timeout == std::chrono::milliseconds{2000});
  CHECK_FALSE(settings.allow_204);

  profile.response_timeout = 60000;
  settings = proxy::settings_of(profile);
  CHECK(settings.connect_timeout == std::chrono::milliseconds{5000}); // a dead server fails fast
  CHECK(settings.io_timeout == std::chrono::milliseconds{60000});
}
