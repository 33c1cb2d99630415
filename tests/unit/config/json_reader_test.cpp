#include "icapkit/config/json_reader.hpp"

#include <doctest/doctest.h>

using namespace icapkit::config;
using namespace icapkit::config::detail;

TEST_CASE("json_reader: unread fields are unknown, null counts as absent") {
  const auto doc = nlohmann::json::parse(R"({"a": 1, "b": null, "c": "x", "skip": 2})");
  diagnostics d;
  {
    object_reader r(doc, "top", d);
    std::int64_t a = 0;
    std::string b = "default";
    CHECK(r.get_integer("a", a, 0, 10));
    CHECK(a == 1);
    CHECK_FALSE(r.get_string("b", b));
    CHECK(b == "default");
    r.accept({"skip"});
  }
  REQUIRE(d.unknown_fields().size() == 1);
  CHECK(d.unknown_fields()[0] == "top.c");
  CHECK_FALSE(d.has_errors());
}

TEST_CASE("json_reader: huge and negative integers are range errors with the written value") {
  const auto doc = nlohmann::json::parse(R"({"big": 18446744073709551615, "neg": -5})");
  diagnostics d;
  {
    object_reader r(doc, "", d);
    std::int64_t v = 0;
    CHECK_FALSE(r.get_integer("big", v, 0, 10, "bytes"));
    CHECK_FALSE(r.get_integer("neg", v, 0, 10));
  }
  REQUIRE(d.errors().size() == 2);
  CHECK(d.errors()[0].text() == "big: 18446744073709551615 is out of range 0..10 (bytes)");
  CHECK(d.errors()[1].text() == "neg: -5 is out of range 0..10");
}

TEST_CASE("json_reader: a non-object is a type error and reads find nothing") {
  const auto doc = nlohmann::json::parse(R"([1, 2])");
  diagnostics d;
  object_reader r(doc, "pools[0]", d);
  CHECK_FALSE(r.is_object());
  std::string s;
  CHECK_FALSE(r.get_string("name", s, true));
  REQUIRE(d.errors().size() == 1);
  CHECK(d.errors()[0].text() == "pools[0]: expected an object, got array [1,2]");
}

TEST_CASE("json_reader: paths") {
  CHECK(child_path("", "icap_profile") == "icap_profile");
  CHECK(child_path("pools[1]", "servers") == "pools[1].servers");
  CHECK(index_path("pools", 3) == "pools[3]");
}
