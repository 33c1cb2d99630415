#pragma once
// Where the content an ICAP server returned goes (a modified body, a block page, a 206 merge):
// written piece by piece as it arrives, never held whole.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::client {

class body_sink {
public:
  virtual ~body_sink() = default;
  // Appends the next piece. An error stops the exchange (reported as the sink's error).
  virtual std::error_code write(std::string_view data) = 0;
  // The returned body is complete; called once, only after at least the start of a body.
  virtual std::error_code finish() { return {}; }
};

// Discards everything; counts bytes.
class null_body_sink final : public body_sink {
public:
  std::error_code write(std::string_view data) override {
    size_ += data.size();
    return {};
  }
  std::uint64_t size() const noexcept { return size_; }

private:
  std::uint64_t size_ = 0;
};

// Keeps the bytes in memory, up to `limit` (then errc::file_too_large): for block pages and
// tests, never for bodies of unknown size.
class string_body_sink final : public body_sink {
public:
  explicit string_body_sink(std::size_t limit = 1u << 20) noexcept : limit_(limit) {}
  std::error_code write(std::string_view data) override;
  std::error_code finish() override {
    finished_ = true;
    return {};
  }
  const std::string& data() const noexcept { return data_; }
  bool finished() const noexcept { return finished_; }

private:
  std::size_t limit_;
  std::string data_;
  bool finished_ = false;
};

// Writes to a file created by open() (truncating an existing one); finish() flushes and closes.
// Errors are the system's errno codes.
class file_body_sink final : public body_sink {
public:
  file_body_sink() = default;
  ~file_body_sink() override;
  file_body_sink(const file_body_sink&) = delete;
  file_body_sink& operator=(const file_body_sink&) = delete;

  std::error_code open(const std::string& path);
  // Drops what was written and starts the same file again (an exchange sent to another server).
  std::error_code restart() { return open(std::string(path_)); }
  std::error_code write(std::string_view data) override;
  std::error_code finish() override;
  const std::string& path() const noexcept { return path_; }
  std::uint64_t size() const noexcept { return size_; }

private:
  std::FILE* file_ = nullptr;
  std::string path_;
  std::uint64_t size_ = 0;
};

} // namespace icapkit::client
