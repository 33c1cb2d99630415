#include "icapkit/log/ndjson_writer.hpp"

#include "icapkit/log/json_decode.hpp"
#include "sample_records.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace icapkit::log;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::filesystem::path temp_file(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              ("icapkit-log-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove(path);
  return path;
}

// Counts flushes so the test can tell a record reached the stream's sink.
class counting_buffer : public std::stringbuf {
public:
  int syncs = 0;

protected:
  int sync() override {
    ++syncs;
    return std::stringbuf::sync();
  }
};

} // namespace

TEST_CASE("ndjson_writer: one JSON object per line, each line reads back") {
  std::ostringstream out;
  ndjson_writer writer(out);
  const auto records = test::sample_records();
  for (const auto& record : records) {
    CHECK_FALSE(writer.write(record));
  }
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == records.size());
  CHECK(out.str().back() == '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto parsed = parse_record(lines[i], i + 1);
    REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
    CHECK(*parsed == records[i]);
  }
}

TEST_CASE("ndjson_writer: flushes after every record") {
  counting_buffer buffer;
  std::ostream out(&buffer);
  ndjson_writer writer(out);
  CHECK_FALSE(writer.write(test::sample_records()[0]));
  CHECK(buffer.syncs == 1);
  CHECK_FALSE(writer.write(test::sample_records()[1]));
  CHECK(buffer.syncs == 2);
}

TEST_CASE("ndjson_writer: uses its layout") {
  std::ostringstream out;
  ndjson_writer writer(out, {.layout = log_layout::legacy});
  CHECK_FALSE(writer.write(test::sample_records()[5]));
  CHECK(out.str().find("\"opswat_log\"") == std::string::npos);
  CHECK(out.str().find("\"reason\":\"Infected\"") != std::string::npos);
}

TEST_CASE("ndjson_writer: a failed stream is reported as io_error") {
  std::ostream broken(nullptr); // no buffer: every write sets badbit
  ndjson_writer writer(broken);
  CHECK(writer.write(test::sample_records()[0]) == errc::io_error);
}

TEST_CASE("ndjson_writer::open appends to a file; a bad path is an error naming it") {
  const auto path = temp_file("append.ndjson");
  for (int round = 0; round < 2; ++round) {
    auto writer = ndjson_writer::open(path);
    REQUIRE(writer.has_value());
    CHECK_FALSE((*writer)->write(test::sample_records()[0]));
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(lines_of(text.str()).size() == 2);
  std::filesystem::remove(path);

  const auto bad = ndjson_writer::open("/nonexistent-dir/x/records.ndjson");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::io_error);
  CHECK(bad.error().message().find("/nonexistent-dir/x/records.ndjson") != std::string::npos);
}

TEST_CASE("ndjson_writer: concurrent writers never interleave lines") {
  std::ostringstream out;
  ndjson_writer writer(out);
  const auto records = test::sample_records();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto record = records[static_cast<std::size_t>(i) % records.size()];
        record.log_id = writer.next_log_id();
        CHECK_FALSE(writer.write(record));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 200);
  std::vector<bool> seen(201, false);
  for (const auto& line : lines) {
    const auto parsed = parse_record(line);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->log_id.has_value());
    REQUIRE(*parsed->log_id <= 200U);
    CHECK_FALSE(seen[*parsed->log_id]);
    seen[*parsed->log_id] = true;
  }
}
