// The request record's pieces that need no connection: how the significance of a request's ICAP
// steps (REQMOD, then RESPMOD) adds up. The record as a whole is checked end to end in
// proxy_test.cpp.
#include "icapkit/proxy/request_record.hpp"

#include <doctest/doctest.h>

using namespace icapkit;

TEST_CASE("request_record: the stronger action, every flag and the first failure text stay") {
  log::significance_conditions request;
  log::significance_conditions reqmod;
  reqmod.action = log::icap_action::failed;
  reqmod.connection_error = true;
  reqmod.failure = "connection reset by 127.0.0.1:1344";
  proxy::detail::merge_significance(request, reqmod);
  CHECK(request.action == log::icap_action::failed);
  CHECK(request.connection_error);
  CHECK(request.failure == "connection reset by 127.0.0.1:1344");

  log::significance_conditions respmod;
  respmod.action = log::icap_action::modified; // weaker than failed: the failure stands
  respmod.slow = true;
  respmod.failure = "a later text";
  proxy::detail::merge_significance(request, respmod);
  CHECK(request.action == log::icap_action::failed);
  CHECK(request.slow);
  CHECK(request.connection_error); // flags are never cleared by a later step
  CHECK(request.failure == "connection reset by 127.0.0.1:1344");

  log::significance_conditions passed; // a weaker action does not lower the request's
  proxy::detail::merge_significance(request, passed);
  CHECK(request.action == log::icap_action::failed);
}
