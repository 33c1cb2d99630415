#include "icapkit/client/failover.hpp"

#include "icapkit/net/errc.hpp"

namespace icapkit::client {

namespace {

bool peer_failure(const std::error_code& ec) noexcept {
  return ec == net::errc::connection_refused || ec == net::errc::resolve_failed ||
         ec == net::errc::connect_timeout || ec == net::errc::connection_reset ||
         ec == net::errc::closed_by_peer || ec == net::errc::tls_handshake_failed ||
         ec == net::errc::tls_verify_failed || ec == net::errc::tls_protocol_error;
}

} // namespace

bool is_connection_failure(const exchange_result& result) noexcept {
  return result.result.outcome == verdict_outcome::failed && !result.body_failed &&
         peer_failure(result.error.code);
}

failover_decision decide_failover(const exchange_result& result, bool body_replayable,
                                  std::chrono::steady_clock::duration time_left) {
  failover_decision decision;
  if (result.result.outcome != verdict_outcome::failed || result.not_sent || result.body_failed) {
    return decision;
  }
  const auto& ec = result.error.code;
  const bool timeout = net::is_timeout(ec);
  if (!peer_failure(ec) && !timeout) {
    return decision; // an answer the server completed, or one that could not be parsed
  }
  if (!body_replayable && result.body_bytes_sent > 0) {
    decision.not_retried = "not sent to another server: the request body was streamed and "
                           "cannot be sent again";
    return decision;
  }
  if (time_left <= std::chrono::steady_clock::duration::zero()) {
    if (!timeout) {
      decision.not_retried = "not sent to another server: no time left of response_timeout";
    }
    return decision;
  }
  decision.retry = true;
  return decision;
}

} // namespace icapkit::client
