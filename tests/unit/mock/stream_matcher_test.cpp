#include "icapkit/mock/stream_matcher.hpp"

#include <doctest/doctest.h>

#include <string>

using icapkit::mock::eicar_string;
using icapkit::mock::stream_matcher;

TEST_CASE("stream_matcher finds EICAR split at every position across two pieces") {
  const std::string body = "clean prefix " + std::string(eicar_string) + " clean suffix";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    stream_matcher m{std::string(eicar_string)};
    m.feed(std::string_view(body).substr(0, cut));
    m.feed(std::string_view(body).substr(cut));
    CHECK_MESSAGE(m.found(), "cut at " << cut);
  }
}

TEST_CASE("stream_matcher finds EICAR fed byte by byte and split in three pieces") {
  const std::string body = std::string(100, 'x') + std::string(eicar_string);
  stream_matcher single{std::string(eicar_string)};
  for (const char c : body) {
    single.feed(std::string_view(&c, 1));
  }
  CHECK(single.found());
  for (std::size_t a = 90; a < body.size(); a += 7) {
    for (std::size_t b = a; b < body.size(); b += 11) {
      stream_matcher m{std::string(eicar_string)};
      m.feed(std::string_view(body).substr(0, a));
      m.feed(std::string_view(body).substr(a, b - a));
      m.feed(std::string_view(body).substr(b));
      CHECK(m.found());
    }
  }
}

TEST_CASE("stream_matcher does not match a truncated EICAR or other text") {
  stream_matcher m{std::string(eicar_string)};
  m.feed(eicar_string.substr(0, eicar_string.size() - 1));
  m.feed("Z");
  CHECK_FALSE(m.found());
  stream_matcher empty{""};
  CHECK_FALSE(empty.feed("anything"));
}

TEST_CASE("stream_matcher handles self-overlapping patterns (KMP fallback)") {
  stream_matcher m{"aab"};
  CHECK(m.feed("aaab"));
  stream_matcher n{"abab"};
  n.feed("aba");
  CHECK(n.feed("bab"));
}

TEST_CASE("stream_matcher ignore_case folds ASCII letters") {
  stream_matcher m{"<script", true};
  CHECK(m.feed("<p>x</p><SCRIPT src=a>"));
  stream_matcher strict{"<script"};
  CHECK_FALSE(strict.feed("<SCRIPT"));
}
