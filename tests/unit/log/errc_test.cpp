#include "icapkit/log/errc.hpp"

#include <doctest/doctest.h>

using icapkit::log::errc;

TEST_CASE("log errc: codes belong to the icapkit.log category and have messages") {
  const std::error_code ec = errc::wrong_type;
  CHECK(ec.category().name() == std::string("icapkit.log"));
  CHECK(ec.message() == "wrong JSON type");
  CHECK(std::error_code(errc::invalid_json).message() == "invalid JSON");
  CHECK(std::error_code(errc::io_error).message() == "I/O error");
  CHECK(ec != std::error_code(errc::unknown_enum_value));
}
