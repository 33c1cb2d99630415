#include "icapkit/replay/capture/tcp_reassembly.hpp"

#include <algorithm>
#include <iterator>

namespace icapkit::replay::detail {

void tcp_direction::start(std::uint32_t first_seq) noexcept {
  start_ = first_seq;
}

std::int64_t tcp_direction::offset_of(std::uint32_t seq) const noexcept {
  // Serial arithmetic (RFC 1982) around the delivered position: a segment is at most 2^31
  // bytes before or after it, which holds for any real window.
  const auto relative = static_cast<std::uint32_t>(seq - *start_);
  const auto here = static_cast<std::uint32_t>(delivered_);
  const auto distance = static_cast<std::int32_t>(relative - here);
  return static_cast<std::int64_t>(delivered_) + distance;
}

void tcp_direction::add(std::uint32_t seq, std::string_view payload, packet_time time) {
  if (!start_ || payload.empty()) {
    return;
  }
  std::int64_t begin = offset_of(seq);
  auto end = begin + static_cast<std::int64_t>(payload.size());
  if (end_) {
    end = std::min(end, static_cast<std::int64_t>(*end_));
  }
  const auto delivered = static_cast<std::int64_t>(delivered_);
  if (begin < delivered) { // already delivered: a retransmission
    payload.remove_prefix(static_cast<std::size_t>(std::min(delivered - begin, end - begin)));
    begin = delivered;
  }
  if (end <= begin) {
    return;
  }
  payload = payload.substr(0, static_cast<std::size_t>(end - begin));
  hold(static_cast<std::uint64_t>(begin), payload, time);
}

void tcp_direction::hold(std::uint64_t offset, std::string_view data, packet_time time) {
  const std::uint64_t end = offset + data.size();
  std::uint64_t pos = offset;
  // The segment starting before `offset` may cover its first bytes.
  auto after = held_.upper_bound(pos);
  if (after != held_.begin()) {
    const auto before = std::prev(after);
    pos = std::max(pos, before->first + before->second.data.size());
  }
  // Fill only the parts no earlier copy holds: the first copy wins.
  while (pos < end) {
    const auto next = held_.lower_bound(pos);
    if (next != held_.end() && next->first == pos) {
      pos += next->second.data.size();
      continue;
    }
    const std::uint64_t stop = next == held_.end() ? end : std::min(end, next->first);
    const auto piece =
        data.substr(static_cast<std::size_t>(pos - offset), static_cast<std::size_t>(stop - pos));
    held_.emplace_hint(next, pos, segment{std::string(piece), time});
    held_bytes_ += piece.size();
    pos = stop;
  }
}

void tcp_direction::finish_at(std::uint32_t seq) noexcept {
  if (!start_ || end_) {
    return;
  }
  const auto at =
      static_cast<std::uint64_t>(std::max(offset_of(seq), static_cast<std::int64_t>(delivered_)));
  end_ = at;
  // Bytes held past the FIN are not part of the stream.
  while (!held_.empty()) {
    auto last = std::prev(held_.end());
    const std::uint64_t last_end = last->first + last->second.data.size();
    if (last_end <= at) {
      break;
    }
    if (last->first >= at) {
      held_bytes_ -= last->second.data.size();
      held_.erase(last);
      continue;
    }
    held_bytes_ -= static_cast<std::size_t>(last_end - at);
    last->second.data.resize(static_cast<std::size_t>(at - last->first));
  }
}

std::optional<stream_piece> tcp_direction::next() {
  if (held_.empty()) {
    // Bytes lost right before the FIN: no later data shows the hole, the FIN does.
    if (flushed_ && end_ && delivered_ < *end_) {
      stream_piece gap{stream_piece::kind::gap, delivered_, {}, *end_ - delivered_, {}};
      delivered_ = *end_;
      return gap;
    }
    return std::nullopt;
  }
  auto first = held_.begin();
  if (first->first > delivered_) {
    if (!flushed_ && held_bytes_ <= max_held_) {
      return std::nullopt; // the hole may still fill
    }
    stream_piece gap{
        stream_piece::kind::gap, delivered_, {}, first->first - delivered_, first->second.time};
    delivered_ = first->first;
    return gap;
  }
  stream_piece piece{stream_piece::kind::data, delivered_, std::move(first->second.data), 0,
                     first->second.time};
  piece.size = piece.data.size();
  held_bytes_ -= piece.data.size();
  delivered_ += piece.size;
  held_.erase(first);
  return piece;
}

} // namespace icapkit::replay::detail
