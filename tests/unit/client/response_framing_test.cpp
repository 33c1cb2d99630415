// Responses the client cannot frame (issue 13): each shape ends as a protocol error, never a
// verdict; the record says ICAP_FAILED and why; the connection is closed, so the next exchange
// opens a new one and succeeds.
#include "fake_icap_server.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/codec/errc.hpp"

#include <string>

namespace icapkit::client::test {
namespace {

using namespace std::chrono_literals;

client_settings framing_settings() {
  client_settings s;
  s.vendor = log::icap_vendor::generic;
  s.connect_timeout = 2s;
  s.io_timeout = 3s;
  s.response_timeout = 5s;
  s.fetch_options = false; // every connection the server counts is an exchange's
  return s;
}

exchange_request request_for(codec::icap_method method, const codec::uri& service,
                             codec::body_source* body) {
  exchange_request r;
  r.method = method;
  r.service = service;
  codec::http_request_head http;
  http.method = method == codec::icap_method::reqmod ? "POST" : "GET";
  http.target = "http://icapkit.test/file.txt";
  http.headers.add("Host", "icapkit.test");
  r.http_request = http;
  if (method == codec::icap_method::respmod) {
    codec::http_response_head response;
    response.headers.add("Content-Type", "text/plain");
    r.http_response = response;
  }
  r.body = body;
  r.file_extension = "txt";
  r.want_record = true;
  return r;
}

const std::string http_ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
const std::string http_block = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n\r\n";
const std::string chunked_body = "5\r\nhello\r\n0\r\n\r\n";

std::string encapsulated(const std::string& value) {
  return "Encapsulated: " + value + "\r\n";
}

struct shape {
  const char* name;
  codec::icap_method method;
  std::string response; // what the server answers the first exchange with
  codec::errc error;
  std::string reason;                  // in the failure text and the record's sentence
  std::optional<std::uint32_t> status; // icap_response_code in the record
};

std::vector<shape> shapes() {
  using codec::errc;
  using enum codec::icap_method;
  const auto ok_len = std::to_string(http_ok.size());
  const auto block_len = std::to_string(http_block.size());
  return {
      {"200 without Encapsulated, an HTTP message after it", reqmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n\r\n" + http_block + chunked_body,
       errc::response_without_encapsulated, "ICAP 200/201/206 without an Encapsulated header", 200},
      {"206 without Encapsulated", respmod,
       "ICAP/1.0 206 Partial Content\r\nISTag: \"f\"\r\n\r\n" + http_ok +
           "0; use-original-body=0\r\n\r\n",
       errc::response_without_encapsulated, "ICAP 200/201/206 without an Encapsulated header", 206},
      {"res-body offset shorter than the res-hdr section", respmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" +
           encapsulated("res-hdr=0, res-body=" + std::to_string(http_ok.size() - 4)) + "\r\n" +
           http_ok + chunked_body,
       errc::encapsulated_offset_mismatch, "encapsulated_offset_mismatch", 200},
      {"res-body offset longer than the res-hdr section", respmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" +
           encapsulated("res-hdr=0, res-body=" + std::to_string(http_ok.size() + 5)) + "\r\n" +
           http_ok + chunked_body,
       errc::encapsulated_offset_mismatch, "encapsulated_offset_mismatch", 200},
      {"offsets out of order", respmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" + encapsulated("res-body=0, res-hdr=" + ok_len) +
           "\r\n" + http_ok + chunked_body,
       errc::encapsulated_order, "encapsulated_order", 200},
      {"204 with res-hdr", respmod,
       "ICAP/1.0 204 No Content\r\nISTag: \"f\"\r\n" +
           encapsulated("res-hdr=0, null-body=" + ok_len) + "\r\n" + http_ok,
       errc::sections_not_allowed_for_status, "ICAP 100/204 with an encapsulated HTTP head or body",
       204},
      {"204 with a body", reqmod,
       "ICAP/1.0 204 No Content\r\nISTag: \"f\"\r\n" + encapsulated("req-body=0") + "\r\n" +
           chunked_body,
       errc::sections_not_allowed_for_status, "ICAP 100/204 with an encapsulated HTTP head or body",
       204},
      {"100 with res-hdr and a body", respmod,
       "ICAP/1.0 100 Continue\r\n" + encapsulated("res-hdr=0, res-body=" + ok_len) + "\r\n" +
           http_ok + chunked_body,
       errc::sections_not_allowed_for_status, "ICAP 100/204 with an encapsulated HTTP head or body",
       std::nullopt},
      {"null-body, then a chunked body", respmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" + encapsulated("res-hdr=0, null-body=" + ok_len) +
           "\r\n" + http_ok + chunked_body,
       errc::data_after_response, "data after the end of the ICAP response", 200},
      {"REQMOD answered with req-hdr and res-body", reqmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" + encapsulated("req-hdr=0, res-body=" + block_len) +
           "\r\n" + http_block + chunked_body,
       errc::encapsulated_shape, "encapsulated_shape", 200},
      {"RESPMOD answered with req-hdr", respmod,
       "ICAP/1.0 200 OK\r\nISTag: \"f\"\r\n" +
           encapsulated("req-hdr=0, null-body=" +
                        std::to_string(std::string("GET / HTTP/1.1\r\n\r\n").size())) +
           "\r\nGET / HTTP/1.1\r\n\r\n",
       errc::encapsulated_shape, "encapsulated_shape", 200},
  };
}

// The first exchange gets `bad`, every later one a 204.
script bad_then_204(std::string bad) {
  auto answered = std::make_shared<std::size_t>(0);
  return [bad, answered](session& s, received_request&) -> asio::awaitable<bool> {
    s.end_after_preview();
    // A named string: g++ 12 destroys a temporary inside a co_await expression twice.
    const std::string answer = (*answered)++ == 0 ? bad : icap_204();
    co_return co_await s.send(answer);
  };
}

} // namespace

TEST_CASE("a response that cannot be framed is a protocol error, and its connection is dropped") {
  for (const auto& c : shapes()) {
    CAPTURE(c.name);
    asio::io_context io;
    fake_icap_server server(io, bad_then_204(c.response));
    run_bounded(
        io,
        [&]() -> asio::awaitable<void> {
          client icap(io.get_executor(), framing_settings());
          codec::memory_body_source body("hello");
          auto first = co_await icap.exchange(request_for(c.method, server.uri(), &body));
          codec::memory_body_source again("hello");
          auto second = co_await icap.exchange(request_for(c.method, server.uri(), &again));
          server.stop();

          CHECK(first.result.outcome == verdict_outcome::failed); // an error, not a verdict
          CHECK(first.error.code == make_error_code(c.error));
          CHECK(first.error_message.find("protocol error from 127.0.0.1:") != std::string::npos);
          CHECK(first.error_message.find(c.reason) != std::string::npos);
          CHECK_FALSE(first.content_changed);
          CHECK(first.significance.server_error);
          CHECK(first.record.action == log::icap_action::failed);
          CHECK(first.record.icap_response_code == c.status);
          CHECK_FALSE(first.record.modified_content_length.has_value());
          CHECK(first.significance.failure == first.error_message);

          CHECK(second.result.outcome == verdict_outcome::passed);
          CHECK_FALSE(second.connection_reused);
          CHECK(server.connections == 2);
        },
        15s);
  }
}

TEST_CASE("framed responses at the edges stay verdicts: 204 and 100 with null-body=0") {
  asio::io_context io;
  fake_icap_server server(io, [](session& s, received_request& r) -> asio::awaitable<bool> {
    if (!r.complete) {
      co_await s.send("ICAP/1.0 100 Continue\r\nEncapsulated: null-body=0\r\n\r\n");
      if (!co_await s.read_rest(r)) {
        co_return false;
      }
    }
    co_return co_await s.send(
        "ICAP/1.0 204 No Content\r\nISTag: \"f\"\r\nEncapsulated: null-body=0\r\n\r\n");
  });
  run_bounded(io, [&]() -> asio::awaitable<void> {
    auto settings = framing_settings();
    settings.preview_override = 4;
    client icap(io.get_executor(), settings);
    codec::memory_body_source body("more than four bytes");
    auto first =
        co_await icap.exchange(request_for(codec::icap_method::reqmod, server.uri(), &body));
    codec::memory_body_source again("hello again");
    auto second =
        co_await icap.exchange(request_for(codec::icap_method::reqmod, server.uri(), &again));
    server.stop();
    CHECK(first.result.outcome == verdict_outcome::passed);
    CHECK(first.got_100);
    CHECK(second.result.outcome == verdict_outcome::passed);
    CHECK(second.connection_reused);
    CHECK(server.connections == 1);
  });
}

} // namespace icapkit::client::test
