#include "icapkit/log/icap_log.hpp"

namespace icapkit::log {
namespace detail {

// Higher wins when several exchanges disagree; a block is what the client sees.
int action_rank(icap_action a) noexcept {
  switch (a) {
  case icap_action::disabled:
    return 0;
  case icap_action::passed:
    return 1;
  case icap_action::modified:
    return 2;
  case icap_action::failed:
    return 3;
  case icap_action::blocked:
    return 4;
  }
  return 0;
}

} // namespace detail

icap_action summarise_actions(const std::vector<icap_request_log>& request_logs) noexcept {
  icap_action overall = icap_action::disabled;
  for (const auto& request : request_logs) {
    if (request.action && detail::action_rank(*request.action) > detail::action_rank(overall)) {
      overall = *request.action;
    }
  }
  return overall;
}

} // namespace icapkit::log
