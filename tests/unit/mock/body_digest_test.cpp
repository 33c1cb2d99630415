#include "icapkit/mock/body_digest.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace icapkit::mock;

TEST_CASE("body_digest: MD5 and SHA-256 of a body fed in pieces equal the known digests") {
  // The 68-byte EICAR string: md5 44d88612fea8a8f36de82e1278abb02f (reference section 3.4).
  const std::string eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  REQUIRE(eicar.size() == 68);
  body_digest whole;
  whole.update(eicar);
  body_digest pieces;
  for (std::size_t at = 0; at < eicar.size(); at += 5) {
    pieces.update(std::string_view(eicar).substr(at, 5));
  }
  CHECK(whole.md5_hex() == "44d88612fea8a8f36de82e1278abb02f");
  CHECK(whole.sha256_hex() == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  CHECK(pieces.md5_hex() == whole.md5_hex());
  CHECK(pieces.sha256_hex() == whole.sha256_hex());
}

TEST_CASE("body_digest: reading a digest does not disturb the running state") {
  body_digest d;
  d.update("ab");
  const auto early = d.sha256_hex();
  d.update("c");
  CHECK(early == "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");
  CHECK(d.sha256_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(d.md5_hex() == "900150983cd24fb0d6963f7d28e17f72");
  body_digest empty;
  CHECK(empty.md5_hex() == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(empty.sha256_hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  empty.update(""); // still nothing
  CHECK(empty.md5_hex() == "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_CASE("uuid_from_hex and to_hex: NSX Defender task ids the tests can predict") {
  CHECK(uuid_from_hex("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f") ==
        "275a021b-bfb6-489e-54d4-71899f7db9d1");
  CHECK(to_hex(std::string("\x00\xff\x10", 3)) == "00ff10");
}
