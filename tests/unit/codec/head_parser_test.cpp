#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/head_parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::codec;

namespace {

struct head_log final : head_events {
  std::vector<std::string> lines;
  void on_request_line(std::string_view m, std::string_view t, version v) override {
    lines.push_back("req " + std::string(m) + " " + std::string(t) + " " + std::to_string(v.major) +
                    "." + std::to_string(v.minor));
  }
  void on_status_line(version v, int status, std::string_view reason) override {
    lines.push_back("status " + std::to_string(v.major) + "." + std::to_string(v.minor) + " " +
                    std::to_string(status) + " [" + std::string(reason) + "]");
  }
  void on_field(std::string_view n, std::string_view v) override {
    lines.push_back(std::string(n) + "=" + std::string(v));
  }
  void on_head_complete() override { lines.push_back("done"); }
};

std::error_code feed_bytewise(head_parser& p, std::string_view data) {
  std::error_code ec;
  for (std::size_t i = 0; i < data.size() && !ec && !p.is_done(); ++i) {
    p.put(data.substr(i, 1), ec);
  }
  return ec;
}

} // namespace

TEST_CASE("head_parser: ICAP request head, stops right after the blank line") {
  head_log log;
  head_parser p(head_kind::icap_request, log);
  std::string_view wire = "REQMOD icap://h/s ICAP/1.0\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n";
  std::error_code ec;
  auto n = p.put(wire, ec);
  REQUIRE_FALSE(ec);
  CHECK(n == wire.find("GET"));
  CHECK(p.is_done());
  CHECK(p.head_bytes() == n);
  CHECK(log.lines == std::vector<std::string>{"req REQMOD icap://h/s 1.0", "Host=h", "done"});
  CHECK(p.put("more", ec) == 0); // done: nothing more is taken
}

TEST_CASE("head_parser: status line kinds, empty reason, ICAP/2.0") {
  head_log log;
  head_parser p(head_kind::icap_response, log);
  std::error_code ec;
  p.put("ICAP/2.0 204\r\n\r\n", ec);
  REQUIRE_FALSE(ec);
  CHECK(log.lines == std::vector<std::string>{"status 2.0 204 []", "done"});

  log.lines.clear();
  p.reset(head_kind::http_response);
  p.put("HTTP/1.0 403 Forbidden by policy\r\n\r\n", ec);
  REQUIRE_FALSE(ec);
  CHECK(log.lines.front() == "status 1.0 403 [Forbidden by policy]");

  p.reset(head_kind::http_response);
  p.put("ICAP/1.0 200 OK\r\n", ec);
  CHECK(ec == errc::bad_version);
}

TEST_CASE("head_parser: obs-fold keeps the line structure X-Violations-Found needs") {
  head_log log;
  head_parser p(head_kind::icap_response, log);
  std::error_code ec;
  p.put("ICAP/1.0 200 OK\r\nX-Violations-Found: 1\r\n\t-\r\n\tTest.EICAR\r\n\t0\r\n\t0\r\n\r\n",
        ec);
  REQUIRE_FALSE(ec);
  CHECK(log.lines[1] == "X-Violations-Found=1\n-\nTest.EICAR\n0\n0");
}

TEST_CASE("head_parser: fields_only parses a trailer section") {
  head_log log;
  head_parser p(head_kind::fields_only, log);
  std::error_code ec;
  CHECK(p.put("\r\n", ec) == 2);
  CHECK(p.is_done());
  CHECK(log.lines == std::vector<std::string>{"done"});
}

TEST_CASE("head_parser: limits give the same error whole and byte by byte") {
  limits lim;
  lim.max_start_line = 30;
  lim.max_header_bytes = 40;
  const std::string cases[] = {
      "OPTIONS icap://a-very-long-host/s ICAP/1.0\r\n\r\n",             // start line first
      "OPTIONS icap://h/s ICAP/1.0\r\nX: aaaaaaaaaaaaaaaaaaaa\r\n\r\n", // head bytes
  };
  const errc expected[] = {errc::start_line_too_long, errc::header_too_long};
  for (int i = 0; i < 2; ++i) {
    head_log a;
    head_log b;
    head_parser whole(head_kind::icap_request, a, lim);
    head_parser bytes(head_kind::icap_request, b, lim);
    std::error_code ec;
    whole.put(cases[i], ec);
    CHECK(ec == expected[i]);
    CHECK(feed_bytewise(bytes, cases[i]) == expected[i]);
  }
}

TEST_CASE("head_parser: errors are sticky until reset, started() ignores skipped CRLFs") {
  head_log log;
  leniency len;
  len.leading_empty_lines = true;
  head_parser p(head_kind::icap_request, log, {}, len);
  std::error_code ec;
  p.put("\r\n\r\n", ec);
  REQUIRE_FALSE(ec);
  CHECK_FALSE(p.started());
  p.put("O", ec);
  CHECK(p.started());
  p.put("PTIONS x\r\n", ec);
  CHECK(ec == errc::bad_request_line);
  CHECK(p.put("Host: h\r\n", ec) == 0);
  CHECK(ec == errc::bad_request_line);
  p.reset();
  CHECK(p.put("OPTIONS icap://h/s ICAP/1.0\r\nHost: h\r\n\r\n", ec) > 0);
  CHECK_FALSE(ec);
  CHECK(p.is_done());
}

TEST_CASE("head_parser: leading empty lines are bounded by limits::max_leading_empty_lines") {
  head_log log;
  leniency len;
  len.leading_empty_lines = true;
  limits lim;
  lim.max_leading_empty_lines = 2;
  head_parser p(head_kind::http_request, log, lim, len);
  std::error_code ec;
  p.put("\r\n\r\nGET / HTTP/1.1\r\n\r\n", ec);
  CHECK_FALSE(ec);
  CHECK(p.is_done());
  p.reset();
  p.put("\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", ec);
  CHECK(ec == errc::bad_request_line);
  head_parser status(head_kind::http_response, log, lim, len);
  status.put("\r\n\r\n\r\n", ec);
  CHECK(ec == errc::bad_status_line);
  CHECK(limits{}.max_leading_empty_lines == 4);
}

TEST_CASE("head_parser: field and fold lines are reported as soon as they are complete") {
  struct line_log final : head_events {
    std::vector<std::string> lines;
    void on_field_line(std::string_view n, std::string_view v) override {
      lines.push_back("line " + std::string(n) + "=" + std::string(v));
    }
    void on_fold_line(std::string_view v) override { lines.push_back("fold " + std::string(v)); }
    void on_field(std::string_view n, std::string_view v) override {
      lines.push_back("field " + std::string(n) + "=" + std::string(v));
    }
  };
  line_log log;
  head_parser p(head_kind::http_request, log);
  std::error_code ec;
  p.put("POST / HTTP/1.1\r\nContent-Length: 5\r\n", ec);
  REQUIRE_FALSE(ec);
  // The field may still be folded, so on_field waits; on_field_line does not.
  CHECK(log.lines == std::vector<std::string>{"line Content-Length=5"});
  p.put("  6\r\n", ec);
  CHECK(log.lines == std::vector<std::string>{"line Content-Length=5", "fold 6"});
  p.put("\r\n", ec);
  CHECK(log.lines ==
        std::vector<std::string>{"line Content-Length=5", "fold 6", "field Content-Length=5\n6"});
}

TEST_CASE("head_parser: helpers") {
  CHECK(detail::is_valid_token("REQMOD"));
  CHECK(detail::is_valid_token("X-Foo_bar!~"));
  CHECK_FALSE(detail::is_valid_token(""));
  CHECK_FALSE(detail::is_valid_token("a b"));
  version v;
  CHECK(detail::parse_version("ICAP/1.0", "ICAP", v));
  CHECK(v == version{1, 0});
  CHECK_FALSE(detail::parse_version("ICAP/10.0", "ICAP", v));
  CHECK_FALSE(detail::parse_version("HTTP/1.1", "ICAP", v));
}
