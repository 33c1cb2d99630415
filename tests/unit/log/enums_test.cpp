#include "icapkit/log/enums.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::log;

template <class Enum>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto v : all_values<Enum>()) {
    out.emplace_back(to_string(v));
    CHECK(from_string<Enum>(to_string(v)) == v);
  }
  return out;
}

TEST_CASE("enums: exact Avi strings in Avi order, and they parse back") {
  CHECK(names<icap_action>() == std::vector<std::string>{"ICAP_DISABLED", "ICAP_PASSED",
                                                         "ICAP_MODIFIED", "ICAP_BLOCKED",
                                                         "ICAP_FAILED"});
  CHECK(names<avi_icap_method>() ==
        std::vector<std::string>{"ICAP_METHOD_REQMOD", "ICAP_METHOD_RESPMOD"});
  CHECK(names<icap_vendor>() == std::vector<std::string>{"ICAP_VENDOR_GENERIC",
                                                         "ICAP_VENDOR_OPSWAT",
                                                         "ICAP_VENDOR_LASTLINE"});
  CHECK(names<violation_resolution>() ==
        std::vector<std::string>{"ICAP_FILE_NOT_REPAIRED", "ICAP_FILE_REPAIRED",
                                 "ICAP_VIOLATING_SECTION_REMOVED"});
  CHECK(names<significance_code>() ==
        std::vector<std::string>{"ADF_ICAP_SERVER_HIGH_RESPONSE_TIME", "ADF_ICAP_BLOCKED",
                                 "ADF_ICAP_MODIFIED", "ADF_ICAP_OUT_OF_MEMORY", "ADF_ICAP_TIMEDOUT",
                                 "ADF_ICAP_BODY_SIZE_BIGGER_THAN_CONFIGURED",
                                 "ADF_ICAP_CONNECTION_ERROR", "ADF_ICAP_SERVER_ERROR",
                                 "ADF_ICAP_FAILED"});
  CHECK(names<record_source>() == std::vector<std::string>{"scan", "proxy", "replay", "load"});
}

TEST_CASE("enums: all 16 HTTP methods of Avi's enum") {
  const auto all = names<avi_http_method>();
  REQUIRE(all.size() == 16);
  CHECK(all.front() == "HTTP_METHOD_GET");
  CHECK(all[3] == "HTTP_METHOD_DELETE");
  CHECK(all[4] == "HTTP_METHOD_POST");
  CHECK(all.back() == "HTTP_METHOD_UNLOCK");
  CHECK(avi_http_method_from_token("POST") == avi_http_method::post);
  CHECK(avi_http_method_from_token("PROPPATCH") == avi_http_method::proppatch);
  CHECK(avi_http_method_from_token("post") == std::nullopt);
  CHECK(avi_http_method_from_token("BREW") == std::nullopt);
}

TEST_CASE("enums: from_string is exact and case-sensitive") {
  CHECK(from_string<icap_action>("icap_blocked") == std::nullopt);
  CHECK(from_string<icap_action>("ICAP_BLOCKED ") == std::nullopt);
  CHECK(from_string<icap_action>("") == std::nullopt);
  CHECK(from_string<icap_vendor>("ICAP_VENDOR_NSX") == std::nullopt);
  CHECK(from_string<record_source>("Scan") == std::nullopt);
}
