#include "icapkit/config/pool_group.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

TEST_CASE("pool_group: member defaults and priority labels") {
  auto doc = minimal_doc();
  auto r = load(doc);
  REQUIRE(r.ok());
  const auto& m = r.config->pool_groups[0].members[0];
  CHECK(m.ratio == 1);
  CHECK(m.priority_label.empty());
  CHECK(m.priority == 0);
  CHECK(&r.config->pool_of(m) == &r.config->pools[0]);

  doc["pool_groups"][0]["members"][0]["priority_label"] = "20";
  r = load(doc);
  CHECK(r.config->pool_groups[0].members[0].priority == 20);
  CHECK(r.config->pool_groups[0].members[0].priority_label == "20");
}

TEST_CASE("pool_group: priority_label must be digits") {
  auto doc = minimal_doc();
  for (const char* bad : {"high", "", "-1", "10a"}) {
    doc["pool_groups"][0]["members"][0]["priority_label"] = bad;
    CHECK(has_error(load(doc), std::string("pool_groups[0].members[0].priority_label: \"") + bad +
                                   "\" is not a number (digits only; higher = preferred)"));
  }
}

TEST_CASE("pool_group: member ratio is Avi's 0..1000") {
  check_range(minimal_doc(), "/pool_groups/0/members/0/ratio", "pool_groups[0].members[0].ratio", 0,
              1000, "");
}

TEST_CASE("pool_group: pool_ref is required, name too") {
  auto doc = minimal_doc();
  doc["pool_groups"][0]["members"][0].erase("pool_ref");
  doc["pool_groups"][0].erase("name");
  const auto r = load(doc);
  CHECK(has_error(r, "pool_groups[0].members[0].pool_ref: required field is missing"));
  CHECK(has_error(r, "pool_groups[0].name: required field is missing"));
}
