#include "icapkit/replay/capture/tcp_reassembly.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace icapkit::replay::detail;

namespace {

packet_time at(int second) {
  return packet_time(std::chrono::seconds(second));
}

// Everything next() has to give right now, gaps written as "[gap N@offset]".
std::string drain(tcp_direction& direction) {
  std::string out;
  while (auto piece = direction.next()) {
    if (piece->type == stream_piece::kind::gap) {
      out += "[gap " + std::to_string(piece->size) + "@" + std::to_string(piece->offset) + "]";
    } else {
      out += piece->data;
    }
  }
  return out;
}

} // namespace

TEST_CASE("in-order segments come out as they went in, from the byte after the SYN") {
  tcp_direction direction;
  direction.start(1001); // SYN seq 1000
  direction.add(1001, "GET / HT", at(1));
  direction.add(1009, "TP/1.1\r\n\r\n", at(2));
  auto first = direction.next();
  REQUIRE(first);
  CHECK(first->offset == 0);
  CHECK(first->time == at(1));
  CHECK(first->data == "GET / HT");
  CHECK(drain(direction) == "TP/1.1\r\n\r\n");
  CHECK(direction.delivered() == 18);
}

TEST_CASE("out-of-order segments are held until the gap fills") {
  tcp_direction direction;
  direction.start(0);
  direction.add(5, "world", at(2));
  CHECK(drain(direction).empty());
  CHECK(direction.held_bytes() == 5);
  direction.add(0, "hello", at(1));
  CHECK(drain(direction) == "helloworld");
  CHECK(direction.held_bytes() == 0);
}

TEST_CASE("retransmissions and overlaps never change the stream: the first copy wins") {
  tcp_direction direction;
  direction.start(100);
  direction.add(100, "abcd", at(1));
  CHECK(drain(direction) == "abcd");
  direction.add(100, "XXXX", at(2));     // retransmission of delivered bytes
  direction.add(102, "XXef", at(3));     // overlaps delivered bytes
  direction.add(110, "klmn", at(4));     // held
  direction.add(108, "XXXXXXXX", at(5)); // covers the held segment and more
  direction.add(106, "gh", at(6));
  CHECK(drain(direction) == "efghXXklmnXX");
}

TEST_CASE("an overlap filling several holes keeps every earlier copy") {
  tcp_direction direction;
  direction.start(0);
  direction.add(2, "c", at(1));
  direction.add(5, "f", at(1));
  direction.add(0, "ABCDEFGH", at(2));
  CHECK(drain(direction) == "ABcDEfGH");
}

TEST_CASE("sequence numbers wrap around 2^32") {
  tcp_direction direction;
  direction.start(0xFFFFFFFAu);
  direction.add(0x00000000u, "ghij", at(2)); // after the wrap, arrives first
  direction.add(0xFFFFFFFAu, "abcdef", at(1));
  direction.add(0xFFFFFFFFu, "fgh", at(3)); // retransmission across the wrap
  CHECK(drain(direction) == "abcdefghij");
  direction.finish_at(0x00000004u + 2);
  direction.add(0x00000004u, "kl", at(4));
  CHECK(drain(direction) == "kl");
  CHECK(direction.complete());
}

TEST_CASE("a stream longer than 4 GiB keeps its offsets") {
  tcp_direction direction;
  direction.start(7);
  // Deliver 2^32 + 3 bytes' worth of offsets without the memory: large jumps with flush.
  direction.add(7, "a", at(1));
  CHECK(drain(direction) == "a");
  direction.flush();
  for (std::uint64_t step = 1; step < 5; ++step) {
    const std::uint64_t offset = step * 0x40000000u; // 1 GiB steps
    direction.add(static_cast<std::uint32_t>(7 + offset), "b", at(2));
    auto gap = direction.next();
    REQUIRE(gap);
    CHECK(gap->type == stream_piece::kind::gap);
    auto data = direction.next();
    REQUIRE(data);
    CHECK(data->offset == offset);
  }
  CHECK(direction.delivered() == 4 * std::uint64_t{0x40000000u} + 1);
}

TEST_CASE("without the SYN the first segment seen starts the stream; earlier bytes are dropped") {
  tcp_direction direction;
  CHECK_FALSE(direction.started());
  direction.add(50, "ignored before start", at(0));
  direction.start(500);
  direction.add(490, "0123456789abc", at(1)); // 10 bytes before the start
  CHECK(drain(direction) == "abc");
}

TEST_CASE("a hole that never fills becomes a gap once the connection is over") {
  tcp_direction direction;
  direction.start(0);
  direction.add(0, "head", at(1));
  direction.add(1452, "tail", at(3)); // 1448 bytes at offset 4 were lost
  CHECK(drain(direction) == "head");
  direction.finish_at(1456);
  CHECK_FALSE(direction.complete());
  direction.flush();
  CHECK(drain(direction) == "[gap 1448@4]tail");
  CHECK(direction.complete());
}

TEST_CASE("bytes lost right before the FIN are reported as a gap") {
  tcp_direction direction;
  direction.start(0);
  direction.add(0, "abc", at(1));
  direction.finish_at(10);
  CHECK(drain(direction) == "abc");
  direction.flush();
  CHECK(drain(direction) == "[gap 7@3]");
}

TEST_CASE("the FIN ends the stream: later bytes and held bytes past it are dropped") {
  tcp_direction direction;
  direction.start(0);
  direction.add(4, "efgh", at(1));
  direction.finish_at(6);
  direction.add(0, "abcdXXXX", at(2));
  CHECK(drain(direction) == "abcdef");
  CHECK(direction.complete());
  CHECK(direction.held_bytes() == 0);
}

TEST_CASE("held bytes beyond the limit give up on the oldest hole") {
  tcp_direction direction(8);
  direction.start(0);
  direction.add(10, "12345", at(1));
  CHECK(drain(direction).empty());
  direction.add(20, "67890", at(2));            // 10 held > 8
  CHECK(drain(direction) == "[gap 10@0]12345"); // back under the limit: the next hole may fill
  CHECK(direction.held_bytes() == 5);
}
