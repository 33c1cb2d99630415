#include "icapkit/log/result.hpp"

#include <doctest/doctest.h>

using namespace icapkit::log;

TEST_CASE("read_error::message: line, field and detail") {
  const read_error full{errc::wrong_type, 3, "icap_log.request_logs[0].latency",
                        "expected number or numeric string"};
  CHECK(full.message() ==
        "line 3: icap_log.request_logs[0].latency: expected number or numeric string");
  const read_error no_line{errc::wrong_type, 0, "source", "expected string"};
  CHECK(no_line.message() == "source: expected string");
  const read_error syntax{errc::invalid_json, 7, "", ""};
  CHECK(syntax.message() == "line 7: invalid JSON");
}

TEST_CASE("result: holds a value or an error") {
  result<int> good = 5;
  REQUIRE(good.has_value());
  CHECK(*good == 5);
  result<int> bad = read_error{errc::out_of_range, 1, "x", "too big"};
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::out_of_range);
}
