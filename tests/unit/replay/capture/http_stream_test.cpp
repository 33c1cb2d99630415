#include "icapkit/replay/capture/http_stream.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::replay::detail;

namespace {

packet_time at(int second) {
  return packet_time(std::chrono::seconds(second));
}

// A stream that records its warnings, fed in pieces of `stride` bytes (0: whole).
struct fixture {
  std::vector<std::string> warnings;
  std::vector<std::string> methods; // of the requests answered, for the HEAD lookup
  http_stream stream;
  std::uint64_t offset = 0;

  explicit fixture(http_side side)
      : stream(
            side, [this](const std::string& text) { warnings.push_back(text); },
            [this](std::size_t index) {
              return index < methods.size() && methods[index] == "HEAD";
            }) {}

  void put(std::string_view data, std::size_t stride = 0, int second = 1) {
    while (!data.empty()) {
      const auto size = stride == 0 ? data.size() : std::min(stride, data.size());
      stream.put(stream_piece{stream_piece::kind::data, offset, std::string(data.substr(0, size)),
                              size, at(second)});
      offset += size;
      data.remove_prefix(size);
    }
  }
  void gap(std::uint64_t size) {
    stream.put(stream_piece{stream_piece::kind::gap, offset, {}, size, at(0)});
    offset += size;
  }
};

const std::string two_requests = "POST /upload/a.txt HTTP/1.1\r\nHost: example.test\r\n"
                                 "Content-Length: 5\r\n\r\nhello"
                                 "\r\n" // a stray CRLF after the body, as some clients send
                                 "GET /next?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n";

} // namespace

TEST_CASE("classify_start tells requests, responses and other protocols apart") {
  CHECK(classify_start("GET / HTTP/1.1\r\n") == stream_start::request);
  CHECK(classify_start("M-SEARCH * HTTP/1.1") == stream_start::request);
  CHECK(classify_start("HTTP/1.1 200 OK\r\n") == stream_start::response);
  CHECK(classify_start("\x16\x03\x01\x02\x00") == stream_start::other);
  CHECK(classify_start("SSH-2.0-OpenSSH") == stream_start::other);
  CHECK(classify_start("GET") == stream_start::other); // too short to tell
  CHECK(classify_start("") == stream_start::other);
}

TEST_CASE("requests with Content-Length are split the same whole and byte by byte") {
  for (std::size_t stride : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    CAPTURE(stride);
    fixture f(http_side::client);
    f.put(two_requests, stride);
    const auto messages = f.stream.take();
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].request.method == "POST");
    CHECK(messages[0].request.target == "/upload/a.txt");
    CHECK(messages[0].request.headers.get("Host") == "example.test");
    CHECK(messages[0].body == "hello");
    CHECK(messages[0].body_complete);
    CHECK(messages[0].offset == 0);
    CHECK(messages[1].request.method == "GET");
    CHECK(messages[1].request.target == "/next?x=1");
    CHECK(messages[1].body.empty());
    CHECK(messages[1].offset == two_requests.find("GET"));
    CHECK(f.warnings.empty());
  }
}

TEST_CASE("a chunked request body is decoded; the head keeps its Transfer-Encoding") {
  fixture f(http_side::client);
  f.put("PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        3);
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].body == "hello world");
  CHECK(messages[0].request.headers.get("Transfer-Encoding") == "chunked");
}

TEST_CASE("responses: interim 100, chunked decoded without its framing header, HEAD has no body") {
  fixture f(http_side::server);
  f.methods = {"POST", "HEAD", "GET"};
  f.put("HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 4);
  CHECK(messages[0].response.status == 100);
  CHECK(messages[1].body == "abcd");
  CHECK_FALSE(messages[1].response.headers.contains("Transfer-Encoding"));
  CHECK(messages[2].body.empty()); // answers the HEAD request
  CHECK(messages[2].response.headers.get("Content-Length") == "1000");
  CHECK(messages[3].response.status == 304);
}

TEST_CASE("a response delimited by the close is complete only when the connection closed cleanly") {
  for (bool clean : {true, false}) {
    fixture f(http_side::server);
    f.put("HTTP/1.0 200 OK\r\n\r\nuntil the end");
    CHECK(f.stream.take().empty());
    f.stream.finish(clean);
    const auto messages = f.stream.take();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].body == "until the end");
    CHECK(messages[0].body_complete == clean);
  }
}

TEST_CASE("a gap inside a body marks that body only; the next request is read") {
  fixture f(http_side::client);
  f.put("POST /big HTTP/1.1\r\nContent-Length: 2000\r\n\r\n0123456789");
  const auto lost_at = f.offset;
  f.gap(1448);
  f.put(std::string(2000 - 10 - 1448, 'z'));
  f.put("GET /after HTTP/1.1\r\n\r\n");
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 2);
  CHECK_FALSE(messages[0].body_complete);
  CHECK(messages[0].body_note ==
        "capture lost 1448 bytes at offset " + std::to_string(lost_at) + " of the client stream");
  CHECK(messages[0].body.size() == 2000 - 1448);
  CHECK(messages[1].request.target == "/after");
  CHECK(messages[1].body_complete);
}

TEST_CASE("a gap hiding a head skips the rest of the direction with a warning") {
  fixture f(http_side::client);
  f.put("GET /first HTTP/1.1\r\n\r\nGET /sec");
  f.gap(100);
  f.put("GET /third HTTP/1.1\r\n\r\n");
  CHECK(f.stream.stopped());
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].request.target == "/first");
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find("capture lost 100 bytes") != std::string::npos);
  CHECK(f.warnings[0].find("head there is unreadable") != std::string::npos);
}

TEST_CASE("a gap inside chunk data keeps the chunk framing") {
  fixture f(http_side::client);
  f.put("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabcd");
  f.gap(8);
  f.put("mnop\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].body == "abcdmnop");
  CHECK_FALSE(messages[0].body_complete);
  CHECK(messages[1].request.target == "/next");
}

TEST_CASE("a gap across chunk framing delivers the body as incomplete and stops") {
  fixture f(http_side::client);
  f.put("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n");
  f.gap(20);
  f.put("GET /next HTTP/1.1\r\n\r\n");
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].body == "abcd");
  CHECK_FALSE(messages[0].body_complete);
  CHECK(f.stream.stopped());
}

TEST_CASE("a connection ending inside a body delivers it as incomplete") {
  fixture f(http_side::client);
  f.put("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly this");
  f.stream.finish(true);
  const auto messages = f.stream.take();
  REQUIRE(messages.size() == 1);
  CHECK_FALSE(messages[0].body_complete);
  CHECK(messages[0].body_note == "the connection ended after 9 of 100 body bytes");
}

TEST_CASE("CONNECT, 101 upgrades, HTTP/2 and garbage stop the stream with a warning") {
  SUBCASE("CONNECT") {
    fixture f(http_side::client);
    f.put("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n\x16\x03\x01");
    CHECK(f.stream.switched_protocol());
    CHECK(f.stream.take().empty());
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find("CONNECT example.test:443") != std::string::npos);
  }
  SUBCASE("101") {
    fixture f(http_side::server);
    f.put("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
    CHECK(f.stream.switched_protocol());
    CHECK(f.warnings.size() == 1);
  }
  SUBCASE("HTTP/2") {
    fixture f(http_side::client);
    f.put("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    CHECK(f.stream.stopped());
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find("only HTTP/1.x") != std::string::npos);
  }
  SUBCASE("garbage") {
    fixture f(http_side::client);
    // Bytes that are no request line: rejected once the line ends (the connection-level check,
    // classify_start, catches most of them before).
    f.put(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\r\n", 10));
    CHECK(f.stream.stopped());
    CHECK(f.warnings.size() == 1);
    f.put("GET / HTTP/1.1\r\n\r\n");
    CHECK(f.stream.take().empty());
  }
}

TEST_CASE("a bad Content-Length stops the stream instead of guessing") {
  fixture f(http_side::client);
  f.put("POST /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\nbody");
  CHECK(f.stream.stopped());
  CHECK(f.stream.take().empty());
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find("bad Content-Length") != std::string::npos);
}
