// Serializer -> parser round trips for every message shape: what the serializer writes, the
// parser must read back as the same heads, body, ieof and use-original-body.
#include "icapkit/codec/parser.hpp"
#include "icapkit/codec/serializer.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace icapkit::codec;

namespace {

http_request_head upload_head() {
  http_request_head h;
  h.method = "POST";
  h.target = "/upload?name=report.pdf";
  h.headers.add("Host", "www.example.com");
  h.headers.add("Content-Type", "application/pdf");
  h.headers.add("Content-Length", "11");
  return h;
}

http_request_head get_head() {
  http_request_head h;
  h.target = "/index.html";
  h.headers.add("Host", "www.example.com");
  h.headers.add("Accept", "*/*");
  return h;
}

http_response_head ok_head() {
  http_response_head h;
  h.headers.add("Content-Type", "text/html");
  h.headers.add("Content-Length", "11");
  return h;
}

icap_request_head icap_request(std::string method) {
  icap_request_head h;
  h.method = std::move(method);
  h.uri = "icap://127.0.0.1:13440/avscan";
  h.headers.add("X-Client-IP", "192.0.2.10");
  return h;
}

icap_response_head icap_response(int status) {
  icap_response_head h;
  h.status = status;
  h.reason = std::string(icap_reason_phrase(status));
  h.headers.add("ISTag", "\"CI0001-XXXXXXXXX\"");
  h.headers.add("Server", "icapkit-test");
  return h;
}

struct round_trip {
  std::string wire;
  parsed_message parsed;
  std::optional<encapsulated> sent_encapsulated;
};

round_trip through_parser(const std::string& wire, parse_mode mode, icap_method method) {
  round_trip rt;
  rt.wire = wire;
  std::error_code ec;
  auto consumed = parse_message(wire, mode, rt.parsed, ec, method);
  INFO(wire);
  REQUIRE_FALSE(ec);
  CHECK(consumed == wire.size());
  CHECK(rt.parsed.complete);
  return rt;
}

// Serializes a request (continuing after a preview, as after 100 Continue) and parses it.
round_trip request_trip(const icap_request_head& head, const encapsulated_parts& parts,
                        const request_options& opt = {}) {
  serializer s;
  REQUIRE_FALSE(s.start_request(head, parts, opt));
  std::string wire;
  REQUIRE_FALSE(serialize_to_string(s, wire));
  s.continue_after_preview();
  REQUIRE_FALSE(serialize_to_string(s, wire));
  REQUIRE(s.done());
  auto rt = through_parser(wire, parse_mode::icap_request, parse_icap_method(head.method));
  rt.sent_encapsulated = s.encapsulated_header();
  REQUIRE(rt.parsed.icap_request);
  CHECK(rt.parsed.icap_request->method == head.method);
  CHECK(rt.parsed.icap_request->uri == head.uri);
  CHECK(rt.parsed.icap_request->headers.get("Host") == "127.0.0.1:13440");
  CHECK(rt.parsed.icap_request->headers.get("X-Client-IP") == "192.0.2.10");
  if (rt.sent_encapsulated) {
    CHECK(rt.parsed.encapsulated_header == *rt.sent_encapsulated);
  }
  return rt;
}

round_trip response_trip(const icap_response_head& head, const encapsulated_parts& parts,
                         const response_options& opt = {}) {
  serializer s;
  REQUIRE_FALSE(s.start_response(head, parts, opt));
  std::string wire;
  REQUIRE_FALSE(serialize_to_string(s, wire));
  REQUIRE(s.done());
  auto rt = through_parser(wire, parse_mode::icap_response, opt.request_method);
  rt.sent_encapsulated = s.encapsulated_header();
  REQUIRE(rt.parsed.icap_response);
  CHECK(rt.parsed.icap_response->status == head.status);
  CHECK(rt.parsed.icap_response->reason == head.reason);
  CHECK(rt.parsed.icap_response->headers.get("ISTag") == "\"CI0001-XXXXXXXXX\"");
  if (rt.sent_encapsulated) {
    CHECK(rt.parsed.encapsulated_header == *rt.sent_encapsulated);
  }
  return rt;
}

} // namespace

TEST_CASE("roundtrip: REQMOD with a body") {
  auto req = upload_head();
  memory_body_source body("%PDF-1.4 ok");
  request_options opt;
  opt.allow_204 = true;
  auto rt = request_trip(icap_request("REQMOD"), {&req, nullptr, &body}, opt);
  CHECK(rt.parsed.http_request == req);
  CHECK_FALSE(rt.parsed.http_response);
  CHECK(rt.parsed.body == "%PDF-1.4 ok");
  CHECK_FALSE(rt.parsed.preview_ended);
  CHECK_FALSE(rt.parsed.ieof);
  CHECK(rt.parsed.icap_request->headers.get("Allow") == "204");
}

TEST_CASE("roundtrip: REQMOD with null-body, with and without Preview: 0") {
  auto req = get_head();
  auto rt = request_trip(icap_request("REQMOD"), {&req, nullptr, nullptr});
  CHECK(rt.parsed.http_request == req);
  CHECK(rt.parsed.body.empty());
  CHECK_FALSE(rt.parsed.encapsulated_header.has_chunked_body());

  request_options opt;
  opt.preview = 1024;
  rt = request_trip(icap_request("REQMOD"), {&req, nullptr, nullptr}, opt);
  CHECK(rt.parsed.http_request == req);
  CHECK(rt.parsed.body.empty());
  CHECK_FALSE(rt.parsed.ieof);
}

TEST_CASE("roundtrip: REQMOD with an empty body") {
  auto req = upload_head();
  memory_body_source empty("");
  auto rt = request_trip(icap_request("REQMOD"), {&req, nullptr, &empty});
  CHECK(rt.parsed.encapsulated_header.has_chunked_body());
  CHECK(rt.parsed.body.empty());

  memory_body_source empty2("");
  request_options opt;
  opt.preview = 0;
  rt = request_trip(icap_request("REQMOD"), {&req, nullptr, &empty2}, opt);
  CHECK(rt.parsed.body.empty());
  CHECK(rt.parsed.preview_ended);
  CHECK(rt.parsed.ieof);
}

TEST_CASE("roundtrip: REQMOD preview with ieof, including a body of exactly the preview size") {
  auto req = upload_head();
  for (std::uint64_t preview : {11u, 4096u}) {
    CAPTURE(preview);
    memory_body_source body("hello world");
    request_options opt;
    opt.preview = preview;
    auto rt = request_trip(icap_request("REQMOD"), {&req, nullptr, &body}, opt);
    CHECK(rt.parsed.body == "hello world");
    CHECK(rt.parsed.preview_ended);
    CHECK(rt.parsed.ieof);
    CHECK(rt.wire.ends_with("0; ieof\r\n\r\n"));
  }
}

TEST_CASE("roundtrip: REQMOD preview then continue") {
  auto req = upload_head();
  for (std::uint64_t preview : {0u, 4u, 10u}) {
    CAPTURE(preview);
    memory_body_source body("hello world");
    request_options opt;
    opt.preview = preview;
    opt.piece_size = 64;
    auto rt = request_trip(icap_request("REQMOD"), {&req, nullptr, &body}, opt);
    CHECK(rt.parsed.http_request == req);
    CHECK(rt.parsed.body == "hello world");
    CHECK(rt.parsed.preview_ended);
    CHECK_FALSE(rt.parsed.ieof);
  }
}

TEST_CASE("roundtrip: RESPMOD with and without req-hdr") {
  auto req = get_head();
  auto res = ok_head();
  memory_body_source body("<p>hi</p>\r\n");
  auto rt = request_trip(icap_request("RESPMOD"), {&req, &res, &body});
  CHECK(rt.parsed.http_request == req);
  CHECK(rt.parsed.http_response == res);
  CHECK(rt.parsed.body == "<p>hi</p>\r\n");

  memory_body_source body2("<p>hi</p>\r\n");
  request_options opt;
  opt.preview = 5;
  opt.allow_204 = true;
  opt.allow_206 = true;
  rt = request_trip(icap_request("RESPMOD"), {nullptr, &res, &body2}, opt);
  CHECK_FALSE(rt.parsed.http_request);
  CHECK(rt.parsed.http_response == res);
  CHECK(rt.parsed.body == "<p>hi</p>\r\n");
  CHECK(rt.parsed.preview_ended);
  CHECK_FALSE(rt.parsed.ieof);

  rt = request_trip(icap_request("RESPMOD"), {&req, &res, nullptr});
  CHECK(rt.parsed.http_response == res);
  CHECK(rt.parsed.body.empty());
}

TEST_CASE("roundtrip: OPTIONS request and response") {
  auto rt = request_trip(icap_request("OPTIONS"), {});
  CHECK_FALSE(rt.parsed.http_request);
  CHECK(rt.parsed.body.empty());
  request_options squid_like;
  squid_like.options_null_body = false;
  rt = request_trip(icap_request("OPTIONS"), {}, squid_like);
  CHECK_FALSE(rt.parsed.icap_request->headers.contains("Encapsulated"));

  auto head = icap_response(200);
  head.headers.add("Methods", "REQMOD, RESPMOD");
  head.headers.add("Preview", "1024");
  head.headers.add("Allow", "204, 206");
  head.headers.add("Options-TTL", "3600");
  response_options opt;
  opt.request_method = icap_method::options;
  auto resp = response_trip(head, {}, opt);
  CHECK(resp.parsed.icap_response->headers.get("Methods") == "REQMOD, RESPMOD");
  CHECK(resp.parsed.icap_response->headers.get("Options-TTL") == "3600");
  CHECK(resp.parsed.body.empty());
}

TEST_CASE("roundtrip: 100 Continue and 204") {
  auto rt = response_trip(icap_response(100), {});
  CHECK(rt.parsed.body.empty());
  CHECK_FALSE(rt.parsed.icap_response->headers.contains("Encapsulated"));
  rt = response_trip(icap_response(204), {});
  CHECK(rt.parsed.body.empty());
  CHECK_FALSE(rt.parsed.http_response);
}

TEST_CASE("roundtrip: 200 with res-hdr/res-body (block page) and req-hdr/req-body") {
  http_response_head blocked;
  blocked.status = 403;
  blocked.reason = "Forbidden";
  blocked.headers.add("Content-Type", "text/html");
  blocked.headers.add("X-Violations-Found", "1\nupload.exe\nEICAR-Test-File\n0");
  std::string page(40000, 'p'); // several pieces
  memory_body_source body(page);
  auto rt = response_trip(icap_response(200), {nullptr, &blocked, &body});
  CHECK(rt.parsed.http_response == blocked);
  CHECK(rt.parsed.body == page);

  auto req = upload_head();
  memory_body_source rewritten("sanitized!!");
  rt = response_trip(icap_response(200), {&req, nullptr, &rewritten});
  CHECK(rt.parsed.http_request == req);
  CHECK(rt.parsed.body == "sanitized!!");

  auto res = ok_head();
  memory_body_source respmod_body("<p>ok</p>\r\n");
  response_options opt;
  opt.request_method = icap_method::respmod;
  rt = response_trip(icap_response(200), {nullptr, &res, &respmod_body}, opt);
  CHECK(rt.parsed.http_response == res);
  CHECK(rt.parsed.body == "<p>ok</p>\r\n");
}

TEST_CASE("roundtrip: 206 with use-original-body") {
  auto res = ok_head();
  response_options opt;
  opt.request_method = icap_method::respmod;
  opt.use_original_body = 22;
  memory_body_source added("<!-- scanned -->");
  auto rt = response_trip(icap_response(206), {nullptr, &res, &added}, opt);
  CHECK(rt.parsed.http_response == res);
  CHECK(rt.parsed.body == "<!-- scanned -->");
  CHECK(rt.parsed.use_original_body == 22u);

  opt.use_original_body = 0;
  rt = response_trip(icap_response(206), {nullptr, &res, nullptr}, opt);
  CHECK(rt.parsed.body.empty());
  CHECK(rt.parsed.use_original_body == 0u);
}

TEST_CASE("roundtrip: error responses have no body") {
  for (int status : {400, 404, 405, 500, 503}) {
    CAPTURE(status);
    auto rt = response_trip(icap_response(status), {});
    CHECK(rt.parsed.body.empty());
    CHECK_FALSE(rt.parsed.encapsulated_header.has_chunked_body());
  }
}

namespace {

struct body_collector final : parser_events {
  std::string body;
  int preview_ends = 0;
  bool ieof = false;
  void on_body(std::string_view data) override { body += data; }
  void on_preview_end(bool end_of_body) override {
    ++preview_ends;
    ieof = end_of_body;
  }
};

} // namespace

TEST_CASE("roundtrip: pieces fed to the incremental parser, preview decided on both sides") {
  std::string data;
  for (int i = 0; i < 60; ++i) {
    data += std::to_string(i) + ' ';
  }
  auto req = upload_head();
  memory_body_source body(data);
  request_options opt;
  opt.preview = 10;
  opt.piece_size = 64;
  serializer s;
  REQUIRE_FALSE(s.start_request(icap_request("REQMOD"), {&req, nullptr, &body}, opt));
  body_collector events;
  parser p(parse_mode::icap_request, events);
  auto feed = [&] {
    std::error_code ec;
    for (auto piece = s.next(ec); !piece.empty(); piece = s.next(ec)) {
      CHECK(piece.size() <= 64);
      std::error_code parse_ec;
      CHECK(p.put(piece, parse_ec) == piece.size());
      REQUIRE_FALSE(parse_ec);
    }
    REQUIRE_FALSE(ec);
  };
  feed();
  REQUIRE(s.awaiting_preview_decision());
  REQUIRE(p.awaiting_preview_decision());
  CHECK(events.body == data.substr(0, 10));
  CHECK(events.preview_ends == 1);
  CHECK_FALSE(events.ieof);
  s.continue_after_preview();
  p.continue_after_preview();
  feed();
  CHECK(s.done());
  CHECK(p.is_done());
  CHECK(events.body == data);
}
