#include "icapkit/codec/body_spool.hpp"

#include <doctest/doctest.h>

#include <array>
#include <string>

namespace icapkit::codec {

namespace {
std::string read_all(codec::body_source& source) {
  std::string out;
  std::array<char, 7> buf{}; // odd size: reads straddle the memory/disk boundary
  for (;;) {
    std::error_code ec;
    const auto n = source.read(buf, ec);
    REQUIRE(!ec);
    if (n == 0) {
      return out;
    }
    out.append(buf.data(), n);
  }
}
} // namespace

TEST_CASE("body_spool keeps small bodies in memory and large ones on disk, byte for byte") {
  body_spool small(64);
  REQUIRE(!small.append("hello "));
  REQUIRE(!small.append("world"));
  CHECK(!small.on_disk());
  CHECK(small.size() == 11);
  auto reader = small.reader();
  CHECK(reader->size() == 11u);
  CHECK(read_all(*reader) == "hello world");

  body_spool large(16);
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const auto piece = "piece-" + std::to_string(i) + ";";
    expected += piece;
    REQUIRE(!large.append(piece));
  }
  CHECK(large.on_disk());
  CHECK(large.size() == expected.size());
  CHECK(read_all(*large.reader()) == expected);
  auto tail = large.reader(expected.size() - 4);
  CHECK(read_all(*tail) == expected.substr(expected.size() - 4));
}

TEST_CASE("body_spool reports a temp dir it cannot use") {
  body_spool spool(4, "/nonexistent-icapkit-dir");
  CHECK(!spool.append("abc"));
  CHECK(spool.append("defgh")); // past the limit: the file cannot be created
  CHECK(spool.append("more"));  // and the failure sticks
}

} // namespace icapkit::codec
