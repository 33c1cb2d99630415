#pragma once
// A copy of a body kept for later: in memory up to a threshold, then in an unlinked temporary
// file. The engine keeps one when it may have to echo a clean message (no "Allow: 204"); services
// use it to rewrite or echo bodies without holding them whole in memory.
#include "icapkit/codec/body_source.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

namespace detail {
struct spool_storage;
}

class body_spool {
public:
  static constexpr std::size_t default_memory_limit = 64 * 1024;

  // Past memory_limit bytes the copy moves to a file created (and unlinked at once) in temp_dir,
  // or in $TMPDIR (else /tmp) when temp_dir is empty.
  explicit body_spool(std::size_t memory_limit = default_memory_limit, std::string temp_dir = {});
  ~body_spool();
  body_spool(body_spool&&) noexcept;
  body_spool& operator=(body_spool&&) noexcept;
  body_spool(const body_spool&) = delete;
  body_spool& operator=(const body_spool&) = delete;

  // Appends bytes. Errors: the system's errno code when the temporary file cannot be created or
  // written; the spool then stays failed and keeps reporting it.
  std::error_code append(std::string_view data);
  std::uint64_t size() const noexcept;
  bool on_disk() const noexcept;

  // A source reading the bytes appended so far, from `offset` on. It shares the storage, so it
  // stays valid after the spool is destroyed; do not append while a reader is in use.
  std::unique_ptr<codec::body_source> reader(std::uint64_t offset = 0) const;

private:
  std::shared_ptr<detail::spool_storage> storage_;
};

} // namespace icapkit::codec
