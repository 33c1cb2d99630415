#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::codec;

namespace {

struct event_log final : parser_events {
  std::vector<std::string> events;
  std::vector<std::string_view> body_views;
  void on_icap_request_line(std::string_view m, std::string_view, version) override {
    events.push_back("request " + std::string(m));
  }
  void on_icap_status_line(version, int status, std::string_view) override {
    events.push_back("status " + std::to_string(status));
  }
  void on_icap_headers_complete() override { events.emplace_back("icap-headers-complete"); }
  void on_section(section s) override { events.push_back("section " + std::string(to_string(s))); }
  void on_body(std::string_view d) override {
    body_views.push_back(d);
    events.push_back("body " + std::string(d));
  }
  void on_preview_end(bool ieof) override { events.push_back(ieof ? "preview-ieof" : "preview"); }
  void on_message_complete() override { events.emplace_back("complete"); }
};

const std::string reqmod_head = "REQMOD icap://h/s ICAP/1.0\r\n"
                                "Host: h\r\n"
                                "Preview: 4\r\n"
                                "Encapsulated: req-hdr=0, req-body=25\r\n"
                                "\r\n"
                                "POST / HTTP/1.1\r\n"
                                "A: b\r\n"
                                "\r\n";
const std::string options_request = "OPTIONS icap://h/s ICAP/1.0\r\nHost: h\r\n\r\n";

} // namespace

TEST_CASE("parser: preview then 100 Continue") {
  event_log log;
  parser p(parse_mode::icap_request, log);
  std::string wire = reqmod_head + "4\r\nabcd\r\n0\r\n\r\n";
  std::error_code ec;
  CHECK(p.put(wire, ec) == wire.size());
  REQUIRE_FALSE(ec);
  CHECK(p.awaiting_preview_decision());
  CHECK_FALSE(p.is_done());
  CHECK(p.preview() == 4u);
  CHECK(p.method() == icap_method::reqmod);
  CHECK(p.encapsulated_header().has_chunked_body());
  CHECK(p.put("2\r\nef\r\n", ec) == 0); // paused until the caller decides
  p.continue_after_preview();
  CHECK(p.put("2\r\nef\r\n0\r\n\r\n", ec) == 12);
  REQUIRE_FALSE(ec);
  CHECK(p.is_done());
  CHECK(log.events.back() == "complete");
}

TEST_CASE("parser: preview answered without 100 Continue ends the message") {
  event_log log;
  parser p(parse_mode::icap_request, log);
  std::error_code ec;
  std::string wire = reqmod_head + "0\r\n\r\n" + options_request;
  auto n = p.put(wire, ec);
  CHECK(n == reqmod_head.size() + 5);
  REQUIRE(p.awaiting_preview_decision());
  p.end_after_preview();
  CHECK(p.is_done());
  CHECK(log.events.back() == "complete");
  p.put_eof(ec);
  CHECK_FALSE(ec);
  // keep-alive: the same parser reads the next request after reset()
  p.reset();
  CHECK(p.at_message_start());
  CHECK(p.put(std::string_view(wire).substr(n), ec) == options_request.size());
  REQUIRE_FALSE(ec);
  CHECK(p.is_done());
  CHECK(p.method() == icap_method::options);
  CHECK_FALSE(p.preview());
}

TEST_CASE("parser: put_eof between messages is clean, inside one it is unexpected_eof") {
  event_log log;
  parser p(parse_mode::icap_request, log);
  std::error_code ec;
  p.put_eof(ec);
  CHECK_FALSE(ec);
  p.put("OPTIONS icap://h/s ICAP/1.0\r\nHo", ec);
  REQUIRE_FALSE(ec);
  CHECK_FALSE(p.at_message_start());
  p.put_eof(ec);
  CHECK(ec == errc::unexpected_eof);
  CHECK(p.put("st: h\r\n\r\n", ec) == 0); // sticky until reset
  CHECK(ec == errc::unexpected_eof);
  p.reset();
  p.put(options_request, ec);
  CHECK(p.is_done());
  p.put_eof(ec);
  CHECK_FALSE(ec);

  parser q(parse_mode::icap_request, log);
  q.put(reqmod_head + "0\r\n\r\n", ec);
  REQUIRE(q.awaiting_preview_decision());
  q.put_eof(ec);
  CHECK(ec == errc::unexpected_eof);
}

TEST_CASE("parser: body bytes are views into the caller's buffer") {
  event_log log;
  parser p(parse_mode::icap_request, log);
  std::string wire = reqmod_head + "4\r\nabcd\r\n0; ieof\r\n\r\n";
  std::error_code ec;
  p.put(wire, ec);
  REQUIRE(p.is_done());
  REQUIRE(log.body_views.size() == 1);
  CHECK(log.body_views[0].data() == wire.data() + reqmod_head.size() + 3);
  CHECK(log.events[log.events.size() - 2] == "preview-ieof");
}

TEST_CASE("parser: limits and leniencies reach the encapsulated heads too") {
  event_log log;
  limits lim;
  lim.max_header_count = 1;
  parser p(parse_mode::icap_request, log, lim);
  std::error_code ec;
  p.put(reqmod_head, ec);
  CHECK(ec == errc::too_many_headers); // the ICAP head has three fields

  leniency len;
  len.bare_lf = true;
  len.missing_host = true;
  parser q(parse_mode::icap_request, log, {}, len);
  q.put("OPTIONS icap://h/s ICAP/1.0\n\n", ec);
  CHECK_FALSE(ec);
  CHECK(q.is_done());
}

TEST_CASE("parser: response mode uses the request method for the shape") {
  event_log log;
  parser p(parse_mode::icap_response, log);
  std::string opt = "ICAP/1.0 200 OK\r\nISTag: \"x\"\r\nEncapsulated: opt-body=0\r\n\r\n0\r\n\r\n";
  std::error_code ec;
  p.put(opt, ec);
  CHECK(ec == errc::encapsulated_shape); // default request method REQMOD
  parser q(parse_mode::icap_response, log);
  q.set_request_method(icap_method::options);
  CHECK(q.put(opt, ec) == opt.size());
  CHECK_FALSE(ec);
  CHECK(q.is_done());
  CHECK(q.status() == 200);
}

TEST_CASE("parser: move keeps the state") {
  event_log log;
  parser p(parse_mode::icap_request, log);
  std::error_code ec;
  p.put("OPTIONS icap://h/s ICAP/1.0\r\n", ec);
  parser moved(std::move(p));
  moved.put("Host: h\r\n\r\n", ec);
  CHECK_FALSE(ec);
  CHECK(moved.is_done());
}

TEST_CASE("parse_message: collects a whole message, continuing after a preview") {
  parsed_message m;
  std::error_code ec;
  std::string wire = reqmod_head + "4\r\nabcd\r\n0\r\n\r\n2\r\nef\r\n0\r\nX-T: 1\r\n\r\n";
  auto n = parse_message(wire + "NEXT", parse_mode::icap_request, m, ec);
  REQUIRE_FALSE(ec);
  CHECK(n == wire.size());
  CHECK(m.complete);
  REQUIRE(m.icap_request);
  CHECK(m.icap_request->method == "REQMOD");
  CHECK(m.icap_request->headers.get("Preview") == "4");
  REQUIRE(m.http_request);
  CHECK(m.http_request->method == "POST");
  CHECK(m.http_request->headers.get("a") == "b");
  CHECK(m.body == "abcdef");
  CHECK(m.preview_ended);
  CHECK_FALSE(m.ieof);
  CHECK(m.trailers.get("X-T") == "1");
  CHECK(m.encapsulated_header.entities.size() == 2);
}

TEST_CASE("parse_message: responses, 206, truncated input") {
  parsed_message m;
  std::error_code ec;
  std::string resp = "ICAP/1.0 206 Partial Content\r\nISTag: \"x\"\r\n"
                     "Encapsulated: res-hdr=0, res-body=19\r\n\r\n"
                     "HTTP/1.1 200 OK\r\n\r\n"
                     "2\r\nhi\r\n0; use-original-body=22\r\n\r\n";
  CHECK(parse_message(resp, parse_mode::icap_response, m, ec, icap_method::respmod) == resp.size());
  REQUIRE_FALSE(ec);
  REQUIRE(m.icap_response);
  CHECK(m.icap_response->status == 206);
  REQUIRE(m.http_response);
  CHECK(m.http_response->status == 200);
  CHECK(m.body == "hi");
  CHECK(m.use_original_body == 22u);

  parse_message(resp.substr(0, resp.size() - 2), parse_mode::icap_response, m, ec,
                icap_method::respmod);
  CHECK(ec == errc::unexpected_eof);
  CHECK_FALSE(m.complete);

  CHECK(parse_message("ICAP/1.0 204 No Content\r\n\r\n", parse_mode::icap_response, m, ec) == 27);
  CHECK_FALSE(ec);
  CHECK(m.complete);
  CHECK(m.body.empty());
}
