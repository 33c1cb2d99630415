#include "icapkit/mock/body_scan.hpp"

#include <doctest/doctest.h>

using namespace icapkit::mock;

TEST_CASE("body_scan: digests, EICAR, patterns and the copy, fed in pieces") {
  scenario s = parse_scenario(R"({"rules": [{"match": {"contains": "needle"}}, {}]})");
  body_scan_options o;
  o.keep_copy = true;
  o.spool_memory_limit = 16; // forces the copy to a temporary file
  body_scan scan(s, o);
  const std::string body = std::string(eicar_string) + " hay nee";
  scan.feed(body);
  scan.feed("dle");
  CHECK(scan.size() == body.size() + 3);
  CHECK(scan.eicar());
  CHECK(scan.contains(0));
  CHECK_FALSE(scan.contains(1));
  REQUIRE(scan.copy() != nullptr);
  CHECK(scan.copy()->on_disk());
  body_scan exact(s, {});
  exact.feed(eicar_string);
  CHECK(exact.md5() == "44d88612fea8a8f36de82e1278abb02f");
  CHECK(exact.sha256() == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  CHECK(uuid_from_hex(exact.sha256()) == "275a021b-bfb6-489e-54d4-71899f7db9d1");
}

TEST_CASE("zip_encryption_probe: the encryption bit of a local file header") {
  const std::string encrypted("junkPK\x03\x04\x14\x00\x01\x00rest", 16);
  const std::string plain("PK\x03\x04\x14\x00\x00\x08rest", 12);
  for (std::size_t cut = 0; cut <= encrypted.size(); ++cut) {
    zip_encryption_probe p;
    p.feed(std::string_view(encrypted).substr(0, cut));
    p.feed(std::string_view(encrypted).substr(cut));
    CHECK(p.found());
  }
  zip_encryption_probe q;
  q.feed(plain);
  CHECK_FALSE(q.found());
}
