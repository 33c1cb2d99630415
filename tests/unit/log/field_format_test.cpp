#include "icapkit/log/field_format.hpp"

#include <doctest/doctest.h>

using namespace icapkit::log;

TEST_CASE("icap_server_ip: IPv4 as a<<24|b<<16|c<<8|d") {
  CHECK(icap_server_ip_from_string("100.64.3.15") == 1681916687U);
  CHECK(icap_server_ip_from_string("127.0.0.1") == 0x7F000001U);
  CHECK(icap_server_ip_from_string("0.0.0.0") == 0U);
  CHECK(icap_server_ip_from_string("255.255.255.255") == 0xFFFFFFFFU);
  CHECK(icap_server_ip_to_string(1681916687U) == "100.64.3.15");
  CHECK(icap_server_ip_to_string(0xFFFFFFFFU) == "255.255.255.255");
}

TEST_CASE("icap_server_ip: IPv6, names and malformed addresses give no value (field omitted)") {
  CHECK(icap_server_ip_from_string("::1") == std::nullopt);
  CHECK(icap_server_ip_from_string("[2001:db8::1]") == std::nullopt);
  CHECK(icap_server_ip_from_string("::ffff:10.0.0.1") == std::nullopt);
  CHECK(icap_server_ip_from_string("icap.example") == std::nullopt);
  CHECK(icap_server_ip_from_string("1.2.3") == std::nullopt);
  CHECK(icap_server_ip_from_string("1.2.3.4.5") == std::nullopt);
  CHECK(icap_server_ip_from_string("1.2.3.256") == std::nullopt);
  CHECK(icap_server_ip_from_string("1.2.3.04") == std::nullopt);
  CHECK(icap_server_ip_from_string("1..3.4") == std::nullopt);
  CHECK(icap_server_ip_from_string("1.2.3.4 ") == std::nullopt);
  CHECK(icap_server_ip_from_string("") == std::nullopt);
}

TEST_CASE("join_icap_headers: Name: value CRLF per field, no start line") {
  icapkit::codec::header_list headers;
  headers.add("Host", "100.64.3.15:1344");
  headers.add("Preview", "653");
  headers.add("X-Violations-Found", "1\nfile.doc\nEICAR");
  CHECK(join_icap_headers(headers) == "Host: 100.64.3.15:1344\r\nPreview: "
                                      "653\r\nX-Violations-Found: 1\r\n\tfile.doc\r\n\tEICAR\r\n");
  CHECK(join_icap_headers({}).empty());
}

TEST_CASE("split_icap_headers: inverse of join, lenient about the last CRLF") {
  icapkit::codec::header_list headers;
  headers.add("Host", "h:1344");
  headers.add("X-Violations-Found", "1\nfile.doc");
  CHECK(split_icap_headers(join_icap_headers(headers)) == headers);
  const auto avi = split_icap_headers("ISTag: \"0016\"\r\nX-Infection-Found: Type=0");
  REQUIRE(avi.size() == 2);
  CHECK(avi.get("X-Infection-Found") == "Type=0");
  CHECK(split_icap_headers("garbage\r\n\r\n").empty());
}

TEST_CASE("crc32_of: matches Avi's pool_name crc32 (zlib CRC-32)") {
  CHECK(crc32_of("ICAP-POOL-GROUP") == 1799851903U);
  CHECK(crc32_of("") == 0U);
  CHECK(crc32_of("123456789") == 0xCBF43926U);
}
