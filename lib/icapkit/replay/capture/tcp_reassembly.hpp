#pragma once
// TCP reassembly of one direction of a connection, without libpcap: segments in (any order,
// duplicated, overlapping), the contiguous byte stream out, with the holes the capture never
// filled reported as gaps. The pcap reader keeps two per connection.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::replay::detail {

using packet_time = std::chrono::system_clock::time_point;

// One step of the reassembled stream: bytes in order, or a hole the capture never filled.
struct stream_piece {
  enum class kind { data, gap };
  kind type = kind::data;
  std::uint64_t offset = 0; // from the stream's first byte (the byte after the SYN)
  std::string data;         // kind::data only
  std::uint64_t size = 0;   // bytes of data, or of the hole
  packet_time time{};       // when the first byte of `data` was captured
};

class tcp_direction {
public:
  // Held out-of-order bytes beyond this are given up on: the oldest hole becomes a gap, so a
  // capture that lost a segment cannot make the reader hold a whole connection's data.
  static constexpr std::size_t default_max_held = 8u << 20;

  explicit tcp_direction(std::size_t max_held = default_max_held) : max_held_(max_held) {}

  // The sequence number of the stream's first byte: the SYN's sequence number + 1, or the first
  // segment's when the SYN was not captured. Segments before it are ignored.
  void start(std::uint32_t first_seq) noexcept;
  bool started() const noexcept { return start_.has_value(); }

  // A segment's payload (SYN/FIN flags already accounted for by the caller: `seq` is the
  // sequence number of payload[0]). Bytes already delivered or already held are dropped, so a
  // retransmission or an overlap never changes the stream: the first copy wins. Sequence numbers
  // compare with 32-bit serial arithmetic, so a stream may wrap past 2^32 (and exceed 4 GiB).
  void add(std::uint32_t seq, std::string_view payload, packet_time time);
  // The direction ends at `seq` (a FIN's sequence number): bytes from there on are ignored.
  void finish_at(std::uint32_t seq) noexcept;
  // The connection is over (RST, both FINs, end of the capture): every remaining hole is
  // final and next() reports it as a gap before the data after it.
  void flush() noexcept { flushed_ = true; }

  // The next piece of the stream, or nullopt when the next bytes have not been captured yet.
  std::optional<stream_piece> next();

  // Every byte up to the FIN has been delivered.
  bool complete() const noexcept { return end_ && delivered_ >= *end_; }
  bool fin_seen() const noexcept { return end_.has_value(); }
  std::uint64_t delivered() const noexcept { return delivered_; }
  std::size_t held_bytes() const noexcept { return held_bytes_; }

private:
  struct segment {
    std::string data;
    packet_time time;
  };

  // Stream offset of `seq`, relative to the bytes delivered so far (serial arithmetic).
  std::int64_t offset_of(std::uint32_t seq) const noexcept;
  void hold(std::uint64_t offset, std::string_view data, packet_time time);

  std::size_t max_held_;
  std::optional<std::uint32_t> start_;
  std::optional<std::uint64_t> end_;
  std::uint64_t delivered_ = 0;
  std::map<std::uint64_t, segment> held_; // by offset; never overlapping
  std::size_t held_bytes_ = 0;
  bool flushed_ = false;
};

} // namespace icapkit::replay::detail
