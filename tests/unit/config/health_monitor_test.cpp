#include "icapkit/config/health_monitor.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

namespace {

// minimal_doc() with one monitor "hm" that the pool refers to by `ref`.
nlohmann::json doc_with_monitor(const std::string& ref = "hm") {
  auto doc = minimal_doc();
  doc["health_monitors"] = nlohmann::json::array({{{"name", "hm"}}});
  doc["pools"][0]["health_monitor_refs"] = {ref};
  return doc;
}

} // namespace

TEST_CASE("health_monitor: Avi defaults") {
  const auto r = load(doc_with_monitor());
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  REQUIRE(r.config->health_monitors.size() == 1);
  const auto& m = r.config->health_monitors[0];
  CHECK(m.name == "hm");
  CHECK(m.type.empty());
  CHECK(m.send_interval == 10);
  CHECK(m.receive_timeout == 4);
  CHECK(m.successful_checks == 2);
  CHECK(m.failed_checks == 2);
  CHECK_FALSE(m.system_defined);
}

TEST_CASE("health_monitor: every field read") {
  auto doc = doc_with_monitor();
  doc["health_monitors"][0] = nlohmann::json::parse(R"({
    "name": "hm", "uuid": "healthmonitor-1", "type": "HEALTH_MONITOR_HTTP", "send_interval": 30,
    "receive_timeout": 29, "successful_checks": 5, "failed_checks": 7, "description": "d",
    "tenant_ref": "/api/tenant?name=admin"})");
  const auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& m = r.config->health_monitors[0];
  CHECK(m.uuid == "healthmonitor-1");
  CHECK(m.type == "HEALTH_MONITOR_HTTP");
  CHECK(m.send_interval == 30);
  CHECK(m.receive_timeout == 29);
  CHECK(m.successful_checks == 5);
  CHECK(m.failed_checks == 7);
  CHECK(m.description == "d");
}

TEST_CASE("health_monitor: ranges") {
  auto doc = doc_with_monitor();
  // send_interval is 1..3600, but receive_timeout (at least 1) must be less than it, so the
  // smallest interval that loads is 2 and 1 is refused for that reason, not as out of range.
  doc["health_monitors"][0]["receive_timeout"] = 1;
  for (const int ok : {2, 3600}) {
    doc["health_monitors"][0]["send_interval"] = ok;
    CHECK_MESSAGE(load(doc).ok(), ok);
  }
  for (const int bad : {0, 3601}) {
    doc["health_monitors"][0]["send_interval"] = bad;
    CHECK(has_error(load(doc), "health_monitors[0].send_interval: " + std::to_string(bad) +
                                   " is out of range 1..3600 (seconds)"));
  }
  doc["health_monitors"][0]["send_interval"] = 1;
  CHECK(has_error(load(doc), "health_monitors[0].receive_timeout: 1 is not less than "
                             "send_interval 1 (seconds); Avi requires receive_timeout < "
                             "send_interval"));
  doc["health_monitors"][0]["send_interval"] = 3600;
  check_range(doc, "/health_monitors/0/receive_timeout", "health_monitors[0].receive_timeout", 1,
              2400, "seconds");
  check_range(doc, "/health_monitors/0/successful_checks", "health_monitors[0].successful_checks",
              1, 50, "");
  check_range(doc, "/health_monitors/0/failed_checks", "health_monitors[0].failed_checks", 1, 50,
              "");
}

TEST_CASE("health_monitor: receive_timeout must be less than send_interval") {
  auto doc = doc_with_monitor();
  doc["health_monitors"][0]["send_interval"] = 5;
  doc["health_monitors"][0]["receive_timeout"] = 5;
  auto r = load(doc);
  CHECK_FALSE(r.ok());
  CHECK_MESSAGE(has_error(r, "health_monitors[0].receive_timeout: 5 is not less than "
                             "send_interval 5 (seconds); Avi requires receive_timeout < "
                             "send_interval"),
                all_errors(r));
  // Against the default send_interval (10) too.
  doc["health_monitors"][0].erase("send_interval");
  doc["health_monitors"][0]["receive_timeout"] = 12;
  CHECK(has_error(load(doc), "health_monitors[0].receive_timeout: 12 is not less than "
                             "send_interval 10 (seconds); Avi requires receive_timeout < "
                             "send_interval"));
  // An out-of-range value is one error, not two.
  doc["health_monitors"][0]["receive_timeout"] = 5000;
  r = load(doc);
  CHECK(r.errors.size() == 1);
}

TEST_CASE("health_monitor: type is any HEALTH_MONITOR_* and kept") {
  auto doc = doc_with_monitor();
  for (const char* type : {"HEALTH_MONITOR_TCP", "HEALTH_MONITOR_PING", "HEALTH_MONITOR_EXTERNAL",
                           "HEALTH_MONITOR_SOMETHING_NEWER"}) {
    doc["health_monitors"][0]["type"] = type;
    const auto r = load(doc);
    REQUIRE_MESSAGE(r.ok(), all_errors(r));
    CHECK(r.config->health_monitors[0].type == type);
  }
  doc["health_monitors"][0]["type"] = "TCP";
  CHECK(has_error(load(doc), "health_monitors[0].type: \"TCP\" is not an Avi monitor type "
                             "(HEALTH_MONITOR_TCP, ...)"));
}

TEST_CASE("health_monitor: required name, unique names, unknown fields warned") {
  auto doc = doc_with_monitor();
  doc["health_monitors"][0].erase("name");
  CHECK(has_error(load(doc), "health_monitors[0].name: required field is missing"));
  doc = doc_with_monitor();
  doc["health_monitors"].push_back(doc["health_monitors"][0]);
  CHECK(has_error(load(doc), "health_monitors[1].name: \"hm\" is defined twice; refs by name "
                             "would be ambiguous"));
  doc = doc_with_monitor();
  doc["health_monitors"][0]["http_monitor"] = {{"http_request", "GET / HTTP/1.0"}};
  const auto r = load(doc);
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].text() == "unknown fields ignored: health_monitors[0].http_monitor");
}

TEST_CASE("health_monitor: pool refs resolve to indices, in every ref form") {
  for (const char* ref :
       {"hm", "/api/healthmonitor?name=hm", "https://ctrl/api/healthmonitor/healthmonitor-3#hm",
        "/api/healthmonitor/healthmonitor-3"}) {
    auto doc = doc_with_monitor(ref);
    doc["health_monitors"].insert(doc["health_monitors"].begin(),
                                  nlohmann::json::object({{"name", "other"}}));
    doc["health_monitors"][1]["uuid"] = "healthmonitor-3";
    const auto r = load(doc);
    REQUIRE_MESSAGE(r.ok(), ref << ": " << all_errors(r));
    const auto& pool = r.config->pools[0];
    REQUIRE(pool.health_monitor_indices.size() == 1);
    CHECK(pool.health_monitor_indices[0] == 1);
    const auto monitors = r.config->monitors_of(pool);
    REQUIRE(monitors.size() == 1);
    CHECK(monitors[0]->name == "hm");
  }
  const auto r = load(minimal_doc());
  REQUIRE(r.ok());
  CHECK(r.config->pools[0].health_monitor_indices.empty());
}

TEST_CASE("health_monitor: dangling and mistyped refs name the field") {
  auto doc = doc_with_monitor("/api/healthmonitor?name=missing");
  CHECK(has_error(load(doc), "pools[0].health_monitor_refs[0]: no health monitor with name "
                             "\"missing\" (defined: \"hm\")"));
  doc = doc_with_monitor("/api/pool?name=hm");
  CHECK(has_error(load(doc), "pools[0].health_monitor_refs[0]: \"/api/pool?name=hm\" refers to a "
                             "pool, expected a healthmonitor"));
  doc = minimal_doc();
  doc["pools"][0]["health_monitor_refs"] = {"hm"};
  CHECK(has_error(load(doc),
                  "pools[0].health_monitor_refs[0]: no health monitor with name \"hm\" (defined: "
                  "none)"));
}

TEST_CASE("health_monitor: Avi's built-in System-* monitors need no definition") {
  auto doc = minimal_doc();
  doc["pools"][0]["health_monitor_refs"] = {
      "https://ctrl/api/healthmonitor/healthmonitor-9#System-TCP", "System-HTTP"};
  doc["pools"].push_back({{"name", "second"},
                          {"servers", {{{"hostname", "localhost"}}}},
                          {"health_monitor_refs", {"/api/healthmonitor?name=System-TCP"}}});
  const auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& c = *r.config;
  REQUIRE(c.health_monitors.size() == 2);
  CHECK(c.health_monitors[0].name == "System-TCP");
  CHECK(c.health_monitors[0].uuid == "healthmonitor-9");
  CHECK(c.health_monitors[0].type == "HEALTH_MONITOR_TCP");
  CHECK(c.health_monitors[0].system_defined);
  CHECK(c.health_monitors[0].send_interval == 10);
  CHECK(c.health_monitors[1].type == "HEALTH_MONITOR_HTTP");
  CHECK(c.pools[0].health_monitor_indices == std::vector<std::size_t>{0, 1});
  CHECK(c.pools[1].health_monitor_indices == std::vector<std::size_t>{0}); // the same one

  // A System-* monitor defined in the file is used as defined.
  doc["health_monitors"] = {{{"name", "System-TCP"}, {"send_interval", 3}, {"receive_timeout", 1}}};
  const auto defined = load(doc);
  REQUIRE_MESSAGE(defined.ok(), all_errors(defined));
  CHECK(defined.config->health_monitors[0].send_interval == 3);
  CHECK_FALSE(defined.config->health_monitors[0].system_defined);
  CHECK(defined.config->health_monitors.size() == 2); // System-HTTP added
}

TEST_CASE("health_monitor: system_health_monitor") {
  CHECK(detail::system_health_monitor("System-Xternal-Perl")->type ==
        "HEALTH_MONITOR_XTERNAL_PERL");
  CHECK_FALSE(detail::system_health_monitor("System-").has_value());
  CHECK_FALSE(detail::system_health_monitor("my-monitor").has_value());
}
