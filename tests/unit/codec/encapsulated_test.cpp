#include "icapkit/codec/encapsulated.hpp"
#include "icapkit/codec/errc.hpp"

#include <doctest/doctest.h>

using namespace icapkit::codec;

TEST_CASE("encapsulated: parses the RFC examples") {
  encapsulated enc;
  REQUIRE_FALSE(parse_encapsulated("req-hdr=0, res-hdr=822, res-body=1655", enc));
  REQUIRE(enc.entities.size() == 3);
  CHECK(enc.entities[1] == encapsulated_entity{section::res_hdr, 822});
  CHECK(enc.body()->kind == section::res_body);
  CHECK(enc.has_chunked_body());
  CHECK(to_string(enc) == "req-hdr=0, res-hdr=822, res-body=1655");

  REQUIRE_FALSE(parse_encapsulated("null-body=0", enc));
  CHECK_FALSE(enc.has_chunked_body());
  REQUIRE_FALSE(parse_encapsulated("req-hdr=0,null-body=412", enc));
  CHECK(enc.body()->offset == 412);
}

TEST_CASE("encapsulated: refuses bad values with their own codes") {
  encapsulated enc;
  CHECK(parse_encapsulated("", enc) == errc::bad_encapsulated);
  CHECK(parse_encapsulated("req-hdr=0,", enc) == errc::bad_encapsulated);
  CHECK(parse_encapsulated("req-hdr", enc) == errc::bad_encapsulated);
  CHECK(parse_encapsulated("req-hdr=x", enc) == errc::bad_encapsulated);
  CHECK(parse_encapsulated("req-hdr=-1", enc) == errc::bad_encapsulated);
  CHECK(parse_encapsulated("REQ-HDR=0, null-body=10", enc) == errc::unknown_encapsulated_entity);
  CHECK(parse_encapsulated("foo-hdr=0", enc) == errc::unknown_encapsulated_entity);
  CHECK(parse_encapsulated("req-hdr=0, req-hdr=10", enc) == errc::duplicate_encapsulated_entity);
  CHECK(parse_encapsulated("res-hdr=0, req-hdr=10, null-body=20", enc) == errc::encapsulated_order);
  CHECK(parse_encapsulated("req-hdr=0, req-body=10, res-hdr=20", enc) == errc::encapsulated_order);
  CHECK(parse_encapsulated("req-hdr=100, req-body=10", enc) == errc::encapsulated_order);
  CHECK(parse_encapsulated("req-hdr=5, null-body=10", enc) == errc::encapsulated_order);
  CHECK(parse_encapsulated("req-hdr=0, req-body=99999999", enc) ==
        errc::encapsulated_offset_too_large);
  CHECK(parse_encapsulated("req-hdr=0, req-body=99999999999999999999999", enc) ==
        errc::encapsulated_offset_too_large);
}

TEST_CASE("encapsulated: legal shapes per message role") {
  auto shape = [](std::string_view v, message_role role) {
    encapsulated enc;
    REQUIRE_FALSE(parse_encapsulated(v, enc));
    return validate_shape(enc, role);
  };
  CHECK_FALSE(shape("req-hdr=0, req-body=100", message_role::reqmod_request));
  CHECK_FALSE(shape("req-hdr=0, null-body=100", message_role::reqmod_request));
  CHECK(shape("res-hdr=0, res-body=100", message_role::reqmod_request) == errc::encapsulated_shape);
  CHECK_FALSE(shape("req-hdr=0, res-hdr=10, res-body=20", message_role::respmod_request));
  CHECK_FALSE(shape("res-hdr=0, res-body=20", message_role::respmod_request));
  CHECK(shape("req-hdr=0, req-body=20", message_role::respmod_request) == errc::encapsulated_shape);
  CHECK_FALSE(shape("res-hdr=0, res-body=20", message_role::reqmod_response));
  CHECK_FALSE(shape("req-hdr=0, req-body=20", message_role::reqmod_response));
  CHECK_FALSE(shape("null-body=0", message_role::options_response));
  CHECK_FALSE(shape("opt-body=0", message_role::options_response));
  CHECK(shape("req-hdr=0, null-body=9", message_role::options_response) ==
        errc::encapsulated_shape);
}

TEST_CASE("encapsulated: compute for every body shape") {
  CHECK(to_string(compute_encapsulated(412, std::nullopt, section::null_body)) ==
        "req-hdr=0, null-body=412");
  CHECK(to_string(compute_encapsulated(100, 50, section::res_body)) ==
        "req-hdr=0, res-hdr=100, res-body=150");
  CHECK(to_string(compute_encapsulated(std::nullopt, 50, section::res_body)) ==
        "res-hdr=0, res-body=50");
  CHECK(to_string(compute_encapsulated(std::nullopt, std::nullopt, section::null_body)) ==
        "null-body=0");
}
