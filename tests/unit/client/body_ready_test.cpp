// A request body that is still arriving (the proxy streaming its client's upload): the body
// source says "not yet" and exchange_request::body_ready waits for more.
#include "fake_icap_server.hpp"

#include "icapkit/client/client.hpp"

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include <algorithm>

namespace icapkit::client::test {
namespace {

using namespace std::chrono_literals;

client_settings streaming_settings() {
  client_settings s;
  s.vendor = log::icap_vendor::generic;
  s.connect_timeout = 2s;
  s.io_timeout = 3s;
  s.response_timeout = 8s;
  return s;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

// Bytes released by a timer: read() hands out what was released and says "not yet" when it has
// caught up; release() lets more through.
class trickle_source final : public codec::body_source {
public:
  trickle_source(std::string body, std::size_t released, bool sized)
      : body_(std::move(body)), released_(std::min(released, body_.size())), sized_(sized) {}

  std::size_t read(std::span<char> buf, std::error_code& ec) override {
    if (offset_ == released_ && released_ < body_.size()) {
      ++would_blocks;
      ec = std::make_error_code(std::errc::operation_would_block);
      return 0;
    }
    const auto n = std::min(buf.size(), released_ - offset_);
    std::copy_n(body_.data() + offset_, n, buf.data());
    offset_ += n;
    return n;
  }
  std::optional<std::uint64_t> size() const override {
    return sized_ ? std::optional<std::uint64_t>(body_.size()) : std::nullopt;
  }
  void release(std::size_t bytes) { released_ = std::min(body_.size(), released_ + bytes); }
  std::size_t offset() const { return offset_; }

  std::size_t would_blocks = 0;

private:
  std::string body_;
  std::size_t offset_ = 0;
  std::size_t released_;
  bool sized_;
};

// A body_ready that sleeps `delay` on a timer, then releases `step` more bytes.
std::function<asio::awaitable<void>()> release_on_timer(trickle_source& source, std::size_t step,
                                                        std::chrono::milliseconds delay,
                                                        std::size_t& calls) {
  return [&source, step, delay, &calls]() -> asio::awaitable<void> {
    ++calls;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(delay);
    std::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    source.release(step);
  };
}

exchange_request reqmod(const codec::uri& service, codec::body_source* body) {
  exchange_request r;
  r.method = codec::icap_method::reqmod;
  r.service = service;
  codec::http_request_head http;
  http.method = "POST";
  http.target = "http://icapkit.test/upload/file.bin";
  http.headers.add("Host", "icapkit.test");
  r.http_request = http;
  r.body = body;
  r.file_extension = "bin";
  return r;
}

// 100 Continue after a preview, then 204 once the whole body is in.
script continue_then_204() {
  return [](session& s, received_request& r) -> asio::awaitable<bool> {
    if (!r.complete) {
      co_await s.send(icap_100());
      if (!co_await s.read_rest(r)) {
        co_return false;
      }
    }
    co_return co_await s.send(icap_204());
  };
}

asio::awaitable<bool> answer_204(session& s, received_request&) {
  s.end_after_preview();
  co_return co_await s.send(icap_204());
}

} // namespace

TEST_CASE("a body arriving piece by piece reaches the server whole, with and without preview") {
  const auto body = pattern(40 * 1024 + 17);
  for (const bool preview : {true, false}) {
    for (const bool sized : {true, false}) {
      CAPTURE(preview);
      CAPTURE(sized);
      asio::io_context io;
      fake_icap_server server(io, continue_then_204());
      auto settings = streaming_settings();
      settings.enable_preview = preview;
      run_bounded(
          io,
          [&]() -> asio::awaitable<void> {
            client c(io.get_executor(), settings);
            trickle_source source(body, 300, sized); // less than the 1024-byte preview
            std::size_t calls = 0;
            auto request = reqmod(server.uri(), &source);
            request.body_ready = release_on_timer(source, 3000, 2ms, calls);
            auto result = co_await c.exchange(std::move(request));
            server.stop();
            CHECK_MESSAGE(!result.error.code, result.error_message);
            CHECK(result.result.outcome == verdict_outcome::passed);
            CHECK(result.body_bytes_sent == body.size());
            CHECK(result.record.complete_body_sent == true);
            CHECK(result.got_100 == preview);
            CHECK(calls >= 10); // the writer really waited for the body
            CHECK(calls <= source.would_blocks);
            REQUIRE(server.requests.size() == 1);
            CHECK(server.requests[0].complete);
            CHECK(server.requests[0].body == body);
          },
          15s);
    }
  }
}

TEST_CASE("204 in preview while the body is still arriving: the rest is never waited for") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  run_bounded(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), streaming_settings());
    const auto body = pattern(100 * 1024);
    // The preview (1024 bytes, from OPTIONS) arrives in three pieces, then nothing more.
    trickle_source source(body, 100, true);
    std::size_t calls = 0;
    auto request = reqmod(server.uri(), &source);
    request.body_ready = release_on_timer(source, 462, 5ms, calls);
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK_MESSAGE(!result.error.code, result.error_message);
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK(result.decided_in_preview);
    CHECK(result.body_bytes_sent == 1024u);
    CHECK(result.record.complete_body_sent == true); // ended properly at the preview
    CHECK(calls == 2); // 100 + 462 + 462 bytes: the writer waited twice, then never again
    CHECK(source.offset() == 1024u);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body == body.substr(0, 1024));
    CHECK_FALSE(server.requests[0].ieof);
  });
}

TEST_CASE("an early answer while the writer waits for the body ends the exchange promptly") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    co_await s.send(icap_204());
    co_return false; // the request never ended: this connection is done
  });
  server.answer_early = true;
  auto settings = streaming_settings();
  settings.enable_preview = false;
  settings.io_timeout = 5s;
  run_bounded(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    const auto body = pattern(64 * 1024);
    trickle_source source(body, 1000, true);
    std::size_t calls = 0;
    auto request = reqmod(server.uri(), &source);
    // The client's upload stalls: nothing more is ever released.
    request.body_ready = release_on_timer(source, 0, 20ms, calls);
    const auto start = std::chrono::steady_clock::now();
    auto result = co_await c.exchange(std::move(request));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    server.stop();
    CHECK_MESSAGE(!result.error.code, result.error_message);
    REQUIRE(result.icap_response);
    CHECK(result.icap_response->status == 204);
    CHECK(result.record.complete_body_sent == false);
    CHECK(source.offset() == 1000u);
    CHECK(elapsed < 2s); // far from the 5 s idle timeout and the 8 s response timeout
  });
}

TEST_CASE("waiting for the body counts as progress for the I/O idle timeout") {
  asio::io_context io;
  fake_icap_server server(io, continue_then_204());
  auto settings = streaming_settings();
  settings.enable_preview = false;
  settings.io_timeout = 300ms;
  run_bounded(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    const auto body = pattern(2000);
    trickle_source source(body, 100, false);
    std::size_t calls = 0;
    auto request = reqmod(server.uri(), &source);
    // The HTTP client stalls for 15 waits of 50 ms (750 ms, over twice the idle timeout) with no
    // byte moving either way, then sends the rest.
    request.body_ready = [&]() -> asio::awaitable<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(50ms);
      std::error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (++calls == 15) {
        source.release(body.size());
      }
    };
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK_MESSAGE(!result.error.code, result.error_message);
    CHECK_FALSE(result.timed_out);
    CHECK(calls == 15);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body == body);
  });
}

TEST_CASE("a body that would block without body_ready fails like a source error") {
  asio::io_context io;
  fake_icap_server server(io, continue_then_204());
  run_bounded(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), streaming_settings());
    trickle_source source(pattern(5000), 2000, true);
    auto result = co_await c.exchange(reqmod(server.uri(), &source));
    server.stop();
    CHECK(result.error.code == std::errc::operation_would_block);
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.record.action == log::icap_action::failed);
    CHECK(result.record.complete_body_sent == false);
  });
}

} // namespace icapkit::client::test
