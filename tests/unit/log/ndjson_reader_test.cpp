#include "icapkit/log/ndjson_reader.hpp"

#include "icapkit/log/json_encode.hpp"
#include "sample_records.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

// Every record of `text`, failing the test on an unreadable document.
std::vector<app_log_record> read_all(const std::string& text) {
  std::istringstream in(text);
  ndjson_reader reader(in);
  std::vector<app_log_record> records;
  while (auto next = reader.next()) {
    REQUIRE_MESSAGE(next->has_value(), next->error().message());
    records.push_back(std::move(next->value()));
  }
  return records;
}

} // namespace

TEST_CASE("ndjson_reader: arrays, pretty documents, export pages and NDJSON, mixed") {
  const auto records = test::sample_records();
  REQUIRE(records.size() >= 3);
  auto array = nlohmann::ordered_json::array();
  for (const auto& record : records) {
    array.push_back(to_json(record));
  }
  // `icapkit scan --output json`: one pretty-printed array.
  CHECK(read_all(array.dump(2) + "\n") == records);
  CHECK(read_all(array.dump()) == records);
  // Pretty documents one after another, with tabs and CRLF between them.
  std::string pretty;
  for (const auto& record : records) {
    pretty += to_json(record).dump(4) + "\r\n\t \n";
  }
  CHECK(read_all(pretty) == records);
  // An Avi export page ({"count", "results"}), then NDJSON, then an empty array.
  nlohmann::ordered_json page;
  page["count"] = records.size();
  page["results"] = array;
  auto expected = records;
  expected.insert(expected.end(), records.begin(), records.end());
  CHECK(read_all(page.dump(2) + "\n" + to_json_text(records[0]) + "\n" + to_json_text(records[1]) +
                 "\n" + to_json_text(records[2]) + "\n[]\n") ==
        std::vector<app_log_record>(
            expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(records.size() + 3)));
  CHECK(read_all("\xEF\xBB\xBF" + array.dump(2)) == records);
  CHECK(read_all("[]").empty());
  CHECK(read_all("[\n]\n").empty());
}

TEST_CASE("ndjson_reader: the project's pretty-printed Avi examples read without an error") {
  std::size_t files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(ICAPKIT_TESTDATA_DIR) + "/logs")) {
    if (entry.path().extension() != ".json") {
      continue;
    }
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    CAPTURE(entry.path().string());
    CHECK(read_all(text.str()).size() == 1);
  }
  CHECK(files == 4);
}

TEST_CASE("ndjson_reader: a broken document in an array is named by its line; the rest read") {
  const auto records = test::sample_records();
  const std::string text = "[\n" + to_json_text(records[0]) +
                           ",\n{\"icap_log\": {\"action\": \"ICAP_PASS\n" +
                           to_json_text(records[1]) + ",\n{\n  \"icap_log\": {\n" +
                           "    \"action\": tru\n  }\n},\n" + to_json_text(records[2]) + "\n]\n";
  std::istringstream in(text);
  ndjson_reader reader(in);
  auto first = reader.next();
  REQUIRE(first);
  REQUIRE(first->has_value());
  CHECK(reader.line() == 2);
  auto truncated = reader.next();
  REQUIRE(truncated);
  REQUIRE_FALSE(truncated->has_value());
  CHECK(truncated->error().code == errc::invalid_json);
  CHECK(truncated->error().line == 3);
  auto second = reader.next();
  REQUIRE(second);
  REQUIRE(second->has_value());
  CHECK(second->value() == records[1]);
  CHECK(reader.line() == 4);
  // A bad literal is found by the JSON parser; the line it names is the file's, not the
  // document's.
  auto literal = reader.next();
  REQUIRE(literal);
  REQUIRE_FALSE(literal->has_value());
  CHECK(literal->error().line == 5);
  CAPTURE(literal->error().message());
  CHECK(literal->error().message().starts_with("line 5: invalid JSON at line 7: "));
  auto third = reader.next();
  REQUIRE(third);
  REQUIRE(third->has_value());
  CHECK(third->value() == records[2]);
  CHECK_FALSE(reader.next());
}

TEST_CASE("ndjson_reader: next_document gives other JSON objects to the caller undecoded") {
  std::istringstream in("{\"decision\":\"respond\",\"status\":200}\n[{\"x\":1}]");
  ndjson_reader reader(in);
  auto first = reader.next_document();
  REQUIRE(first);
  REQUIRE(first->has_value());
  CHECK(first->value().at("status") == 200);
  auto second = reader.next_document();
  REQUIRE(second);
  REQUIRE(second->has_value());
  CHECK(second->value().at("x") == 1);
  CHECK(reader.line() == 2);
  CHECK_FALSE(reader.next_document());
}
