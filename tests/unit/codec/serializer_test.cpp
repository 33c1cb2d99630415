#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/serializer.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace icapkit::codec;

namespace {

// The encapsulated HTTP heads used throughout, with their exact wire bytes.
http_request_head post_head() {
  http_request_head h;
  h.method = "POST";
  h.target = "/upload";
  h.headers.add("Host", "www.example.com");
  h.headers.add("Content-Length", "5");
  return h;
}
const std::string post_bytes =
    "POST /upload HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 5\r\n\r\n"; // 67

http_request_head get_head() {
  http_request_head h;
  h.target = "/index.html";
  h.headers.add("Host", "www.example.com");
  return h;
}
const std::string get_bytes = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n"; // 51

http_response_head ok_head() {
  http_response_head h;
  h.headers.add("Content-Type", "text/plain");
  h.headers.add("Content-Length", "5");
  return h;
}
const std::string ok_bytes =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"; // 64

icap_request_head request(std::string method, std::string uri = "icap://icap.example/svc") {
  icap_request_head h;
  h.method = std::move(method);
  h.uri = std::move(uri);
  return h;
}

icap_response_head response(int status, std::string reason) {
  icap_response_head h;
  h.status = status;
  h.reason = std::move(reason);
  h.headers.add("ISTag", "\"W3E4R7U9-L2E4-2\"");
  return h;
}

// Drains until pause or done, checking that no piece is larger than the piece size.
std::string drain(serializer& s, std::size_t piece_size = default_piece_size) {
  std::string out;
  while (true) {
    std::error_code ec;
    auto piece = s.next(ec);
    REQUIRE_FALSE(ec);
    CHECK(piece.size() <= piece_size);
    if (piece.empty()) {
      return out;
    }
    out += piece;
  }
}

std::string whole_request(const icap_request_head& head, const encapsulated_parts& parts,
                          const request_options& opt = {}) {
  std::string out;
  REQUIRE_FALSE(serialize_to_string(head, parts, opt, out));
  return out;
}

std::string whole_response(const icap_response_head& head, const encapsulated_parts& parts,
                           const response_options& opt = {}) {
  std::string out;
  REQUIRE_FALSE(serialize_to_string(head, parts, opt, out));
  return out;
}

// A source of unknown size, as stdin or a socket would be.
generator_body_source unsized(std::string_view data) {
  return generator_body_source(
      [data, offset = std::size_t{0}](std::span<char> buf, std::error_code&) mutable {
        auto n = std::min(buf.size(), data.size() - offset);
        data.copy(buf.data(), n, offset);
        offset += n;
        return n;
      });
}

} // namespace

TEST_CASE("serializer: HTTP heads and their sizes") {
  CHECK(serialize_head(post_head()) == post_bytes);
  CHECK(post_bytes.size() == 67);
  CHECK(serialize_head(get_head()) == get_bytes);
  CHECK(get_bytes.size() == 51);
  CHECK(serialize_head(ok_head()) == ok_bytes);
  CHECK(ok_bytes.size() == 64);
  http_response_head folded;
  folded.status = 403;
  folded.reason = "Forbidden";
  folded.headers.add("X-Violations-Found", "1\nfile.exe\nEICAR\n0");
  CHECK(serialize_head(folded) ==
        "HTTP/1.1 403 Forbidden\r\nX-Violations-Found: 1\r\n\tfile.exe\r\n\tEICAR\r\n\t0\r\n\r\n");
}

TEST_CASE("serializer: OPTIONS request with and without Encapsulated") {
  auto head = request("OPTIONS", "icap://127.0.0.1:13440/avscan");
  head.headers.add("User-Agent", "icapkit/0.1");
  CHECK(whole_request(head, {}) == "OPTIONS icap://127.0.0.1:13440/avscan ICAP/1.0\r\n"
                                   "Host: 127.0.0.1:13440\r\n"
                                   "User-Agent: icapkit/0.1\r\n"
                                   "Encapsulated: null-body=0\r\n\r\n");
  request_options squid_like;
  squid_like.options_null_body = false;
  squid_like.allow_206 = true;
  squid_like.preview = 1024; // meaningless for OPTIONS: not written
  CHECK(whole_request(request("OPTIONS", "icap://[::1]/avscan"), {}, squid_like) ==
        "OPTIONS icap://[::1]/avscan ICAP/1.0\r\nHost: [::1]:1344\r\nAllow: 206\r\n\r\n");
}

TEST_CASE("serializer: REQMOD with a body, no preview") {
  auto req = post_head();
  memory_body_source body("hello");
  request_options opt;
  opt.allow_204 = true;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &body}, opt));
  std::string icap = "REQMOD icap://icap.example/svc ICAP/1.0\r\n"
                     "Host: icap.example:1344\r\n"
                     "Encapsulated: req-hdr=0, req-body=67\r\n"
                     "Allow: 204\r\n\r\n";
  CHECK(drain(s) == icap + post_bytes + "5\r\nhello\r\n0\r\n\r\n");
  CHECK(s.done());
  CHECK_FALSE(s.ieof_sent());
  CHECK(s.body_bytes_sent() == 5);
  CHECK(s.icap_head() == icap);
  REQUIRE(s.encapsulated_header());
  CHECK(to_string(*s.encapsulated_header()) == "req-hdr=0, req-body=67");
}

TEST_CASE("serializer: REQMOD with null-body, with and without preview") {
  auto req = get_head();
  std::string icap = "REQMOD icap://icap.example/svc ICAP/1.0\r\n"
                     "Host: icap.example:1344\r\n"
                     "Encapsulated: req-hdr=0, null-body=51\r\n";
  CHECK(whole_request(request("REQMOD"), {&req, nullptr, nullptr}) == icap + "\r\n" + get_bytes);

  // Squid: "Preview: 0" and no chunk at all; nothing to wait for.
  request_options opt;
  opt.preview = 1024;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, nullptr}, opt));
  CHECK(drain(s) == icap + "Preview: 0\r\n\r\n" + get_bytes);
  CHECK(s.done());
  CHECK_FALSE(s.awaiting_preview_decision());
}

TEST_CASE("serializer: empty body is a lone last chunk") {
  auto req = post_head();
  std::string icap = "REQMOD icap://icap.example/svc ICAP/1.0\r\n"
                     "Host: icap.example:1344\r\n"
                     "Encapsulated: req-hdr=0, req-body=67\r\n";
  memory_body_source empty("");
  CHECK(whole_request(request("REQMOD"), {&req, nullptr, &empty}) ==
        icap + "\r\n" + post_bytes + "0\r\n\r\n");

  request_options opt;
  opt.preview = 0;
  for (bool sized : {true, false}) {
    CAPTURE(sized);
    memory_body_source known("");
    auto unknown = unsized("");
    serializer s;
    REQUIRE_FALSE(s.start_request(
        request("REQMOD"),
        {&req, nullptr,
         sized ? static_cast<body_source*>(&known) : static_cast<body_source*>(&unknown)},
        opt));
    CHECK(drain(s) == icap + "Preview: 0\r\n\r\n" + post_bytes + "0; ieof\r\n\r\n");
    CHECK(s.done());
    CHECK(s.ieof_sent());
  }
}

TEST_CASE("serializer: preview, pause, then 100 Continue sends the rest without ieof") {
  auto req = post_head();
  request_options opt;
  opt.preview = 4;
  opt.allow_204 = true;
  std::string icap = "REQMOD icap://icap.example/svc ICAP/1.0\r\n"
                     "Host: icap.example:1344\r\n"
                     "Encapsulated: req-hdr=0, req-body=67\r\n"
                     "Preview: 4\r\n"
                     "Allow: 204\r\n\r\n";
  for (bool sized : {true, false}) {
    CAPTURE(sized);
    memory_body_source known("0123456789");
    auto unknown = unsized("0123456789");
    body_source* body = sized ? static_cast<body_source*>(&known) : &unknown;
    serializer s;
    REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, body}, opt));
    CHECK(drain(s) == icap + post_bytes + "4\r\n0123\r\n0\r\n\r\n");
    CHECK(s.awaiting_preview_decision());
    CHECK_FALSE(s.ieof_sent());
    s.continue_after_preview();
    CHECK(drain(s) == "6\r\n456789\r\n0\r\n\r\n");
    CHECK(s.done());
    CHECK(s.body_bytes_sent() == 10);
  }
}

TEST_CASE("serializer: preview answered with 204 or 200 stops the body") {
  auto req = post_head();
  memory_body_source body("0123456789");
  request_options opt;
  opt.preview = 4;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &body}, opt));
  CHECK(drain(s).ends_with("4\r\n0123\r\n0\r\n\r\n"));
  s.stop_after_preview();
  CHECK(s.done());
  CHECK(drain(s).empty());
  s.continue_after_preview(); // too late: ignored
  CHECK(drain(s).empty());
}

TEST_CASE("serializer: a body of exactly the preview size ends with ieof") {
  auto req = post_head();
  request_options opt;
  opt.preview = 10;
  for (bool sized : {true, false}) {
    CAPTURE(sized);
    memory_body_source known("0123456789");
    auto unknown = unsized("0123456789");
    body_source* body = sized ? static_cast<body_source*>(&known) : &unknown;
    serializer s;
    REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, body}, opt));
    auto wire = drain(s);
    CHECK(wire.ends_with("\r\n\r\n" + post_bytes + "a\r\n0123456789\r\n0; ieof\r\n\r\n"));
    CHECK(s.done());
    CHECK(s.ieof_sent());
    s.continue_after_preview(); // a 100 after ieof is ignored (RFC EID 5893)
    CHECK(drain(s).empty());
  }
}

TEST_CASE("serializer: a body of preview size + 1 pauses, then sends its last byte") {
  auto req = post_head();
  request_options opt;
  opt.preview = 10;
  for (bool sized : {true, false}) {
    CAPTURE(sized);
    memory_body_source known("0123456789X");
    auto unknown = unsized("0123456789X");
    body_source* body = sized ? static_cast<body_source*>(&known) : &unknown;
    serializer s;
    REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, body}, opt));
    CHECK(drain(s).ends_with(post_bytes + "a\r\n0123456789\r\n0\r\n\r\n"));
    CHECK(s.awaiting_preview_decision());
    s.continue_after_preview();
    CHECK(drain(s) == "1\r\nX\r\n0\r\n\r\n");
    CHECK(s.done());
    CHECK_FALSE(s.ieof_sent());
  }
}

TEST_CASE("serializer: a body shorter than the preview ends with ieof") {
  auto req = post_head();
  memory_body_source body("hello");
  request_options opt;
  opt.preview = 4096;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &body}, opt));
  CHECK(drain(s).ends_with("Preview: 4096\r\n\r\n" + post_bytes + "5\r\nhello\r\n0; ieof\r\n\r\n"));
  CHECK(s.ieof_sent());
}

TEST_CASE("serializer: preview 0 with a body sends only the zero chunk first") {
  auto req = post_head();
  memory_body_source body("hello");
  request_options opt;
  opt.preview = 0;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &body}, opt));
  CHECK(drain(s).ends_with("Preview: 0\r\n\r\n" + post_bytes + "0\r\n\r\n"));
  REQUIRE(s.awaiting_preview_decision());
  s.continue_after_preview();
  CHECK(drain(s) == "5\r\nhello\r\n0\r\n\r\n");
}

TEST_CASE("serializer: RESPMOD with and without req-hdr") {
  auto req = get_head();
  auto res = ok_head();
  memory_body_source body("hello");
  std::string with_req = "RESPMOD icap://icap.example/svc ICAP/1.0\r\n"
                         "Host: icap.example:1344\r\n"
                         "Encapsulated: req-hdr=0, res-hdr=51, res-body=115\r\n\r\n";
  CHECK(whole_request(request("RESPMOD"), {&req, &res, &body}) ==
        with_req + get_bytes + ok_bytes + "5\r\nhello\r\n0\r\n\r\n");

  memory_body_source body2("hello");
  request_options opt;
  opt.preview = 5;
  opt.allow_204 = true;
  opt.allow_206 = true;
  CHECK(whole_request(request("RESPMOD"), {nullptr, &res, &body2}, opt) ==
        "RESPMOD icap://icap.example/svc ICAP/1.0\r\n"
        "Host: icap.example:1344\r\n"
        "Encapsulated: res-hdr=0, res-body=64\r\n"
        "Preview: 5\r\n"
        "Allow: 204, 206\r\n\r\n" +
            ok_bytes + "5\r\nhello\r\n0; ieof\r\n\r\n");

  CHECK(whole_request(request("RESPMOD"), {&req, &res, nullptr})
            .find("Encapsulated: req-hdr=0, res-hdr=51, null-body=115\r\n") != std::string::npos);
}

TEST_CASE("serializer: request header order and computed headers replace the caller's") {
  auto head = request("REQMOD", "ICAP://icap.example:1344/svc?profile=strict#ignored");
  head.headers.add("X-Client-IP", "192.0.2.10");
  head.headers.add("Encapsulated", "null-body=0");
  head.headers.add("Preview", "99");
  head.headers.add("Allow", "trailers");
  head.headers.add("Host", "scanner.internal");
  auto req = get_head();
  request_options opt;
  opt.allow_206 = true;
  CHECK(whole_request(head, {&req, nullptr, nullptr}, opt) ==
        "REQMOD icap://icap.example:1344/svc?profile=strict ICAP/1.0\r\n"
        "Host: scanner.internal\r\n"
        "X-Client-IP: 192.0.2.10\r\n"
        "Encapsulated: req-hdr=0, null-body=51\r\n"
        "Allow: 206\r\n\r\n" +
            get_bytes);
  // Without allow flags the caller's Allow (e.g. "trailers") goes through.
  CHECK(whole_request(head, {&req, nullptr, nullptr}).find("Allow: trailers\r\n") !=
        std::string::npos);
}

TEST_CASE("serializer: 100 Continue and 204 have no Encapsulated") {
  CHECK(whole_response(response(100, "Continue"), {}) ==
        "ICAP/1.0 100 Continue\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n\r\n");
  serializer s;
  REQUIRE_FALSE(s.start_response(response(204, "No Content"), {}));
  CHECK(drain(s) == "ICAP/1.0 204 No Content\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n\r\n");
  CHECK_FALSE(s.encapsulated_header());
}

TEST_CASE("serializer: 200 responses carry res-hdr/res-body or req-hdr/req-body") {
  http_response_head blocked;
  blocked.status = 403;
  blocked.reason = "Forbidden";
  blocked.headers.add("Content-Length", "7");
  std::string blocked_bytes = "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\n"; // 45
  memory_body_source page("blocked");
  CHECK(whole_response(response(200, "OK"), {nullptr, &blocked, &page}) ==
        "ICAP/1.0 200 OK\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n"
        "Encapsulated: res-hdr=0, res-body=45\r\n\r\n" +
            blocked_bytes + "7\r\nblocked\r\n0\r\n\r\n");

  auto req = post_head();
  memory_body_source body("HELLO");
  CHECK(whole_response(response(200, "OK"), {&req, nullptr, &body}) ==
        "ICAP/1.0 200 OK\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n"
        "Encapsulated: req-hdr=0, req-body=67\r\n\r\n" +
            post_bytes + "5\r\nHELLO\r\n0\r\n\r\n");

  auto res = ok_head();
  memory_body_source body2("hello");
  response_options respmod;
  respmod.request_method = icap_method::respmod;
  CHECK(whole_response(response(200, "OK"), {nullptr, &res, &body2}, respmod) ==
        "ICAP/1.0 200 OK\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n"
        "Encapsulated: res-hdr=0, res-body=64\r\n\r\n" +
            ok_bytes + "5\r\nhello\r\n0\r\n\r\n");
}

TEST_CASE("serializer: 206 ends with use-original-body") {
  auto res = ok_head();
  response_options opt;
  opt.request_method = icap_method::respmod;
  opt.use_original_body = 22;
  memory_body_source added("<b>");
  CHECK(whole_response(response(206, "Partial Content"), {nullptr, &res, &added}, opt) ==
        "ICAP/1.0 206 Partial Content\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n"
        "Encapsulated: res-hdr=0, res-body=64\r\n\r\n" +
            ok_bytes + "3\r\n<b>\r\n0; use-original-body=22\r\n\r\n");
  // Header-only adaptation: no new body bytes at all.
  opt.use_original_body = 0;
  CHECK(whole_response(response(206, "Partial Content"), {nullptr, &res, nullptr}, opt)
            .ends_with("res-body=64\r\n\r\n" + ok_bytes + "0; use-original-body=0\r\n\r\n"));
}

TEST_CASE("serializer: OPTIONS responses and errors") {
  auto opts = response(200, "OK");
  opts.headers.add("Methods", "RESPMOD");
  opts.headers.add("Preview", "1024");
  response_options options_answer;
  options_answer.request_method = icap_method::options;
  CHECK(whole_response(opts, {}, options_answer) ==
        "ICAP/1.0 200 OK\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\nMethods: RESPMOD\r\n"
        "Preview: 1024\r\nEncapsulated: null-body=0\r\n\r\n");
  memory_body_source opt_body("capabilities");
  CHECK(whole_response(opts, {nullptr, nullptr, &opt_body}, options_answer)
            .ends_with("Encapsulated: opt-body=0\r\n\r\nc\r\ncapabilities\r\n0\r\n\r\n"));

  CHECK(whole_response(response(404, "ICAP Service Not Found"), {}) ==
        "ICAP/1.0 404 ICAP Service Not Found\r\nISTag: \"W3E4R7U9-L2E4-2\"\r\n"
        "Encapsulated: null-body=0\r\n\r\n");
  auto overloaded = response(503, "Service Overloaded");
  overloaded.headers.add("Connection", "close");
  CHECK(whole_response(overloaded, {})
            .ends_with("Connection: close\r\n"
                       "Encapsulated: null-body=0\r\n\r\n"));
}

TEST_CASE("serializer: illegal shapes and bad input are refused with their codes") {
  serializer s;
  auto req = get_head();
  auto res = ok_head();
  memory_body_source body("x");
  CHECK(s.start_request(request("OPTIONS"), {nullptr, nullptr, &body}) == errc::encapsulated_shape);
  CHECK(s.start_request(request("OPTIONS"), {&req, nullptr, nullptr}) == errc::encapsulated_shape);
  CHECK(s.start_request(request("REQMOD"), {&req, &res, &body}) == errc::encapsulated_shape);
  CHECK(s.start_request(request("GET"), {}) == errc::bad_method);
  CHECK(s.start_request(request("REQMOD", "http://icap.example/svc"), {}) ==
        errc::unsupported_scheme);
  CHECK(s.start_request(request("REQMOD", "icap://[::1/svc"), {}) == errc::bad_host);
  CHECK(s.start_request(request("REQMOD", "icap://h:0/svc"), {}) == errc::bad_port);

  auto injected = request("REQMOD");
  injected.headers.add("X-Client-IP", "1.2.3.4\r\nX-Evil: 1");
  CHECK(s.start_request(injected, {&req, nullptr, nullptr}) == errc::bad_header_value);
  auto bad_name = request("REQMOD");
  bad_name.headers.add("Bad Name", "x");
  CHECK(s.start_request(bad_name, {}) == errc::bad_header_name);
  auto bad_target = get_head();
  bad_target.target = "/a b";
  CHECK(s.start_request(request("REQMOD"), {&bad_target, nullptr, nullptr}) ==
        errc::bad_request_target);
  auto bad_status = ok_head();
  bad_status.status = 99;
  CHECK(s.start_request(request("RESPMOD"), {nullptr, &bad_status, nullptr}) ==
        errc::bad_status_code);

  CHECK(s.start_response(response(204, "No Content"), {nullptr, nullptr, &body}) ==
        errc::sections_not_allowed_for_status);
  CHECK(s.start_response(response(100, "Continue"), {nullptr, &res, nullptr}) ==
        errc::sections_not_allowed_for_status);
  response_options respmod;
  respmod.request_method = icap_method::respmod;
  CHECK(s.start_response(response(200, "OK"), {&req, nullptr, &body}, respmod) ==
        errc::encapsulated_shape);
  CHECK(s.start_response(response(200, "OK"), {&req, &res, &body}) == errc::encapsulated_shape);
  CHECK(s.start_response(response(1000, "x"), {}) == errc::bad_status_code);
  CHECK(s.start_response(response(200, "OK\r\nX: y"), {}) == errc::bad_status_line);
  // After a failed start nothing is produced and nothing half-prepared shows.
  CHECK_FALSE(s.encapsulated_header());
  CHECK(s.icap_head().empty());
  std::error_code ec;
  CHECK(s.next(ec).empty());
  CHECK_FALSE(ec);
}

TEST_CASE("serializer: body source failures stop the message with their codes") {
  auto req = post_head();
  generator_body_source failing([](std::span<char>, std::error_code& ec) -> std::size_t {
    ec = std::make_error_code(std::errc::io_error);
    return 0;
  });
  serializer s;
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &failing}));
  std::error_code ec;
  CHECK(s.next(ec).empty());
  CHECK(ec == errc::body_source_error);
  CHECK(s.source_error() == std::errc::io_error);
  CHECK(s.next(ec).empty());
  CHECK(ec == errc::body_source_error); // stays failed

  std::string half = "12345";
  generator_body_source liar(
      [&half, done = false](std::span<char> buf, std::error_code&) mutable -> std::size_t {
        if (done) {
          return 0;
        }
        done = true;
        half.copy(buf.data(), half.size());
        return half.size();
      },
      10);
  REQUIRE_FALSE(s.start_request(request("REQMOD"), {&req, nullptr, &liar}));
  std::string wire;
  CHECK(serialize_to_string(s, wire) == errc::body_shorter_than_declared);
  CHECK_FALSE(s.done());
}

TEST_CASE("serializer: a source longer than its declared size is cut at that size") {
  auto req = post_head();
  generator_body_source longer(
      [](std::span<char> buf, std::error_code&) {
        std::fill(buf.begin(), buf.end(), 'z');
        return buf.size();
      },
      3);
  auto wire = whole_request(request("REQMOD"), {&req, nullptr, &longer});
  CHECK(wire.ends_with(post_bytes + "3\r\nzzz\r\n0\r\n\r\n"));
}

TEST_CASE("serializer: pieces never exceed the piece size and chunk sizes match the data") {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data += std::to_string(i);
  }
  auto req = post_head();
  for (bool sized : {true, false}) {
    CAPTURE(sized);
    memory_body_source known(data);
    auto unknown = unsized(data);
    request_options opt;
    opt.piece_size = 64;
    opt.preview = 100;
    serializer s;
    REQUIRE_FALSE(s.start_request(
        request("REQMOD"),
        {&req, nullptr,
         sized ? static_cast<body_source*>(&known) : static_cast<body_source*>(&unknown)},
        opt));
    std::string wire = drain(s, 64);
    REQUIRE(s.awaiting_preview_decision());
    s.continue_after_preview();
    wire += drain(s, 64);
    REQUIRE(s.done());
    // De-chunk what follows the heads: every size line must match its data exactly.
    auto pos = wire.find(post_bytes);
    REQUIRE(pos != std::string::npos);
    pos += post_bytes.size();
    std::string body;
    int zero_chunks = 0;
    while (pos < wire.size()) {
      auto eol = wire.find("\r\n", pos);
      REQUIRE(eol != std::string::npos);
      auto size = std::stoul(wire.substr(pos, eol - pos), nullptr, 16);
      CHECK(wire.substr(pos, eol - pos).find(';') == std::string::npos); // no extensions
      pos = eol + 2;
      if (size == 0) {
        ++zero_chunks;
        CHECK(wire.compare(pos, 2, "\r\n") == 0);
        pos += 2;
        continue;
      }
      body += wire.substr(pos, size);
      CHECK(wire.compare(pos + size, 2, "\r\n") == 0);
      pos += size + 2;
    }
    CHECK(body == data);
    CHECK(zero_chunks == 2); // end of preview, end of body
  }
}

TEST_CASE("serializer: one serializer reused for many messages writes what fresh ones do") {
  std::string data;
  for (int i = 0; i < 100; ++i) {
    data += std::to_string(i);
  }
  auto req = post_head();
  auto res = ok_head();
  serializer reused;
  // Piece sizes that shrink and grow again: the kept read buffer must never be too small.
  for (std::size_t piece_size : {std::size_t{1024}, std::size_t{64}, std::size_t{4096}}) {
    CAPTURE(piece_size);
    request_options opt;
    opt.piece_size = piece_size;
    opt.preview = 50;
    memory_body_source body(data);
    auto unknown = unsized(data); // read ahead after the preview, into the kept buffer
    for (body_source* source :
         {static_cast<body_source*>(&body), static_cast<body_source*>(&unknown)}) {
      REQUIRE_FALSE(reused.start_request(request("REQMOD"), {&req, nullptr, source}, opt));
      std::string wire = drain(reused, piece_size);
      REQUIRE(reused.awaiting_preview_decision());
      reused.continue_after_preview();
      wire += drain(reused, piece_size);
      CHECK(reused.done());
      memory_body_source again(data);
      CHECK(wire == whole_request(request("REQMOD"), {&req, nullptr, &again}, opt));
    }
    response_options ropt;
    ropt.piece_size = piece_size;
    memory_body_source echo(data);
    REQUIRE_FALSE(reused.start_response(response(200, "OK"), {nullptr, &res, &echo}, ropt));
    memory_body_source echo_again(data);
    CHECK(drain(reused, piece_size) ==
          whole_response(response(200, "OK"), {nullptr, &res, &echo_again}, ropt));
  }
}

TEST_CASE("serializer: a 10 MiB generator body streams in bounded pieces") {
  constexpr std::uint64_t total = 10u << 20;
  std::uint64_t produced = 0;
  std::size_t largest_read = 0;
  generator_body_source big([&](std::span<char> buf, std::error_code&) {
    largest_read = std::max(largest_read, buf.size());
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), total - produced));
    std::fill_n(buf.begin(), n, 'A');
    produced += n;
    return n;
  });
  auto res = ok_head();
  request_options opt;
  opt.preview = 4096;
  serializer s;
  REQUIRE_FALSE(s.start_request(request("RESPMOD"), {nullptr, &res, &big}, opt));
  std::uint64_t wire_bytes = 0;
  std::size_t pieces = 0;
  std::size_t largest_piece = 0;
  std::string tail;
  for (int round = 0; round < 2; ++round) {
    std::error_code ec;
    for (auto piece = s.next(ec); !piece.empty(); piece = s.next(ec)) {
      ++pieces;
      wire_bytes += piece.size();
      largest_piece = std::max(largest_piece, piece.size());
      tail += piece; // keeps only the last bytes of the stream
      tail.erase(0, tail.size() > 16 ? tail.size() - 16 : 0);
    }
    REQUIRE_FALSE(ec);
    if (round == 0) {
      REQUIRE(s.awaiting_preview_decision());
      CHECK(s.body_bytes_sent() == 4096);
      s.continue_after_preview();
    }
  }
  CHECK(s.done());
  CHECK(s.body_bytes_sent() == total);
  CHECK(produced == total);
  CHECK(largest_piece <= default_piece_size);
  CHECK(largest_read <= default_piece_size);
  CHECK(pieces > total / default_piece_size);
  CHECK(wire_bytes < total + total / 100); // chunk framing is under 1 %
  CHECK(tail.ends_with("AAAA\r\n0\r\n\r\n"));
}
