#include "../net/test_support.hpp"

#include "icapkit/client/connection_pool.hpp"

#include <asio/steady_timer.hpp>

namespace icapkit::client {
namespace {
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
} // namespace

TEST_CASE("connection_pool: the cap queues waiters, release wakes them, the deadline bounds them") {
  asio::io_context io;
  connection_pool pool(io.get_executor());
  const pool_key key{"127.0.0.1", 1344, false};
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    auto first = co_await pool.acquire(key, 1, clock::now() + 1s, ec);
    REQUIRE_FALSE(ec);
    CHECK_FALSE(first.stream); // nothing idle: the caller connects
    CHECK(pool.in_use(key) == 1);

    // A second acquire with cap 1 must time out while the first holds the slot.
    const auto start = clock::now();
    auto blocked = co_await pool.acquire(key, 1, clock::now() + 100ms, ec);
    CHECK(ec == net::errc::deadline_exceeded);
    CHECK(clock::now() - start >= 100ms);
    CHECK(pool.in_use(key) == 1);

    // A waiter is woken by release().
    bool got = false;
    asio::co_spawn(io, pool.acquire(key, 1, clock::now() + 2s, ec),
                   [&](std::exception_ptr, pool_lease) { got = true; });
    asio::steady_timer tick(io, 10ms);
    co_await tick.async_wait(asio::use_awaitable);
    CHECK_FALSE(got);
    pool.release(key, nullptr);
    tick.expires_after(10ms);
    co_await tick.async_wait(asio::use_awaitable);
    CHECK(got);
    CHECK(pool.in_use(key) == 1);
    pool.release(key, nullptr);
    CHECK(pool.in_use(key) == 0);
    CHECK(pool.idle_count(key) == 0); // a null (non-reusable) connection is not kept
  });
}

TEST_CASE("connection_pool: an idle connection is handed out again, other servers are apart") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  connection_pool pool(io.get_executor());
  const pool_key key{"127.0.0.1", server->local_endpoint().port(), false};
  const pool_key other{"127.0.0.1", 1, false};
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    asio::ip::tcp::socket socket(io);
    co_await socket.async_connect(server->local_endpoint(), asio::use_awaitable);
    std::error_code ec;
    auto lease = co_await pool.acquire(key, 2, clock::now() + 1s, ec);
    pool.release(key, std::make_unique<net::stream>(std::move(socket)));
    CHECK(pool.idle_count(key) == 1);
    auto elsewhere = co_await pool.acquire(other, 2, clock::now() + 1s, ec);
    CHECK_FALSE(elsewhere.stream);
    auto again = co_await pool.acquire(key, 2, clock::now() + 1s, ec);
    CHECK(again.stream);
    CHECK(again.reused);
    pool.release(key, std::move(again.stream));
    pool.close_idle();
    CHECK(pool.idle_count(key) == 0);
    server->stop();
  });
}

TEST_CASE("connection_pool: an idle connection with unread bytes is closed, never handed out") {
  asio::io_context io;
  auto server = net::test::start_server(io, net::test::echo);
  connection_pool pool(io.get_executor());
  const pool_key key{"127.0.0.1", server->local_endpoint().port(), false};
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    asio::ip::tcp::socket socket(io);
    co_await socket.async_connect(server->local_endpoint(), asio::use_awaitable);
    auto connection = std::make_unique<net::stream>(std::move(socket));
    // The echo server answers these bytes: the connection then holds bytes nobody asked for, as
    // when a server sends more after a complete response.
    std::error_code ec;
    co_await connection->write_all(asio::buffer(std::string_view("unasked")), ec);
    REQUIRE_FALSE(ec);
    asio::steady_timer tick(io);
    for (int i = 0; i < 2000 && connection->unread_bytes() == 0; ++i) {
      tick.expires_after(1ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    REQUIRE(connection->unread_bytes() == 7);
    auto lease = co_await pool.acquire(key, 2, clock::now() + 1s, ec);
    pool.release(key, std::move(connection));
    CHECK(pool.idle_count(key) == 1);
    auto again = co_await pool.acquire(key, 2, clock::now() + 1s, ec);
    CHECK_FALSE(again.stream); // the caller connects anew
    CHECK_FALSE(again.reused);
    CHECK(pool.idle_count(key) == 0);
    server->stop();
  });
}

} // namespace icapkit::client
