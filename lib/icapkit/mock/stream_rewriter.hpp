#pragma once
// Rewrites a body piece by piece for sanitize verdicts: replace every occurrence of a pattern with
// a text, or remove everything from a start marker through an end marker (the built-in sanitizer
// strips <script>...</script>). Markers split across pieces are handled; only a partial match (at
// most the marker's length) is held back.
#include "icapkit/mock/stream_matcher.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace icapkit::mock {

struct rewrite_spec {
  enum class kind { replace, strip };
  kind mode = kind::replace;
  std::string pattern; // replace: what to replace; strip: the start marker
  std::string end;     // strip only: the end marker (removed with the section)
  std::string text;    // inserted for each occurrence / removed section
  bool ignore_case = false;
};

class stream_rewriter {
public:
  explicit stream_rewriter(rewrite_spec spec);

  // Appends the rewritten form of `piece` to `out` (bytes that may start a marker are held).
  void feed(std::string_view piece, std::string& out);
  // The end of the body: releases held bytes. An unterminated strip section is removed to the end.
  void finish(std::string& out);

  std::uint64_t rewrites() const noexcept { return rewrites_; }

private:
  void outside(char c, std::string& out);

  rewrite_spec spec_;
  stream_matcher start_;
  stream_matcher end_;
  std::string held_; // original bytes of a pending partial match of the start marker
  bool inside_ = false;
  std::uint64_t rewrites_ = 0;
};

} // namespace icapkit::mock
