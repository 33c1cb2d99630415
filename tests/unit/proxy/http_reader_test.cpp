#include "icapkit/proxy/http_reader.hpp"

#include "icapkit/net/errc.hpp"
#include "icapkit/proxy/errc.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace codec = icapkit::codec;
namespace net = icapkit::net;
namespace proxy = icapkit::proxy;
using proxy::body_framing;
using proxy::errc;
using namespace std::chrono_literals;

namespace {

// A connected loopback pair: `peer` is the client or upstream the test scripts, `local` the
// side the proxy reads.
struct loopback {
  loopback() {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket peer_socket(io);
    asio::ip::tcp::socket local_socket(io);
    peer_socket.connect(acceptor.local_endpoint());
    acceptor.accept(local_socket);
    peer = std::make_unique<net::stream>(std::move(peer_socket));
    local = std::make_unique<net::stream>(std::move(local_socket));
    peer->set_idle_timeout(5s);
    local->set_idle_timeout(5s);
  }

  // Runs `body` to completion, failing the test if it takes longer than `limit`.
  template <typename Body>
  void run(Body body, std::chrono::milliseconds limit = 10s) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      done = true;
      failure = e;
      io.stop();
    });
    io.run_for(limit);
    REQUIRE_MESSAGE(done, "the test coroutine did not finish within its time bound");
    if (failure) {
      std::rethrow_exception(failure);
    }
  }

  asio::io_context io;
  std::unique_ptr<net::stream> peer;
  std::unique_ptr<net::stream> local;
};

// Writes `data` in pieces of `piece` bytes, letting the reader run between them.
asio::awaitable<void> send(net::stream& s, std::string data, std::size_t piece = 1 << 20) {
  for (std::size_t offset = 0; offset < data.size(); offset += piece) {
    const auto size = std::min(piece, data.size() - offset);
    const asio::const_buffer bytes(data.data() + offset, size);
    std::error_code ec;
    co_await s.write_all(bytes, ec);
    REQUIRE_MESSAGE(!ec, ec.message());
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
}

// Sends `data` then closes, as a client or upstream that is done.
asio::awaitable<void> send_and_close(net::stream& s, std::string data,
                                     std::size_t piece = 1 << 20) {
  co_await send(s, std::move(data), piece);
  s.close();
}

struct body_result {
  std::string bytes;
  std::vector<std::size_t> pieces;
  std::error_code ec;
};

// Reads the body to its end or its first error.
asio::awaitable<body_result> read_whole_body(proxy::http_reader& reader) {
  body_result result;
  for (;;) {
    const auto piece = co_await reader.read_body(result.ec);
    if (result.ec || piece.empty()) {
      co_return result;
    }
    result.bytes.append(piece);
    result.pieces.push_back(piece.size());
  }
}

// Everything the peer receives until the other side closes.
asio::awaitable<std::string> read_until_close(net::stream& s) {
  std::string received;
  std::array<char, 4096> buffer{};
  for (;;) {
    std::error_code ec;
    const asio::mutable_buffer space(buffer.data(), buffer.size());
    const auto n = co_await s.read_some(space, ec);
    received.append(buffer.data(), n);
    if (ec) {
      CHECK(ec == net::errc::closed_by_peer);
      co_return received;
    }
  }
}

proxy::framing request_framing_of(const codec::http_request_head& head) {
  proxy::framing f;
  const auto ec = proxy::request_framing(head, f);
  REQUIRE_MESSAGE(!ec, ec.message());
  return f;
}

// Reads one request head from `input` (sent whole, then closed) and returns the error.
std::error_code request_head_error(std::string input, codec::limits limits = {}) {
  loopback pair;
  std::error_code ec;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer, input);
    proxy::http_reader reader(*pair.local, limits);
    const auto head = co_await reader.read_request_head(ec);
    CHECK_FALSE(head.has_value());
  });
  return ec;
}

std::error_code response_head_error(std::string input, codec::limits limits = {}) {
  loopback pair;
  std::error_code ec;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer, input);
    proxy::http_reader reader(*pair.local, limits);
    const auto head = co_await reader.read_response_head(ec);
    CHECK_FALSE(head.has_value());
  });
  return ec;
}

} // namespace

TEST_CASE("http_reader: a request head and Content-Length body split across many small writes") {
  const std::string body = "name=value&file=0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string input = "POST /form?x=1 HTTP/1.1\r\nHost: origin.example\r\n"
                            "Content-Type: application/x-www-form-urlencoded\r\n"
                            "Content-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t buffer_size : {std::size_t{7}, std::size_t{64}, std::size_t{64 * 1024}}) {
    CAPTURE(buffer_size);
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      proxy::http_reader reader(*pair.local, {}, buffer_size);
      auto sender = [&]() -> asio::awaitable<void> { co_await send(*pair.peer, input, 3); };
      asio::co_spawn(pair.io, sender(), [](std::exception_ptr) {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE_MESSAGE(!ec, ec.message());
      REQUIRE(head.has_value());
      CHECK(head->method == "POST");
      CHECK(head->target == "/form?x=1");
      CHECK(head->http_version == codec::version{1, 1});
      CHECK(head->headers.get("Host") == "origin.example");
      CHECK(head->headers.size() == 3);
      CHECK(reader.head_bytes() == input.size() - body.size());
      reader.start_body(request_framing_of(*head));
      CHECK_FALSE(reader.body_done());
      const auto result = co_await read_whole_body(reader);
      CHECK_FALSE(result.ec);
      CHECK(result.bytes == body);
      CHECK(reader.body_done());
      CHECK(reader.body_bytes() == body.size());
      for (auto size : result.pieces) {
        CHECK(size <= buffer_size);
      }
      CHECK_FALSE(reader.has_buffered_bytes());
    });
  }
}

TEST_CASE("http_reader: two pipelined requests on one connection, then the clean end") {
  const std::string input = "POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst"
                            "GET /two HTTP/1.1\r\nHost: a\r\n\r\n"
                            "PUT /three HTTP/1.0\r\nContent-Length: 3\r\n\r\nend";
  loopback pair;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer, input);
    proxy::http_reader reader(*pair.local, {});
    std::error_code ec;

    const auto first = co_await reader.read_request_head(ec);
    REQUIRE(first.has_value());
    CHECK(first->target == "/one");
    reader.start_body(request_framing_of(*first));
    auto body = co_await read_whole_body(reader);
    CHECK(body.bytes == "first");
    CHECK(reader.has_buffered_bytes());

    const auto second = co_await reader.read_request_head(ec);
    REQUIRE(second.has_value());
    CHECK(second->method == "GET");
    CHECK(second->target == "/two");
    reader.start_body(request_framing_of(*second));
    CHECK(reader.body_done());
    body = co_await read_whole_body(reader);
    CHECK(body.bytes.empty());
    CHECK_FALSE(body.ec);

    const auto third = co_await reader.read_request_head(ec);
    REQUIRE(third.has_value());
    CHECK(third->http_version == codec::version{1, 0});
    reader.start_body(request_framing_of(*third));
    body = co_await read_whole_body(reader);
    CHECK(body.bytes == "end");

    // The client closed between requests: the end of the connection, not an error.
    const auto none = co_await reader.read_request_head(ec);
    CHECK_FALSE(none.has_value());
    CHECK_FALSE(ec);
    CHECK_FALSE(reader.idle_timed_out());
  });
}

TEST_CASE("http_reader: chunked body with extensions and trailers, then the next request") {
  const std::string input = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5;name=value\r\nhello\r\n"
                            "6 ; quoted=\"a;b\"\r\n world\r\n"
                            "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                            "0;last\r\nX-Checksum: 1234\r\nExpires: never\r\n\r\n"
                            "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  for (std::size_t buffer_size : {std::size_t{5}, std::size_t{16}, std::size_t{64 * 1024}}) {
    CAPTURE(buffer_size);
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      co_await send_and_close(*pair.peer, input, 4);
      proxy::http_reader reader(*pair.local, {}, buffer_size);
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE(head.has_value());
      reader.start_body(request_framing_of(*head));
      const auto body = co_await read_whole_body(reader);
      CHECK_FALSE(body.ec);
      CHECK(body.bytes == "hello worldabcdefghijklmnopqrstuvwxyz");
      CHECK(reader.body_bytes() == body.bytes.size());
      CHECK(reader.body_done());
      // The trailers are dropped, not mistaken for the next request's head.
      const auto next = co_await reader.read_request_head(ec);
      REQUIRE_MESSAGE(!ec, ec.message());
      REQUIRE(next.has_value());
      CHECK(next->target == "/next");
      CHECK(next->headers.size() == 1);
    });
  }
}

TEST_CASE("http_reader: broken chunked framing is bad_chunked_body") {
  for (const char* chunks : {"5\r\nhelloXX\r\n0\r\n\r\n", "zz\r\nhello\r\n0\r\n\r\n",
                             "-5\r\nhello\r\n", "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n"}) {
    CAPTURE(chunks);
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      const std::string input =
          std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") + chunks;
      co_await send_and_close(*pair.peer, input);
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE(head.has_value());
      reader.start_body(request_framing_of(*head));
      const auto body = co_await read_whole_body(reader);
      CHECK(body.ec == errc::bad_chunked_body);
      // The failure is sticky: the body cannot silently "end" after it.
      const auto again = co_await reader.read_body(ec);
      CHECK(again.empty());
      CHECK(ec == errc::bad_chunked_body);
    });
  }
}

TEST_CASE("http_reader: a client closing before the declared end is truncated_body") {
  SUBCASE("Content-Length") {
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      co_await send_and_close(*pair.peer,
                              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabcd");
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE(head.has_value());
      reader.start_body(request_framing_of(*head));
      const auto body = co_await read_whole_body(reader);
      CHECK(body.bytes == "abcd");
      CHECK(body.ec == errc::truncated_body);
      CHECK_FALSE(reader.body_done());
    });
  }
  SUBCASE("chunked, inside a chunk") {
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      co_await send_and_close(
          *pair.peer, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc");
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE(head.has_value());
      reader.start_body(request_framing_of(*head));
      const auto body = co_await read_whole_body(reader);
      CHECK(body.bytes == "abc");
      CHECK(body.ec == errc::truncated_body);
    });
  }
  SUBCASE("inside the head") {
    CHECK(request_head_error("GET / HTTP/1.1\r\nHost: a\r\n") == errc::truncated_body);
  }
}

TEST_CASE("http_reader: request heads the proxy refuses") {
  SUBCASE("oversized head is header_too_large") {
    codec::limits limits;
    limits.max_header_bytes = 512;
    const std::string big =
        "GET / HTTP/1.1\r\nHost: a\r\nCookie: " + std::string(2000, 'c') + "\r\n\r\n";
    CHECK(request_head_error(big, limits) == errc::header_too_large);
    limits = {};
    limits.max_header_count = 4;
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 10; ++i) {
      many += "X-Field-" + std::to_string(i) + ": v\r\n";
    }
    CHECK(request_head_error(many + "\r\n", limits) == errc::header_too_large);
    limits = {};
    limits.max_start_line = 64;
    CHECK(request_head_error("GET /" + std::string(200, 'p') + " HTTP/1.1\r\n\r\n", limits) ==
          errc::header_too_large);
  }
  SUBCASE("an HTTP/2 preface or another version is unsupported_version") {
    CHECK(request_head_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == errc::unsupported_version);
    CHECK(request_head_error("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == errc::unsupported_version);
    CHECK(request_head_error("GET / HTTP/0.9\r\n\r\n") == errc::unsupported_version);
  }
  SUBCASE("malformed heads are bad_request") {
    CHECK(request_head_error("GET /\r\n\r\n") == errc::bad_request);
    CHECK(request_head_error("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == errc::bad_request);
    CHECK(request_head_error("GET / HTTP/1.1\nHost: a\n\n") == errc::bad_request);
    // More empty lines before the request line than limits::max_leading_empty_lines (4).
    CHECK(request_head_error("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") ==
          errc::bad_request);
    CHECK(request_head_error("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == errc::bad_request);
    // A folded line could hide a framing header from a hop that unfolds differently.
    CHECK(request_head_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n") ==
          errc::bad_request);
  }
}

TEST_CASE("http_reader: empty lines before a request line are skipped (RFC 9112 2.2)") {
  // One before the first request, two between pipelined requests (after a body, as old clients
  // sent), four before the last: all within limits::max_leading_empty_lines.
  const std::string input = "\r\nGET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                            "\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
                            "\r\n\r\n\r\n\r\nGET /three HTTP/1.1\r\nHost: a\r\n\r\n\r\n";
  for (const std::size_t piece : {std::size_t{1}, std::size_t{1} << 20}) {
    CAPTURE(piece);
    loopback pair;
    pair.run([&]() -> asio::awaitable<void> {
      co_await send_and_close(*pair.peer, input, piece);
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      for (const char* target : {"/one", "/two", "/three"}) {
        const auto head = co_await reader.read_request_head(ec);
        REQUIRE_MESSAGE(head.has_value(), ec.message());
        CHECK(head->target == target);
        reader.start_body(request_framing_of(*head));
        (void)co_await read_whole_body(reader);
      }
      // A last CRLF, then the close: the clean end, not a truncated head.
      const auto none = co_await reader.read_request_head(ec);
      CHECK_FALSE(none.has_value());
      CHECK_FALSE(ec);
    });
  }
}

TEST_CASE("http_reader: a head known bad is refused at its bad line, not at the blank line") {
  // The client sends a head without its end and waits: the reader answers at once, long before
  // the 5 s idle timeout, with the line's own error (not client_timeout).
  struct early_case {
    const char* input;
    errc want;
  };
  for (const auto& c : {
           early_case{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n",
                      errc::bad_content_length},
           early_case{"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n",
                      errc::bad_content_length},
           early_case{"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n", errc::bad_content_length},
           early_case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                      errc::conflicting_framing},
           early_case{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n",
                      errc::bad_transfer_encoding},
           early_case{"GET / HTTP/1.1\r\nX-A: b\r\n c\r\n", errc::bad_request},
           early_case{"GET /caf\xc3\xa9 HTTP/1.1\r\n", errc::bad_request_target},
           early_case{"GET /a|b HTTP/1.1\r\nHost: a\r\n", errc::bad_request_target},
       }) {
    CAPTURE(c.input);
    loopback pair;
    pair.run(
        [&]() -> asio::awaitable<void> {
          co_await send(*pair.peer, c.input); // and the connection stays open
          proxy::http_reader reader(*pair.local, {});
          std::error_code ec;
          const auto head = co_await reader.read_request_head(ec);
          CHECK_FALSE(head.has_value());
          CHECK(ec == c.want);
          // What was parsed stays available for the record.
          const auto* partial = reader.partial_request_head();
          REQUIRE(partial != nullptr);
          CHECK(partial->method == std::string(c.input).substr(0, std::string(c.input).find(' ')));
        },
        3s);
  }
}

TEST_CASE("http_reader: nothing parsed, no partial head") {
  loopback pair;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer, "\x16\x03\x01 garbage\r\n\r\n");
    proxy::http_reader reader(*pair.local, {});
    std::error_code ec;
    CHECK_FALSE((co_await reader.read_request_head(ec)).has_value());
    CHECK(ec == errc::bad_request);
    CHECK(reader.partial_request_head() == nullptr);
  });
}

TEST_CASE("http_reader: a slow client gets client_timeout, an idle one the clean end") {
  SUBCASE("stalls inside the head") {
    loopback pair;
    pair.local->set_idle_timeout(100ms);
    pair.run([&]() -> asio::awaitable<void> {
      co_await send(*pair.peer, "GET / HTTP/1.1\r\nHost: a\r\n");
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      CHECK_FALSE(head.has_value());
      CHECK(ec == errc::client_timeout);
      CHECK(proxy::status_for(errc::client_timeout) == 408);
      CHECK_FALSE(reader.idle_timed_out());
    });
  }
  SUBCASE("stalls inside the body: the net code reaches the caller unchanged") {
    loopback pair;
    pair.local->set_idle_timeout(100ms);
    pair.run([&]() -> asio::awaitable<void> {
      co_await send(*pair.peer, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc");
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      REQUIRE(head.has_value());
      reader.start_body(request_framing_of(*head));
      const auto body = co_await read_whole_body(reader);
      CHECK(body.bytes == "abc");
      CHECK(body.ec == net::errc::idle_timeout);
    });
  }
  SUBCASE("sends nothing at all") {
    loopback pair;
    pair.local->set_idle_timeout(100ms);
    pair.run([&]() -> asio::awaitable<void> {
      proxy::http_reader reader(*pair.local, {});
      std::error_code ec;
      const auto head = co_await reader.read_request_head(ec);
      CHECK_FALSE(head.has_value());
      CHECK_FALSE(ec);
      CHECK(reader.idle_timed_out());
    });
  }
}

TEST_CASE("http_reader: the final response head after 100 Continue and 103 Early Hints") {
  const std::string input = "HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                            "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Long: a\r\n b\r\n\r\n"
                            "ok";
  loopback pair;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer, input, 5);
    proxy::http_reader reader(*pair.local, {}, 16);
    std::error_code ec;
    const auto head = co_await reader.read_response_head(ec);
    REQUIRE_MESSAGE(!ec, ec.message());
    REQUIRE(head.has_value());
    CHECK(head->status == 201);
    CHECK(head->reason == "Created");
    CHECK_FALSE(head->headers.contains("Link"));
    // obs-fold in a response becomes a space (RFC 9112 5.2).
    CHECK(head->headers.get("X-Long") == "a b");
    proxy::framing f;
    REQUIRE_FALSE(proxy::response_framing("POST", *head, f));
    reader.start_body(f);
    const auto body = co_await read_whole_body(reader);
    CHECK(body.bytes == "ok");
  });
}

TEST_CASE("http_reader: 101 Switching Protocols is returned, not skipped") {
  loopback pair;
  pair.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*pair.peer,
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    proxy::http_reader reader(*pair.local, {});
    std::error_code ec;
    const auto head = co_await reader.read_response_head(ec);
    REQUIRE(head.has_value());
    CHECK(head->status == 101);
  });
}

TEST_CASE("http_reader: an until_close response body ends when the upstream closes") {
  const std::string payload(70000, 'z');
  loopback pair;
  pair.run([&]() -> asio::awaitable<void> {
    auto sender = [&]() -> asio::awaitable<void> {
      co_await send_and_close(*pair.peer,
                              "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + payload);
    };
    asio::co_spawn(pair.io, sender(), [](std::exception_ptr) {});
    proxy::http_reader reader(*pair.local, {}, 4096);
    std::error_code ec;
    const auto head = co_await reader.read_response_head(ec);
    REQUIRE(head.has_value());
    proxy::framing f;
    REQUIRE_FALSE(proxy::response_framing("GET", *head, f));
    REQUIRE(f.kind == body_framing::until_close);
    reader.start_body(f);
    const auto body = co_await read_whole_body(reader);
    CHECK_FALSE(body.ec);
    CHECK(body.bytes == payload);
    CHECK(reader.body_done());
    CHECK(reader.body_bytes() == payload.size());
  });
}

TEST_CASE("http_reader: response heads the proxy refuses") {
  CHECK(response_head_error("") == errc::truncated_body);
  CHECK(response_head_error("HTTP/1.1 200 OK\r\nContent-") == errc::truncated_body);
  CHECK(response_head_error("HTTP/2.0 200 OK\r\n\r\n") == errc::bad_upstream_response);
  CHECK(response_head_error("ICAP/1.0 200 OK\r\n\r\n") == errc::bad_upstream_response);
  CHECK(response_head_error("HTTP/1.1 2000 OK\r\n\r\n") == errc::bad_upstream_response);
  codec::limits limits;
  limits.max_header_bytes = 256;
  CHECK(response_head_error("HTTP/1.1 200 OK\r\nSet-Cookie: " + std::string(1000, 'x') + "\r\n\r\n",
                            limits) == errc::header_too_large);
  std::string endless_interims;
  for (int i = 0; i < 40; ++i) {
    endless_interims += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  CHECK(response_head_error(endless_interims) == errc::bad_upstream_response);

  loopback pair;
  pair.local->set_idle_timeout(100ms);
  pair.run([&]() -> asio::awaitable<void> {
    proxy::http_reader reader(*pair.local, {});
    std::error_code ec;
    const auto head = co_await reader.read_response_head(ec);
    CHECK_FALSE(head.has_value());
    CHECK(ec == errc::upstream_timeout);
  });
}

TEST_CASE("http_writer: chunked output is exact and parses back") {
  const std::string big(300, 'b');
  loopback pair;
  std::string wire;
  pair.run([&]() -> asio::awaitable<void> {
    auto write_side = [&]() -> asio::awaitable<void> {
      proxy::http_writer writer(*pair.local);
      codec::http_response_head head;
      head.headers.add("Transfer-Encoding", "chunked");
      std::error_code ec;
      co_await writer.write_head(head, ec);
      CHECK_FALSE(ec);
      co_await writer.write_body("hello", true, ec);
      CHECK_FALSE(ec);
      co_await writer.write_body("", true, ec); // an empty piece must not end the body
      CHECK_FALSE(ec);
      co_await writer.write_body(big, true, ec);
      CHECK_FALSE(ec);
      co_await writer.finish_body(true, ec);
      CHECK_FALSE(ec);
      pair.local->close();
    };
    asio::co_spawn(pair.io, write_side(), [](std::exception_ptr) {});
    wire = co_await read_until_close(*pair.peer);
  });
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(wire == head + "5\r\nhello\r\n12c\r\n" + big + "\r\n0\r\n\r\n");

  // The same bytes read back through the proxy's own reader.
  loopback back;
  back.run([&]() -> asio::awaitable<void> {
    co_await send_and_close(*back.peer, wire, 7);
    proxy::http_reader reader(*back.local, {}, 32);
    std::error_code ec;
    const auto parsed = co_await reader.read_response_head(ec);
    REQUIRE(parsed.has_value());
    proxy::framing f;
    REQUIRE_FALSE(proxy::response_framing("GET", *parsed, f));
    CHECK(f.kind == body_framing::chunked);
    reader.start_body(f);
    const auto body = co_await read_whole_body(reader);
    CHECK_FALSE(body.ec);
    CHECK(body.bytes == "hello" + big);
  });
}

TEST_CASE("http_writer: identity bodies go out as they are, bad heads not at all") {
  loopback pair;
  std::string wire;
  pair.run([&]() -> asio::awaitable<void> {
    auto write_side = [&]() -> asio::awaitable<void> {
      proxy::http_writer writer(*pair.local);
      codec::http_request_head injected;
      injected.headers.add("X-Evil", "a\r\nContent-Length: 0");
      std::error_code ec;
      co_await writer.write_head(injected, ec);
      CHECK(ec);
      codec::http_request_head head;
      head.method = "POST";
      head.target = "/submit";
      head.headers.add("Host", "origin.example");
      head.headers.add("Content-Length", "7");
      co_await writer.write_head(head, ec);
      CHECK_FALSE(ec);
      co_await writer.write_body("abc", false, ec);
      co_await writer.write_body("defg", false, ec);
      co_await writer.finish_body(false, ec);
      CHECK_FALSE(ec);
      pair.local->close();
    };
    asio::co_spawn(pair.io, write_side(), [](std::exception_ptr) {});
    wire = co_await read_until_close(*pair.peer);
  });
  CHECK(wire ==
        "POST /submit HTTP/1.1\r\nHost: origin.example\r\nContent-Length: 7\r\n\r\nabcdefg");
}
