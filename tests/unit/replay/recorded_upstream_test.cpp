// The replay's origin: recorded responses by tag or by method + target + order, a stub answer,
// 404 for strangers, and what reached it (for --target verdicts).
#include "icapkit/replay/recorded_upstream.hpp"

#include "icapkit/net/sha256.hpp"

#include "../proxy/proxy_test_peers.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <thread>

using namespace icapkit;
using namespace icapkit::proxy::test;

namespace {

replay::captured_exchange exchange(std::string method, std::string target, int status = 0,
                                   std::string body = {}) {
  replay::captured_exchange e;
  e.head.method = std::move(method);
  e.head.target = std::move(target);
  if (status != 0) {
    replay::recorded_response r;
    r.head.status = status;
    r.head.reason = "Recorded";
    r.head.headers.add("Content-Type", "text/plain");
    r.head.headers.add("Transfer-Encoding", "chunked"); // decoded already: must not be sent
    r.body = std::move(body);
    e.response = std::move(r);
  }
  return e;
}

// A recorded_upstream on its own io_context thread.
struct running_upstream {
  explicit running_upstream(replay::upstream_answer answer)
      : work(io.get_executor()), upstream(io.get_executor(), answer) {
    std::string detail;
    REQUIRE_FALSE(upstream.start("127.0.0.1:0", detail));
    thread = std::thread([this] { io.run(); });
    address = upstream.address();
  }
  ~running_upstream() {
    asio::post(io, [this] {
      upstream.stop();
      io.stop();
    });
    thread.join();
  }
  running_upstream(const running_upstream&) = delete;
  running_upstream& operator=(const running_upstream&) = delete;

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  replay::recorded_upstream upstream;
  std::thread thread;
  std::string address;
};

std::string post(std::string_view target, std::string_view body, std::string_view tag = {}) {
  std::string head = "POST " + std::string(target) + " HTTP/1.1\r\nHost: a.example\r\n";
  if (!tag.empty()) {
    head += "X-Icapkit-Replay: " + std::string(tag) + "\r\n";
  }
  return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

} // namespace

TEST_CASE("recorded_upstream: the tagged request gets its recorded response; the body is noted") {
  running_upstream u(replay::upstream_answer::recorded);
  u.upstream.expect(0, exchange("POST", "/a", 201, "created\n"));
  u.upstream.expect(1, exchange("POST", "/a", 202, "accepted\n"));
  const auto second = round_trip(u.address, post("/a", "second body", "1"));
  REQUIRE(second);
  CHECK(second->status() == 202);
  CHECK(second->body == "accepted\n");
  CHECK_FALSE(second->header("Transfer-Encoding"));
  CHECK(second->header("Content-Length") == "9");
  const auto seen = u.upstream.take(1);
  REQUIRE(seen);
  CHECK(seen->body_size == 11);
  CHECK(seen->body_sha256 == net::sha256::hex_of("second body"));
  // Untagged (a proxy dropped the header): method + target + order picks the oldest left.
  const auto first = round_trip(u.address, post("/a", "first"));
  REQUIRE(first);
  CHECK(first->status() == 201);
  CHECK(u.upstream.take(0).has_value());
  CHECK(u.upstream.unmatched() == 0);
}

TEST_CASE("recorded_upstream: stub answers 200 empty; strangers get 404 and are counted") {
  running_upstream u(replay::upstream_answer::stub);
  u.upstream.expect(3, exchange("POST", "/a", 201, "created\n"));
  const auto stub = round_trip(u.address, post("/a", "x", "3"));
  REQUIRE(stub);
  CHECK(stub->status() == 200);
  CHECK(stub->body.empty());
  const auto stranger = round_trip(u.address, post("/elsewhere", "y"));
  REQUIRE(stranger);
  CHECK(stranger->status() == 404);
  CHECK(u.upstream.unmatched() == 1);
  CHECK_FALSE(u.upstream.take(7).has_value()); // never registered
}

TEST_CASE("recorded_upstream: an exchange that never arrived is registered but not seen") {
  running_upstream u(replay::upstream_answer::recorded);
  u.upstream.expect(0, exchange("POST", "/blocked"));
  CHECK_FALSE(u.upstream.take(0).has_value());
}

TEST_CASE("recorded_upstream: a bad address names it") {
  asio::io_context io;
  replay::recorded_upstream u(io.get_executor(), replay::upstream_answer::stub);
  std::string detail;
  CHECK(u.start("127.0.0.1:notaport", detail));
  CHECK(detail.find("127.0.0.1:notaport") != std::string::npos);
}
