#include "icapkit/config/diagnostics.hpp"

#include <doctest/doctest.h>

using namespace icapkit::config;

TEST_CASE("diagnostics: text joins path and message") {
  CHECK(diagnostic{"a.b", "bad"}.text() == "a.b: bad");
  CHECK(diagnostic{"", "malformed"}.text() == "malformed");
}

TEST_CASE("diagnostics: unknown fields become one warning listing every path") {
  diagnostics d;
  d.add_unknown_fields_warning();
  CHECK(d.warnings().empty());
  d.unknown_field("pools[0].url");
  d.unknown_field("_last_modified");
  d.warning("x", "other");
  d.add_unknown_fields_warning();
  REQUIRE(d.warnings().size() == 2);
  CHECK(d.warnings()[1].text() == "unknown fields ignored: pools[0].url, _last_modified");
  CHECK(d.unknown_fields().size() == 2);
  CHECK_FALSE(d.has_errors());
  d.error("y", "bad");
  CHECK(d.has_errors());
}
