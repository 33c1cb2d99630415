#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/serializer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace icapkit::codec;

namespace {

// A body arriving from a slow peer: reads return at most read_cap bytes, and "not yet"
// (operation_would_block) comes where the script says, once per position.
class scripted_source final : public body_source {
public:
  enum class blocking { never, before_every_read, at_offset };

  scripted_source(std::string body, bool sized, std::size_t read_cap, blocking mode,
                  std::size_t block_offset = 0)
      : body_(std::move(body)), sized_(sized), read_cap_(read_cap), mode_(mode),
        block_offset_(block_offset) {}

  std::size_t read(std::span<char> buf, std::error_code& ec) override {
    ++reads_;
    if (should_block()) {
      blocked_at_ = offset_;
      ++blocks_;
      ec = std::make_error_code(std::errc::operation_would_block);
      return 0;
    }
    const auto n = std::min({buf.size(), read_cap_, body_.size() - offset_});
    std::copy_n(body_.data() + offset_, n, buf.data());
    offset_ += n;
    return n;
  }
  std::optional<std::uint64_t> size() const override {
    return sized_ ? std::optional<std::uint64_t>(body_.size()) : std::nullopt;
  }

  std::size_t offset() const { return offset_; }
  std::size_t blocks() const { return blocks_; }
  std::size_t reads() const { return reads_; }

private:
  // Blocks once before each read (the end included), or once when reaching block_offset.
  bool should_block() {
    if (mode_ == blocking::never || blocked_at_ == offset_) {
      return false;
    }
    return mode_ == blocking::before_every_read || offset_ == block_offset_;
  }

  std::string body_;
  bool sized_;
  std::size_t read_cap_;
  blocking mode_;
  std::size_t block_offset_;
  std::size_t offset_ = 0;
  std::size_t blocked_at_ = static_cast<std::size_t>(-1);
  std::size_t blocks_ = 0;
  std::size_t reads_ = 0;
};

icap_request_head reqmod_head() {
  icap_request_head h;
  h.method = "REQMOD";
  h.uri = "icap://icap.example/svc";
  return h;
}

http_request_head post_head() {
  http_request_head h;
  h.method = "POST";
  h.target = "/upload";
  h.headers.add("Host", "www.example.com");
  return h;
}

struct drained {
  std::string bytes; // "|PAUSE|" marks where the serializer paused after a preview
  std::size_t waits = 0;
  bool ieof = false;
  std::uint64_t body_bytes = 0;
};

// Drives a serializer as a writer would: writes each piece, retries at once when it waits for the
// body, answers a pause with 100 Continue.
drained drive(serializer& s) {
  drained out;
  for (int steps = 0; steps < 100000; ++steps) {
    std::error_code ec;
    const auto piece = s.next(ec);
    REQUIRE_FALSE(ec);
    out.bytes += piece;
    if (s.waiting_for_body()) {
      ++out.waits; // a writer would wait for the source here, then call next() again
    } else if (!piece.empty()) {
      continue;
    } else if (s.awaiting_preview_decision()) {
      out.bytes += "|PAUSE|";
      s.continue_after_preview();
    } else {
      REQUIRE(s.done());
      out.ieof = s.ieof_sent();
      out.body_bytes = s.body_bytes_sent();
      return out;
    }
  }
  FAIL("the serializer never finished");
  return out;
}

drained serialize_request(body_source& source, std::optional<std::uint64_t> preview) {
  serializer s;
  const auto http = post_head();
  encapsulated_parts parts;
  parts.request_head = &http;
  parts.body = &source;
  request_options opt;
  opt.preview = preview;
  REQUIRE_FALSE(s.start_request(reqmod_head(), parts, opt));
  return drive(s);
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

} // namespace

TEST_CASE("serializer: a body that would block at every position serializes byte-identically") {
  using blocking = scripted_source::blocking;
  const std::vector<std::optional<std::uint64_t>> previews = {std::nullopt, 0, 1, 5};
  // Shorter than, equal to and longer than each preview.
  const std::vector<std::size_t> body_sizes = {0, 1, 3, 5, 6, 12};
  std::size_t total_blocks = 0;
  for (const auto& preview : previews) {
    for (const auto body_size : body_sizes) {
      for (const bool sized : {false, true}) {
        for (const std::size_t read_cap : {std::size_t{1}, std::size_t{2}, std::size_t{64}}) {
          const auto body = pattern(body_size);
          const long long preview_size = preview ? static_cast<long long>(*preview) : -1;
          CAPTURE(preview_size);
          CAPTURE(body_size);
          CAPTURE(sized);
          CAPTURE(read_cap);
          scripted_source plain(body, sized, read_cap, blocking::never);
          const auto expected = serialize_request(plain, preview);
          CHECK(expected.waits == 0);
          CHECK(expected.body_bytes == body_size);

          scripted_source every(body, sized, read_cap, blocking::before_every_read);
          const auto alternating = serialize_request(every, preview);
          CHECK(alternating.bytes == expected.bytes);
          CHECK(alternating.ieof == expected.ieof);
          CHECK(alternating.body_bytes == expected.body_bytes);
          CHECK(alternating.waits == every.blocks());
          CHECK(every.reads() == plain.reads() + every.blocks()); // before each read
          total_blocks += every.blocks();

          for (std::size_t at = 0; at <= body_size; ++at) {
            CAPTURE(at);
            scripted_source once(body, sized, read_cap, blocking::at_offset, at);
            const auto blocked = serialize_request(once, preview);
            CHECK(blocked.bytes == expected.bytes);
            CHECK(blocked.ieof == expected.ieof);
            CHECK(blocked.waits == once.blocks());
          }
        }
      }
    }
  }
  CHECK(total_blocks > 400); // the scripts really blocked (468 times in all)
}

TEST_CASE("serializer: waiting for the body returns what is ready and an empty view, ec clear") {
  scripted_source source("hello", false, 64, scripted_source::blocking::before_every_read);
  serializer s;
  const auto http = post_head();
  encapsulated_parts parts;
  parts.request_head = &http;
  parts.body = &source;
  REQUIRE_FALSE(s.start_request(reqmod_head(), parts, {}));
  std::error_code ec;
  // The heads are ready; the body is not: they come out alone, flagged as waiting.
  const std::string heads(s.next(ec));
  CHECK_FALSE(ec);
  CHECK(heads.find("POST /upload HTTP/1.1\r\n") != std::string::npos);
  CHECK(heads.ends_with("\r\n\r\n"));
  CHECK(s.waiting_for_body());
  CHECK_FALSE(s.done());
  CHECK_FALSE(s.awaiting_preview_decision());
  // The retry reads the source: its bytes, then the next "not yet", then the end.
  CHECK(s.next(ec) == "5\r\nhello\r\n");
  CHECK_FALSE(ec);
  CHECK_FALSE(s.waiting_for_body());
  CHECK(s.next(ec).empty());
  CHECK_FALSE(ec);
  CHECK(s.waiting_for_body());
  CHECK(s.next(ec) == "0\r\n\r\n");
  CHECK_FALSE(s.waiting_for_body());
  CHECK(s.done());
}

TEST_CASE("serializer: the look-ahead after a preview waits before choosing ieof or a pause") {
  SUBCASE("unknown size: the terminator waits for the source") {
    scripted_source source("12345", false, 64, scripted_source::blocking::at_offset, 5);
    serializer s;
    encapsulated_parts parts;
    parts.body = &source;
    request_options opt;
    opt.preview = 5;
    REQUIRE_FALSE(s.start_request(reqmod_head(), parts, opt));
    std::error_code ec;
    // The preview bytes go out; whether the body ended there is not known yet.
    std::string out(s.next(ec));
    CHECK_FALSE(ec);
    CHECK(out.ends_with("5\r\n12345\r\n"));
    CHECK(s.waiting_for_body());
    CHECK_FALSE(s.awaiting_preview_decision());
    CHECK(s.next(ec) == "0; ieof\r\n\r\n"); // the source then said: ended at 5
    CHECK(s.done());
    CHECK(s.ieof_sent());
  }
  SUBCASE("known size: no read is needed, the preview pauses at once") {
    scripted_source source("1234567890", true, 64, scripted_source::blocking::at_offset, 5);
    serializer s;
    encapsulated_parts parts;
    parts.body = &source;
    request_options opt;
    opt.preview = 5;
    REQUIRE_FALSE(s.start_request(reqmod_head(), parts, opt));
    std::error_code ec;
    std::string out(s.next(ec));
    CHECK(out.ends_with("5\r\n12345\r\n0\r\n\r\n"));
    CHECK(s.awaiting_preview_decision());
    CHECK_FALSE(s.waiting_for_body());
    CHECK(source.blocks() == 0);
    // A 204 in preview: the rest is never read.
    s.stop_after_preview();
    CHECK(s.done());
    CHECK(source.offset() == 5);
  }
}

TEST_CASE("serializer: a source that stays blocked keeps the serializer waiting, not failed") {
  serializer s;
  generator_body_source stuck([](std::span<char>, std::error_code& ec) -> std::size_t {
    ec = std::make_error_code(std::errc::operation_would_block);
    return 0;
  });
  encapsulated_parts parts;
  parts.body = &stuck;
  REQUIRE_FALSE(s.start_request(reqmod_head(), parts, {}));
  std::error_code ec;
  CHECK_FALSE(s.next(ec).empty()); // the ICAP head
  for (int i = 0; i < 3; ++i) {
    CHECK(s.next(ec).empty());
    CHECK_FALSE(ec);
    CHECK(s.waiting_for_body());
    CHECK_FALSE(s.source_error());
  }
  std::string whole;
  CHECK(serialize_to_string(reqmod_head(), parts, {}, whole) == std::errc::operation_would_block);
}

TEST_CASE("serializer: failures after waiting are reported as before") {
  SUBCASE("a source error") {
    int calls = 0;
    generator_body_source source([&](std::span<char>, std::error_code& ec) -> std::size_t {
      ec = std::make_error_code(++calls == 1 ? std::errc::operation_would_block
                                             : std::errc::connection_reset);
      return 0;
    });
    serializer s;
    encapsulated_parts parts;
    parts.body = &source;
    REQUIRE_FALSE(s.start_request(reqmod_head(), parts, {}));
    std::error_code ec;
    s.next(ec);
    CHECK(s.waiting_for_body());
    CHECK(s.next(ec).empty());
    CHECK(ec == errc::body_source_error);
    CHECK(s.source_error() == std::errc::connection_reset);
    CHECK_FALSE(s.waiting_for_body());
  }
  SUBCASE("a sized source that ends early") {
    scripted_source source("abc", false, 64, scripted_source::blocking::before_every_read);
    generator_body_source sized(
        [&](std::span<char> buf, std::error_code& ec) { return source.read(buf, ec); }, 10);
    serializer s;
    encapsulated_parts parts;
    parts.body = &sized;
    REQUIRE_FALSE(s.start_request(reqmod_head(), parts, {}));
    std::error_code ec;
    for (int i = 0; i < 20 && !ec; ++i) {
      s.next(ec);
    }
    CHECK(ec == errc::body_shorter_than_declared);
  }
}

TEST_CASE("serializer: a response body may wait too") {
  const auto body = pattern(40);
  scripted_source plain(body, false, 7, scripted_source::blocking::never);
  scripted_source slow(body, false, 7, scripted_source::blocking::before_every_read);
  auto serialize = [](body_source& source) {
    icap_response_head head;
    head.status = 200;
    head.reason = "OK";
    head.headers.add("ISTag", "\"x\"");
    http_response_head http;
    encapsulated_parts parts;
    parts.response_head = &http;
    parts.body = &source;
    response_options opt;
    opt.request_method = icap_method::respmod;
    serializer s;
    REQUIRE_FALSE(s.start_response(head, parts, opt));
    return drive(s);
  };
  const auto expected = serialize(plain);
  const auto got = serialize(slow);
  CHECK(got.bytes == expected.bytes);
  CHECK(got.waits == slow.blocks());
  CHECK(got.waits == 7); // before each of the six reads with bytes and before the end
}
