#include "icapkit/codec/body_source.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace icapkit::codec;

namespace {

// Reads a whole source through a small fixed buffer, as the serializer does.
std::string read_all(body_source& src, std::size_t buffer_size = 7) {
  std::string out;
  std::string buf(buffer_size, '\0');
  while (true) {
    std::error_code ec;
    auto n = src.read(std::span<char>(buf.data(), buf.size()), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n <= buf.size());
    if (n == 0) {
      return out;
    }
    out.append(buf, 0, n);
  }
}

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(std::string_view content) {
    path = std::filesystem::temp_directory_path() /
           ("icapkit-body-source-" + std::to_string(::getpid()) + ".bin");
    std::ofstream(path, std::ios::binary) << content;
  }
  ~temp_file() { std::filesystem::remove(path); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
};

} // namespace

TEST_CASE("body_source: memory source streams a view in pieces and knows its size") {
  std::string data = "The quick brown fox jumps over the lazy dog";
  memory_body_source src(data);
  CHECK(src.size() == data.size());
  CHECK(read_all(src) == data);
  std::error_code ec;
  std::array<char, 4> buf{};
  CHECK(src.read(buf, ec) == 0); // stays at the end
  CHECK_FALSE(ec);
}

TEST_CASE("body_source: in-memory sources show their unread bytes; streamed ones do not") {
  std::string data = "0123456789";
  memory_body_source view(data);
  string_body_source owned(data);
  for (body_source* src : {static_cast<body_source*>(&view), static_cast<body_source*>(&owned)}) {
    REQUIRE(src->unread().has_value());
    CHECK(*src->unread() == "0123456789");
    std::array<char, 4> buf{};
    std::error_code ec;
    CHECK(src->read(buf, ec) == 4);
    CHECK(*src->unread() == "456789");
    read_all(*src);
    CHECK(src->unread()->empty());
  }
  generator_body_source gen([](std::span<char>, std::error_code&) { return std::size_t{0}; });
  CHECK_FALSE(gen.unread().has_value());
  file_body_source file;
  CHECK_FALSE(file.unread().has_value());
}

TEST_CASE("body_source: string source owns its bytes; empty body ends at once") {
  string_body_source src(std::string(100, 'x'));
  CHECK(src.size() == 100);
  CHECK(read_all(src, 33) == std::string(100, 'x'));
  string_body_source empty{std::string()};
  CHECK(empty.size() == 0);
  CHECK(read_all(empty).empty());
}

TEST_CASE("body_source: file source reads a regular file with its size") {
  std::string content;
  for (int i = 0; i < 1000; ++i) {
    content += std::to_string(i) + ',';
  }
  temp_file f(content);
  file_body_source src;
  REQUIRE_FALSE(src.open(f.path.string()));
  CHECK(src.is_open());
  CHECK(src.path() == f.path.string());
  CHECK(src.size() == content.size());
  file_body_source moved = std::move(src);
  CHECK_FALSE(src.is_open());
  CHECK(read_all(moved, 512) == content);
}

TEST_CASE("body_source: file errors name the problem") {
  file_body_source src;
  auto ec = src.open("/nonexistent/icapkit/missing.bin");
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK(ec.message() == "No such file or directory");
  CHECK_FALSE(src.is_open());

  ec = src.open(std::filesystem::temp_directory_path().string());
  CHECK(ec == std::errc::is_a_directory);
  CHECK_FALSE(src.is_open());

  std::array<char, 8> buf{};
  CHECK(src.read(buf, ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);
}

TEST_CASE("body_source: a pipe (like stdin) has no size and reads to its end") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::string data = "piped body";
  REQUIRE(::write(fds[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  file_body_source src;
  REQUIRE_FALSE(src.open_descriptor(fds[0], true, "stdin"));
  CHECK_FALSE(src.size().has_value());
  CHECK(src.path() == "stdin");
  CHECK(read_all(src, 3) == data);
}

TEST_CASE("body_source: generator fills bounded spans and reports its errors") {
  std::size_t produced = 0;
  std::size_t largest_request = 0;
  generator_body_source gen(
      [&](std::span<char> buf, std::error_code&) {
        largest_request = std::max(largest_request, buf.size());
        auto n = std::min<std::size_t>(buf.size(), 25 - produced);
        for (std::size_t i = 0; i < n; ++i) {
          buf[i] = static_cast<char>('a' + (produced + i) % 26);
        }
        produced += n;
        return n;
      },
      25);
  CHECK(gen.size() == 25);
  CHECK(read_all(gen, 10) == "abcdefghijklmnopqrstuvwxy");
  CHECK(largest_request == 10);

  generator_body_source failing([](std::span<char>, std::error_code& ec) -> std::size_t {
    ec = std::make_error_code(std::errc::io_error);
    return 0;
  });
  CHECK_FALSE(failing.size().has_value());
  std::error_code ec;
  std::array<char, 4> buf{};
  failing.read(buf, ec);
  CHECK(ec == std::errc::io_error);
}
