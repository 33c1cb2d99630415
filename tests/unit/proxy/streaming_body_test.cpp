#include "icapkit/proxy/streaming_body.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/serializer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <exception>
#include <string>

namespace codec = icapkit::codec;
namespace proxy = icapkit::proxy;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

// Reads until the source says "not yet", ends or fails; returns the bytes and leaves ec set to
// what stopped it (operation_would_block, clear at the end, or the failure).
std::string read_available(codec::body_source& source, std::error_code& ec) {
  std::string out;
  std::array<char, 7> buffer{};
  for (;;) {
    ec.clear();
    const auto n = source.read(buffer, ec);
    if (ec || n == 0) {
      return out;
    }
    out.append(buffer.data(), n);
  }
}

// Runs a coroutine on `io` to completion (bounded), rethrowing what it threw.
template <typename Body>
void run_bounded(asio::io_context& io, Body body, std::chrono::milliseconds limit = 10s) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  io.run_for(limit);
  REQUIRE_MESSAGE(done, "the test coroutine did not finish within its time bound");
  if (failure) {
    std::rethrow_exception(failure);
  }
}

} // namespace

TEST_CASE("streaming_body: a source reads what arrived, says not yet, then ends at finish()") {
  proxy::streaming_body body;
  auto source = body.source();
  std::error_code ec;
  CHECK(read_available(*source, ec).empty());
  CHECK(ec == std::errc::operation_would_block);
  CHECK_FALSE(body.append("hello "));
  CHECK_FALSE(body.append("")); // nothing: no change
  CHECK(read_available(*source, ec) == "hello ");
  CHECK(ec == std::errc::operation_would_block);
  CHECK_FALSE(body.append("world"));
  CHECK(read_available(*source, ec) == "world");
  CHECK(ec == std::errc::operation_would_block);
  body.finish();
  CHECK(body.finished());
  CHECK(read_available(*source, ec).empty());
  CHECK_FALSE(ec); // the end
  CHECK(body.size() == 11);
  CHECK(body.append("late") == std::errc::operation_not_permitted);
  // A second source starts again at byte 0; so does a spool reader.
  auto again = body.source();
  CHECK(read_available(*again, ec) == "hello world");
  CHECK_FALSE(ec);
  CHECK(body.spool().size() == 11);
  CHECK_FALSE(source->size().has_value()); // no Content-Length announced
}

TEST_CASE("streaming_body: the declared size is the sources' size()") {
  proxy::streaming_body body(10);
  CHECK(body.source()->size() == 10u);
}

TEST_CASE("streaming_body: fail() makes sources report the failure, the first one stays") {
  proxy::streaming_body body;
  auto source = body.source();
  CHECK_FALSE(body.append("abc"));
  body.fail(std::make_error_code(std::errc::connection_reset));
  body.fail(std::make_error_code(std::errc::timed_out));
  std::error_code ec;
  CHECK(read_available(*source, ec).empty());
  CHECK(ec == std::errc::connection_reset);
  CHECK(body.failure() == std::errc::connection_reset);
  CHECK(body.append("more") == std::errc::connection_reset);

  proxy::streaming_body unnamed;
  unnamed.fail({});
  CHECK(unnamed.failure() == std::errc::connection_aborted);
}

TEST_CASE("streaming_body: appending while reading past the memory limit (spilled to a file)") {
  proxy::streaming_body body(std::nullopt, 16);
  auto source = body.source();
  const auto data = pattern(1000);
  std::string got;
  std::error_code ec;
  for (std::size_t at = 0; at < data.size(); at += 37) {
    CHECK_FALSE(body.append(std::string_view(data).substr(at, 37)));
    got += read_available(*source, ec);
    CHECK(ec == std::errc::operation_would_block);
  }
  CHECK(body.spool().on_disk());
  body.finish();
  got += read_available(*source, ec);
  CHECK_FALSE(ec);
  CHECK(got == data);
}

TEST_CASE("streaming_body: wait() returns at once while there is news, else within 100 ms") {
  asio::io_context io;
  run_bounded(io, [&]() -> asio::awaitable<void> {
    proxy::streaming_body body;
    auto source = body.source();
    // Nothing read yet: nothing to wait for.
    auto start = clock_type::now();
    co_await body.wait();
    CHECK(clock_type::now() - start < 50ms);

    // Caught up and nothing new: the wait ends by itself after max_wait.
    std::error_code ec;
    read_available(*source, ec);
    REQUIRE(ec == std::errc::operation_would_block);
    start = clock_type::now();
    co_await body.wait();
    const auto waited = clock_type::now() - start;
    CHECK(waited >= 90ms);
    CHECK(waited < 2s);

    // An append during the wait ends it without the timer.
    asio::post(io, [&] { CHECK_FALSE(body.append("x")); });
    start = clock_type::now();
    co_await body.wait();
    CHECK(clock_type::now() - start < 90ms);
    CHECK(read_available(*source, ec) == "x");

    // News that came before the wait: no wait at all.
    CHECK_FALSE(body.append("y"));
    start = clock_type::now();
    co_await body.wait();
    CHECK(clock_type::now() - start < 50ms);
    CHECK(read_available(*source, ec) == "y");

    // finish() and fail() wake a waiter too.
    asio::post(io, [&] { body.finish(); });
    start = clock_type::now();
    co_await body.wait();
    CHECK(clock_type::now() - start < 90ms);
    CHECK(read_available(*source, ec).empty());
    CHECK_FALSE(ec);
  });
}

TEST_CASE("streaming_body: fail() wakes a waiter") {
  asio::io_context io;
  run_bounded(io, [&]() -> asio::awaitable<void> {
    proxy::streaming_body body;
    auto source = body.source();
    std::error_code ec;
    read_available(*source, ec);
    asio::post(io, [&] { body.fail(std::make_error_code(std::errc::connection_reset)); });
    const auto start = clock_type::now();
    co_await body.wait();
    CHECK(clock_type::now() - start < 90ms);
    read_available(*source, ec);
    CHECK(ec == std::errc::connection_reset);
  });
}

TEST_CASE("streaming_body: a serializer streams a body that arrives on a timer, byte-identical") {
  const auto data = pattern(50 * 1024 + 3);
  for (const bool declared : {false, true}) {
    CAPTURE(declared);
    asio::io_context io;
    proxy::streaming_body body(declared ? std::optional<std::uint64_t>(data.size()) : std::nullopt);
    // The HTTP client: 4 KiB every 2 ms, then the end.
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(co_await asio::this_coro::executor);
          for (std::size_t at = 0; at < data.size(); at += 4096) {
            timer.expires_after(2ms);
            std::error_code ignored;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            CHECK_FALSE(body.append(std::string_view(data).substr(at, 4096)));
          }
          body.finish();
        },
        asio::detached);
    std::string wire;
    std::size_t waits = 0;
    run_bounded(io, [&]() -> asio::awaitable<void> {
      auto source = body.source();
      codec::serializer s;
      codec::encapsulated_parts parts;
      parts.body = source.get();
      codec::request_options opt;
      opt.preview = 1024;
      codec::icap_request_head head;
      head.method = "REQMOD";
      head.uri = "icap://icap.example/svc";
      REQUIRE_FALSE(s.start_request(head, parts, opt));
      while (!s.done()) {
        std::error_code ec;
        const auto piece = s.next(ec);
        REQUIRE_FALSE(ec);
        wire += piece;
        if (s.waiting_for_body()) {
          ++waits;
          co_await body.wait();
        } else if (s.awaiting_preview_decision()) {
          s.continue_after_preview();
        }
      }
    });
    CHECK(waits >= 10);
    // The same body from memory, serialized in one go, carries the same bytes.
    codec::memory_body_source whole(data);
    std::string expected_wire;
    codec::encapsulated_parts parts;
    parts.body = &whole;
    codec::request_options opt;
    opt.preview = 1024;
    codec::icap_request_head head;
    head.method = "REQMOD";
    head.uri = "icap://icap.example/svc";
    REQUIRE_FALSE(codec::serialize_to_string(head, parts, opt, expected_wire));
    // Chunk boundaries differ (pieces follow the arrivals): compare the de-chunked bodies.
    auto dechunk = [](std::string_view text) {
      const auto start = text.find("\r\n\r\n") + 4;
      std::string out;
      std::size_t at = start;
      while (at < text.size()) {
        const auto line_end = text.find("\r\n", at);
        const auto size = std::stoul(std::string(text.substr(at, line_end - at)), nullptr, 16);
        if (size == 0) {
          at = line_end + 4; // "0\r\n\r\n" between the preview and the rest
          continue;
        }
        out.append(text.substr(line_end + 2, size));
        at = line_end + 2 + size + 2;
      }
      return out;
    };
    CHECK(dechunk(wire) == data);
    CHECK(dechunk(expected_wire) == data);
    CHECK(wire.substr(0, wire.find("\r\n\r\n")) ==
          expected_wire.substr(0, expected_wire.find("\r\n\r\n")));
  }
}

TEST_CASE("done_event: a waiter sleeps until set() and is woken once, by set() itself") {
  asio::io_context io;
  proxy::done_event done(io.get_executor());
  bool resumed = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await done.wait();
        resumed = true;
      },
      asio::detached);
  // Far longer than any polling step: the waiter stays asleep, with no wake-up, until set().
  io.run_for(200ms);
  CHECK_FALSE(resumed);
  CHECK(done.wakeups() == 0u);
  CHECK_FALSE(done.is_set());
  asio::steady_timer setter(io, 30ms);
  clock_type::time_point set_at{};
  clock_type::time_point resumed_at{};
  setter.async_wait([&](std::error_code) {
    set_at = clock_type::now();
    done.set();
  });
  io.restart();
  while (!resumed && io.run_one_for(5s) > 0) {
  }
  resumed_at = clock_type::now();
  REQUIRE(resumed);
  CHECK(done.is_set());
  CHECK(done.wakeups() == 1u);
  CHECK(resumed_at - set_at < 2s); // woken right away (generous on a loaded machine)
}

TEST_CASE("done_event: wait() after set() returns at once without waiting") {
  asio::io_context io;
  proxy::done_event done(io.get_executor());
  done.set();
  done.set(); // idempotent
  run_bounded(
      io, [&]() -> asio::awaitable<void> { co_await done.wait(); }, 1s);
  CHECK(done.wakeups() == 0u);
}
