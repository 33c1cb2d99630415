#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/errc.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::codec;

namespace {

std::error_code size_line(std::string_view line, std::uint64_t& size, chunk_extensions& ext,
                          leniency len = {}, limits lim = {}) {
  return parse_chunk_size_line(line, size, ext, lim, len);
}

struct chunk_log final : chunked_events {
  std::vector<std::string_view> data; // views: must point into the caller's buffer
  std::vector<std::pair<std::string, std::string>> trailers;
  std::vector<std::uint64_t> sizes;
  bool complete = false;
  void on_chunk_header(std::uint64_t size, const chunk_extensions&) override {
    sizes.push_back(size);
  }
  void on_chunk_data(std::string_view d) override { data.push_back(d); }
  void on_trailer(std::string_view n, std::string_view v) override { trailers.emplace_back(n, v); }
  void on_chunked_complete() override { complete = true; }
};

} // namespace

TEST_CASE("chunked: ieof is recognised however it is spaced or cased") {
  for (std::string_view line : {"0; ieof", "0;ieof", "0 ; IEOF", "0;\tIeOf", "0; ieof "}) {
    std::uint64_t size = 1;
    chunk_extensions ext;
    CAPTURE(line);
    REQUIRE_FALSE(size_line(line, size, ext));
    CHECK(size == 0);
    CHECK(ext.ieof);
    CHECK_FALSE(ext.use_original_body);
  }
}

TEST_CASE("chunked: chunk sizes and their errors") {
  std::uint64_t size = 0;
  chunk_extensions ext;
  CHECK_FALSE(size_line("ffffffffffffffff", size, ext));
  CHECK(size == 0xffffffffffffffffULL);
  CHECK(size_line("fffffffffffffffff", size, ext) == errc::chunk_size_too_long);
  limits wide;
  wide.max_chunk_size_digits = 32;
  CHECK(size_line("10000000000000000", size, ext, {}, wide) == errc::chunk_size_overflow);
  CHECK(size_line("", size, ext) == errc::bad_chunk_size);
  CHECK(size_line("-1", size, ext) == errc::bad_chunk_size);
  CHECK(size_line("1g", size, ext) == errc::bad_chunk_size);
  CHECK(size_line("44 ", size, ext) == errc::bad_chunk_size);
  leniency trailing;
  trailing.chunk_size_trailing_space = true;
  CHECK_FALSE(size_line("44 ", size, ext, trailing));
  CHECK(size == 0x44);
}

TEST_CASE("chunked: use-original-body and unknown extensions") {
  std::uint64_t size = 0;
  chunk_extensions ext;
  REQUIRE_FALSE(size_line("0; use-original-body=22", size, ext));
  CHECK(ext.use_original_body == 22u);
  CHECK_FALSE(ext.ieof);
  REQUIRE_FALSE(size_line("0; x=\"a;b\\\"c\"; use-original-body = \"7\"", size, ext));
  CHECK(ext.use_original_body == 7u);
  REQUIRE_FALSE(size_line("a; name; other=token", size, ext));
  CHECK(ext == chunk_extensions{});
  CHECK(size_line("0; use-original-body=x", size, ext) == errc::bad_use_original_body);
  CHECK(size_line("0; use-original-body=99999999999999999999", size, ext) ==
        errc::bad_use_original_body);
  CHECK(size_line("0; =1", size, ext) == errc::bad_chunk_extension);
  CHECK(size_line("0; a=", size, ext) == errc::bad_chunk_extension);
  CHECK(size_line("0; a b", size, ext) == errc::bad_chunk_extension);
}

TEST_CASE("chunked: data is passed on as views into the caller's buffer") {
  chunk_log log;
  chunked_decoder d(log);
  std::string wire = "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nNEXT";
  std::error_code ec;
  auto n = d.put(wire, ec);
  REQUIRE_FALSE(ec);
  CHECK(n == wire.size() - 4);
  CHECK(d.is_done());
  CHECK(log.complete);
  CHECK(d.body_bytes() == 8);
  REQUIRE(log.data.size() == 2);
  CHECK(log.data[0].data() == wire.data() + 3);
  CHECK(log.data[1] == "abc");
  CHECK(log.sizes == std::vector<std::uint64_t>{5, 3, 0});
  CHECK(log.trailers == std::vector<std::pair<std::string, std::string>>{{"X-T", "1"}});
}

TEST_CASE("chunked: reset reuses the decoder; errors are sticky until then") {
  chunk_log log;
  chunked_decoder d(log);
  std::error_code ec;
  d.put("2\r\nokX", ec);
  CHECK(ec == errc::bad_chunk_terminator);
  CHECK(d.put("0\r\n\r\n", ec) == 0);
  CHECK(ec == errc::bad_chunk_terminator);
  d.reset();
  CHECK(d.at_start());
  CHECK(d.put("0\r\n\r\n", ec) == 5);
  CHECK_FALSE(ec);
  CHECK(d.is_done());
}
