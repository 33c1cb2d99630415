// Trickling (server/trickle.hpp): past the threshold a 200 with the original head goes out while
// the body is still arriving; a clean verdict sends the rest, a block cuts the connection.
#include "icapkit/server/trickle.hpp"

#include "test_support.hpp"

#include <string>

namespace icapkit::server::test {

namespace {

server_options trickle_options_at(std::uint64_t start_after, unsigned percent) {
  auto options = running_server::make_options();
  options.trickle.start_after = start_after;
  options.trickle.percent = percent;
  return options;
}

// A RESPMOD of a 200 response whose body is sent by the test, chunk by chunk.
std::string respmod_head(std::string_view extra = {}) {
  const std::string req = "GET /big HTTP/1.1\r\nHost: o\r\n\r\n";
  const std::string res = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
  return "RESPMOD icap://127.0.0.1/echo ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\n" +
         std::string(extra) + "Encapsulated: req-hdr=0, res-hdr=" + std::to_string(req.size()) +
         ", res-body=" + std::to_string(req.size() + res.size()) + "\r\n\r\n" + req + res;
}

std::string chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

// Reads until the ICAP response head and some body have arrived (or `limit` passes).
bool head_arrived(raw_client& c, std::chrono::milliseconds limit = 5s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (c.unparsed().find("\r\n\r\n") == std::string::npos) {
    if (c.read_some(until) <= 0) {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_CASE("trickle_source: the allowed share, 'not yet' past it, everything after release") {
  codec::body_spool spool;
  spool.append(std::string(1000, 'a'));
  detail::trickle_source source(spool);
  char buf[4096];
  std::error_code ec;
  CHECK(source.read(buf, ec) == 0);
  CHECK(ec == std::errc::operation_would_block);
  source.allow(300);
  ec = {};
  CHECK(source.read(buf, ec) == 300);
  CHECK(!ec);
  CHECK(source.read(buf, ec) == 0);
  CHECK(ec == std::errc::operation_would_block);
  spool.append(std::string(500, 'b'));
  source.release_all();
  ec = {};
  CHECK(source.read(buf, ec) == 1200);
  CHECK(!ec);
  CHECK(source.read(buf, ec) == 0);
  CHECK(!ec); // the end
  CHECK(source.sent() == 1500);
}

TEST_CASE("a clean body past the threshold is answered 200 before it ends, then echoed whole") {
  running_server s(trickle_options_at(4096, 50));
  raw_client c(s.endpoint());
  const std::string first(8192, 'x');
  REQUIRE(c.send(respmod_head() + chunk(first)));
  // The body has not ended, yet the 200 and part of the body arrive.
  REQUIRE(head_arrived(c));
  CHECK(c.unparsed().rfind("ICAP/1.0 200", 0) == 0);
  const std::string rest(8192, 'y');
  REQUIRE(c.send(chunk(rest) + "0\r\n\r\n"));
  const auto r = c.read_response(codec::icap_method::respmod);
  REQUIRE(status_of(r) == 200);
  REQUIRE(r->http_response);
  CHECK(r->http_response->status == 200);
  CHECK(r->body == first + rest);
  const auto records = s.wait_records(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].trickled);
  CHECK(records[0].decision == "unmodified");
  CHECK(records[0].status == 200);
  CHECK(!records[0].connection_closed);
  // The connection stays usable.
  REQUIRE(c.send(respmod_head() + chunk("small") + "0\r\n\r\n"));
  CHECK(status_of(c.read_response(codec::icap_method::respmod)) == 204);
}

TEST_CASE("a block found after trickling began cuts the connection") {
  running_server s(trickle_options_at(4096, 5));
  raw_client c(s.endpoint());
  REQUIRE(c.send(respmod_head() + chunk(std::string(8192, 'x'))));
  REQUIRE(head_arrived(c));
  REQUIRE(c.send(chunk("...BLOCKME...") + "0\r\n\r\n"));
  const auto end = c.wait_end();
  CHECK(end != ending::timeout);
  // What arrived is a 200 whose body never ended: never a complete message.
  CHECK(c.unparsed().find("\r\n0\r\n\r\n") == std::string::npos);
  CHECK(c.unparsed().find("BLOCKME") == std::string::npos);
  const auto records = s.wait_records(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].trickled);
  CHECK(records[0].decision == "trickle-cut");
  CHECK(records[0].connection_closed);
}

TEST_CASE("bodies under the threshold and previews do not trickle") {
  running_server s(trickle_options_at(4096, 50));
  SUBCASE("small body: the usual 204") {
    raw_client c(s.endpoint());
    REQUIRE(c.send(respmod_head() + chunk(std::string(1000, 'x')) + "0\r\n\r\n"));
    CHECK(status_of(c.read_response(codec::icap_method::respmod)) == 204);
    CHECK(!s.wait_records(1).at(0).trickled);
  }
  SUBCASE("a preview larger than the threshold is answered first, 100 Continue, then trickling") {
    raw_client c(s.endpoint());
    const std::string preview(6000, 'p');
    REQUIRE(c.send(respmod_head("Preview: 6000\r\n") + chunk(preview) + "0\r\n\r\n"));
    CHECK(status_of(c.read_response(codec::icap_method::respmod)) == 100);
    REQUIRE(c.send(chunk(std::string(100, 'q'))));
    REQUIRE(head_arrived(c));
    CHECK(c.unparsed().rfind("ICAP/1.0 200", 0) == 0);
    REQUIRE(c.send("0\r\n\r\n"));
    const auto r = c.read_response(codec::icap_method::respmod);
    REQUIRE(status_of(r) == 200);
    CHECK(r->body == preview + std::string(100, 'q'));
  }
}

} // namespace icapkit::server::test
