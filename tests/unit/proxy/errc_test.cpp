#include "icapkit/proxy/errc.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using icapkit::proxy::errc;
namespace proxy = icapkit::proxy;

TEST_CASE("proxy errc: every code has its own name and a message a user understands") {
  std::set<std::string> names;
  std::set<std::string> messages;
  for (int value = static_cast<int>(errc::conflicting_framing);
       value <= static_cast<int>(errc::connect_not_supported); ++value) {
    const auto code = static_cast<errc>(value);
    const std::error_code ec = code;
    const auto name = proxy::errc_name(code);
    REQUIRE_MESSAGE(!name.empty(), "code " << value << " has no name");
    CHECK(names.insert(std::string(name)).second);
    CHECK(messages.insert(ec.message()).second);
    CHECK(ec.message() != "unknown proxy error");
    CHECK(ec.category() == proxy::proxy_category());
  }
  CHECK(names.size() == 17);
  CHECK(std::string(proxy::proxy_category().name()) == "icapkit.proxy");
  CHECK(proxy::errc_name(errc::conflicting_framing) == "conflicting_framing");
  CHECK(proxy::errc_name(errc::client_timeout) == "client_timeout");
}

TEST_CASE("proxy errc: the client gets the status each refusal calls for") {
  CHECK(proxy::status_for(errc::conflicting_framing) == 400);
  CHECK(proxy::status_for(errc::bad_content_length) == 400);
  CHECK(proxy::status_for(errc::bad_transfer_encoding) == 400);
  CHECK(proxy::status_for(errc::bad_chunked_body) == 400);
  CHECK(proxy::status_for(errc::bad_request) == 400);
  CHECK(proxy::status_for(errc::missing_host) == 400);
  CHECK(proxy::status_for(errc::truncated_body) == 400);
  CHECK(proxy::status_for(errc::header_too_large) == 431);
  CHECK(proxy::status_for(errc::body_too_large) == 413);
  CHECK(proxy::status_for(errc::unsupported_version) == 505);
  CHECK(proxy::status_for(errc::bad_upstream_response) == 502);
  CHECK(proxy::status_for(errc::upstream_unreachable) == 502);
  CHECK(proxy::status_for(errc::upstream_timeout) == 504);
  CHECK(proxy::status_for(errc::client_timeout) == 408);
  CHECK(proxy::status_for(errc::bad_request_target) == 400);
  CHECK(proxy::status_for(errc::upgrade_not_supported) == 501);
  CHECK(proxy::status_for(errc::connect_not_supported) == 501);
}

TEST_CASE("proxy errc: values outside the enumeration stay recognisable") {
  const std::error_code unknown(999, proxy::proxy_category());
  CHECK(unknown.message() == "unknown proxy error");
  CHECK(proxy::errc_name(static_cast<errc>(999)).empty());
  CHECK(proxy::status_for(static_cast<errc>(999)) == 500);
  // A proxy code never compares equal to another layer's code with the same value.
  CHECK(std::error_code(errc::conflicting_framing) != std::error_code(1, std::generic_category()));
}
