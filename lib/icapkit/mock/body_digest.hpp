#pragma once
// Running MD5 and SHA-256 of a body, for hash-list rules and NSX Defender's md5 and task UUID,
// without keeping the body. SHA-256 is the tree's one (net::sha256); MD5 (OpenSSL EVP) is the
// mock's alone. The OpenSSL states are made at the first update(): most transactions are answered
// without reading a body.
#include "icapkit/net/sha256.hpp"

#include <array>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace icapkit::mock {

class body_digest {
public:
  body_digest() = default;
  ~body_digest();
  body_digest(const body_digest&) = delete;
  body_digest& operator=(const body_digest&) = delete;

  void update(std::string_view data);
  // Lowercase hex digests of everything so far; the running state is not disturbed.
  std::string md5_hex() const;
  std::string sha256_hex() const;

private:
  evp_md_ctx_st* md5_ = nullptr; // null until the first update()
  net::sha256 sha256_;
};

// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);
// A UUID-shaped text (8-4-4-4-12) of the first 128 bits of a hex digest: NSX Defender task ids
// the tests can predict from the body.
std::string uuid_from_hex(std::string_view hex);

} // namespace icapkit::mock
