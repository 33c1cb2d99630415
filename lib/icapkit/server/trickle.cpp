#include "icapkit/server/trickle.hpp"

#include <algorithm>

namespace icapkit::server::detail {

std::size_t trickle_source::read(std::span<char> buf, std::error_code& ec) {
  const auto available = spool_.size();
  const auto limit = released_ ? available : std::min(allowed_, available);
  if (offset_ >= limit) {
    if (!released_) {
      ec = std::make_error_code(std::errc::operation_would_block);
    }
    return 0;
  }
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - offset_));
  const auto n = reader_->read(buf.first(want), ec);
  if (!ec && n == 0) {
    ec = std::make_error_code(std::errc::io_error); // the spool lost bytes it said it held
  }
  offset_ += n;
  return n;
}

} // namespace icapkit::server::detail
