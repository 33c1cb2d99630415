#include "icapkit/codec/errc.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace icapkit::codec;

TEST_CASE("errc: every code has its own name and message, and names round-trip") {
  std::set<std::string> names;
  std::set<std::string> messages;
  for (int value = static_cast<int>(errc::bad_request_line);
       value <= static_cast<int>(errc::body_shorter_than_declared); ++value) {
    std::error_code ec(value, codec_category());
    auto name = errc_name(ec);
    REQUIRE_MESSAGE(!name.empty(), "code " << value << " has no name");
    CHECK(names.insert(std::string(name)).second);
    CHECK(messages.insert(ec.message()).second);
    CHECK(ec.message() != "unknown codec error");
    auto back = errc_from_name(name);
    REQUIRE(back.has_value());
    CHECK(make_error_code(*back) == ec);
  }
  CHECK(names.size() == 47);
}

TEST_CASE("errc: names only for codec errors") {
  CHECK(errc_name(make_error_code(errc::bad_chunk_size)) == "bad_chunk_size");
  CHECK(errc_name(std::make_error_code(std::errc::io_error)).empty());
  CHECK_FALSE(errc_from_name("no_such_code").has_value());
  CHECK(std::string(codec_category().name()) == "icapkit.codec");
}
