#include "fake_icap_server.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/client/exchange.hpp"
#include "icapkit/codec/errc.hpp"

#include <asio/steady_timer.hpp>

#include <sstream>

namespace icapkit::client::test {
namespace {

using namespace std::chrono_literals;

client_settings test_settings() {
  client_settings s;
  s.vendor = log::icap_vendor::generic;
  s.connect_timeout = 2s;
  s.io_timeout = 3s;
  s.response_timeout = 5s;
  return s;
}

exchange_request reqmod(const codec::uri& service, codec::body_source* body) {
  exchange_request r;
  r.method = codec::icap_method::reqmod;
  r.service = service;
  codec::http_request_head http;
  http.method = "POST";
  http.target = "http://icapkit.test/upload/file.txt";
  http.headers.add("Host", "icapkit.test");
  r.http_request = http;
  r.body = body;
  r.file_extension = "txt";
  return r;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

// Answers a preview or a whole request with 204.
asio::awaitable<bool> answer_204(session& s, received_request&) {
  s.end_after_preview();
  co_return co_await s.send(icap_204());
}

// 100 Continue after a preview, then `final_text` once the whole body is in.
script continue_then(std::string final_text) {
  return [final_text](session& s, received_request& r) -> asio::awaitable<bool> {
    if (!r.complete) {
      co_await s.send(icap_100());
      if (!co_await s.read_rest(r)) {
        co_return false;
      }
    }
    co_return co_await s.send(final_text);
  };
}

template <typename Body>
void run_test(asio::io_context& io, Body body, std::chrono::milliseconds limit = 15s) {
  run_bounded(io, std::move(body), limit);
}

} // namespace

TEST_CASE("REQMOD of a clean body: 204 -> passed, record filled") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source body("hello world");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(result.error.code);
    REQUIRE(result.icap_response);
    CHECK(result.icap_response->status == 204);
    CHECK(result.record.action == log::icap_action::passed);
    CHECK(result.record.icap_response_code == 204u);
    CHECK(result.record.icap_server_ip == 2130706433u);
    CHECK(result.record.icap_server_port == server.port());
    CHECK(result.record.http_method == log::avi_http_method::post);
    CHECK(result.record.icap_method == log::avi_icap_method::reqmod);
    CHECK(result.record.complete_body_sent == true);
    CHECK(result.record.vendor == log::icap_vendor::generic);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body == "hello world");
    CHECK(server.requests[0].ieof); // the whole body fitted the 1024-byte preview
    // OPTIONS opened the connection the exchange reused; ieof to the 204 was the decision.
    CHECK(result.timings.options.has_value());
    CHECK_FALSE(result.timings.connect.has_value());
    CHECK_FALSE(result.timings.tls.has_value());
    REQUIRE(result.timings.preview_decision.has_value());
    CHECK(*result.timings.preview_decision <= std::chrono::microseconds{result.latency} + 1ms);
    CHECK_FALSE(result.failed_in.has_value());
  });
}

TEST_CASE("without want_record the result is the same and the icap_log record stays empty") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source body("hello world");
    auto with = co_await c.exchange(reqmod(server.uri(), &body));
    codec::memory_body_source again("hello world");
    auto request = reqmod(server.uri(), &again);
    request.want_record = false;
    auto without = co_await c.exchange(std::move(request));
    server.stop();
    CHECK(with.record.action == log::icap_action::passed);
    CHECK(without.record == log::icap_request_log{});
    CHECK(without.result == with.result);
    CHECK(without.significance.action == with.significance.action);
    REQUIRE(without.icap_response);
    CHECK(without.icap_response->status == 204);
    CHECK(without.decided_in_preview == with.decided_in_preview);
    CHECK(without.body_bytes_sent == with.body_bytes_sent);
    CHECK_FALSE(without.content_changed);
    CHECK(without.connection_reused);
  });
}

TEST_CASE("204 in preview: the rest of the body is never sent, the connection is reused") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    const auto data = pattern(100 * 1024);
    codec::memory_body_source body(data);
    auto first = co_await c.exchange(reqmod(server.uri(), &body));
    codec::memory_body_source body2(data);
    auto second = co_await c.exchange(reqmod(server.uri(), &body2));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK(first.decided_in_preview);
    CHECK_FALSE(first.got_100);
    CHECK(first.preview_sent == 1024u);
    CHECK(first.body_bytes_sent == 1024u);
    CHECK(first.record.complete_body_sent == true); // ended properly at the preview
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0].body_bytes == 1024u);
    CHECK_FALSE(server.requests[0].ieof);
    CHECK(second.result.outcome == verdict_outcome::passed);
    CHECK(second.connection_reused);
    CHECK_FALSE(second.timings.options.has_value()); // from the cache
    CHECK(server.connections == 1);      // OPTIONS and both exchanges on one TCP connection
    CHECK(server.options_requests == 1); // cached per Options-TTL
  });
}

TEST_CASE("100 Continue then a 200 block page -> blocked with the record an operator reads") {
  asio::io_context io;
  codec::header_list threat;
  threat.add("X-Infection-Found", "Type=0; Resolution=2; Threat=Test.EICAR.Custom-NDB.UNOFFICIAL;");
  fake_icap_server server(io,
                          continue_then(icap_200_with_response(403, "<h1>blocked</h1>", threat)));
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    const auto data = pattern(5000);
    codec::memory_body_source body(data);
    string_body_sink page;
    auto request = reqmod(server.uri(), &body);
    request.content_sink = &page;
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::blocked);
    CHECK(result.got_100);
    CHECK_FALSE(result.decided_in_preview);
    CHECK(result.result.threat == "Test.EICAR.Custom-NDB.UNOFFICIAL");
    CHECK(page.data() == "<h1>blocked</h1>");
    CHECK(page.finished());
    const auto& rec = result.record;
    CHECK(rec.action == log::icap_action::blocked);
    CHECK(rec.icap_response_code == 200u);
    CHECK(rec.http_response_code == 403u);
    CHECK(rec.icap_server_ip == 2130706433u);
    REQUIRE(rec.icap_headers_sent_to_server);
    CHECK(rec.icap_headers_sent_to_server->find("Preview: 1024\r\n") != std::string::npos);
    CHECK(rec.icap_headers_sent_to_server->find("Encapsulated: req-hdr=0, req-body=") !=
          std::string::npos);
    CHECK(rec.icap_headers_sent_to_server->find("REQMOD") == std::string::npos); // no start line
    REQUIRE(rec.icap_headers_received_from_server);
    CHECK(rec.icap_headers_received_from_server->find("X-Infection-Found:") != std::string::npos);
    CHECK(rec.latency.has_value());
    CHECK(rec.source_port.has_value());
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body == data);
  });
}

TEST_CASE("a 100 Continue after ieof is ignored and the real answer awaited (EID 5893)") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    co_return co_await s.send(icap_100()) && co_await s.send(icap_204());
  });
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source body("small");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(result.got_100);
    REQUIRE(result.icap_response);
    CHECK(result.icap_response->status == 204);
  });
}

TEST_CASE("an early 200 while a large body is still being sent: no deadlock, no reuse") {
  asio::io_context io;
  codec::header_list threat;
  threat.add("X-Virus-ID", "Early.Test");
  const auto block = icap_200_with_response(403, "early", threat);
  fake_icap_server server(io, [&](session& s, received_request& r) -> asio::awaitable<bool> {
    if (s.server().requests.empty()) {
      // The first request: answer after the head, then read nothing more.
      co_await s.send(block);
      co_await s.server().wait_gate();
      co_return false;
    }
    if (!co_await s.read_request(r)) {
      co_return false;
    }
    co_return co_await s.send(icap_204());
  });
  server.answer_early = true;
  auto settings = test_settings();
  settings.enable_preview = false;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    const std::uint64_t size = 32u << 20;
    std::uint64_t produced = 0;
    codec::generator_body_source big(
        [&](std::span<char> buf, std::error_code&) {
          const auto n =
              static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - produced));
          std::fill_n(buf.data(), n, 'x');
          produced += n;
          return n;
        },
        size);
    auto first = co_await c.exchange(reqmod(server.uri(), &big));
    server.open_gate();
    codec::memory_body_source small("ok");
    auto second = co_await c.exchange(reqmod(server.uri(), &small));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::blocked);
    CHECK_FALSE(first.error.code);
    CHECK(first.body_bytes_sent < size);
    CHECK(first.record.complete_body_sent == false);
    CHECK(second.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(second.connection_reused);
    CHECK(server.connections == 2);
  });
}

TEST_CASE("a 200 echo that starts while the body is still arriving: the client sends it all") {
  // c-icap's echo service answers "200 OK" and streams the echo before the request body ends;
  // a client that stops sending at the first response head stalls until its timeout.
  asio::io_context io;
  const std::string body = pattern(512 * 1024);
  fake_icap_server server(io, [&](session& s, received_request& r) -> asio::awaitable<bool> {
    const std::string http_head =
        "POST http://icapkit.test/upload/file.txt HTTP/1.1\r\nHost: icapkit.test\r\n\r\n";
    const std::string head = "ICAP/1.0 200 OK\r\nISTag: \"fake-1\"\r\nEncapsulated: req-hdr=0, "
                             "req-body=" +
                             std::to_string(http_head.size()) + "\r\n\r\n" + http_head;
    if (!co_await s.send(head)) {
      co_return false;
    }
    if (!co_await s.read_request(r)) {
      co_return false;
    }
    std::string echo;
    for (std::size_t at = 0; at < r.body.size(); at += 65536) {
      const auto piece = std::string_view(r.body).substr(at, 65536);
      std::ostringstream size;
      size << std::hex << piece.size();
      echo += size.str() + "\r\n" + std::string(piece) + "\r\n";
    }
    co_return co_await s.send(echo + "0\r\n\r\n");
  });
  server.answer_early = true;
  auto settings = test_settings();
  settings.enable_preview = false;
  settings.allow_204 = false;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source source(body);
    string_body_sink returned(2u << 20);
    auto request = reqmod(server.uri(), &source);
    request.content_sink = &returned;
    auto result = co_await c.exchange(request);
    server.stop();
    CHECK_MESSAGE(!result.error.code, result.error_message);
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK(result.body_bytes_sent == body.size());
    CHECK(returned.data() == body);
    CHECK(result.record.complete_body_sent == true);
  });
}

TEST_CASE("206 with use-original-body merges the returned part and the original into the sink") {
  asio::io_context io;
  const std::string original = "0123456789abcdefghijklmnopqrstuvwxyz";
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    codec::icap_response_head head;
    head.status = 206;
    head.reason = "Partial Content";
    head.headers.add("ISTag", "\"fake-1\"");
    codec::http_request_head http;
    http.method = "POST";
    http.target = "http://icapkit.test/upload/file.txt";
    codec::string_body_source fresh("NEW-");
    codec::encapsulated_parts parts;
    parts.request_head = &http;
    parts.body = &fresh;
    codec::response_options opt;
    opt.request_method = codec::icap_method::reqmod;
    opt.use_original_body = 10;
    std::string text;
    REQUIRE(!codec::serialize_to_string(head, parts, opt, text));
    co_return co_await s.send(text);
  });
  auto settings = test_settings();
  settings.allow_206 = true;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source body(original);
    string_body_sink merged;
    auto request = reqmod(server.uri(), &body);
    request.content_sink = &merged;
    request.reopen_body = [&] { return std::make_unique<codec::memory_body_source>(original); };
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK_FALSE(result.error.code);
    CHECK(merged.data() == "NEW-" + original.substr(10));
    CHECK(result.returned_body_bytes == merged.data().size());
    CHECK(result.content_changed);
    CHECK(result.result.outcome == verdict_outcome::modified);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].head.headers.get("Allow") == "204, 206");
  });
}

TEST_CASE("RESPMOD with req-hdr and res-hdr: a different body comes back -> modified") {
  asio::io_context io;
  fake_icap_server server(io, continue_then(icap_200_with_response(200, "sanitized!", {},
                                                                   codec::icap_method::respmod)));
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    exchange_request request;
    request.method = codec::icap_method::respmod;
    request.service = server.uri();
    codec::http_request_head req;
    req.target = "http://icapkit.test/file.doc";
    request.http_request = req;
    codec::http_response_head res;
    res.headers.add("Content-Type", "application/msword");
    request.http_response = res;
    const auto data = pattern(3000);
    codec::memory_body_source body(data);
    request.body = &body;
    null_body_sink sink;
    request.content_sink = &sink;
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::modified);
    CHECK(result.record.action == log::icap_action::modified);
    CHECK(result.record.modified_content_length == 10u);
    CHECK(result.record.icap_method == log::avi_icap_method::respmod);
    CHECK(sink.size() == 10u);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].http_request.has_value());
    CHECK(server.requests[0].http_response.has_value());
    CHECK(server.requests[0].body == data);
  });
}

TEST_CASE("an unchanged 200 echo (no Allow: 204) is passed, not modified") {
  asio::io_context io;
  const auto data = pattern(500);
  fake_icap_server server(
      io, continue_then(icap_200_with_response(200, data, {}, codec::icap_method::respmod)));
  auto settings = test_settings();
  settings.allow_204 = false;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    exchange_request request;
    request.method = codec::icap_method::respmod;
    request.service = server.uri();
    request.http_response = codec::http_response_head{};
    codec::memory_body_source body(data);
    request.body = &body;
    auto result = co_await c.exchange(std::move(request));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(result.content_changed);
    REQUIRE(server.requests.size() == 1);
    CHECK_FALSE(server.requests[0].head.headers.contains("Allow"));
  });
}

TEST_CASE("a server that never answers -> failed within the response timeout, timed_out") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    co_await s.server().wait_gate();
    co_return false;
  });
  auto settings = test_settings();
  settings.response_timeout = 300ms;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source body("x");
    const auto start = std::chrono::steady_clock::now();
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    const auto took = std::chrono::steady_clock::now() - start;
    server.stop();
    CHECK(took < 2s);
    CHECK(result.timed_out);
    CHECK(result.error.code == net::errc::deadline_exceeded);
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.record.action == log::icap_action::failed);
    CHECK(result.significance.timed_out);
    CHECK(result.error_message.find("timeout") != std::string::npos);
    // The whole body went out in the preview (ieof) and no answer came.
    REQUIRE(result.failed_in.has_value());
    CHECK(*result.failed_in == exchange_phase::preview);
    CHECK_FALSE(result.timings.preview_decision.has_value());
  });
}

TEST_CASE("a silent server trips the I/O idle timeout before the response timeout") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    co_await s.server().wait_gate();
    co_return false;
  });
  auto settings = test_settings();
  settings.io_timeout = 200ms;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.timed_out);
    CHECK(result.error.code == net::errc::idle_timeout);
  });
}

TEST_CASE("a reset in the middle of the response -> failed with a connection error") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    co_await s.send("ICAP/1.0 200 OK\r\nISTag: \"x\"\r\nEncapsulated: res-hdr=0, res-body=");
    co_return false; // SO_LINGER 0: the close resets
  });
  server.reset_on_close = true;
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.fetch_options = false;
    client c(io.get_executor(), settings);
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK((result.error.code == net::errc::connection_reset ||
           result.error.code == net::errc::closed_by_peer));
    CHECK(result.significance.connection_error);
    CHECK(result.record.action == log::icap_action::failed);
  });
}

TEST_CASE("a reset after the status line: failed, and the record keeps the ICAP status") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    const std::string http = "HTTP/1.1 403 Forbidden\r\n\r\n";
    co_await s.send("ICAP/1.0 200 OK\r\nISTag: \"x\"\r\nEncapsulated: res-hdr=0, res-body=" +
                    std::to_string(http.size()) + "\r\n\r\n" + http + "10\r\nonly part");
    co_return false; // SO_LINGER 0: the close resets
  });
  server.reset_on_close = true;
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.fetch_options = false;
    client c(io.get_executor(), settings);
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.record.action == log::icap_action::failed);
    CHECK(result.record.icap_response_code == 200u);
    CHECK(result.record.icap_headers_received_from_server.value_or("").find("ISTag") !=
          std::string::npos);
  });
}

TEST_CASE("garbage from the server -> failed, the message names the codec error") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    co_await s.send("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    co_await s.server().wait_gate();
    co_return false;
  });
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.fetch_options = false;
    client c(io.get_executor(), settings);
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.error.code.category() == codec::codec_category());
    CHECK(result.error_message.find("protocol error from 127.0.0.1:") != std::string::npos);
    CHECK(result.error_message.find(std::string(detail::codec_errc_name(result.error.code))) !=
          std::string::npos);
    CHECK(result.significance.server_error);
  });
}

TEST_CASE("Connection: close makes the next exchange reconnect") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    co_await s.send("ICAP/1.0 204 No Content\r\nISTag: \"x\"\r\nConnection: close\r\n\r\n");
    co_return false;
  });
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source a("a");
    auto retryable = reqmod(server.uri(), &a);
    retryable.reopen_body = [] { return std::make_unique<codec::memory_body_source>("a"); };
    auto first = co_await c.exchange(retryable);
    codec::memory_body_source b("b");
    auto second = co_await c.exchange(reqmod(server.uri(), &b));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK(second.result.outcome == verdict_outcome::passed);
    CHECK(second.connection_reused == false);
    CHECK(server.connections == 2); // OPTIONS + first on one, second on a new one
  });
}

// Starts `count` exchanges at once and waits for all of them; each must pass. Returns how many
// finished.
asio::awaitable<std::size_t> pass_concurrently(asio::io_context& io, client& c,
                                               const codec::uri& service, std::size_t count) {
  std::size_t finished = 0;
  asio::steady_timer all_done(io, std::chrono::steady_clock::time_point::max());
  std::vector<std::unique_ptr<codec::memory_body_source>> bodies;
  for (std::size_t i = 0; i < count; ++i) {
    bodies.push_back(std::make_unique<codec::memory_body_source>("body"));
    asio::co_spawn(io, c.exchange(reqmod(service, bodies.back().get())),
                   [&](std::exception_ptr, exchange_result r) {
                     CHECK(r.result.outcome == verdict_outcome::passed);
                     if (++finished == count) {
                       all_done.cancel();
                     }
                   });
  }
  std::error_code ignored;
  co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return finished;
}

TEST_CASE("a restarted server: every stale pooled connection goes at once, one new one serves") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request&) -> asio::awaitable<bool> {
    // Long enough for the three exchanges below to overlap: three pooled connections.
    asio::steady_timer pause(s.stream().get_executor(), 30ms);
    co_await pause.async_wait(asio::use_awaitable);
    s.end_after_preview();
    co_return co_await s.send(icap_204());
  });
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    REQUIRE((co_await c.options(server.uri())).ok());
    const auto finished = co_await pass_concurrently(io, c, server.uri(), 3);
    REQUIRE(finished == 3u);
    REQUIRE(server.max_concurrent == 3);
    // The server restarts: its end of every pooled connection is gone.
    server.close_connections();
    asio::steady_timer settle(io, 50ms);
    co_await settle.async_wait(asio::use_awaitable);
    const auto before = server.connections;
    codec::memory_body_source a("a");
    auto retryable = reqmod(server.uri(), &a);
    retryable.reopen_body = [] { return std::make_unique<codec::memory_body_source>("a"); };
    auto first = co_await c.exchange(retryable);
    codec::memory_body_source b("b");
    auto second = co_await c.exchange(reqmod(server.uri(), &b));
    server.stop();
    // The first stale connection failed before any answer; the other two went with it, and the
    // retry connected anew: no exchange fails because the server restarted.
    CHECK_MESSAGE(first.result.outcome == verdict_outcome::passed, first.error_message);
    CHECK_MESSAGE(second.result.outcome == verdict_outcome::passed, second.error_message);
    CHECK(second.connection_reused == true);
    CHECK(server.connections == before + 1);
  });
}

// Answers with 204 and closes the connection without saying so (no "Connection: close"): the
// client keeps it, and the next exchange finds it dead before any answer.
asio::awaitable<bool> answer_204_then_close(session& s, received_request&) {
  s.end_after_preview();
  co_await s.send(icap_204());
  co_return false;
}

TEST_CASE("a reused connection the server closed while idle: retried once on a new one") {
  asio::io_context io;
  fake_icap_server server(io, answer_204_then_close);
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.fetch_options = false;
    client c(io.get_executor(), settings);
    codec::memory_body_source a("a");
    auto first = co_await c.exchange(reqmod(server.uri(), &a));
    codec::memory_body_source b("b");
    auto request = reqmod(server.uri(), &b);
    // The body went out on the dead connection: the retry needs it again.
    request.reopen_body = [] { return std::make_unique<codec::memory_body_source>("b"); };
    auto second = co_await c.exchange(std::move(request));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK(second.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(second.connection_reused); // the retry's connection
    CHECK(server.connections == 2);
    CHECK(server.requests.size() == 2);
  });
}

TEST_CASE("retry_dead_idle off: the dead reused connection is the result, marked reused") {
  asio::io_context io;
  fake_icap_server server(io, answer_204_then_close);
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.retry_dead_idle = false;
    client c(io.get_executor(), settings);
    // OPTIONS opens the connection, the first exchange reuses it and the server closes it.
    codec::memory_body_source a("a");
    auto first = co_await c.exchange(reqmod(server.uri(), &a));
    codec::memory_body_source b("b");
    auto request = reqmod(server.uri(), &b);
    request.reopen_body = [] { return std::make_unique<codec::memory_body_source>("b"); };
    auto second = co_await c.exchange(std::move(request));
    codec::memory_body_source d("d");
    auto third = co_await c.exchange(reqmod(server.uri(), &d));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK(first.connection_reused);
    CHECK(second.result.outcome == verdict_outcome::failed);
    CHECK(second.connection_reused);
    CHECK((second.error.code == net::errc::connection_reset ||
           second.error.code == net::errc::closed_by_peer));
    CHECK(second.significance.connection_error);
    CHECK(third.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(third.connection_reused);
    CHECK(server.connections == 2);
    CHECK(server.requests.size() == 2); // the second exchange never reached the script
  });
}

TEST_CASE("retry_dead_idle off: an OPTIONS on a dead reused connection fails, marked reused") {
  asio::io_context io;
  fake_icap_server server(io, answer_204_then_close);
  server.options_response = "ICAP/1.0 200 OK\r\nMethods: REQMOD\r\nISTag: \"fake-1\"\r\n"
                            "Allow: 204\r\nOptions-TTL: 3600\r\nEncapsulated: null-body=0\r\n\r\n";
  run_test(io, [&]() -> asio::awaitable<void> {
    auto settings = test_settings();
    settings.retry_dead_idle = false;
    settings.fetch_options = false;
    client c(io.get_executor(), settings);
    codec::memory_body_source a("a");
    auto first = co_await c.exchange(reqmod(server.uri(), &a));
    auto dead = co_await c.options(server.uri(), false);
    auto fresh = co_await c.options(server.uri(), false);
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK_FALSE(dead.ok());
    CHECK(dead.connection_reused);
    CHECK(fresh.ok());
    CHECK_FALSE(fresh.connection_reused);
  });
}

TEST_CASE("Max-Connections: 1 makes concurrent exchanges take turns on one connection") {
  asio::io_context io;
  std::size_t in_flight = 0;
  std::size_t most_in_flight = 0;
  fake_icap_server server(io, [&](session& s, received_request&) -> asio::awaitable<bool> {
    ++in_flight;
    most_in_flight = std::max(most_in_flight, in_flight);
    // Give the other exchanges every chance to overlap with this one.
    asio::steady_timer pause(s.stream().get_executor(), 30ms);
    co_await pause.async_wait(asio::use_awaitable);
    --in_flight;
    s.end_after_preview();
    co_return co_await s.send(icap_204());
  });
  server.options_response = "ICAP/1.0 200 OK\r\nMethods: REQMOD\r\nISTag: \"x\"\r\n"
                            "Max-Connections: 1\r\nOptions-TTL: 60\r\n"
                            "Encapsulated: null-body=0\r\n\r\n";
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    auto warm = co_await c.options(server.uri());
    REQUIRE(warm.ok());
    CHECK(warm.options->max_connections == 1u);
    const auto finished = co_await pass_concurrently(io, c, server.uri(), 3);
    server.stop();
    CHECK(finished == 3u);
    CHECK(most_in_flight == 1);
    CHECK(server.connections == 1);
  });
}

TEST_CASE("an 8 MiB body streams in pieces, whole, after 100 Continue") {
  asio::io_context io;
  fake_icap_server server(io, continue_then(icap_204()));
  auto settings = test_settings();
  settings.piece_size = 16 * 1024;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    const std::uint64_t size = 8u << 20;
    std::uint64_t produced = 0;
    std::size_t largest_read = 0;
    codec::generator_body_source big([&](std::span<char> buf, std::error_code&) {
      largest_read = std::max(largest_read, buf.size());
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - produced));
      std::fill_n(buf.data(), n, 'y');
      produced += n;
      return n;
    });
    auto result = co_await c.exchange(reqmod(server.uri(), &big));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK(result.got_100);
    CHECK(result.body_bytes_sent == size);
    CHECK(largest_read <= settings.piece_size);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body_bytes == size);
  });
}

TEST_CASE("Transfer-Ignore: the file is not sent, the result says so") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  server.options_response = "ICAP/1.0 200 OK\r\nMethods: REQMOD\r\nISTag: \"x\"\r\nPreview: 0\r\n"
                            "Transfer-Ignore: txt\r\nTransfer-Preview: *\r\n"
                            "Encapsulated: null-body=0\r\n\r\n";
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source body("ignored");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.not_sent);
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK(server.requests.empty());
  });
}

TEST_CASE("OPTIONS: parsed, cached, and a non-200 is an error naming the status") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    auto first = co_await c.options(server.uri());
    auto second = co_await c.options(server.uri());
    auto fresh = co_await c.options(server.uri(), false);
    server.options_response = "ICAP/1.0 404 Service not found\r\nISTag: \"x\"\r\n"
                              "Encapsulated: null-body=0\r\n\r\n";
    auto missing = co_await c.options(server.uri("/nothing"));
    server.stop();
    REQUIRE(first.ok());
    CHECK(first.options->preview == 1024u);
    CHECK(first.options->allow_206);
    CHECK_FALSE(first.from_cache);
    CHECK(second.from_cache);
    CHECK_FALSE(fresh.from_cache);
    CHECK(server.options_requests == 3);
    CHECK_FALSE(missing.ok());
    REQUIRE(missing.response);
    CHECK(missing.response->status == 404);
    CHECK(missing.error_message.find("404") != std::string::npos);
  });
}

TEST_CASE("connection refused -> failed record with a connection error") {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io,
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::uri service;
    REQUIRE(!codec::parse_uri("icap://127.0.0.1:" + std::to_string(port) + "/avscan", service));
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(service, &body));
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.error.code == net::errc::connection_refused);
    CHECK(result.failed_in == exchange_phase::options); // OPTIONS goes first
    CHECK(result.error_message.find("refused") != std::string::npos);
    CHECK(result.record.action == log::icap_action::failed);
    CHECK(result.record.icap_server_port == port);
    CHECK(result.significance.connection_error);
  });
}

TEST_CASE("ICAPS: an exchange over TLS verified with the server's certificate as CA") {
  asio::io_context io;
  fake_icap_server server(io, answer_204, net::test::server_tls());
  net::test::temp_dir dir;
  auto settings = test_settings();
  settings.tls.ca_file = dir.write("ca.pem", net::test::server_credentials().cert_pem);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source body("over tls");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK_FALSE(result.error.code);
    CHECK(result.result.outcome == verdict_outcome::passed);
    CHECK(result.record.icap_absolute_uri->starts_with("icaps://127.0.0.1:"));
    CHECK_FALSE(result.timings.tls.has_value()); // the OPTIONS connection was reused
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].body == "over tls");
  });
}

TEST_CASE("phases: a new connection's connect and TLS times; where a failure happened") {
  asio::io_context io;
  fake_icap_server server(io, answer_204, net::test::server_tls());
  net::test::temp_dir dir;
  auto settings = test_settings();
  settings.fetch_options = false; // the exchange opens its own connection
  settings.tls.ca_file = dir.write("ca.pem", net::test::server_credentials().cert_pem);
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    codec::memory_body_source body("over tls");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    CHECK_FALSE(result.error.code);
    CHECK_FALSE(result.timings.options.has_value());
    REQUIRE(result.timings.connect.has_value());
    REQUIRE(result.timings.tls.has_value());
    CHECK(result.timings.tls->count() > 0);

    auto untrusted = test_settings();
    untrusted.fetch_options = false;
    client other(io.get_executor(), untrusted);
    codec::memory_body_source again("x");
    auto refused = co_await other.exchange(reqmod(server.uri(), &again));
    server.stop();
    CHECK(refused.error.code == net::errc::tls_verify_failed);
    CHECK(refused.failed_in == exchange_phase::tls);
    CHECK(refused.timings.connect.has_value());
  });
}

TEST_CASE("without keep-alive every exchange has its own connection, closed after it") {
  asio::io_context io;
  fake_icap_server server(io, answer_204);
  auto settings = test_settings();
  settings.keep_alive = false;
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), settings);
    for (int i = 0; i < 3; ++i) {
      codec::memory_body_source body("hello");
      auto result = co_await c.exchange(reqmod(server.uri(), &body));
      CHECK(result.result.outcome == verdict_outcome::passed);
      CHECK_FALSE(result.connection_reused);
      CHECK(result.timings.connect.has_value());
    }
    server.stop();
    CHECK(server.connections == 4); // OPTIONS and three exchanges
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[0].head.headers.get("Connection") == "close");
  });
}

TEST_CASE("ICAPS with an untrusted certificate -> failed with a TLS verify error") {
  asio::io_context io;
  fake_icap_server server(io, answer_204, net::test::server_tls());
  run_test(io, [&]() -> asio::awaitable<void> {
    client c(io.get_executor(), test_settings());
    codec::memory_body_source body("x");
    auto result = co_await c.exchange(reqmod(server.uri(), &body));
    server.stop();
    CHECK(result.result.outcome == verdict_outcome::failed);
    CHECK(result.error.code == net::errc::tls_verify_failed);
  });
}

} // namespace icapkit::client::test
