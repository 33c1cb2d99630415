#include "icapkit/config/icap_profile.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

TEST_CASE("icap_profile: every default equals Avi's IcapProfile default") {
  const auto r = load(minimal_doc());
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const auto& p = r.config->profile;
  CHECK(p.vendor == icap_vendor::opswat);
  CHECK(p.allow_204);
  CHECK(p.enable_preview);
  CHECK(p.preview_size == 5000);
  CHECK(p.buffer_size == 51200);
  CHECK(p.buffer_size_bytes() == 51200ULL * 1024);
  CHECK(p.buffer_size_exceed_action == icap_fail_action::fail_open);
  CHECK(p.fail_action == icap_fail_action::fail_open);
  CHECK(p.response_timeout == 60000);
  CHECK(p.slow_response_warning_threshold == 10000);
  CHECK(p.nsx_defender_config.status_url ==
        "https://user.lastline.com/portal#/analyst/task/$uuid/overview");
  CHECK(to_string(p.vendor) == "ICAP_VENDOR_OPSWAT");
  CHECK(to_string(p.fail_action) == "ICAP_FAIL_OPEN");
}

TEST_CASE("icap_profile: range boundaries are Avi's, with the unit in the message") {
  const auto doc = minimal_doc();
  check_range(doc, "/icap_profile/preview_size", "icap_profile.preview_size", 0, 5000, "bytes");
  check_range(doc, "/icap_profile/buffer_size", "icap_profile.buffer_size", 1, 51200, "KB");
  check_range(doc, "/icap_profile/response_timeout", "icap_profile.response_timeout", 50, 3600000,
              "milliseconds");
  check_range(doc, "/icap_profile/slow_response_warning_threshold",
              "icap_profile.slow_response_warning_threshold", 50, 3600000, "milliseconds");
}

TEST_CASE("icap_profile: the brief's example message, word for word") {
  auto doc = minimal_doc();
  doc["icap_profile"]["preview_size"] = 6000;
  CHECK(has_error(load(doc), "icap_profile.preview_size: 6000 is out of range 0..5000 (bytes)"));
}

TEST_CASE("icap_profile: enum refusals list the allowed values") {
  auto doc = minimal_doc();
  doc["icap_profile"]["vendor"] = "ICAP_VENDOR_CLAMAV";
  doc["icap_profile"]["fail_action"] = "ICAP_FAIL_SOMETIMES";
  doc["icap_profile"]["buffer_size_exceed_action"] = "open";
  const auto r = load(doc);
  CHECK(has_error(r, "icap_profile.vendor: \"ICAP_VENDOR_CLAMAV\" is not one of "
                     "ICAP_VENDOR_GENERIC, ICAP_VENDOR_OPSWAT, ICAP_VENDOR_LASTLINE"));
  CHECK(has_error(r, "icap_profile.fail_action: \"ICAP_FAIL_SOMETIMES\" is not one of "
                     "ICAP_FAIL_OPEN, ICAP_FAIL_CLOSED"));
  CHECK(has_error(r, "icap_profile.buffer_size_exceed_action: \"open\" is not one of "
                     "ICAP_FAIL_OPEN, ICAP_FAIL_CLOSED"));
}

TEST_CASE("icap_profile: wrong JSON types are named with the field and the value") {
  auto doc = minimal_doc();
  doc["icap_profile"]["preview_size"] = "5000";
  doc["icap_profile"]["allow_204"] = "yes";
  doc["icap_profile"]["response_timeout"] = 1.5;
  doc["icap_profile"]["name"] = 7;
  const auto r = load(doc);
  CHECK(has_error(r, "icap_profile.preview_size: expected an integer, got string \"5000\""));
  CHECK(has_error(r, "icap_profile.allow_204: expected true or false, got string \"yes\""));
  CHECK(has_error(r, "icap_profile.response_timeout: expected an integer, got number 1.5"));
  CHECK(has_error(r, "icap_profile.name: expected a string, got integer 7"));
}

TEST_CASE("icap_profile: required fields") {
  for (const char* field : {"name", "pool_group_ref", "service_uri"}) {
    auto doc = minimal_doc();
    doc["icap_profile"].erase(field);
    CHECK(
        has_error(load(doc), std::string("icap_profile.") + field + ": required field is missing"));
  }
}

TEST_CASE("icap_profile: service_uri is a path and query, not a URL") {
  auto doc = minimal_doc();
  doc["icap_profile"]["service_uri"] = "/avscan?mode=fast";
  CHECK(load(doc).ok());
  doc["icap_profile"]["service_uri"] = "icap://127.0.0.1:1344/avscan";
  const auto r = load(doc);
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].path == "icap_profile.service_uri");
  CHECK(r.errors[0].message.find("host and port come from the pool") != std::string::npos);
  doc["icap_profile"]["service_uri"] = "avscan";
  CHECK(has_error(load(doc), "icap_profile.service_uri: \"avscan\" must start with '/'"));
  doc["icap_profile"]["service_uri"] = "/av scan";
  CHECK_FALSE(load(doc).ok());
}

TEST_CASE("icap_profile: LASTLINE preview below 10 bytes is a warning, not a refusal") {
  auto doc = minimal_doc();
  doc["icap_profile"]["vendor"] = "ICAP_VENDOR_LASTLINE";
  doc["icap_profile"]["preview_size"] = 9;
  auto r = load(doc);
  REQUIRE(r.ok());
  CHECK(has_warning(r, "icap_profile.preview_size: 9 is below the minimum of 10 bytes for "
                       "ICAP_VENDOR_LASTLINE (recommended: 1000)"));
  doc["icap_profile"]["preview_size"] = 10;
  CHECK(load(doc).warnings.empty());
  doc["icap_profile"]["preview_size"] = 0;
  doc["icap_profile"]["enable_preview"] = false; // no preview is sent, so nothing to warn about
  CHECK(load(doc).warnings.empty());
  doc["icap_profile"]["vendor"] = "ICAP_VENDOR_OPSWAT";
  doc["icap_profile"]["enable_preview"] = true;
  CHECK(load(doc).warnings.empty());
}

TEST_CASE("icap_profile: optional Avi fields are accepted and kept") {
  auto doc = minimal_doc();
  doc["icap_profile"]["description"] = "d";
  doc["icap_profile"]["uuid"] = "icapprofile-1";
  doc["icap_profile"]["cloud_ref"] = "/api/cloud?name=Default-Cloud";
  doc["icap_profile"]["tenant_ref"] = "/api/tenant?name=admin";
  doc["icap_profile"]["nsx_defender_config"] = {{"status_url", "https://x/$uuid"}};
  const auto r = load(doc);
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  CHECK(r.config->profile.uuid == "icapprofile-1");
  CHECK(r.config->profile.cloud_ref == "/api/cloud?name=Default-Cloud");
  CHECK(r.config->profile.nsx_defender_config.status_url == "https://x/$uuid");
}

TEST_CASE("icap_profile: expand_status_url replaces every $uuid") {
  CHECK(expand_status_url(icap_nsx_defender_config::default_status_url, "abc123") ==
        "https://user.lastline.com/portal#/analyst/task/abc123/overview");
  CHECK(expand_status_url("https://m/$uuid?u=$uuid", "t") == "https://m/t?u=t");
  CHECK(expand_status_url("https://m/no-placeholder", "t") == "https://m/no-placeholder");
  CHECK(expand_status_url("$uuid", "") == "");
}
