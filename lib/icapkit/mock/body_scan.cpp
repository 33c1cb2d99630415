#include "icapkit/mock/body_scan.hpp"

#include <algorithm>

namespace icapkit::mock {

void zip_encryption_probe::feed(std::string_view piece) noexcept {
  // Local file header: signature(4) version(2) flags(2); bit 0 of flags marks encryption.
  for (const char c : piece) {
    if (found_) {
      return;
    }
    if (capture_ >= 0) {
      if (capture_ == 2) {
        flags_ = static_cast<unsigned char>(c);
        found_ = (flags_ & 0x01u) != 0;
      }
      capture_ = capture_ == 3 ? -1 : capture_ + 1;
      continue;
    }
    if (signature_.step(c)) {
      capture_ = 0;
    }
  }
}

rewrite_spec builtin_sanitize_rewrite() {
  rewrite_spec r;
  r.mode = rewrite_spec::kind::strip;
  r.pattern = "<script";
  r.end = "</script>";
  r.text = "<!-- script removed by icapkit serve -->";
  r.ignore_case = true;
  return r;
}

body_scan::body_scan(const scenario& rules, body_scan_options options)
    : parts_(std::move(options.multipart_boundary)) {
  patterns_.reserve(rules.rules.size());
  for (const auto& r : rules.rules) {
    std::vector<stream_matcher> list;
    for (const auto& bytes : r.match.contains) {
      list.emplace_back(bytes);
    }
    patterns_.push_back(std::move(list));
  }
  if (options.keep_copy) {
    copy_.emplace(options.spool_memory_limit, std::move(options.temp_dir));
  }
}

void body_scan::feed(std::string_view piece) {
  size_ += piece.size();
  digest_.update(piece);
  eicar_.feed(piece);
  script_.feed(piece);
  zip_.feed(piece);
  for (auto& list : patterns_) {
    for (auto& m : list) {
      m.feed(piece);
    }
  }
  parts_.feed(piece);
  if (copy_ && !copy_error_) {
    copy_error_ = copy_->append(piece);
  }
}

bool body_scan::contains(std::size_t index) const noexcept {
  if (index >= patterns_.size()) {
    return false;
  }
  const auto& list = patterns_[index];
  return std::any_of(list.begin(), list.end(), [](const auto& m) { return m.found(); });
}

} // namespace icapkit::mock
