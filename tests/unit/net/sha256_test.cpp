#include "icapkit/net/sha256.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>

namespace icapkit::net {

TEST_CASE("sha256 known vectors (FIPS 180-2)") {
  CHECK(sha256::hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256::hex_of("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256::hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's, fed in uneven pieces.
  sha256 million;
  const std::string piece(999, 'a');
  std::size_t fed = 0;
  while (fed < 1000000) {
    const auto n = std::min(piece.size(), std::size_t{1000000} - fed);
    million.update(std::string_view(piece).substr(0, n));
    fed += n;
  }
  CHECK(million.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 split updates equal one update, and asking does not disturb the state") {
  sha256 whole;
  whole.update("hello world");
  sha256 pieces;
  pieces.update("hello");
  CHECK(pieces.hex() == sha256::hex_of("hello")); // asked half way
  pieces.update("");
  pieces.update(" ");
  pieces.update("world");
  CHECK(whole.digest() == pieces.digest());
  CHECK(whole.digest() == sha256::of("hello world"));
  sha256 other;
  other.update("hello worle");
  CHECK(whole.digest() != other.digest());
  sha256 unused;
  CHECK(unused.digest() == sha256::of({}));
  CHECK(sha256::to_hex(sha256::of("abc")) == sha256::hex_of("abc"));
}

TEST_CASE("hashing_body_source passes bytes through and counts them") {
  codec::memory_body_source inner("abcdef");
  hashing_body_source source(inner);
  std::uint64_t total = 10;
  source.count_into(&total);
  std::array<char, 4> buf{};
  std::error_code ec;
  CHECK(source.read(buf, ec) == 4);
  CHECK(std::string_view(buf.data(), 4) == "abcd");
  CHECK(source.read(buf, ec) == 2);
  CHECK(std::string_view(buf.data(), 2) == "ef");
  CHECK_FALSE(source.ended());
  CHECK(source.read(buf, ec) == 0);
  CHECK_FALSE(ec);
  CHECK(source.bytes_read() == 6);
  CHECK(total == 16);
  CHECK(source.ended());
  CHECK(source.size() == 6u);
  CHECK(source.hex_digest() == sha256::hex_of("abcdef"));
}

TEST_CASE("hashing_body_source digests what was read, from memory or as it streamed") {
  const std::string data(10000, 'q');
  codec::memory_body_source in_memory(data);
  std::size_t offset = 0;
  codec::generator_body_source streamed([&](std::span<char> buf, std::error_code&) {
    const auto n = std::min(buf.size(), data.size() - offset);
    data.copy(buf.data(), n, offset);
    offset += n;
    return n;
  });
  for (codec::body_source* inner : {static_cast<codec::body_source*>(&in_memory),
                                    static_cast<codec::body_source*>(&streamed)}) {
    hashing_body_source source(*inner);
    CHECK(source.digest() == sha256::of({})); // nothing read yet
    std::array<char, 4096> buf{};
    std::error_code ec;
    CHECK(source.read(buf, ec) == 4096);
    // Stopped early (an answer to the preview): only the bytes sent count.
    CHECK(source.digest() == sha256::of(std::string_view(data).substr(0, 4096)));
    while (source.read(buf, ec) > 0) {
    }
    CHECK(source.bytes_read() == data.size());
    CHECK(source.digest() == sha256::of(data));
  }
  // A source half read before the wrapper started: its digest covers what the wrapper read.
  codec::memory_body_source resumed(data);
  std::array<char, 100> skip{};
  std::error_code ec;
  resumed.read(skip, ec);
  hashing_body_source rest(resumed);
  std::array<char, 50> buf{};
  CHECK(rest.read(buf, ec) == 50);
  CHECK(rest.digest() == sha256::of(std::string_view(data).substr(100, 50)));
}

TEST_CASE("hashing_body_source drains the rest, and stacked wrappers agree") {
  const std::string data = "0123456789abcdefghij";
  std::size_t offset = 0;
  codec::generator_body_source streamed([&](std::span<char> buf, std::error_code&) {
    const auto n = std::min(buf.size(), data.size() - offset);
    data.copy(buf.data(), n, offset);
    offset += n;
    return n;
  });
  hashing_body_source file(streamed); // what scan keeps (the whole file's digest)
  {
    hashing_body_source sent(file); // what the client wraps: shares file's digest
    std::array<char, 8> buf{};
    std::error_code ec;
    CHECK(sent.read(buf, ec) == 8);
    CHECK(sent.bytes_read() == 8);
    CHECK(sent.digest() == sha256::of(std::string_view(data).substr(0, 8)));
    CHECK(sent.digest() == file.digest());
  }
  CHECK_FALSE(file.drain());
  CHECK(file.ended());
  CHECK(file.bytes_read() == data.size());
  CHECK(file.hex_digest() == sha256::hex_of(data));

  // A wrapper over one that was already read hashes for itself.
  std::size_t left = 3;
  codec::generator_body_source tail([&](std::span<char> buf, std::error_code&) {
    const auto n = std::min(buf.size(), left);
    std::fill_n(buf.data(), n, 'z');
    left -= n;
    return n;
  });
  hashing_body_source used(tail);
  std::array<char, 1> one{};
  std::error_code ec;
  CHECK(used.read(one, ec) == 1);
  hashing_body_source outer(used);
  CHECK_FALSE(outer.drain());
  CHECK(outer.bytes_read() == 2);
  CHECK(outer.hex_digest() == sha256::hex_of("zz"));
  CHECK(used.hex_digest() == sha256::hex_of("zzz"));
}

TEST_CASE("hashing_body_source reports the inner source's failure") {
  codec::generator_body_source failing([](std::span<char>, std::error_code& ec) -> std::size_t {
    ec = std::make_error_code(std::errc::io_error);
    return 0;
  });
  hashing_body_source source(failing);
  CHECK(source.drain() == std::errc::io_error);
  CHECK_FALSE(source.ended());
  CHECK(source.bytes_read() == 0);
}

} // namespace icapkit::net
