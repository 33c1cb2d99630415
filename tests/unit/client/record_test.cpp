#include "icapkit/client/record.hpp"

#include <doctest/doctest.h>

namespace icapkit::client {

TEST_CASE("header_lines_of drops the start line and the blank line") {
  CHECK(header_lines_of("REQMOD icap://h/s ICAP/1.0\r\nHost: h\r\nAllow: 204\r\n\r\n") ==
        "Host: h\r\nAllow: 204\r\n");
  CHECK(header_lines_of("OPTIONS icap://h/s ICAP/1.0\r\n\r\n").empty());
  CHECK(header_lines_of("").empty());
}

TEST_CASE("build_record fills what an operator reads in icap_log") {
  codec::uri service;
  REQUIRE(!codec::parse_uri("icap://10.1.2.3:1344/avscan", service));
  codec::http_request_head http;
  http.method = "PUT";
  codec::icap_response_head response;
  response.status = 204;
  response.headers.add("ISTag", "\"abc\"");
  verdict v;
  v.outcome = verdict_outcome::passed;
  record_inputs in;
  in.service = &service;
  in.method = codec::icap_method::respmod;
  in.http_request = &http;
  in.icap_head_sent = "RESPMOD icap://10.1.2.3/avscan ICAP/1.0\r\nHost: 10.1.2.3:1344\r\n\r\n";
  in.response = &response;
  in.server_address = "10.1.2.3";
  in.server_port = 1344;
  in.source_port = 40000;
  in.latency = std::chrono::milliseconds{12};
  in.complete_body_sent = true;
  in.vendor = log::icap_vendor::opswat;
  in.pool_name = "pool-a";
  in.pool_uuid = "pool-uuid";
  log::icap_request_log rec;
  build_record(in, v, rec);
  CHECK(rec.action == log::icap_action::passed);
  CHECK(rec.icap_absolute_uri == "icap://10.1.2.3:1344/avscan"); // the port as written
  CHECK(rec.icap_method == log::avi_icap_method::respmod);
  CHECK(rec.http_method == log::avi_http_method::put);
  CHECK(rec.icap_headers_sent_to_server == "Host: 10.1.2.3:1344\r\n");
  CHECK(rec.icap_headers_received_from_server == "ISTag: \"abc\"\r\n");
  CHECK(rec.icap_response_code == 204u);
  CHECK(rec.icap_server_ip == (10u << 24 | 1u << 16 | 2u << 8 | 3u));
  CHECK(rec.icap_server_port == 1344u);
  CHECK(rec.source_port == 40000u);
  CHECK(rec.latency == 12u);
  CHECK(rec.complete_body_sent == true);
  CHECK(rec.vendor == log::icap_vendor::opswat);
  REQUIRE(rec.pool_name);
  CHECK(rec.pool_name->val == "pool-a");
  CHECK(rec.pool_uuid == "pool-uuid");
}

TEST_CASE("build_record without a connection: no address, the URI's port, no response code") {
  codec::uri service;
  REQUIRE(!codec::parse_uri("icap://[::1]/avscan", service));
  verdict v; // failed
  record_inputs in;
  in.service = &service;
  log::icap_request_log rec;
  build_record(in, v, rec);
  CHECK(rec.action == log::icap_action::failed);
  CHECK_FALSE(rec.icap_server_ip);
  CHECK(rec.icap_server_port == 1344u);
  CHECK_FALSE(rec.icap_response_code);
}

} // namespace icapkit::client
