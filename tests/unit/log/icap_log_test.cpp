#include "icapkit/log/icap_log.hpp"

#include <doctest/doctest.h>

using namespace icapkit::log;

namespace {
icap_request_log with_action(icap_action a) {
  icap_request_log r;
  r.action = a;
  return r;
}
} // namespace

TEST_CASE("icap_log: a default log is ICAP_DISABLED with no request logs and nothing set") {
  const icap_log log;
  CHECK(log.action == icap_action::disabled);
  CHECK(log.request_logs.empty());
  const icap_request_log request;
  CHECK_FALSE(request.latency.has_value());
  CHECK_FALSE(request.icap_server_ip.has_value());
  CHECK_FALSE(request.opswat_log.has_value());
}

TEST_CASE("summarise_actions: a block wins, then failure, then modification") {
  using enum icap_action;
  CHECK(summarise_actions({}) == disabled);
  CHECK(summarise_actions({with_action(passed)}) == passed);
  CHECK(summarise_actions({with_action(passed), with_action(modified)}) == modified);
  CHECK(summarise_actions({with_action(failed), with_action(modified)}) == failed);
  CHECK(summarise_actions({with_action(blocked), with_action(failed)}) == blocked);
  CHECK(summarise_actions({icap_request_log{}}) == disabled);
}
