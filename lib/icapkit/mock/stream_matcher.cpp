#include "icapkit/mock/stream_matcher.hpp"

namespace icapkit::mock {

stream_matcher::stream_matcher(std::string pattern, bool ignore_case)
    : pattern_(std::move(pattern)), failure_(pattern_.size(), 0), ignore_case_(ignore_case) {
  for (auto& c : pattern_) {
    c = fold(c);
  }
  std::size_t k = 0;
  for (std::size_t i = 1; i < pattern_.size(); ++i) {
    while (k > 0 && pattern_[i] != pattern_[k]) {
      k = failure_[k - 1];
    }
    if (pattern_[i] == pattern_[k]) {
      ++k;
    }
    failure_[i] = k;
  }
}

char stream_matcher::fold(char c) const noexcept {
  if (ignore_case_ && c >= 'A' && c <= 'Z') {
    return static_cast<char>(c - 'A' + 'a');
  }
  return c;
}

bool stream_matcher::step(char c) noexcept {
  if (pattern_.empty()) {
    return false;
  }
  c = fold(c);
  while (state_ > 0 && c != pattern_[state_]) {
    state_ = failure_[state_ - 1];
  }
  if (c == pattern_[state_]) {
    ++state_;
  }
  if (state_ == pattern_.size()) {
    state_ = 0;
    found_ = true;
    return true;
  }
  return false;
}

bool stream_matcher::feed(std::string_view piece) noexcept {
  if (found_) {
    return true;
  }
  for (const char c : piece) {
    if (step(c)) {
      return true;
    }
  }
  return found_;
}

} // namespace icapkit::mock
