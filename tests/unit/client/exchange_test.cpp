#include "icapkit/client/exchange.hpp"

#include "icapkit/codec/errc.hpp"

#include <doctest/doctest.h>

namespace icapkit::client::detail {

TEST_CASE("codec errors are named, and the failure text says it is the server's protocol") {
  CHECK(codec_errc_name(codec::errc::bad_status_line) == "bad_status_line");
  CHECK(codec_errc_name(codec::errc::body_shorter_than_declared) == "body_shorter_than_declared");
  CHECK(codec_errc_name(std::make_error_code(std::errc::io_error)).empty());
  net::error_info info{codec::errc::bad_chunk_size, {}, {}, "127.0.0.1:1344"};
  CHECK(describe_failure(info) == "protocol error from 127.0.0.1:1344: bad_chunk_size (" +
                                      std::error_code(codec::errc::bad_chunk_size).message() + ")");
  net::error_info refused{net::errc::connection_refused, {}, {}, "127.0.0.1:1344"};
  CHECK(describe_failure(refused).find("refused") != std::string::npos);
  CHECK(describe_failure(net::error_info{}).empty());
}

} // namespace icapkit::client::detail
