#include "icapkit/replay/capture/capture.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace icapkit::replay;

namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("icapkit_capture_test_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

} // namespace

TEST_CASE("capture_error::message names the file, the entry and the byte offset") {
  CHECK(capture_error{"a.har", "entry 3", 2041, "postData.text: expected a string"}.message() ==
        "a.har: entry 3 (byte 2041): postData.text: expected a string");
  CHECK(capture_error{"a.har", "", 17, "syntax error"}.message() == "a.har: byte 17: syntax error");
  CHECK(capture_error{"a.http", "message 2", std::nullopt, "bad"}.message() ==
        "a.http: message 2: bad");
}

TEST_CASE("detect_format looks at the content, not the name") {
  capture_error error;
  CHECK(detect_format(write_temp("har.txt", "\xEF\xBB\xBF  \n{\"log\":{}}"), error) ==
        capture_format::har);
  CHECK(detect_format(write_temp("pcap.har", std::string("\xd4\xc3\xb2\xa1\x02\x00", 6)), error) ==
        capture_format::pcap);
  CHECK(detect_format(write_temp("ng.bin", std::string("\x0a\x0d\x0d\x0a\x1c\x00", 6)), error) ==
        capture_format::pcap);
  CHECK(detect_format(write_temp("raw.pcap", "POST / HTTP/1.1\r\n\r\n"), error) ==
        capture_format::raw_http);
  CHECK(detect_format(write_temp("empty", ""), error) == capture_format::raw_http);
  CHECK_FALSE(detect_format("/nonexistent/icapkit/capture", error));
  CHECK(error.message().find("cannot be opened") != std::string::npos);
}
