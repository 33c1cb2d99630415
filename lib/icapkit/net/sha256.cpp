#include "icapkit/net/sha256.hpp"

#include <openssl/evp.h>

#include <new>
#include <vector>

namespace icapkit::net {

namespace {

// Fetched once: looking the algorithm up again for every digest costs more than a small body's.
const EVP_MD* sha256_method() {
  static EVP_MD* const method = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  if (method == nullptr) {
    throw std::bad_alloc(); // OpenSSL out of memory (or no default provider): nothing to recover
  }
  return method;
}

} // namespace

sha256::~sha256() {
  EVP_MD_CTX_free(context_);
}

void sha256::update(std::string_view data) {
  if (data.empty()) {
    return;
  }
  if (context_ == nullptr) {
    context_ = EVP_MD_CTX_new();
    if (context_ == nullptr || EVP_DigestInit_ex(context_, sha256_method(), nullptr) != 1) {
      EVP_MD_CTX_free(context_);
      context_ = nullptr;
      throw std::bad_alloc(); // OpenSSL out of memory: nothing to recover
    }
  }
  EVP_DigestUpdate(context_, data.data(), data.size());
}

sha256::digest_type sha256::digest() const {
  if (context_ == nullptr) {
    static const digest_type of_nothing = of({});
    return of_nothing;
  }
  digest_type out{};
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned int size = 0;
  const bool ok = copy != nullptr && EVP_MD_CTX_copy_ex(copy, context_) == 1 &&
                  EVP_DigestFinal_ex(copy, out.data(), &size) == 1;
  EVP_MD_CTX_free(copy);
  if (!ok) {
    throw std::bad_alloc(); // OpenSSL out of memory: nothing to recover
  }
  return out;
}

sha256::digest_type sha256::of(std::string_view data) {
  digest_type out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, sha256_method(), nullptr) != 1) {
    throw std::bad_alloc(); // OpenSSL out of memory: nothing to recover
  }
  return out;
}

std::string sha256::to_hex(const digest_type& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (const unsigned char byte : digest) {
    out += digits[byte >> 4];
    out += digits[byte & 0x0f];
  }
  return out;
}

hashing_body_source::hashing_body_source(codec::body_source& inner)
    : inner_(inner), in_memory_(inner.unread()) {
  if (in_memory_) {
    return;
  }
  const auto* hashing = dynamic_cast<const hashing_body_source*>(&inner);
  if (hashing != nullptr && hashing->bytes_read() == 0) {
    hashed_inner_ = hashing;
  }
}

std::size_t hashing_body_source::read(std::span<char> buf, std::error_code& ec) {
  const std::size_t n = inner_.read(buf, ec);
  if (ec) {
    return 0;
  }
  if (n == 0) {
    ended_ = true;
    return 0;
  }
  if (!in_memory_ && hashed_inner_ == nullptr) {
    hash_.update(std::string_view(buf.data(), n));
  }
  bytes_read_ += n;
  if (total_ != nullptr) {
    *total_ += n;
  }
  return n;
}

std::error_code hashing_body_source::drain() {
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

sha256::digest_type hashing_body_source::digest() const {
  if (in_memory_) {
    return sha256::of(in_memory_->substr(0, static_cast<std::size_t>(bytes_read_)));
  }
  if (hashed_inner_ != nullptr) {
    return hashed_inner_->digest();
  }
  return hash_.digest();
}

} // namespace icapkit::net
