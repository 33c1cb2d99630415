#include "icapkit/load/error_kind.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/net/errc.hpp"

#include <doctest/doctest.h>

#include <string>

namespace icapkit::load {

namespace {

client::exchange_result failed_with(std::error_code ec, bool reused = false) {
  client::exchange_result r;
  r.result.outcome = client::verdict_outcome::failed;
  r.error.code = ec;
  r.connection_reused = reused;
  r.timed_out = net::is_timeout(ec);
  return r;
}

client::exchange_result answered(int status) {
  client::exchange_result r;
  r.result.outcome = client::verdict_outcome::failed;
  codec::icap_response_head head;
  head.status = status;
  r.icap_response = head;
  return r;
}

} // namespace

TEST_CASE("error kinds: a reset or a close by the server is split by the connection it hit") {
  for (const auto ec :
       {make_error_code(net::errc::connection_reset), make_error_code(net::errc::closed_by_peer)}) {
    INFO(ec.message());
    CHECK(classify_error(failed_with(ec, false)) == error_kind::reset_new_connection);
    CHECK(classify_error(failed_with(ec, true)) == error_kind::reset_reused_connection);
  }
}

TEST_CASE("error kinds: refused, timeouts, 503, protocol errors and the rest") {
  CHECK(classify_error(failed_with(net::errc::connection_refused)) == error_kind::refused);
  // A deadline is a timeout whichever connection it fired on.
  CHECK(classify_error(failed_with(net::errc::connect_timeout)) == error_kind::timeout);
  CHECK(classify_error(failed_with(net::errc::idle_timeout, true)) == error_kind::timeout);
  CHECK(classify_error(failed_with(net::errc::deadline_exceeded)) == error_kind::timeout);
  auto timed_out = failed_with(net::errc::connection_reset, true);
  timed_out.timed_out = true;
  CHECK(classify_error(timed_out) == error_kind::timeout);
  CHECK(classify_error(answered(503)) == error_kind::overload);
  CHECK(classify_error(answered(500)) == error_kind::other);
  CHECK(classify_error(failed_with(codec::errc::bad_status_line)) == error_kind::protocol);
  // A name that does not resolve was not refused by anyone.
  CHECK(classify_error(failed_with(net::errc::resolve_failed)) == error_kind::other);
  CHECK(classify_error(failed_with(std::make_error_code(std::errc::no_such_file_or_directory))) ==
        error_kind::other);
}

TEST_CASE("error kinds: every kind has one name, read back by error_kind_from_string") {
  std::string listed;
  for (const auto kind : all_error_kinds) {
    const auto name = to_string(kind);
    CHECK(error_kind_from_string(name) == kind);
    listed += (listed.empty() ? "" : ", ") + std::string(name);
  }
  CHECK(listed == error_kind_names());
  CHECK(to_string(error_kind::reset_reused_connection) == "reset_reused_connection");
  CHECK_FALSE(error_kind_from_string("reset").has_value());
  CHECK_FALSE(error_kind_from_string("").has_value());
}

} // namespace icapkit::load
