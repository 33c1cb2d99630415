#pragma once
// What happened to one replayed request: the facts expectations, the summary and JUnit read.
#include "icapkit/log/enums.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::replay {

struct outcome {
  std::size_t index = 0; // 0-based position among the replayed requests (after --filter)
  std::string origin;    // captured_exchange::origin
  std::string method;
  std::string url;
  bool sent = false;         // a request went out (false: not replayed, or it failed to go)
  bool body_captured = true; // false: not replayed, the capture lacks its body
  std::string body_note;
  std::optional<log::icap_action> action; // icap_log.action of its record; unset when not sent
  // --target: the action was read from outside the proxy (status, what reached the upstream),
  // which cannot tell ICAP_DISABLED from ICAP_PASSED: expectations treat the two as one.
  bool verdict_from_outside = false;
  std::optional<int> status;        // HTTP status the client received
  std::vector<std::string> threats; // threat names the ICAP server reported
  std::string error;                // why no response came ("connection reset"); or empty
  double seconds = 0;               // send to last response byte
};

} // namespace icapkit::replay
