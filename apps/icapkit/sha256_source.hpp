#pragma once
// A body source that hashes (SHA-256) and counts what is read through it, so that `icapkit scan`
// reports the file's digest without reading the file twice.
#include "icapkit/codec/body_source.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

struct evp_md_ctx_st;

namespace icapkit::app {

class sha256_body_source final : public codec::body_source {
public:
  explicit sha256_body_source(codec::body_source& inner);
  ~sha256_body_source() override;
  sha256_body_source(const sha256_body_source&) = delete;
  sha256_body_source& operator=(const sha256_body_source&) = delete;

  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return inner_.size(); }

  // Reads the rest of the inner source (the client stops early after a 204 in preview), so the
  // digest and count cover the whole input. Returns the read error, if any.
  std::error_code drain();
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  // Also adds every byte read to *total (progress across files); null: no counter.
  void count_into(std::uint64_t* total) noexcept { total_ = total; }
  // Lower-case hex digest of everything read so far.
  std::string hex_digest() const;

private:
  codec::body_source& inner_;
  evp_md_ctx_st* context_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t* total_ = nullptr;
  bool ended_ = false;
};

} // namespace icapkit::app
