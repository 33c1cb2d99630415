#pragma once
// Trickling, as c-icap's virus_scan does it (SendPercentData / StartSendPercentDataAfter): once a
// body has passed a threshold, the server answers 200 at once with the original encapsulated
// heads and sends back a share of the body while it is still reading. A client that cannot hold
// the whole body until the verdict (Squid 5.7 keeps at most 64 KB of a virgin body in flight)
// keeps sending. When the verdict is "unmodified" the rest of the body follows; any other verdict
// cuts the connection (reset), because the 200 already sent cannot be taken back.
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/body_spool.hpp"

#include <cstdint>
#include <memory>

namespace icapkit::server {

struct trickle_options {
  // Body bytes received before the 200 goes out; 0 turns trickling off. The preview never
  // trickles: this counts from the first body byte, preview included.
  std::uint64_t start_after = 0;
  // The share of the bytes received so far that may have been sent back while reading, 1..100.
  unsigned percent = 5;
};

namespace detail {

// The original body as the trickle may send it: the spooled bytes up to the share allowed so far,
// "not yet" (operation_would_block) past it, and all of it then the end after release_all().
class trickle_source final : public codec::body_source {
public:
  explicit trickle_source(const codec::body_spool& spool)
      : spool_(spool), reader_(spool.reader()) {}

  // Up to `bytes` of the body may have been sent.
  void allow(std::uint64_t bytes) noexcept { allowed_ = bytes > allowed_ ? bytes : allowed_; }
  // The body is complete and clean: everything the spool holds, then the end.
  void release_all() noexcept { released_ = true; }
  std::uint64_t sent() const noexcept { return offset_; }

  std::size_t read(std::span<char> buf, std::error_code& ec) override;

private:
  const codec::body_spool& spool_;
  std::unique_ptr<codec::body_source> reader_; // shares the spool's storage, reads on from offset_
  std::uint64_t offset_ = 0;
  std::uint64_t allowed_ = 0;
  bool released_ = false;
};

} // namespace detail
} // namespace icapkit::server
