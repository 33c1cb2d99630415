#include "icapkit/net/errc.hpp"

#include <asio/error.hpp>
#include <doctest/doctest.h>

using icapkit::net::errc;
namespace net = icapkit::net;

TEST_CASE("net codes live in the icapkit.net category and say which wait timed out") {
  const std::error_code connect = errc::connect_timeout;
  CHECK(std::string(connect.category().name()) == "icapkit.net");
  CHECK(connect.message() == "connect timeout");
  CHECK(std::error_code(errc::idle_timeout).message() == "I/O idle timeout");
  CHECK(std::error_code(errc::deadline_exceeded).message().find("total deadline") !=
        std::string::npos);
}

TEST_CASE("every timeout compares equal to std::errc::timed_out, other codes do not") {
  CHECK(std::error_code(errc::connect_timeout) == std::errc::timed_out);
  CHECK(std::error_code(errc::idle_timeout) == std::errc::timed_out);
  CHECK(std::error_code(errc::deadline_exceeded) == std::errc::timed_out);
  CHECK(std::error_code(errc::connection_refused) != std::errc::timed_out);
  CHECK(net::is_timeout(errc::idle_timeout));
  CHECK_FALSE(net::is_timeout(asio::error::operation_aborted));
}

TEST_CASE("format_peer brackets IPv6 only when a port follows") {
  CHECK(net::format_peer("127.0.0.1", 1344) == "127.0.0.1:1344");
  CHECK(net::format_peer("::1", 11344) == "[::1]:11344");
  CHECK(net::format_peer("icap.example", 0) == "icap.example");
}

TEST_CASE("classify maps system errors to net codes and keeps the original") {
  const auto refused = net::detail::classify(asio::error::connection_refused, "127.0.0.1:1344");
  CHECK(refused.code == errc::connection_refused);
  CHECK(refused.cause == asio::error::connection_refused);
  CHECK(net::describe(refused) == "connection refused by 127.0.0.1:1344");

  CHECK(net::detail::classify(asio::error::eof, {}).code == errc::closed_by_peer);
  CHECK(net::detail::classify(asio::error::broken_pipe, {}).code == errc::connection_reset);
  CHECK(net::detail::classify(asio::error::host_not_found, {}).code == errc::resolve_failed);

  const auto unreachable = net::detail::classify(asio::error::network_unreachable, "10.9.9.9:1344");
  CHECK(unreachable.code == asio::error::network_unreachable);
  CHECK(net::describe(unreachable).find("10.9.9.9:1344: ") == 0);
}

TEST_CASE("describe gives one line naming the peer and the reason") {
  CHECK(net::describe(errc::connection_refused, "127.0.0.1", 1344) ==
        "connection refused by 127.0.0.1:1344");
  CHECK(net::describe(errc::connection_reset, "::1", 1344) == "connection reset by [::1]:1344");
  CHECK(net::describe(errc::connect_timeout, "icap.example", 11344).find("icap.example:11344") !=
        std::string::npos);
  CHECK(net::describe(errc::idle_timeout, "127.0.0.1", 1).find("idle timeout") !=
        std::string::npos);
  CHECK(net::describe(errc::deadline_exceeded, "127.0.0.1", 1).find("response timeout") == 0);

  const net::error_info verify{
      errc::tls_verify_failed, {}, "self-signed certificate", "localhost:11344"};
  CHECK(net::describe(verify) ==
        "TLS certificate verify failed for localhost:11344: self-signed certificate");
  const net::error_info file{errc::tls_bad_file, {}, "cannot read CA file /nope.pem: x", {}};
  CHECK(net::describe(file).find("/nope.pem") != std::string::npos);
  CHECK(net::describe(std::error_code{}) == "success");
}
