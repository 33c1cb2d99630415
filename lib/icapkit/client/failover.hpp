#pragma once
// When an ICAP exchange that failed may be sent again to another server: the proxy's failover
// inside its pool group and `icapkit scan` with several --server URLs share these rules.
//
// Sent again: a failure of the connection or of the server process (refused, no name, TLS, reset,
// EOF before or in the middle of the answer) and a timeout, as long as the body can be produced
// again from its first byte and the caller's time budget is not spent. Not sent again: any
// answer the server completed (a verdict, an ICAP error status: the server is alive and said
// something), an answer that could not be parsed (an error, but the same server software would
// say it again), and a failure of the body source itself (the caller's input, not the server).
#include "icapkit/client/client.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace icapkit::client {

// At most this many attempts per exchange (each on a different server).
inline constexpr std::size_t max_failover_attempts = 3;

struct failover_decision {
  bool retry = false;
  // Why not, for the record, when the failure was of a kind that is retried but this one could
  // not be ("the request body was streamed and cannot be sent again"); empty otherwise.
  std::string not_retried;
};

// `body_replayable`: the caller can read the body again from its first byte (a spool, a file).
// `time_left`: what remains of the caller's budget (the proxy's response_timeout over all
// attempts); nothing left means no retry.
failover_decision decide_failover(const exchange_result& result, bool body_replayable,
                                  std::chrono::steady_clock::duration time_left);

// Whether a failure is one the server's connection or process caused (refused, reset, EOF, TLS,
// no name, connect timeout): the kind passive health detection takes a server down for.
bool is_connection_failure(const exchange_result& result) noexcept;

} // namespace icapkit::client
