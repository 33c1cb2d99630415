#include "icapkit/codec/html_escape.hpp"

#include <doctest/doctest.h>

namespace icapkit::codec {

TEST_CASE("html_escaped replaces the five markup characters and nothing else") {
  CHECK(html_escaped("") == "");
  CHECK(html_escaped("plain text, UTF-8 \xC3\xA9") == "plain text, UTF-8 \xC3\xA9");
  CHECK(html_escaped("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;");
  CHECK(html_escaped("a & b") == "a &amp; b");
  CHECK(html_escaped("\"quoted\" 'single'") == "&quot;quoted&quot; &#39;single&#39;");
  CHECK(html_escaped("&amp;") == "&amp;amp;"); // escaped once more, never taken as an entity
}

} // namespace icapkit::codec
