// The response relay's framing helper that needs no connection; relaying itself (as is, chunked,
// close-delimited, through RESPMOD) is checked end to end in proxy_test.cpp.
#include "icapkit/proxy/response_relay.hpp"

#include <doctest/doctest.h>

using namespace icapkit;

TEST_CASE("response_relay: a held body goes out with its Content-Length, never chunked") {
  codec::header_list headers;
  headers.add("Transfer-Encoding", "chunked");
  headers.add("Content-Type", "text/html");
  proxy::detail::set_content_length(headers, 1234);
  CHECK_FALSE(headers.contains("Transfer-Encoding"));
  CHECK(headers.get("Content-Length") == "1234");
  CHECK(headers.get("Content-Type") == "text/html");

  headers.add("Content-Length", "99"); // a second, stale value is replaced, not kept beside
  proxy::detail::set_content_length(headers, 0);
  CHECK(headers.count("Content-Length") == 1);
  CHECK(headers.get("Content-Length") == "0");
}
