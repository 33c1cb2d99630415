// Records written by the writer validate against schema/icap_log_record.schema.json, checked by
// tests/integration/schema/validate_records.py with Debian's /usr/bin/python3 and
// python3-jsonschema.
#include "icapkit/log/ndjson_writer.hpp"

#include "sample_records.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace icapkit::log;

namespace {

const std::string source_dir = ICAPKIT_SOURCE_DIR;
const std::string python = "/usr/bin/python3";

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("icapkit-schema-" + std::to_string(::getpid()) + "-" + name);
}

struct run_result {
  int exit_code = -1;
  std::string output;
};

// Runs the checker on `ndjson_text`; its output is captured for the failure message.
run_result validate(const std::string& ndjson_text, const std::string& name) {
  const auto records = temp_path(name + ".ndjson");
  const auto output = temp_path(name + ".out");
  {
    std::ofstream out(records, std::ios::binary);
    out << ndjson_text;
  }
  const std::string command = python + " '" + source_dir +
                              "/tests/integration/schema/validate_records.py' '" + source_dir +
                              "/schema/icap_log_record.schema.json' '" + records.string() + "' >'" +
                              output.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  run_result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  std::filesystem::remove(records);
  std::filesystem::remove(output);
  return result;
}

std::string write_all(const write_options& options) {
  std::ostringstream out;
  ndjson_writer writer(out, options);
  for (const auto& record : test::sample_records()) {
    REQUIRE_FALSE(writer.write(record));
  }
  return out.str();
}

} // namespace

TEST_CASE("schema: /usr/bin/python3 has jsonschema (scripts/deps installs python3-jsonschema)") {
  const int status = std::system((python + " -c 'import jsonschema' >/dev/null 2>&1").c_str());
  REQUIRE_MESSAGE(status == 0, "/usr/bin/python3 cannot import jsonschema: run scripts/deps "
                               "(apt-get install python3-jsonschema); schema tests cannot run");
}

TEST_CASE("schema: records in the current layout validate") {
  const auto result = validate(write_all({}), "current");
  CHECK_MESSAGE(result.exit_code == 0, result.output);
}

TEST_CASE("schema: records in the legacy layout and proto-JSON forms validate") {
  const auto legacy = validate(
      write_all(
          {.layout = log_layout::legacy, .int64_as_string = true, .pool_name_with_crc32 = true}),
      "legacy");
  CHECK_MESSAGE(legacy.exit_code == 0, legacy.output);
  const auto strings = validate(write_all({.int64_as_string = true}), "strings");
  CHECK_MESSAGE(strings.exit_code == 0, strings.output);
}

TEST_CASE("schema: a wrong enum value is rejected, with its line number") {
  auto text = write_all({});
  const auto at = text.find("\"ICAP_BLOCKED\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 14, "\"ICAP_REJECTED\"");
  const auto result = validate(text, "bad-enum");
  CHECK(result.exit_code == 1);
  CHECK_MESSAGE(result.output.find("line 4:") != std::string::npos, result.output);
}

TEST_CASE("schema: other defects are rejected too") {
  const std::string good =
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,)"
      R"("source":"scan","significant":false,"icap_log":{"action":"ICAP_PASSED"}})";
  CHECK(validate(good + "\n", "good").exit_code == 0);
  const std::string defects[] = {
      // a misspelt member
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"scan","significant":false,"icap_log":{"action":"ICAP_PASSED","request_log":[]}})",
      // a required member missing
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"scan","icap_log":{"action":"ICAP_PASSED"}})",
      // icap_server_ip as a dotted string
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"scan","significant":false,"icap_log":{"action":"ICAP_PASSED","request_logs":[{"action":"ICAP_PASSED","icap_server_ip":"100.64.3.15"}]}})",
      // legacy and current members mixed in one request log
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"scan","significant":false,"icap_log":{"action":"ICAP_BLOCKED","request_logs":[{"action":"ICAP_BLOCKED","vendor":"ICAP_VENDOR_OPSWAT","reason":"Infected"}]}})",
      // an upstream object with a misspelt member, or without attempts
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"proxy","significant":false,"icap_log":{"action":"ICAP_DISABLED"},"upstream":{"attempts":2,"retry":["x"]}})",
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"proxy","significant":false,"icap_log":{"action":"ICAP_DISABLED"},"upstream":{"error":"x"}})",
      // a significance code that is not an ICAP one
      R"({"report_timestamp":"2024-03-26T10:00:00.000Z","log_id":1,"source":"scan","significant":true,"significant_log":["ADF_ICAP_BLOCKD"],"icap_log":{"action":"ICAP_BLOCKED"}})",
  };
  for (const auto& defect : defects) {
    CAPTURE(defect);
    CHECK(validate(defect + "\n", "defect").exit_code == 1);
  }
}

TEST_CASE("schema: an empty file fails, so a writer that wrote nothing cannot pass") {
  CHECK(validate("", "empty").exit_code == 1);
}
