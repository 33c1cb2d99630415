#include "icapkit/codec/message.hpp"

#include <doctest/doctest.h>

TEST_CASE("trim_ows removes spaces and tabs at both ends only") {
  CHECK(icapkit::codec::trim_ows(" \t a b \t") == "a b");
  CHECK(icapkit::codec::trim_ows("\t\t").empty());
  CHECK(icapkit::codec::trim_ows("x\r") == "x\r"); // CR is not whitespace here
}
