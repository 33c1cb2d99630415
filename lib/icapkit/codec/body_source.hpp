#pragma once
// Bodies to send, read through the caller's fixed buffer: a 10 GB file costs what a 10 KB one
// does. Sources are synchronous and pull-based; the serializer decides how much to read. A source
// fed by a peer that is still sending (a proxy's HTTP client) answers "not yet" instead of
// blocking: see body_source::read().
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

class body_source {
public:
  virtual ~body_source() = default;
  // Copies up to buf.size() next body bytes into buf and returns how many. 0 with ec clear means
  // the body has ended; on failure ec is set (and the return value is meaningless).
  // "Not yet": ec == std::errc::operation_would_block (returning 0) means no bytes are available
  // now but more, or the end, will come later. It is not a failure: the serializer's next() then
  // returns what it has with ec clear and waiting_for_body() true, and a later next() reads the
  // source again. A source must never block the thread waiting for bytes.
  virtual std::size_t read(std::span<char> buf, std::error_code& ec) = 0;
  // The total body size when it is known before reading (memory, regular files); nullopt for
  // pipes and generators. The serializer trusts it: it reads at most this many bytes and reports
  // errc::body_shorter_than_declared if the source ends early.
  virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
  // The bytes read() has not returned yet, when the source holds all of them in memory and keeps
  // them unchanged while it lives; nullopt (the default) otherwise. Lets a caller look at what
  // was sent afterwards instead of digesting every byte as it goes.
  virtual std::optional<std::string_view> unread() const { return std::nullopt; }
};

// A view of bytes the caller keeps alive while the source is read.
class memory_body_source final : public body_source {
public:
  explicit memory_body_source(std::string_view data) noexcept : data_(data) {}
  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  std::optional<std::string_view> unread() const override { return data_.substr(offset_); }

private:
  std::string_view data_;
  std::size_t offset_ = 0;
};

// Owns its bytes: for small bodies built on the fly (block pages, test bodies).
class string_body_source final : public body_source {
public:
  explicit string_body_source(std::string data) noexcept : data_(std::move(data)) {}
  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  std::optional<std::string_view> unread() const override {
    return std::string_view(data_).substr(offset_);
  }

private:
  std::string data_;
  std::size_t offset_ = 0;
};

// A file or an inherited descriptor (stdin), read with POSIX read(2). Errors are the system's
// errno codes, so their messages name the problem ("No such file or directory", "Is a
// directory", "Input/output error"); path() names the file.
class file_body_source final : public body_source {
public:
  file_body_source() = default;
  ~file_body_source() override;
  file_body_source(const file_body_source&) = delete;
  file_body_source& operator=(const file_body_source&) = delete;
  file_body_source(file_body_source&& other) noexcept;
  file_body_source& operator=(file_body_source&& other) noexcept;

  // Opens `path` for reading. A directory is refused (std::errc::is_a_directory). size() is the
  // size at open time for regular files, nullopt for FIFOs and devices.
  std::error_code open(const std::string& path);
  // Reads from an open descriptor, e.g. 0 for stdin; closes it at the end only if `owned`.
  std::error_code open_descriptor(int fd, bool owned, std::string name = "-");
  void close() noexcept;
  bool is_open() const noexcept { return fd_ >= 0; }
  const std::string& path() const noexcept { return path_; }

  // Retries EINTR; any other failure is the errno code.
  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return size_; }

private:
  std::error_code adopt(int fd, bool owned);

  int fd_ = -1;
  bool owned_ = false;
  std::optional<std::uint64_t> size_;
  std::string path_;
};

// Bytes produced on demand by a callable with read()'s contract: fill the span, return the count,
// 0 at the end, set ec on failure. Synthetic load-test bodies use it to stream any size.
class generator_body_source final : public body_source {
public:
  using generator = std::function<std::size_t(std::span<char>, std::error_code&)>;
  explicit generator_body_source(generator gen, std::optional<std::uint64_t> size = std::nullopt)
      : gen_(std::move(gen)), size_(size) {}
  std::size_t read(std::span<char> buf, std::error_code& ec) override;
  std::optional<std::uint64_t> size() const override { return size_; }

private:
  generator gen_;
  std::optional<std::uint64_t> size_;
};

} // namespace icapkit::codec
