#pragma once
// The one SHA-256 of the tree (OpenSSL EVP): a running digest, and a body source that digests and
// counts what is read through it. net/ holds it because it is the lowest layer that links OpenSSL
// (codec stays standard-library only); the client compares what it sent with what came back, the
// mock matches hash lists, replay checks what the recorded upstream received, and scan reports a
// file's digest, all with these two.
#include "icapkit/codec/body_source.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace icapkit::net {

class sha256 {
public:
  using digest_type = std::array<unsigned char, 32>;

  // The OpenSSL state is made at the first non-empty update(), so an unused one costs nothing.
  sha256() = default;
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  void update(std::string_view data);
  // The digest of everything so far; the running state is not disturbed.
  digest_type digest() const;
  // The same, as lower-case hex (64 characters).
  std::string hex() const { return to_hex(digest()); }

  // The digest of `data` in one go.
  static digest_type of(std::string_view data);
  static std::string hex_of(std::string_view data) { return to_hex(of(data)); }
  static std::string to_hex(const digest_type& digest);

private:
  evp_md_ctx_st* context_ = nullptr;
};

// Passes the inner source's bytes through, counting and digesting them. The bytes are hashed only
// once however the sources are stacked:
// - an inner source that keeps its bytes in memory (codec::body_source::unread) is digested when
//   digest() is asked, from memory;
// - an inner hashing_body_source that nothing has read yet is not hashed again: its digest is this
//   one's, as long as every byte it gives is read through this wrapper (ask digest() before
//   reading the inner source directly, e.g. before its drain()).
class hashing_body_source final : public codec::body_source {
public:
  explicit hashing_body_source(codec::body_source& inner);
  // Wraps another wrapper (not a copy): the case that shares its digest.
  explicit hashing_body_source(hashing_body_source& inner)
      : hashing_body_source(static_cast<codec::body_source&>(inner)) {}
  hashing_body_source(const hashing_body_source&) = delete;
  hashing_body_source& operator=(const hashing_body_source&) = delete;

  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return inner_.size(); }

  // Reads the rest of the inner source (a client stops early after a 204 in preview), so the
  // digest and count cover the whole body. Returns the read error, if any.
  std::error_code drain();

  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  bool ended() const noexcept { return ended_; }
  // Also adds every byte read to *total (progress across bodies); null: no counter.
  void count_into(std::uint64_t* total) noexcept { total_ = total; }

  // SHA-256 of the bytes read so far.
  sha256::digest_type digest() const;
  std::string hex_digest() const { return sha256::to_hex(digest()); }

private:
  codec::body_source& inner_;
  std::optional<std::string_view> in_memory_; // inner_'s bytes from where this source started
  const hashing_body_source* hashed_inner_ = nullptr; // an inner wrapper that hashes for us
  sha256 hash_;                                       // used when neither of the above is set
  std::uint64_t bytes_read_ = 0;
  std::uint64_t* total_ = nullptr;
  bool ended_ = false;
};

} // namespace icapkit::net
