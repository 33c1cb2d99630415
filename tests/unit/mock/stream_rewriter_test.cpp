#include "icapkit/mock/body_scan.hpp"
#include "icapkit/mock/stream_rewriter.hpp"

#include <doctest/doctest.h>

using namespace icapkit::mock;

namespace {

std::string rewrite(const rewrite_spec& spec, const std::string& body, std::size_t cut) {
  stream_rewriter r(spec);
  std::string out;
  r.feed(std::string_view(body).substr(0, cut), out);
  r.feed(std::string_view(body).substr(cut), out);
  r.finish(out);
  return out;
}

} // namespace

TEST_CASE("the built-in sanitizer strips every script block, split at any position") {
  const std::string body = "<p>a</p><script>evil()</script><b>b</b><SCRIPT src=x></SCRIPT>end";
  const std::string expected = "<p>a</p><!-- script removed by icapkit serve --><b>b</b>"
                               "<!-- script removed by icapkit serve -->end";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    CHECK_MESSAGE(rewrite(builtin_sanitize_rewrite(), body, cut) == expected, "cut " << cut);
  }
}

TEST_CASE("replace rewrites every occurrence and keeps partial matches that fail") {
  rewrite_spec spec;
  spec.pattern = "secret";
  spec.text = "******";
  const std::string body = "secre secret sec secretsecret";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    CHECK(rewrite(spec, body, cut) == "secre ****** sec ************");
  }
}

TEST_CASE(
    "an unterminated strip section is removed to the end; a partial marker at the end stays") {
  CHECK(rewrite(builtin_sanitize_rewrite(), "ok<script>never closed", 5) ==
        "ok<!-- script removed by icapkit serve -->");
  CHECK(rewrite(builtin_sanitize_rewrite(), "ok<scri", 3) == "ok<scri");
}
