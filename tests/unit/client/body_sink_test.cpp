#include "../net/test_support.hpp"

#include "icapkit/client/body_sink.hpp"

#include <fstream>
#include <sstream>

namespace icapkit::client {

TEST_CASE("string_body_sink keeps bytes up to its limit") {
  string_body_sink sink(8);
  CHECK_FALSE(sink.write("12345"));
  CHECK(sink.write("6789") == std::errc::file_too_large);
  CHECK(sink.data() == "12345");
  CHECK_FALSE(sink.finish());
  CHECK(sink.finished());
}

TEST_CASE("file_body_sink writes pieces to the file and reports errno errors") {
  net::test::temp_dir dir;
  file_body_sink sink;
  REQUIRE_FALSE(sink.open(dir.path("out.bin")));
  CHECK_FALSE(sink.write("abc"));
  CHECK_FALSE(sink.write(std::string(100000, 'z')));
  CHECK_FALSE(sink.finish());
  CHECK(sink.size() == 100003u);
  std::ifstream in(dir.path("out.bin"), std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  CHECK(content.str().size() == 100003u);
  CHECK(content.str().starts_with("abcz"));

  file_body_sink bad;
  CHECK(bad.open(dir.path("missing/dir/out.bin")) == std::errc::no_such_file_or_directory);
  CHECK(bad.write("x"));
}

TEST_CASE("null_body_sink counts") {
  null_body_sink sink;
  CHECK_FALSE(sink.write("abcd"));
  CHECK(sink.size() == 4u);
}

} // namespace icapkit::client
