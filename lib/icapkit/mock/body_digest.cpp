#include "icapkit/mock/body_digest.hpp"

#include <openssl/evp.h>

#include <new>

namespace icapkit::mock {

namespace {

// Fetched once: looking an algorithm up for every transaction costs more than a small body's
// digest.
const EVP_MD* fetched(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) {
    throw std::bad_alloc(); // OpenSSL out of memory (or no default provider): nothing to recover
  }
  return md;
}

const EVP_MD* md5_method() {
  static const EVP_MD* const method = fetched("MD5");
  return method;
}

EVP_MD_CTX* make_context(const EVP_MD* md) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::bad_alloc();
  }
  return ctx;
}

std::string empty_hex(const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(nullptr, 0, out, &size, md, nullptr) != 1) {
    return {};
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), size));
}

std::string final_hex(const EVP_MD_CTX* running) {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy, running) != 1 ||
      EVP_DigestFinal_ex(copy, out, &size) != 1) {
    EVP_MD_CTX_free(copy);
    return {};
  }
  EVP_MD_CTX_free(copy);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), size));
}

} // namespace

body_digest::~body_digest() {
  EVP_MD_CTX_free(md5_);
}

void body_digest::update(std::string_view data) {
  if (data.empty()) {
    return;
  }
  if (md5_ == nullptr) {
    md5_ = make_context(md5_method());
  }
  EVP_DigestUpdate(md5_, data.data(), data.size());
  sha256_.update(data);
}

// Before any update: the digest of nothing, computed once.
std::string body_digest::md5_hex() const {
  static const std::string of_nothing = empty_hex(md5_method());
  return md5_ != nullptr ? final_hex(md5_) : of_nothing;
}
std::string body_digest::sha256_hex() const {
  return sha256_.hex();
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 0x0f];
  }
  return out;
}

std::string uuid_from_hex(std::string_view hex) {
  std::string padded(hex.substr(0, 32));
  padded.resize(32, '0');
  return padded.substr(0, 8) + "-" + padded.substr(8, 4) + "-" + padded.substr(12, 4) + "-" +
         padded.substr(16, 4) + "-" + padded.substr(20, 12);
}

} // namespace icapkit::mock
