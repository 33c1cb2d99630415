#include "icapkit/net/connect.hpp"

#include "test_support.hpp"

#include <doctest/doctest.h>

#include <string>

namespace net = icapkit::net;
using icapkit::net::errc;
using namespace std::chrono_literals;

namespace {

// Connects, sends "ping" and expects it echoed; returns the connect error (empty on success).
// Named arguments only: g++ 12 mishandles aggregate temporaries inside co_await expressions.
asio::awaitable<net::error_info> ping(std::string host, std::uint16_t port, net::tls_options tls,
                                      std::chrono::milliseconds timeout = 2s) {
  net::error_info error;
  auto executor = co_await asio::this_coro::executor;
  auto connection = co_await net::connect(executor, host, port, tls, timeout, error);
  if (!connection) {
    co_return error;
  }
  connection->set_idle_timeout(2s);
  std::error_code ec;
  co_await connection->write_all(asio::buffer(std::string_view("ping")), ec);
  std::array<char, 4> reply{};
  std::size_t filled = 0;
  while (!ec && filled < reply.size()) {
    filled += co_await connection->read_some(asio::buffer(reply.data() + filled, 4 - filled), ec);
  }
  if (ec) {
    co_return connection->last_error(); // e.g. the server rejected us after the handshake
  }
  CHECK(std::string_view(reply.data(), reply.size()) == "ping");
  CHECK(connection->is_tls() == tls.enabled);
  co_return net::error_info{};
}

net::tls_options tls_with_ca(const std::string& ca_file) {
  net::tls_options tls;
  tls.enabled = true;
  tls.ca_file = ca_file;
  return tls;
}

} // namespace

TEST_CASE("connect reports the endpoint that connected and names the peer") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    net::error_info error;
    net::tls_options plain;
    std::string host = "127.0.0.1";
    auto connection = co_await net::connect(io.get_executor(), host, port, plain, 2s, error);
    REQUIRE_MESSAGE(connection, net::describe(error));
    CHECK(connection->remote_endpoint() == server->local_endpoint());
    CHECK(connection->peer() == "127.0.0.1:" + std::to_string(port));
    // A name resolves and connects too.
    const auto by_name = co_await ping("localhost", port, plain);
    CHECK_MESSAGE(!by_name.code, net::describe(by_name));
    connection->close();
    server->stop();
  });
}

TEST_CASE("connection refused names the address") {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close(); // nothing listens there any more
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto error = co_await ping("127.0.0.1", port, net::tls_options());
    CHECK(error.code == errc::connection_refused);
    CHECK(error.cause == asio::error::connection_refused);
    CHECK(net::describe(error) == "connection refused by 127.0.0.1:" + std::to_string(port));
  });
}

TEST_CASE("a name that does not resolve is resolve_failed") {
  asio::io_context io;
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto error = co_await ping("no-such-host.invalid", 1344, net::tls_options(), 5s);
    CHECK(error.code == errc::resolve_failed);
    CHECK(net::describe(error).find("no-such-host.invalid") != std::string::npos);
  });
}

TEST_CASE("IPv6 loopback round trip, with and without brackets") {
  asio::io_context io;
  net::error_info error;
  auto probe = net::listener::open(io.get_executor(), "[::1]:0", error);
  if (!probe) { // skipped only then, and CTest says so (tests/CMakeLists.txt)
    MESSAGE("test-skipped: ::1 cannot be bound here: " << net::describe(error));
    return;
  }
  probe->stop();
  auto server = net::test::start_server(io, net::test::echo, nullptr, "[::1]:0");
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto bare = co_await ping("::1", port, net::tls_options());
    CHECK_MESSAGE(!bare.code, net::describe(bare));
    const auto bracketed = co_await ping("[::1]", port, net::tls_options());
    CHECK_MESSAGE(!bracketed.code, net::describe(bracketed));
    server->stop();
  });
}

TEST_CASE("TLS: verification by CA file, host name, IP address; insecure") {
  net::test::temp_dir dir;
  const std::string ca = dir.write("ca.pem", net::test::server_credentials().cert_pem);
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo, net::test::server_tls());
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto by_ip = co_await ping("127.0.0.1", port, tls_with_ca(ca));
    CHECK_MESSAGE(!by_ip.code, net::describe(by_ip));
    const auto by_name = co_await ping("localhost", port, tls_with_ca(ca));
    CHECK_MESSAGE(!by_name.code, net::describe(by_name));

    net::tls_options no_ca;
    no_ca.enabled = true; // the system's trust store does not know our certificate
    const auto untrusted = co_await ping("127.0.0.1", port, no_ca);
    CHECK(untrusted.code == errc::tls_verify_failed);
    CHECK(net::describe(untrusted).find("self-signed certificate") != std::string::npos);

    auto wrong_name = tls_with_ca(ca);
    wrong_name.sni = "wrong.example";
    const auto mismatch = co_await ping("127.0.0.1", port, wrong_name);
    CHECK(mismatch.code == errc::tls_verify_failed);
    CHECK(net::describe(mismatch).find("hostname mismatch") != std::string::npos);

    auto insecure = no_ca;
    insecure.insecure = true;
    insecure.sni = "wrong.example";
    const auto accepted = co_await ping("127.0.0.1", port, insecure);
    CHECK_MESSAGE(!accepted.code, net::describe(accepted));
    server->stop();
  });
}

TEST_CASE("mutual TLS: the server refuses a client without a certificate") {
  net::test::temp_dir dir;
  const auto& client = net::test::client_credentials();
  const std::string ca = dir.write("ca.pem", net::test::server_credentials().cert_pem);
  net::tls_server_options options;
  options.client_ca_pem = client.cert_pem;
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo, net::test::server_tls(options));
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    // With TLS 1.3 the client's handshake ends before the server checks: the refusal may arrive
    // as an alert on the first read. Either way it is a TLS handshake failure.
    const auto refused = co_await ping("127.0.0.1", port, tls_with_ca(ca));
    CHECK(refused.code == errc::tls_handshake_failed);
    CHECK(net::describe(refused).find("certificate") != std::string::npos);

    auto with_cert = tls_with_ca(ca);
    with_cert.cert_file = dir.write("client.pem", client.cert_pem);
    with_cert.key_file = dir.write("client-key.pem", client.key_pem);
    const auto accepted = co_await ping("127.0.0.1", port, with_cert);
    CHECK_MESSAGE(!accepted.code, net::describe(accepted));
    server->stop();
  });
}

TEST_CASE("TLS: minimum 1.3 against a server limited to 1.2 fails the handshake") {
  net::test::temp_dir dir;
  const std::string ca = dir.write("ca.pem", net::test::server_credentials().cert_pem);
  net::tls_server_options options;
  options.max_version = "1.2";
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo, net::test::server_tls(options));
  const auto port = server->local_endpoint().port();
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto tls = tls_with_ca(ca);
    const auto tls12 = co_await ping("127.0.0.1", port, tls);
    CHECK_MESSAGE(!tls12.code, net::describe(tls12));
    tls.min_version = "1.3";
    const auto error = co_await ping("127.0.0.1", port, tls);
    CHECK(error.code == errc::tls_handshake_failed);
    CHECK(net::describe(error).find("TLS handshake failed with 127.0.0.1:") == 0);
    server->stop();
  });
}

TEST_CASE("TLS: a missing CA file fails before connecting, naming the file") {
  net::test::temp_dir dir;
  asio::io_context io;
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto error = co_await ping("127.0.0.1", 1, tls_with_ca(dir.path("absent-ca.pem")));
    CHECK(error.code == errc::tls_bad_file);
    CHECK(net::describe(error).find("absent-ca.pem") != std::string::npos);
  });
}

TEST_CASE(
    "TLS to a plain server: a stalled handshake is a connect timeout, garbage a clear error") {
  asio::io_context io;
  auto stalled = net::test::start_server(io, net::test::silent);
  auto plain_icap = net::test::start_server(io, [](std::unique_ptr<net::stream> connection) {
    return [](std::unique_ptr<net::stream> c) -> asio::awaitable<void> {
      std::error_code ec;
      co_await c->write_all(asio::buffer(std::string_view("ICAP/1.0 400 Bad Request\r\n\r\n")), ec);
      co_await c->shutdown();
    }(std::move(connection));
  });
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    net::tls_options tls;
    tls.enabled = true;
    tls.insecure = true;
    const auto started = std::chrono::steady_clock::now();
    const auto timeout = co_await ping("127.0.0.1", stalled->local_endpoint().port(), tls, 200ms);
    CHECK(timeout.code == errc::connect_timeout);
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(net::describe(timeout).find("connect timeout") == 0);
    // TCP connected: the message must point at the handshake, not at the connection.
    CHECK(net::describe(timeout).find("TLS handshake") != std::string::npos);

    const auto garbage = co_await ping("127.0.0.1", plain_icap->local_endpoint().port(), tls);
    CHECK(garbage.code == errc::tls_handshake_failed);
    MESSAGE(net::describe(garbage));
    stalled->stop();
    plain_icap->stop();
  });
}
