#include "icapkit/codec/body_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace icapkit::codec {
namespace {

std::size_t copy_from(std::string_view data, std::size_t& offset, std::span<char> buf) {
  auto n = std::min(buf.size(), data.size() - offset);
  std::memcpy(buf.data(), data.data() + offset, n);
  offset += n;
  return n;
}

std::error_code last_errno() {
  return {errno, std::system_category()};
}

} // namespace

std::size_t memory_body_source::read(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  return copy_from(data_, offset_, buf);
}

std::size_t string_body_source::read(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  return copy_from(data_, offset_, buf);
}

file_body_source::~file_body_source() {
  close();
}

file_body_source::file_body_source(file_body_source&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), owned_(other.owned_), size_(other.size_),
      path_(std::move(other.path_)) {}

file_body_source& file_body_source::operator=(file_body_source&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    owned_ = other.owned_;
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

std::error_code file_body_source::open(const std::string& path) {
  close();
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return last_errno();
  }
  return adopt(fd, true);
}

std::error_code file_body_source::open_descriptor(int fd, bool owned, std::string name) {
  close();
  path_ = std::move(name);
  return adopt(fd, owned);
}

std::error_code file_body_source::adopt(int fd, bool owned) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto ec = last_errno();
    if (owned) {
      ::close(fd);
    }
    return ec;
  }
  if (S_ISDIR(st.st_mode)) {
    if (owned) {
      ::close(fd);
    }
    return std::make_error_code(std::errc::is_a_directory);
  }
  fd_ = fd;
  owned_ = owned;
  size_.reset();
  if (S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size); // pipes and devices have no size
  }
  return {};
}

void file_body_source::close() noexcept {
  if (fd_ >= 0 && owned_) {
    ::close(fd_);
  }
  fd_ = -1;
  owned_ = false;
}

std::size_t file_body_source::read(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  if (fd_ < 0) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return 0;
  }
  while (true) {
    auto n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      ec = last_errno();
      return 0;
    }
  }
}

std::size_t generator_body_source::read(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  return gen_(buf, ec);
}

} // namespace icapkit::codec
