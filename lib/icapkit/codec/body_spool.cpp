#include "icapkit/codec/body_spool.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace icapkit::codec {

namespace detail {

// The bytes themselves; shared by the spool and its readers.
struct spool_storage {
  std::size_t memory_limit = body_spool::default_memory_limit;
  std::string temp_dir;
  std::string memory;
  int fd = -1;
  std::uint64_t size = 0;
  std::error_code failure;

  spool_storage() = default;
  spool_storage(const spool_storage&) = delete;
  spool_storage& operator=(const spool_storage&) = delete;
  ~spool_storage() {
    if (fd >= 0) {
      ::close(fd);
    }
  }

  std::error_code write_all(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::write(fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return {errno, std::system_category()};
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  // Moves the in-memory bytes to an unlinked temporary file.
  std::error_code move_to_disk() {
    std::string dir = temp_dir;
    if (dir.empty()) {
      const char* env = std::getenv("TMPDIR");
      dir = env != nullptr && *env != '\0' ? env : "/tmp";
    }
    std::string path = dir + "/icapkit-spool-XXXXXX";
    std::vector<char> name(path.begin(), path.end());
    name.push_back('\0');
    fd = ::mkstemp(name.data());
    if (fd < 0) {
      return {errno, std::system_category()};
    }
    ::unlink(name.data());
    auto ec = write_all(memory);
    std::string().swap(memory);
    return ec;
  }
};

namespace {

class spool_reader final : public codec::body_source {
public:
  spool_reader(std::shared_ptr<spool_storage> storage, std::uint64_t offset)
      : storage_(std::move(storage)), offset_(offset) {}

  std::size_t read(std::span<char> buf, std::error_code& ec) override {
    const auto& s = *storage_;
    if (offset_ >= s.size || buf.empty()) {
      return 0;
    }
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), s.size - offset_));
    if (s.fd < 0) {
      s.memory.copy(buf.data(), want, static_cast<std::size_t>(offset_));
      offset_ += want;
      return want;
    }
    for (;;) {
      const auto n = ::pread(s.fd, buf.data(), want, static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        ec = {errno, std::system_category()};
        return 0;
      }
      if (n == 0) {
        ec = std::make_error_code(std::errc::io_error); // the file shrank under us
        return 0;
      }
      offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

  std::optional<std::uint64_t> size() const override {
    return storage_->size > offset_ ? storage_->size - offset_ : 0;
  }

private:
  std::shared_ptr<spool_storage> storage_;
  std::uint64_t offset_;
};

} // namespace
} // namespace detail

body_spool::body_spool(std::size_t memory_limit, std::string temp_dir)
    : storage_(std::make_shared<detail::spool_storage>()) {
  storage_->memory_limit = memory_limit;
  storage_->temp_dir = std::move(temp_dir);
}

body_spool::~body_spool() = default;
body_spool::body_spool(body_spool&&) noexcept = default;
body_spool& body_spool::operator=(body_spool&&) noexcept = default;

std::error_code body_spool::append(std::string_view data) {
  auto& s = *storage_;
  if (s.failure || data.empty()) {
    return s.failure;
  }
  if (s.fd < 0 && s.memory.size() + data.size() > s.memory_limit) {
    s.failure = s.move_to_disk();
    if (s.failure) {
      return s.failure;
    }
  }
  if (s.fd < 0) {
    s.memory.append(data);
  } else if (auto ec = s.write_all(data)) {
    s.failure = ec;
    return ec;
  }
  s.size += data.size();
  return {};
}

std::uint64_t body_spool::size() const noexcept {
  return storage_->size;
}
bool body_spool::on_disk() const noexcept {
  return storage_->fd >= 0;
}

std::unique_ptr<codec::body_source> body_spool::reader(std::uint64_t offset) const {
  return std::make_unique<detail::spool_reader>(storage_, offset);
}

} // namespace icapkit::codec
