#include "icapkit/mock/stream_rewriter.hpp"

namespace icapkit::mock {

stream_rewriter::stream_rewriter(rewrite_spec spec)
    : spec_(std::move(spec)), start_(spec_.pattern, spec_.ignore_case),
      end_(spec_.end, spec_.ignore_case) {}

void stream_rewriter::outside(char c, std::string& out) {
  held_ += c;
  if (start_.step(c)) {
    held_.clear();
    ++rewrites_;
    out += spec_.text;
    if (spec_.mode == rewrite_spec::kind::strip) {
      inside_ = true;
      end_.reset();
    }
    return;
  }
  // Bytes no longer part of a possible match leave; the matcher's partial length says how many
  // trailing bytes still might start the marker.
  const std::size_t keep = start_.partial();
  if (held_.size() > keep) {
    out.append(held_, 0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
  }
}

void stream_rewriter::feed(std::string_view piece, std::string& out) {
  if (spec_.pattern.empty()) {
    out.append(piece);
    return;
  }
  for (const char c : piece) {
    if (inside_) {
      if (end_.step(c)) {
        inside_ = false;
        start_.reset();
      }
      continue;
    }
    outside(c, out);
  }
}

void stream_rewriter::finish(std::string& out) {
  if (!inside_) {
    out += held_;
  }
  held_.clear();
}

} // namespace icapkit::mock
