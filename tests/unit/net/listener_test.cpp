#include "icapkit/net/listener.hpp"

#include "icapkit/net/connect.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <vector>

namespace net = icapkit::net;
using icapkit::net::errc;
using namespace std::chrono_literals;

TEST_CASE("parse_endpoint accepts IPv4 and bracketed IPv6 literals") {
  net::error_info error;
  auto endpoint = net::parse_endpoint("127.0.0.1:1344", error);
  CHECK_FALSE(error.code);
  CHECK(endpoint.address().to_string() == "127.0.0.1");
  CHECK(endpoint.port() == 1344);
  endpoint = net::parse_endpoint("[::1]:0", error);
  CHECK_FALSE(error.code);
  CHECK(endpoint.address().is_v6());
  CHECK(endpoint.port() == 0);
  endpoint = net::parse_endpoint("0.0.0.0:65535", error);
  CHECK_FALSE(error.code);
}

TEST_CASE("parse_endpoint names what is wrong") {
  const std::vector<std::pair<std::string, errc>> cases = {
      {"127.0.0.1", errc::bad_port},       {"127.0.0.1:", errc::bad_port},
      {"127.0.0.1:65536", errc::bad_port}, {"127.0.0.1:13a4", errc::bad_port},
      {"127.0.0.1:-1", errc::bad_port},    {"localhost:1344", errc::bad_address},
      {"::1:1344", errc::bad_address},     {"[127.0.0.1]:1344", errc::bad_address},
      {"1.2.3:1344", errc::bad_address},   {":1344", errc::bad_address},
  };
  for (const auto& [text, expected] : cases) {
    net::error_info error;
    net::parse_endpoint(text, error);
    CHECK_MESSAGE(error.code == expected, text);
    CHECK(net::describe(error).find("\"" + text + "\"") != std::string::npos);
  }
}

TEST_CASE("a listener on port 0 reports the port it got; a taken port is bind_failed") {
  asio::io_context io;
  net::error_info error;
  auto first = net::listener::open(io.get_executor(), "127.0.0.1:0", error);
  REQUIRE_MESSAGE(first, net::describe(error));
  const auto port = first->local_endpoint().port();
  CHECK(port != 0);
  auto second = net::listener::open(io.get_executor(), "127.0.0.1:" + std::to_string(port), error);
  CHECK(second == nullptr);
  CHECK(error.code == errc::bind_failed);
  CHECK(error.cause == asio::error::address_in_use);
  CHECK(net::describe(error).find(std::to_string(port)) != std::string::npos);
  CHECK(net::listener::open(io.get_executor(), "localhost:0", error) == nullptr);
  CHECK(error.code == errc::bad_address);
}

TEST_CASE("run hands each connection to the handler and returns after stop") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      net::error_info error;
      net::tls_options plain;
      std::string host = "127.0.0.1";
      auto connection = co_await net::connect(io.get_executor(), host, port, plain, 2s, error);
      REQUIRE_MESSAGE(connection, net::describe(error));
      connection->set_idle_timeout(2s);
      std::error_code ec;
      co_await connection->write_all(asio::buffer(std::string_view("x")), ec);
      char reply = 0;
      co_await connection->read_some(asio::buffer(&reply, 1), ec);
      CHECK_FALSE(ec);
      CHECK(reply == 'x');
    }
    server->stop();
  });
  // run_bounded returned: the accept loop ended, or the io_context would still have work.
}

TEST_CASE("a TLS listener reports failed and stalled handshakes and keeps accepting") {
  asio::io_context io;
  net::error_info error;
  auto server = net::listener::open(io.get_executor(), "127.0.0.1:0", error);
  REQUIRE(server);
  server->enable_tls(net::test::server_tls(), 200ms);
  std::vector<net::error_info> reported;
  server->on_error([&](const net::error_info& failure) { reported.push_back(failure); });
  asio::co_spawn(io, server->run(net::test::echo), asio::detached);
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    net::tls_options plain;
    std::string host = "127.0.0.1";
    // Plain text where a ClientHello belongs.
    auto talker = co_await net::connect(io.get_executor(), host, port, plain, 2s, error);
    REQUIRE(talker);
    std::error_code ec;
    co_await talker->write_all(asio::buffer(std::string_view("OPTIONS icap://x/ ICAP/1.0\r\n\r\n")),
                               ec);
    // Silence where a ClientHello belongs.
    auto silent = co_await net::connect(io.get_executor(), host, port, plain, 2s, error);
    REQUIRE(silent);
    silent->set_idle_timeout(5s);
    char byte = 0;
    co_await silent->read_some(asio::buffer(&byte, 1), ec); // ends when the server gives up
    CHECK(ec == errc::closed_by_peer);
    talker->close();
    server->stop();
  });
  REQUIRE(reported.size() == 2);
  CHECK(reported[0].code == errc::tls_handshake_failed);
  CHECK(reported[1].code == errc::idle_timeout);
}
