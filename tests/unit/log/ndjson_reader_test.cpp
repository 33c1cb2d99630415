#include "icapkit/log/ndjson_reader.hpp"

#include "icapkit/log/json_encode.hpp"
#include "sample_records.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

using namespace icapkit::log;

TEST_CASE("ndjson_reader: reads every line, skips blank ones, counts lines") {
  const auto records = test::sample_records();
  std::string text;
  for (const auto& record : records) {
    text += to_json_text(record) + "\r\n\n  \n";
  }
  std::istringstream in(text);
  ndjson_reader reader(in);
  std::size_t count = 0;
  while (auto next = reader.next()) {
    REQUIRE_MESSAGE(next->has_value(), next->error().message());
    CHECK(next->value() == records[count]);
    CHECK(reader.line() == 3 * count + 1);
    ++count;
  }
  CHECK(count == records.size());
  CHECK_FALSE(reader.next().has_value());
}

TEST_CASE("ndjson_reader: a bad line is reported with its number and reading goes on") {
  std::istringstream in(
      "{\"icap_log\":{\"action\":\"ICAP_PASSED\"}}\n"
      "{\"icap_log\":{\"action\":\"ICAP_PASSED\"\n"
      "{\"icap_log\":{\"action\":\"ICAP_PASSED\",\"request_logs\":[{\"latency\":[]}]}}\n"
      "{\"icap_log\":{\"action\":\"ICAP_BLOCKED\"}}");
  ndjson_reader reader(in);
  auto first = reader.next();
  REQUIRE(first);
  CHECK(first->has_value());
  auto truncated = reader.next();
  REQUIRE(truncated);
  REQUIRE_FALSE(truncated->has_value());
  CHECK(truncated->error().code == errc::invalid_json);
  CHECK(truncated->error().line == 2);
  auto wrong_type = reader.next();
  REQUIRE(wrong_type);
  REQUIRE_FALSE(wrong_type->has_value());
  CHECK(wrong_type->error().message() ==
        "line 3: icap_log.request_logs[0].latency: expected number or numeric string");
  auto last = reader.next(); // no final newline
  REQUIRE(last);
  REQUIRE(last->has_value());
  CHECK(last->value().icap_log.action == icap_action::blocked);
  CHECK_FALSE(reader.next());
}

TEST_CASE("ndjson_reader: an overlong line is an error, the next line still reads") {
  const std::string longline = "{\"host\":\"" + std::string(200, 'a') + "\"}";
  std::istringstream in(longline + "\n{\"icap_log\":{\"action\":\"ICAP_FAILED\"}}\n");
  ndjson_reader reader(in, {.max_line_bytes = 100});
  auto first = reader.next();
  REQUIRE(first);
  REQUIRE_FALSE(first->has_value());
  CHECK(first->error().code == errc::line_too_long);
  CHECK(first->error().line == 1);
  auto second = reader.next();
  REQUIRE(second);
  REQUIRE(second->has_value());
  CHECK(second->value().icap_log.action == icap_action::failed);
}

TEST_CASE("ndjson_reader: empty input and binary garbage") {
  std::istringstream empty("");
  CHECK_FALSE(ndjson_reader(empty).next());
  std::istringstream garbage(std::string("\0\x01\xff{\x80\n", 6));
  ndjson_reader reader(garbage);
  auto bad = reader.next();
  REQUIRE(bad);
  CHECK_FALSE(bad->has_value());
  CHECK_FALSE(reader.next());
}

namespace {
// A stream buffer that fails like libstdc++'s filebuf on a directory: it throws from underflow.
class throwing_buffer final : public std::streambuf {
protected:
  int_type underflow() override { throw std::ios_base::failure("Is a directory"); }
};
} // namespace

TEST_CASE("ndjson_reader: a stream that throws is one io_error, then the end; nothing escapes") {
  throwing_buffer buffer;
  std::istream in(&buffer);
  ndjson_reader reader(in);
  const auto first = reader.next();
  REQUIRE(first);
  REQUIRE_FALSE(first->has_value());
  CHECK(first->error().code == make_error_code(errc::io_error));
  CHECK(first->error().message().find("Is a directory") != std::string::npos);
  CHECK_FALSE(reader.next());
}
