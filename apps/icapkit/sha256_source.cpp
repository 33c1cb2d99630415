#include "sha256_source.hpp"

#include <openssl/evp.h>

#include <array>
#include <vector>

namespace icapkit::app {

sha256_body_source::sha256_body_source(codec::body_source& inner)
    : inner_(inner), context_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(context_, EVP_sha256(), nullptr);
}

sha256_body_source::~sha256_body_source() {
  EVP_MD_CTX_free(context_);
}

std::size_t sha256_body_source::read(std::span<char> buf, std::error_code& ec) {
  const std::size_t n = inner_.read(buf, ec);
  if (ec) {
    return 0;
  }
  if (n == 0) {
    ended_ = true;
    return 0;
  }
  EVP_DigestUpdate(context_, buf.data(), n);
  bytes_read_ += n;
  if (total_ != nullptr) {
    *total_ += n;
  }
  return n;
}

std::error_code sha256_body_source::drain() {
  std::vector<char> buffer(64 * 1024);
  std::error_code ec;
  while (!ended_) {
    read(buffer, ec);
    if (ec) {
      return ec;
    }
  }
  return {};
}

std::string sha256_body_source::hex_digest() const {
  // Finalise a copy so that reading can continue after asking.
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, context_);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(copy, digest.data(), &length);
  EVP_MD_CTX_free(copy);
  static constexpr char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0x0F];
  }
  return text;
}

} // namespace icapkit::app
