// upstream_client against a scripted origin on 127.0.0.1 (asio, same io_context): each connection
// the origin accepts follows one line of its script (answer, close or reset after reading the
// request, ...). The cases are the retry rules: what may go out again, how often, and what the
// report and the failure say.
#include "icapkit/proxy/upstream.hpp"

#include "icapkit/codec/body_source.hpp"
#include "icapkit/proxy/errc.hpp"

#include "../net/test_support.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace icapkit;
using namespace std::chrono_literals;

namespace {

enum class behaviour {
  answer,              // 200 "ok" to every request, keep-alive
  answer_then_close,   // 200 "ok" (keep-alive announced), then closes: the idle close
  answer_then_hold,    // 200 "ok", then reads to the client's EOF and holds the socket open
  close_after_request, // reads the whole request, closes without answering
  reset_after_request, // reads one byte of the request, closes with the rest unread: a reset
  silent,              // reads the request, never answers
};

class scripted_origin {
public:
  // Connection i follows script[i]; connections past the script are answered.
  scripted_origin(asio::io_context& io, std::vector<behaviour> script)
      : script_(std::move(script)), hold_(io) {
    server_ = net::test::start_server(io, [this](std::unique_ptr<net::stream> connection) {
      const auto index = connections_++;
      return serve(std::move(connection),
                   index < script_.size() ? script_[index] : behaviour::answer);
    });
  }

  proxy::upstream_target target() const {
    proxy::upstream_target t;
    t.host = "127.0.0.1";
    t.port = server_->local_endpoint().port();
    return t;
  }
  std::string peer() const { return "127.0.0.1:" + std::to_string(target().port); }
  std::size_t connections() const noexcept { return connections_; }
  // "METHOD target body" per request read whole; "(one byte)" for a request reset after a byte.
  const std::vector<std::string>& requests() const noexcept { return requests_; }
  void stop() {
    server_->stop();
    hold_.cancel();
  }

private:
  asio::awaitable<void> hold() {
    hold_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await hold_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> serve(std::unique_ptr<net::stream> connection, behaviour script) {
    connection->set_idle_timeout(5s);
    std::error_code ec;
    if (script == behaviour::reset_after_request) {
      std::array<char, 1> one{};
      co_await connection->read_some(asio::buffer(one), ec);
      if (!ec) {
        requests_.emplace_back("(one byte)");
      }
      connection->close(); // unread bytes in the receive queue: the kernel sends RST
      co_return;
    }
    proxy::http_reader reader(*connection, codec::limits{});
    for (;;) {
      auto head = co_await reader.read_request_head(ec);
      if (!head) {
        break;
      }
      proxy::framing body_framing;
      if (proxy::request_framing(*head, body_framing)) {
        break;
      }
      reader.start_body(body_framing);
      std::string body;
      for (;;) {
        const auto piece = co_await reader.read_body(ec);
        if (ec || piece.empty()) {
          break;
        }
        body += piece;
      }
      if (ec) {
        break;
      }
      requests_.push_back(head->method + " " + head->target + " " + body);
      if (script == behaviour::close_after_request) {
        co_await connection->shutdown();
        connection->close();
        co_return;
      }
      if (script == behaviour::silent) {
        co_await hold();
        co_return;
      }
      co_await connection->write_all(
          asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), ec);
      if (ec) {
        break;
      }
      if (script == behaviour::answer_then_close) {
        co_await connection->shutdown();
        connection->close();
        co_return;
      }
      if (script == behaviour::answer_then_hold) {
        while (co_await reader.read_request_head(ec)) {
        }
        co_await hold();
        co_return;
      }
    }
    connection->close();
  }

  std::vector<behaviour> script_;
  std::unique_ptr<net::listener> server_;
  std::size_t connections_ = 0;
  std::vector<std::string> requests_;
  asio::steady_timer hold_;
};

proxy::upstream_settings quick_settings() {
  proxy::upstream_settings settings;
  settings.connect_timeout = 2s;
  settings.io_timeout = 2s;
  settings.response_timeout = 2s;
  return settings;
}

// What one send came to.
struct outcome {
  std::optional<int> status;
  std::string body;
  proxy::send_failure failure;
  proxy::send_report report;
};

enum class body_kind { none, replayable, streamed };

// Polls until the connection shows the origin's close, at most 5 s (the FIN takes a moment).
asio::awaitable<bool> origin_closed(net::stream& connection) {
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

// Sends one request, reads the whole answer and gives the connection back for reuse.
// `before_release` runs on the answered connection first (to wait for or cause its end).
asio::awaitable<outcome>
exchange(proxy::upstream_client& client, const scripted_origin& origin, std::string method,
         body_kind kind = body_kind::none,
         std::function<asio::awaitable<void>(net::stream&)> before_release = nullptr) {
  static const std::string payload = "name=value&more=data";
  codec::http_request_head head;
  head.method = method;
  head.target = "/resource";
  head.headers.add("Host", "origin.example");
  if (kind != body_kind::none) {
    head.headers.add("Content-Length", std::to_string(payload.size()));
  }
  int made = 0;
  const std::function<std::unique_ptr<proxy::outgoing_body>()> make_body =
      [&]() -> std::unique_ptr<proxy::outgoing_body> {
    if (kind == body_kind::streamed && made > 0) {
      return nullptr; // a streamed client body is gone once sent
    }
    ++made;
    return std::make_unique<proxy::source_body>(
        std::make_unique<codec::memory_body_source>(payload));
  };
  const std::function<std::unique_ptr<proxy::outgoing_body>()> no_body;
  outcome result;
  auto response = co_await client.send(origin.target(), head, false,
                                       kind == body_kind::none ? no_body : make_body,
                                       result.failure, result.report);
  if (!response) {
    co_return result;
  }
  result.status = response->head.status;
  std::error_code ec;
  for (;;) {
    const auto piece = co_await response->reader->read_body(ec);
    if (ec || piece.empty()) {
      break;
    }
    result.body += piece;
  }
  REQUIRE_FALSE(ec);
  if (before_release) {
    co_await before_release(*response->stream);
  }
  client.release(std::move(*response), true);
  co_return result;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

} // namespace

TEST_CASE("upstream: the idempotent methods are those of RFC 9110 9.2.2") {
  for (const auto* method : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    CHECK_MESSAGE(proxy::is_idempotent(method), method);
  }
  for (const auto* method : {"POST", "PATCH", "CONNECT", "LOCK", "get", ""}) {
    CHECK_FALSE_MESSAGE(proxy::is_idempotent(method), method);
  }
}

TEST_CASE("upstream: an idle connection the origin closed is found before writing; no retry") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::answer_then_close, behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto first = co_await exchange(
        client, origin, "GET", body_kind::none, [](net::stream& c) -> asio::awaitable<void> {
          REQUIRE(co_await origin_closed(c)); // released only once the origin's close is in
        });
    CHECK(first.status == 200);
    CHECK(first.report.attempts == 1u);
    // A POST on the pooled connection would be lost: the check finds it closed before writing.
    const auto second = co_await exchange(client, origin, "POST", body_kind::streamed);
    CHECK(second.status == 200);
    CHECK(second.body == "ok");
    CHECK(second.report.stale_closed == 1u);
    CHECK(second.report.attempts == 1u);
    CHECK(second.report.retries.empty());
    CHECK(origin.connections() == 2u);
    REQUIRE(origin.requests().size() == 2u);
    CHECK(origin.requests()[1] == "POST /resource name=value&more=data");
    client.close_idle();
    origin.stop();
  });
}

TEST_CASE("upstream: a live idle connection is reused") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      const auto result = co_await exchange(client, origin, "POST", body_kind::streamed);
      CHECK(result.status == 200);
      CHECK(result.report.stale_closed == 0u);
      CHECK(result.report.attempts == 1u);
    }
    CHECK(origin.connections() == 1u);
    CHECK(origin.requests().size() == 3u);
    client.close_idle();
    origin.stop();
  });
}

TEST_CASE("upstream: a GET the origin dropped before answering is sent once more, and succeeds") {
  for (const auto drop : {behaviour::reset_after_request, behaviour::close_after_request}) {
    CAPTURE(static_cast<int>(drop));
    asio::io_context io;
    scripted_origin origin(io, {drop, behaviour::answer});
    proxy::upstream_client client(io.get_executor(), quick_settings());
    net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
      const auto result = co_await exchange(client, origin, "GET");
      CHECK(result.status == 200);
      CHECK(result.report.attempts == 2u);
      REQUIRE(result.report.retries.size() == 1u);
      const auto& why = result.report.retries.front();
      CHECK_MESSAGE(contains(why, "upstream " + origin.peer()), why);
      CHECK_MESSAGE(contains(why, drop == behaviour::reset_after_request ? " reset " : " closed "),
                    why);
      CHECK_MESSAGE(contains(why, "after the request was sent; the GET is idempotent"), why);
      CHECK(origin.connections() == 2u);
      CHECK(origin.requests().size() == 2u);
      client.close_idle();
      origin.stop();
    });
  }
}

TEST_CASE("upstream: a replayable PUT is retried too; its body goes out whole both times") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::close_after_request, behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto result = co_await exchange(client, origin, "PUT", body_kind::replayable);
    CHECK(result.status == 200);
    CHECK(result.report.attempts == 2u);
    REQUIRE(origin.requests().size() == 2u);
    CHECK(origin.requests()[0] == "PUT /resource name=value&more=data");
    CHECK(origin.requests()[1] == origin.requests()[0]);
    client.close_idle();
    origin.stop();
  });
}

TEST_CASE("upstream: a GET that fails twice is a failure after exactly two attempts") {
  asio::io_context io;
  scripted_origin origin(
      io, {behaviour::close_after_request, behaviour::close_after_request, behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto result = co_await exchange(client, origin, "GET");
    CHECK_FALSE(result.status);
    CHECK(result.failure.code == proxy::errc::upstream_unreachable);
    CHECK_FALSE(result.failure.body_failed);
    CHECK(result.failure.message == "upstream " + origin.peer() +
                                        " closed the connection after the request was sent "
                                        "(2 attempts)");
    CHECK(result.report.attempts == 2u);
    CHECK(result.report.retries.size() == 1u);
    CHECK(origin.connections() == 2u); // never a third
    origin.stop();
  });
}

TEST_CASE("upstream: a POST that may have reached the origin is never sent twice") {
  for (const auto drop : {behaviour::close_after_request, behaviour::reset_after_request}) {
    CAPTURE(static_cast<int>(drop));
    asio::io_context io;
    scripted_origin origin(io, {drop, behaviour::answer});
    proxy::upstream_client client(io.get_executor(), quick_settings());
    net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
      // Replayable (held in a spool) or not, the POST goes out once.
      const auto result = co_await exchange(client, origin, "POST", body_kind::replayable);
      CHECK_FALSE(result.status);
      CHECK(result.failure.code == proxy::errc::upstream_unreachable);
      const auto verb = drop == behaviour::reset_after_request ? " reset" : " closed";
      CHECK(result.failure.message ==
            "upstream " + origin.peer() + verb +
                " the connection after the request was sent; a POST is not sent twice");
      CHECK(result.report.attempts == 1u);
      CHECK(result.report.retries.empty());
      CHECK(origin.connections() == 1u);
      CHECK(origin.requests().size() == 1u);
      origin.stop();
    });
  }
}

TEST_CASE("upstream: a GET whose streamed body is gone is not sent again") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::close_after_request, behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto result = co_await exchange(client, origin, "GET", body_kind::streamed);
    CHECK_FALSE(result.status);
    CHECK(contains(result.failure.message,
                   "the GET is not sent again because its body was streamed and is gone"));
    CHECK(result.report.attempts == 1u);
    CHECK(origin.connections() == 1u);
    origin.stop();
  });
}

TEST_CASE("upstream: a request that failed before any byte was written goes out on a new "
          "connection, whatever its method") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::answer_then_hold, behaviour::answer});
  proxy::upstream_client client(io.get_executor(), quick_settings());
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    // The pooled connection passes the idle check (the origin neither closed it nor spoke) but
    // cannot carry a byte: its sending side is shut, as after a reset that raced the check.
    const auto first = co_await exchange(client, origin, "GET", body_kind::none,
                                         [](net::stream& c) -> asio::awaitable<void> {
                                           ::shutdown(c.native_socket(), SHUT_WR);
                                           co_return;
                                         });
    CHECK(first.status == 200);
    const auto second = co_await exchange(client, origin, "POST", body_kind::streamed);
    CHECK(second.status == 200);
    CHECK(second.report.stale_closed == 0u);
    CHECK(second.report.attempts == 2u);
    REQUIRE(second.report.retries.size() == 1u);
    CHECK(second.report.retries.front() ==
          "upstream " + origin.peer() +
              " reset a reused connection before any of the request was written");
    CHECK(origin.connections() == 2u);
    REQUIRE(origin.requests().size() == 2u);
    CHECK(origin.requests()[1] == "POST /resource name=value&more=data"); // the body, whole
    client.close_idle();
    origin.stop();
  });
}

TEST_CASE("upstream: a timeout or a refused connect is not retried") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::silent});
  auto settings = quick_settings();
  settings.response_timeout = 200ms;
  proxy::upstream_client client(io.get_executor(), settings);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    const auto timed_out = co_await exchange(client, origin, "GET");
    CHECK_FALSE(timed_out.status);
    CHECK(timed_out.failure.code == proxy::errc::upstream_timeout);
    CHECK(timed_out.report.attempts == 1u);
    CHECK(origin.connections() == 1u);
    origin.stop();

    scripted_origin gone(io, {});
    const auto target = gone.target();
    gone.stop();
    codec::http_request_head head;
    proxy::send_failure failure;
    proxy::send_report report;
    const std::function<std::unique_ptr<proxy::outgoing_body>()> no_body;
    auto response = co_await client.send(target, head, false, no_body, failure, report);
    CHECK_FALSE(response);
    CHECK(failure.code == proxy::errc::upstream_unreachable);
    CHECK(report.attempts == 1u);
    CHECK(report.retries.empty());
  });
}

TEST_CASE("upstream: reuse_for_unsafe_methods off: a POST always gets a new connection, a GET "
          "still reuses") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::answer});
  auto settings = quick_settings();
  settings.reuse_for_unsafe_methods = false;
  proxy::upstream_client client(io.get_executor(), settings);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    CHECK((co_await exchange(client, origin, "POST", body_kind::streamed)).status == 200);
    CHECK(origin.connections() == 1u);
    CHECK((co_await exchange(client, origin, "POST", body_kind::streamed)).status == 200);
    CHECK(origin.connections() == 2u);
    CHECK((co_await exchange(client, origin, "GET")).status == 200);
    CHECK(origin.connections() == 2u);
    client.close_idle();
    origin.stop();
  });
}

TEST_CASE("upstream: idle connections per target are capped; the oldest one closes") {
  asio::io_context io;
  scripted_origin origin(io, {behaviour::answer});
  auto settings = quick_settings();
  settings.reuse_for_unsafe_methods = false; // as replay: every POST on a new connection
  settings.max_idle_per_target = 2;
  proxy::upstream_client client(io.get_executor(), settings);
  net::test::run_bounded(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      CHECK((co_await exchange(client, origin, "POST", body_kind::streamed)).status == 200);
    }
    CHECK(origin.connections() == 5u);
    // Five connections were given back; two stay open, not five (10,000 in a long replay).
    CHECK(client.idle_count(origin.target()) == 2u);
    client.close_idle();
    origin.stop();
  });
}
