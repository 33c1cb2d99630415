#include "icapkit/client/exchange.hpp"

#include "icapkit/codec/errc.hpp"

#include <doctest/doctest.h>

namespace icapkit::client::detail {

TEST_CASE("sha256 of a stream equals the digest of the same bytes in other pieces") {
  sha256 whole;
  whole.update("hello world");
  sha256 pieces;
  pieces.update("hello");
  pieces.update(" ");
  pieces.update("world");
  CHECK(whole.digest() == pieces.digest());
  sha256 other;
  other.update("hello worle");
  CHECK(whole.digest() != other.digest());
  // The well-known digest of "abc".
  sha256 abc;
  abc.update("abc");
  CHECK(abc.digest()[0] == 0xba);
  CHECK(abc.digest()[31] == 0xad);
}

TEST_CASE("hashing_body_source passes bytes through and counts them") {
  codec::memory_body_source inner("abcdef");
  hashing_body_source source(inner);
  std::array<char, 4> buf{};
  std::error_code ec;
  CHECK(source.read(buf, ec) == 4);
  CHECK(source.read(buf, ec) == 2);
  CHECK(source.read(buf, ec) == 0);
  CHECK(source.bytes_read() == 6);
  CHECK(source.ended());
  CHECK(source.size() == 6u);
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

TEST_CASE("sha256 without any update is the digest of nothing") {
  sha256 unused;
  CHECK(unused.digest() == sha256::of({}));
  CHECK(sha256::of({})[0] == 0xe3); // e3b0c442...b855
  CHECK(sha256::of({})[31] == 0x55);
}

TEST_CASE("codec errors are named, and the failure text says it is the server's protocol") {
  CHECK(codec_errc_name(codec::errc::bad_status_line) == "bad_status_line");
  CHECK(codec_errc_name(codec::errc::body_shorter_than_declared) == "body_shorter_than_declared");
  CHECK(codec_errc_name(std::make_error_code(std::errc::io_error)).empty());
  net::error_info info{codec::errc::bad_chunk_size, {}, {}, "127.0.0.1:1344"};
  CHECK(describe_failure(info) == "protocol error from 127.0.0.1:1344: bad_chunk_size (" +
                                      std::error_code(codec::errc::bad_chunk_size).message() + ")");
  net::error_info refused{net::errc::connection_refused, {}, {}, "127.0.0.1:1344"};
  CHECK(describe_failure(refused).find("refused") != std::string::npos);
  CHECK(describe_failure(net::error_info{}).empty());
}

} // namespace icapkit::client::detail
