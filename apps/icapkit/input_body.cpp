#include "input_body.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace icapkit::app {

namespace {

// Owns a reopened file and its form wrapper.
class owned_wire_body final : public codec::body_source {
public:
  std::error_code open(const std::string& path, const body_shape& shape) {
    if (auto ec = file_.open(path)) {
      return ec;
    }
    if (shape.multipart) {
      form_ = std::make_unique<multipart_body_source>(file_, shape.boundary, shape.file_name,
                                                      shape.content_type);
    }
    return {};
  }
  std::size_t read(std::span<char> buf, std::error_code& ec) override {
    return form_ ? form_->read(buf, ec) : file_.read(buf, ec);
  }
  std::optional<std::uint64_t> size() const override {
    return form_ ? form_->size() : file_.size();
  }

private:
  codec::file_body_source file_;
  std::unique_ptr<multipart_body_source> form_;
};

} // namespace

std::error_code input_body::open(const std::string& path, const body_shape& shape,
                                 std::uint64_t* bytes_counter) {
  const auto ec = path == "-" ? file_.open_descriptor(0, false, "-") : file_.open(path);
  if (ec) {
    return ec;
  }
  hashed_ = std::make_unique<net::hashing_body_source>(file_);
  hashed_->count_into(bytes_counter);
  if (shape.multipart) {
    form_ = std::make_unique<multipart_body_source>(*hashed_, shape.boundary, shape.file_name,
                                                    shape.content_type);
  }
  return {};
}

std::unique_ptr<codec::body_source> reopen_wire_body(const std::string& path,
                                                     const body_shape& shape) {
  if (path == "-") {
    return nullptr;
  }
  auto body = std::make_unique<owned_wire_body>();
  if (body->open(path, shape)) {
    return nullptr;
  }
  return body;
}

std::error_code spool_stdin(std::string& path) {
  const char* tmp = std::getenv("TMPDIR");
  std::string name =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/icapkit-stdin-XXXXXX";
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    return {errno, std::generic_category()};
  }
  path = name;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    const ssize_t n = ::read(0, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const std::error_code ec{errno, std::generic_category()};
      ::close(fd);
      return ec;
    }
    if (n == 0) {
      break;
    }
    for (ssize_t written = 0; written < n;) {
      const ssize_t w = ::write(fd, buffer.data() + written, static_cast<std::size_t>(n - written));
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0) {
        const std::error_code ec{errno, std::generic_category()};
        ::close(fd);
        return ec;
      }
      written += w;
    }
  }
  ::close(fd);
  return {};
}

} // namespace icapkit::app
