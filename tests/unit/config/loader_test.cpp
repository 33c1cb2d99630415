#include "icapkit/config/loader.hpp"

#include "icapkit/config/rule_match.hpp"

#include "config_fixture.hpp"

#include <fstream>

using namespace icapkit::config;
using namespace icapkit::config::test;

namespace {

load_result load_example(const char* name) {
  return load_config_file(std::filesystem::path(ICAPKIT_TESTDATA_DIR) / "profiles" / name);
}

} // namespace

TEST_CASE("loader: opswat.json") {
  const auto r = load_example("opswat.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& c = *r.config;
  CHECK(c.profile.vendor == icap_vendor::opswat);
  CHECK(c.profile.service_uri == "/OMSScanReq-AV");
  CHECK(c.profile.fail_action == icap_fail_action::fail_closed);
  const auto& pool = c.pool_of(c.profile_pool_group().members[0]);
  CHECK(pool.servers[0].host() == "127.0.0.1");
  CHECK(pool.port_of(pool.servers[0]) == 1344);
  CHECK(c.listen->port == 8080);
}

TEST_CASE("loader: nsx-defender.json") {
  const auto r = load_example("nsx-defender.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& p = r.config->profile;
  CHECK(p.vendor == icap_vendor::lastline);
  CHECK(p.service_uri == "/lastline");
  CHECK(p.preview_size == 1000);
  CHECK(expand_status_url(p.nsx_defender_config.status_url, "t-1") ==
        "https://user.lastline.com/portal#/analyst/task/t-1/overview");
}

TEST_CASE("loader: generic.json") {
  const auto r = load_example("generic.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  CHECK(r.config->profile.vendor == icap_vendor::generic);
  CHECK(r.config->profile.service_uri == "/avscan");
  CHECK(r.config->pools[0].servers[0].host() == "localhost");
  CHECK(r.config->pools[0].algorithm == lb_algorithm::round_robin);
}

TEST_CASE("loader: pool-group-two-priorities.json") {
  const auto r = load_example("pool-group-two-priorities.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& c = *r.config;
  const auto& members = c.profile_pool_group().members;
  REQUIRE(members.size() == 2);
  CHECK(c.pool_of(members[0]).name == "backup");
  CHECK(members[0].priority == 5);
  CHECK(c.pool_of(members[1]).name == "primary");
  CHECK(members[1].priority == 10);
  CHECK(c.pool_of(members[1]).servers[1].ratio == 2);

  auto upload = http_request_view::from_target("POST", "/upload/report.pdf");
  CHECK(select_rule(*c.security_policy, upload)->action == security_action::request_check_icap);
  auto get = http_request_view::from_target("GET", "/upload/report.pdf");
  CHECK(select_rule(*c.security_policy, get)->name == "allow-everything-else");
}

TEST_CASE("loader: avi-export.json loads as exported, with exactly one warning") {
  const auto r = load_example("avi-export.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  REQUIRE(r.warnings.size() == 1);
  const auto& w = r.warnings[0].message;
  CHECK(w.starts_with("unknown fields ignored: "));
  for (const char* path :
       {"icap_profile[0]._last_modified", "icap_profile[0].url", "pool_groups[0].tenant_ref",
        "pool_groups[0].min_servers", "pools[0].url", "pools[0].servers[0].verify_network"}) {
    CHECK_MESSAGE(w.find(path) != std::string::npos, path);
  }
  CHECK(std::find(r.unknown_fields.begin(), r.unknown_fields.end(), "pools[0]._last_modified") !=
        r.unknown_fields.end());
  const auto& c = *r.config;
  CHECK(c.profile.name == "ICAP-APPX");
  CHECK(c.profile_pool_group().uuid == "poolgroup-c7dd3b93-60c1-4190-b6d6-26c22d55dc30");
  CHECK(c.pool_of(c.profile_pool_group().members[0]).name == "ICAP-POOL");
  CHECK(c.security_policy->rules[0].name == "ICAP-Scan-Uploads");
}

TEST_CASE("loader: unknown fields anywhere are one warning listing every path") {
  auto doc = minimal_doc();
  doc["extra"] = 1;
  doc["icap_profile"]["typo_preview_size"] = 10;
  doc["pools"][0]["servers"][0]["weight"] = 2;
  const auto r = load(doc);
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].text() ==
        "unknown fields ignored: icap_profile.typo_preview_size, pools[0].servers[0].weight, "
        "extra");
  CHECK(r.unknown_fields.size() == 3);
}

TEST_CASE("loader: every ref form resolves") {
  for (const char* ref : {"g", "/api/poolgroup?name=g", "/api/poolgroup/?name=g&tenant=admin",
                          "https://ctrl/api/poolgroup/poolgroup-1#g", "/api/poolgroup/poolgroup-1",
                          "https://ctrl/api/poolgroup/poolgroup-1#renamed"}) {
    auto doc = minimal_doc();
    doc["pool_groups"][0]["uuid"] = "poolgroup-1";
    doc["icap_profile"]["pool_group_ref"] = ref;
    const auto r = load(doc);
    CHECK_MESSAGE(r.ok(), ref << ": " << all_errors(r));
  }
  for (const char* ref :
       {"pool", "/api/pool?name=pool", "https://ctrl/api/pool/pool-7#pool", "/api/pool/pool-7"}) {
    auto doc = minimal_doc();
    doc["pools"][0]["uuid"] = "pool-7";
    doc["pool_groups"][0]["members"][0]["pool_ref"] = ref;
    CHECK_MESSAGE(load(doc).ok(), ref);
  }
}

TEST_CASE("loader: dangling and mistyped refs name the field and the missing object") {
  auto doc = minimal_doc();
  doc["icap_profile"]["pool_group_ref"] = "/api/poolgroup?name=missing";
  CHECK(has_error(load(doc), "icap_profile.pool_group_ref: no pool group with name \"missing\" "
                             "(defined: \"g\")"));
  doc["icap_profile"]["pool_group_ref"] = "https://c/api/poolgroup/poolgroup-9#gone";
  CHECK(has_error(load(doc), "icap_profile.pool_group_ref: no pool group with name \"gone\" or "
                             "uuid \"poolgroup-9\" (defined: \"g\")"));
  doc["icap_profile"]["pool_group_ref"] = "/api/pool?name=pool";
  CHECK(has_error(load(doc), "icap_profile.pool_group_ref: \"/api/pool?name=pool\" refers to a "
                             "pool, expected a poolgroup"));
  doc = minimal_doc();
  doc["pool_groups"][0]["members"][0]["pool_ref"] = "/api/pool/pool-404";
  CHECK(has_error(load(doc), "pool_groups[0].members[0].pool_ref: no pool with uuid "
                             "\"pool-404\" (defined: \"pool\")"));
}

TEST_CASE("loader: structure errors") {
  auto doc = minimal_doc();
  doc["pools"].push_back(doc["pools"][0]);
  CHECK(has_error(load(doc), "pools[1].name: \"pool\" is defined twice; refs by name would be "
                             "ambiguous"));
  doc = minimal_doc();
  doc["pool_groups"][0]["members"] = nlohmann::json::array();
  CHECK(has_error(load(doc), "icap_profile.pool_group_ref: pool group \"g\" has no members; ICAP "
                             "needs at least one pool"));
  doc = minimal_doc();
  doc.erase("icap_profile");
  CHECK(has_error(load(doc), "icap_profile: required field is missing"));
  doc = minimal_doc();
  doc["pools"] = {{"name", "x"}};
  CHECK(has_error(load(doc), "pools: expected an array, got object {\"name\":\"x\"}"));
  CHECK(has_error(load_config("[]"), "expected an object, got array []"));
}

TEST_CASE("loader: icap_profile as an array of one") {
  auto doc = minimal_doc();
  doc["icap_profile"] = nlohmann::json::array({doc["icap_profile"]});
  CHECK(load(doc).ok());
  doc["icap_profile"][0]["preview_size"] = 5001;
  CHECK(has_error(load(doc), "icap_profile[0].preview_size: 5001 is out of range 0..5000 (bytes)"));
  doc["icap_profile"].push_back(doc["icap_profile"][0]);
  CHECK(has_error(load(doc), "icap_profile: expected one profile, got 2 (a virtual service takes "
                             "at most one)"));
}

TEST_CASE("loader: malformed JSON gives line and column, never throws") {
  const auto r = load_config("{\n  \"icap_profile\": {\n    \"name\": \"p\",,\n  }\n}");
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.ok());
  CHECK_MESSAGE(r.errors[0].message.starts_with("malformed JSON at line 3, column 17: "),
                r.errors[0].message);
  CHECK(load_config("").errors[0].message.starts_with("malformed JSON at line 1, column 1"));
  CHECK(load_config("{\"a\": tru}").errors.size() == 1);
  CHECK(load_config(std::string("{\"a\": \"\xff\"}")).errors.size() == 1);
}

TEST_CASE("loader: missing file") {
  const auto r = load_config_file("/nonexistent/icapkit.json");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message == "cannot open /nonexistent/icapkit.json");
}

TEST_CASE("loader: relative TLS files are relative to the config file") {
  const auto r = load_example("opswat.json");
  REQUIRE(r.ok());
  auto doc = minimal_doc();
  doc["pools"][0]["icapkit_tls"] = {
      {"ca_file", "certs/ca.pem"}, {"cert_file", "/abs/c.pem"}, {"key_file", "k.pem"}};
  const auto dir = std::filesystem::temp_directory_path() / "icapkit-config-test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "tls.json";
  {
    std::ofstream out(file);
    out << doc.dump();
  }
  const auto loaded = load_config_file(file);
  std::filesystem::remove_all(dir);
  REQUIRE_MESSAGE(loaded.ok(), all_errors(loaded));
  const auto& tls = loaded.config->pools[0].tls;
  CHECK(tls.ca_file == (dir / "certs/ca.pem").string());
  CHECK(tls.cert_file == "/abs/c.pem");
  CHECK(tls.key_file == (dir / "k.pem").string());
}

TEST_CASE("loader: health-monitor-and-downloads.json") {
  const auto r = load_example("health-monitor-and-downloads.json");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& c = *r.config;
  REQUIRE(c.health_monitors.size() == 2);
  const auto primary = c.monitors_of(c.pools[0]);
  REQUIRE(primary.size() == 1);
  CHECK(primary[0]->name == "icap-options");
  CHECK(primary[0]->send_interval == 5);
  CHECK(primary[0]->successful_checks == 3);
  const auto backup = c.monitors_of(c.pools[1]);
  REQUIRE(backup.size() == 1);
  CHECK(backup[0]->name == "System-TCP");
  CHECK(backup[0]->system_defined);
  REQUIRE(c.response_profile.has_value());
  CHECK(c.response_profile->name == "scan-downloads");
  CHECK(c.response_profile->service_uri == "/OMSScanResp-AV");
  CHECK(c.response_profile->fail_action == icap_fail_action::fail_open);
  CHECK(c.pool_group_of(*c.response_profile).name == "av-servers");
}

TEST_CASE("loader: icap_response_profile is optional, read and resolved like icap_profile") {
  auto doc = minimal_doc();
  CHECK_FALSE(load(doc).config->response_profile.has_value());
  doc["pool_groups"].push_back({{"name", "downloads"}, {"members", {{{"pool_ref", "pool"}}}}});
  doc["icap_response_profile"] = {{"name", "resp"},
                                  {"pool_group_ref", "/api/poolgroup?name=downloads"},
                                  {"service_uri", "/resp"},
                                  {"vendor", "ICAP_VENDOR_GENERIC"}};
  auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  const auto& c = *r.config;
  REQUIRE(c.response_profile.has_value());
  CHECK(c.response_profile->vendor == icap_vendor::generic);
  CHECK(c.response_profile->preview_size == 5000); // IcapProfile defaults apply
  CHECK(c.response_profile->pool_group_index == 1);
  CHECK(c.profile.pool_group_index == 0);
  CHECK(c.pool_group_of(*c.response_profile).name == "downloads");

  doc["icap_response_profile"]["pool_group_ref"] = "nowhere";
  CHECK(has_error(load(doc), "icap_response_profile.pool_group_ref: no pool group with name "
                             "\"nowhere\" (defined: \"g\", \"downloads\")"));
  doc["icap_response_profile"]["pool_group_ref"] = "downloads";
  doc["icap_response_profile"]["preview_size"] = 6000;
  CHECK(has_error(load(doc),
                  "icap_response_profile.preview_size: 6000 is out of range 0..5000 (bytes)"));
  doc["icap_response_profile"].erase("preview_size");
  doc["icap_response_profile"].erase("service_uri");
  doc["icap_response_profile"]["typo"] = 1;
  r = load(doc);
  CHECK(has_error(r, "icap_response_profile.service_uri: required field is missing"));
  CHECK(std::find(r.unknown_fields.begin(), r.unknown_fields.end(), "icap_response_profile.typo") !=
        r.unknown_fields.end());
  doc["icap_response_profile"] = nlohmann::json::array(
      {{{"name", "resp"}, {"pool_group_ref", "g"}, {"service_uri", "/resp"}}});
  r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.config->response_profile->service_uri == "/resp");
}
