// Which failed ICAP exchanges another server may be given (proxy failover, scan with several
// --server URLs).
#include "icapkit/client/failover.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/net/errc.hpp"

#include <doctest/doctest.h>

using namespace icapkit;
using namespace std::chrono_literals;

namespace {

client::exchange_result failed_with(std::error_code ec) {
  client::exchange_result r;
  r.result.outcome = client::verdict_outcome::failed;
  r.error.code = ec;
  return r;
}

constexpr auto plenty = std::chrono::steady_clock::duration{10s};

} // namespace

TEST_CASE("failover: losing the server is retried elsewhere, an answer is not") {
  for (const auto code :
       {net::errc::connection_refused, net::errc::connection_reset, net::errc::closed_by_peer,
        net::errc::connect_timeout, net::errc::resolve_failed, net::errc::tls_handshake_failed}) {
    const auto r = failed_with(make_error_code(code));
    CHECK_MESSAGE(client::decide_failover(r, true, plenty).retry, make_error_code(code).message());
    CHECK(client::is_connection_failure(r));
  }
  // Reset in the middle of the answer, after the ICAP head: still the server's loss.
  auto mid = failed_with(make_error_code(net::errc::connection_reset));
  mid.icap_response.emplace();
  mid.icap_response->status = 200;
  mid.body_bytes_sent = 5000;
  CHECK(client::decide_failover(mid, true, plenty).retry);

  client::exchange_result passed;
  passed.result.outcome = client::verdict_outcome::passed;
  CHECK_FALSE(client::decide_failover(passed, true, plenty).retry);
  CHECK_FALSE(client::is_connection_failure(passed));

  // An ICAP 500 the server completed: the server is alive and said something.
  client::exchange_result answered_500;
  answered_500.result.outcome = client::verdict_outcome::failed;
  answered_500.icap_response.emplace();
  answered_500.icap_response->status = 500;
  CHECK_FALSE(client::decide_failover(answered_500, true, plenty).retry);
  CHECK(client::decide_failover(answered_500, true, plenty).not_retried.empty());

  // An answer that could not be parsed is an error, not something to shop around with.
  const auto garbage = failed_with(make_error_code(codec::errc::bad_status_line));
  CHECK_FALSE(client::decide_failover(garbage, true, plenty).retry);
  CHECK_FALSE(client::is_connection_failure(garbage));
}

TEST_CASE("failover: a body source that failed is the caller's problem, never retried") {
  auto r = failed_with(make_error_code(net::errc::closed_by_peer)); // the HTTP client went away
  r.body_failed = true;
  CHECK_FALSE(client::decide_failover(r, true, plenty).retry);
  CHECK_FALSE(client::is_connection_failure(r));
}

TEST_CASE("failover: a streamed body that is gone cannot go to another server, and says so") {
  auto r = failed_with(make_error_code(net::errc::connection_reset));
  r.body_bytes_sent = 100;
  const auto d = client::decide_failover(r, false, plenty);
  CHECK_FALSE(d.retry);
  CHECK(d.not_retried.find("cannot be sent again") != std::string::npos);
  // Nothing of it was sent yet: it can.
  r.body_bytes_sent = 0;
  CHECK(client::decide_failover(r, false, plenty).retry);
}

TEST_CASE("failover: timeouts retry only while the budget lasts") {
  const auto idle = failed_with(make_error_code(net::errc::idle_timeout));
  CHECK(client::decide_failover(idle, true, plenty).retry);
  CHECK_FALSE(client::is_connection_failure(idle)); // a slow server is not taken down at once
  const auto spent = client::decide_failover(idle, true, std::chrono::steady_clock::duration{0});
  CHECK_FALSE(spent.retry);
  CHECK(spent.not_retried.empty()); // the timeout itself says why

  const auto reset = failed_with(make_error_code(net::errc::connection_reset));
  const auto late = client::decide_failover(reset, true, -1ms);
  CHECK_FALSE(late.retry);
  CHECK(late.not_retried.find("response_timeout") != std::string::npos);
}
