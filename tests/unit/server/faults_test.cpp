// Faults the engine performs for a service, early answers, stop(), TLS and many connections.
#include "test_support.hpp"

#include "icapkit/net/connect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <future>
#include <random>
#include <sys/resource.h>
#include <thread>

namespace icapkit::server::test {

namespace {

server_options fault_options() {
  auto options = running_server::make_options();
  options.stall_limit = 400ms;
  return options;
}

// Waits (bounded) until the server has begun `count` more transactions than `before`.
bool wait_begun(int before, int count = 1) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (test_service::begun.load() < before + count) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    ::usleep(1000);
  }
  return true;
}

struct tls_result {
  int status = 0;
  std::string istag;
  std::string failure;
};

// OPTIONS over TLS, verifying the server against `ca_file`. A plain function, not a lambda: a
// coroutine lambda's captures die with the lambda object.
asio::awaitable<void> tls_options_exchange(std::uint16_t port, std::string ca_file,
                                           tls_result& result) {
  net::tls_options tls;
  tls.enabled = true;
  tls.ca_file = ca_file;
  std::error_code ec;
  auto exec = co_await asio::this_coro::executor;
  const std::string host = "127.0.0.1";
  const auto connect_timeout = std::chrono::milliseconds{5000};
  auto stream = co_await net::connect(exec, host, port, tls, connect_timeout, ec);
  if (ec) {
    result.failure = "connect: " + ec.message();
    co_return;
  }
  stream->set_idle_timeout(5s);
  const auto request = options_request("echo");
  co_await stream->write_all(asio::buffer(request), ec);
  std::string got;
  std::array<char, 4096> buf{};
  while (!ec) {
    codec::parsed_message out;
    std::error_code parse_ec;
    codec::parse_message(got, codec::parse_mode::icap_response, out, parse_ec,
                         codec::icap_method::options);
    if (!got.empty() && !parse_ec && out.complete && out.icap_response) {
      result.status = out.icap_response->status;
      result.istag = std::string(out.icap_response->headers.get("ISTag").value_or(""));
      co_return;
    }
    const auto n = co_await stream->read_some(asio::buffer(buf), ec);
    got.append(buf.data(), n);
  }
  result.failure = "read: " + ec.message();
}

} // namespace

TEST_CASE("fault stall: no answer until the server-side limit, then a close") {
  running_server s(fault_options());
  raw_client c(s.endpoint());
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Fault: stall\r\n")));
  CHECK(!c.read_response(codec::icap_method::reqmod, 200ms));
  CHECK(c.wait_end(3s) == ending::closed);
  CHECK(c.unparsed().empty());
  const auto records = s.wait_records(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].decision == "fault:stall");
  CHECK(records[0].status == 0);
  CHECK(records[0].connection_closed);
}

TEST_CASE("fault stall ends when the client closes") {
  auto options = fault_options();
  options.stall_limit = 60s;
  running_server s(options);
  {
    raw_client c(s.endpoint());
    REQUIRE(c.send(reqmod("echo", "x", "X-Test-Fault: stall\r\n")));
    CHECK(!c.read_response(codec::icap_method::reqmod, 100ms));
  }
  CHECK(s.wait_records(1).size() == 1);
}

TEST_CASE("fault 100 then hang") {
  running_server s(fault_options());
  raw_client c(s.endpoint());
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Fault: hang\r\n")));
  CHECK(status_of(c.read_response()) == 100);
  CHECK(!c.read_response(codec::icap_method::reqmod, 200ms));
  CHECK(c.wait_end(3s) == ending::closed);
}

TEST_CASE("fault reset mid-response: part of the answer, then RST") {
  running_server s(fault_options());
  raw_client c(s.endpoint());
  REQUIRE(c.send(reqmod("echo", "BLOCKME", "Allow: 204\r\nX-Test-Fault: reset\r\n")));
  CHECK(c.wait_end() == ending::reset);
  CHECK(c.unparsed().size() <= 20);
  CHECK(c.unparsed().starts_with("ICAP/1.0 200"));
}

TEST_CASE("fault close before answering") {
  running_server s(fault_options());
  raw_client c(s.endpoint());
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Fault: close\r\n")));
  CHECK(c.wait_end() == ending::closed);
  CHECK(c.unparsed().empty());
}

TEST_CASE("fault malformed bytes") {
  running_server s(fault_options());
  raw_client c(s.endpoint());
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Fault: malformed\r\n")));
  CHECK(c.wait_end() == ending::closed);
  CHECK(c.unparsed() == "GARBAGE\r\n\r\n");
}

TEST_CASE("delay: the answer waits for the service's delay") {
  running_server s;
  raw_client c(s.endpoint());
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Delay-Ms: 150\r\n")));
  CHECK(status_of(c.read_response()) == 204);
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
}

TEST_CASE("early answer: the rest of the body is read and dropped, the connection stays usable") {
  running_server s;
  raw_client c(s.endpoint());
  const std::string http = "POST / HTTP/1.1\r\nHost: o\r\n\r\n";
  REQUIRE(c.send("REQMOD icap://127.0.0.1/echo ICAP/1.0\r\nHost: x\r\nAllow: 204\r\n"
                 "X-Test-Early: 1\r\nEncapsulated: req-hdr=0, req-body=" +
                 std::to_string(http.size()) + "\r\n\r\n" + http + "5\r\nfirst\r\n"));
  CHECK(status_of(c.read_response()) == 204); // before the body ended
  REQUIRE(c.send("6\r\nsecond\r\n0\r\n\r\n"));
  REQUIRE(c.send(options_request("echo")));
  CHECK(status_of(c.read_response(codec::icap_method::options)) == 200);
}

TEST_CASE("stop() lets an in-flight transaction finish with Connection: close") {
  running_server s;
  raw_client c(s.endpoint());
  raw_client idle(s.endpoint());
  const int before = test_service::begun.load();
  REQUIRE(c.send(reqmod("echo", "x", "Allow: 204\r\nX-Test-Delay-Ms: 300\r\n")));
  REQUIRE(wait_begun(before));
  const auto start = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&s] { s.get().stop(); });
  const auto r = c.read_response();
  CHECK(status_of(r) == 204);
  CHECK(header_of(r, "Connection") == "close");
  CHECK(c.wait_end() == ending::closed);
  CHECK(idle.wait_end() == ending::closed); // idle keep-alive connections close at once
  REQUIRE(stopped.wait_for(5s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(!s.get().running());
}

TEST_CASE("stop() closes a stalled transaction after the grace period") {
  auto options = fault_options();
  options.stall_limit = 60s;
  options.stop_grace = 300ms;
  running_server s(options);
  raw_client c(s.endpoint());
  const int before = test_service::begun.load();
  REQUIRE(c.send(reqmod("echo", "x", "X-Test-Fault: stall\r\n")));
  REQUIRE(wait_begun(before));
  const auto start = std::chrono::steady_clock::now();
  s.get().stop();
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(c.wait_end(2s) == ending::closed);
}

TEST_CASE("TLS listener with a generated self-signed certificate, verified by the client") {
  const auto cert_path = std::filesystem::temp_directory_path() /
                         ("icapkit-server-test-" + std::to_string(std::random_device{}()) + ".pem");
  auto options = running_server::make_options();
  options.listen = {"127.0.0.1:0"};
  options.tls_listen = {"127.0.0.1:0"};
  options.write_cert = cert_path.string();
  running_server s(options);
  REQUIRE(std::filesystem::exists(cert_path));
  const auto port = s.endpoint(1).port();

  asio::io_context io;
  tls_result result;
  asio::co_spawn(io, tls_options_exchange(port, cert_path.string(), result),
                 [](std::exception_ptr) {});
  io.run_for(10s);
  std::filesystem::remove(cert_path);
  CHECK_MESSAGE(result.failure.empty(), result.failure);
  CHECK(result.status == 200);
  CHECK(result.istag == "\"TEST-echo\"");
}

TEST_CASE("many concurrent connections are all served") {
  // The issue asks for 1,000; on this shared 2-core machine it takes well under a second.
  constexpr std::size_t count = 1000;
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2 * count + 64) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 2 * count + 64);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  running_server s;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<raw_client>> clients;
  for (std::size_t i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<raw_client>(s.endpoint()));
  }
  for (auto& c : clients) {
    REQUIRE(c->send(reqmod("echo", "concurrent body", "Allow: 204\r\n")));
  }
  std::size_t answered = 0;
  for (auto& c : clients) {
    answered += status_of(c->read_response()) == 204 ? 1U : 0U;
  }
  CHECK(answered == count);
  MESSAGE("served " << count << " concurrent connections in "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count()
                    << " ms");
}

} // namespace icapkit::server::test
