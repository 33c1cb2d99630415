#include "icapkit/net/stream.hpp"

#include "icapkit/net/connect.hpp"
#include "test_support.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace net = icapkit::net;
using icapkit::net::errc;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

namespace {

asio::awaitable<std::unique_ptr<net::stream>> connect_to(const net::listener& server) {
  net::error_info error;
  auto connection = co_await net::connect(co_await asio::this_coro::executor, "127.0.0.1",
                                          server.local_endpoint().port(), {}, 2s, error);
  REQUIRE_MESSAGE(connection, net::describe(error));
  co_return connection;
}

// Reads exactly `size` bytes (or fails the test).
asio::awaitable<std::string> read_exactly(net::stream& connection, std::size_t size) {
  std::string received(size, '\0');
  std::size_t filled = 0;
  while (filled < size) {
    std::error_code ec;
    filled +=
        co_await connection.read_some(asio::buffer(received.data() + filled, size - filled), ec);
    REQUIRE_MESSAGE(!ec, net::describe(connection.last_error()));
  }
  co_return received;
}

} // namespace

TEST_CASE("plain TCP: a megabyte echoes back intact while reads and writes overlap") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    CHECK_FALSE(connection->is_tls());
    CHECK(connection->remote_endpoint() == server->local_endpoint());
    CHECK(connection->local_endpoint().address().is_loopback());
    connection->set_idle_timeout(5s);
    std::string payload(1 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
      payload[i] = static_cast<char>('a' + i % 26);
    }
    // The echo cannot swallow a megabyte without us reading: writing and reading must overlap.
    auto writer = [&]() -> asio::awaitable<void> {
      std::error_code ec;
      co_await connection->write_all(asio::buffer(payload), ec);
      CHECK_FALSE(ec);
    };
    std::string echoed;
    auto reader = [&]() -> asio::awaitable<void> {
      echoed = co_await read_exactly(*connection, payload.size());
    };
    co_await (writer() && reader());
    CHECK(echoed == payload);
    co_await connection->shutdown();
    connection->close();
    server->stop();
  });
}

TEST_CASE("idle timeout: a server that never answers gives idle_timeout, not operation_aborted") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::silent);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    connection->set_idle_timeout(200ms);
    std::array<char, 64> buffer{};
    std::error_code ec;
    const auto started = clock_type::now();
    const std::size_t n = co_await connection->read_some(asio::buffer(buffer), ec);
    const auto waited = clock_type::now() - started;
    CHECK(n == 0);
    CHECK(ec == errc::idle_timeout);
    CHECK(ec != asio::error::operation_aborted);
    CHECK(waited >= 190ms);
    CHECK(waited < 3s);
    CHECK_FALSE(connection->is_open()); // a timed-out exchange cannot continue
    CHECK(net::describe(connection->last_error()).find("idle timeout") != std::string::npos);
    // Later operations keep reporting the timeout that ended the stream.
    co_await connection->read_some(asio::buffer(buffer), ec);
    CHECK(ec == errc::idle_timeout);
    server->stop();
  });
}

TEST_CASE("absolute deadline: the total response timeout wins over a longer idle timeout") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::silent);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    connection->set_idle_timeout(5s);
    connection->set_deadline(clock_type::now() + 150ms);
    std::error_code ec;
    // Data flows before the deadline: the write succeeds.
    co_await connection->write_all(asio::buffer(std::string_view("OPTIONS")), ec);
    CHECK_FALSE(ec);
    std::array<char, 64> buffer{};
    const auto started = clock_type::now();
    co_await connection->read_some(asio::buffer(buffer), ec);
    CHECK(ec == errc::deadline_exceeded);
    CHECK(clock_type::now() - started < 3s);
    CHECK(net::describe(connection->last_error()).find("response timeout") == 0);
    server->stop();
  });
}

TEST_CASE("a deadline already passed fails at once without I/O") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    connection->set_deadline(clock_type::now() - 1ms);
    std::error_code ec;
    co_await connection->write_all(asio::buffer(std::string_view("x")), ec);
    CHECK(ec == errc::deadline_exceeded);
    server->stop();
  });
}

TEST_CASE("write idle timeout: a peer that stops reading") {
  asio::io_context io;
  // The server holds each connection without reading until the test releases it.
  asio::steady_timer hold(io, 10s);
  auto server = net::test::start_server(io, [&hold](std::unique_ptr<net::stream> connection) {
    return
        [](std::unique_ptr<net::stream> held, asio::steady_timer& wait) -> asio::awaitable<void> {
          co_await wait.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          held->close();
        }(std::move(connection), hold);
  });
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    connection->set_idle_timeout(200ms);
    const std::vector<char> big(64 << 20, 'x'); // more than loopback socket buffers hold
    std::error_code ec;
    co_await connection->write_all(asio::buffer(big), ec);
    CHECK(ec == errc::idle_timeout);
    CHECK_FALSE(connection->is_open());
    hold.cancel();
    server->stop();
  });
}

TEST_CASE("end of stream is closed_by_peer; a reset is connection_reset") {
  asio::io_context io;
  auto closing = net::test::start_server(io, [](std::unique_ptr<net::stream> connection) {
    return [](std::unique_ptr<net::stream> c) -> asio::awaitable<void> {
      co_await c->shutdown();
      c->close();
    }(std::move(connection));
  });
  auto resetting = net::test::start_server(io, [](std::unique_ptr<net::stream>) {
    return []() -> asio::awaitable<void> { co_return; }();
  });
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*closing);
    std::array<char, 64> buffer{};
    std::error_code ec;
    connection->set_idle_timeout(2s);
    CHECK(co_await connection->read_some(asio::buffer(buffer), ec) == 0);
    CHECK(ec == errc::closed_by_peer);
    CHECK(connection->last_error().cause == asio::error::eof);

    // Unread data in the receive queue makes close() send RST instead of FIN.
    auto reset = co_await connect_to(*resetting);
    reset->set_idle_timeout(2s);
    co_await reset->write_all(asio::buffer(std::string_view("data the server never reads")), ec);
    CHECK_FALSE(ec);
    co_await reset->read_some(asio::buffer(buffer), ec);
    CHECK((ec == errc::connection_reset || ec == errc::closed_by_peer));
    closing->stop();
    resetting->stop();
  });
}

TEST_CASE("cancellation by the caller is operation_aborted, not a timeout") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::silent);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_to(*server);
    connection->set_idle_timeout(5s);
    std::array<char, 64> buffer{};
    std::error_code ec;
    asio::steady_timer caller(co_await asio::this_coro::executor, 50ms);
    co_await (connection->read_some(asio::buffer(buffer), ec) ||
              caller.async_wait(asio::use_awaitable));
    CHECK(ec == asio::error::operation_aborted);
    CHECK_FALSE(net::is_timeout(ec));
    connection->close();
    server->stop();
  });
}

namespace {

// Answers "ping" with "ping", "poke" with "unasked" (a server speaking out of turn), and "bye" by
// closing (close_notify first under TLS); reads on otherwise until the client goes.
asio::awaitable<void> scripted(std::unique_ptr<net::stream> connection) {
  connection->set_idle_timeout(10s);
  std::array<char, 64> buffer{};
  for (;;) {
    std::error_code ec;
    const auto n = co_await connection->read_some(asio::buffer(buffer), ec);
    if (ec) {
      co_return;
    }
    const std::string_view said(buffer.data(), n);
    if (said == "bye") {
      co_await connection->shutdown();
      connection->close();
      co_return;
    }
    const std::string_view answer = said == "poke" ? "unasked" : said;
    co_await connection->write_all(asio::buffer(answer), ec);
    if (ec) {
      co_return;
    }
  }
}

// Polls the non-blocking check until it says unusable, for at most 5 s (the peer's FIN or bytes
// take a moment to arrive).
asio::awaitable<bool> turns_unusable(net::stream& connection) {
  asio::steady_timer poll(co_await asio::this_coro::executor);
  for (int i = 0; i < 500; ++i) {
    if (connection.peer_closed_or_readable()) {
      co_return true;
    }
    poll.expires_after(10ms);
    co_await poll.async_wait(asio::use_awaitable);
  }
  co_return false;
}

asio::awaitable<void> check_idle_detection(const net::listener& server, bool tls) {
  net::tls_options options;
  options.enabled = tls;
  options.insecure = true;
  const auto port = server.local_endpoint().port();
  net::error_info error;
  auto executor = co_await asio::this_coro::executor;
  for (const std::string_view last : {"bye", "poke"}) {
    auto connection = co_await net::connect(executor, "127.0.0.1", port, options, 2s, error);
    REQUIRE_MESSAGE(connection, net::describe(error));
    connection->set_idle_timeout(2s);
    std::error_code ec;
    const auto written = connection->bytes_written();
    co_await connection->write_all(asio::buffer(std::string_view("ping")), ec);
    CHECK(connection->bytes_written() == written + 4);
    CHECK(co_await read_exactly(*connection, 4) == "ping");
    // A live idle connection: nothing to read, not closed. Checking twice changes nothing.
    CHECK_FALSE(connection->peer_closed_or_readable());
    CHECK_FALSE(connection->peer_closed_or_readable());
    co_await connection->write_all(asio::buffer(last), ec);
    REQUIRE_FALSE(ec);
    CHECK(co_await turns_unusable(*connection));
    if (last == "poke") {
      // The peek consumed nothing: the unasked bytes are still there to read.
      CHECK(co_await read_exactly(*connection, 7) == "unasked");
    }
    connection->close();
    CHECK(connection->peer_closed_or_readable()); // a closed stream carries nothing
  }
}

} // namespace

TEST_CASE("peer_closed_or_readable: an idle connection the peer closed or spoke on is unusable") {
  asio::io_context io;
  auto plain = net::test::start_server(io, scripted);
  auto tls = net::test::start_server(io, scripted, net::test::server_tls());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    co_await check_idle_detection(*plain, false);
    co_await check_idle_detection(*tls, true);
    plain->stop();
    tls->stop();
  });
}
