#pragma once
// Running MD5 and SHA-256 of a body (OpenSSL EVP), for hash-list rules and NSX Defender's md5 and
// task UUID, without keeping the body. The OpenSSL state is made at the first update(): most
// transactions are answered without reading a body.
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
  evp_md_ctx_st* md5_ = nullptr; // both null until the first update()
  evp_md_ctx_st* sha256_ = nullptr;
};

// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);
// A UUID-shaped text (8-4-4-4-12) of the first 128 bits of a hex digest: NSX Defender task ids
// the tests can predict from the body.
std::string uuid_from_hex(std::string_view hex);

} // namespace icapkit::mock
