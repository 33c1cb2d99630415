#pragma once
// What one body turns out to contain, learnt while it streams past: size, MD5/SHA-256, EICAR,
// the scenario's byte patterns, an encrypted ZIP entry, multipart file names, the built-in
// sanitizer's <script> marker; and, when a rewrite may be needed, a spooled copy (memory up to a
// threshold, then a temporary file).
#include "icapkit/codec/body_spool.hpp"
#include "icapkit/mock/body_digest.hpp"
#include "icapkit/mock/multipart_names.hpp"
#include "icapkit/mock/scenario.hpp"
#include "icapkit/mock/stream_matcher.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace icapkit::mock {

// Finds a ZIP local file header ("PK\3\4") whose general-purpose flags have bit 0 (encrypted) set.
class zip_encryption_probe {
public:
  void feed(std::string_view piece) noexcept;
  bool found() const noexcept { return found_; }

private:
  stream_matcher signature_{std::string("PK\x03\x04", 4)};
  int capture_ = -1; // bytes of the header read after the signature; -1: not in a header
  unsigned char flags_ = 0;
  bool found_ = false;
};

// The built-in sanitizer: <script ...> through </script>, ASCII case-insensitive, removed.
rewrite_spec builtin_sanitize_rewrite();

struct body_scan_options {
  std::string multipart_boundary; // from the encapsulated request's Content-Type
  bool keep_copy = false;         // spool the body (sanitize verdicts may need it)
  std::size_t spool_memory_limit = codec::body_spool::default_memory_limit;
  std::string temp_dir;
};

class body_scan {
public:
  body_scan(const scenario& rules, body_scan_options options);

  void feed(std::string_view piece);

  std::uint64_t size() const noexcept { return size_; }
  bool eicar() const noexcept { return eicar_.found(); }
  bool encrypted_archive() const noexcept { return zip_.found(); }
  bool script() const noexcept { return script_.found(); }
  // Whether any "contains" pattern of rule `index` was seen.
  bool contains(std::size_t index) const noexcept;
  std::string md5() const { return digest_.md5_hex(); }
  std::string sha256() const { return digest_.sha256_hex(); }
  const std::vector<std::string>& part_names() const noexcept { return parts_.names(); }
  // The spooled copy (keep_copy), or null; its error when spooling failed.
  const codec::body_spool* copy() const noexcept { return copy_ ? &*copy_ : nullptr; }
  std::error_code copy_error() const noexcept { return copy_error_; }

private:
  std::uint64_t size_ = 0;
  body_digest digest_;
  stream_matcher eicar_{std::string(eicar_string)};
  stream_matcher script_{"<script", true};
  zip_encryption_probe zip_;
  std::vector<std::vector<stream_matcher>> patterns_; // per rule
  multipart_names parts_;
  std::optional<codec::body_spool> copy_;
  std::error_code copy_error_;
};

} // namespace icapkit::mock
