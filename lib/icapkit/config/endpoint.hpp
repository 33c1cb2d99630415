#pragma once
// The proxy's own top-level fields: where it listens ("listen") and where it forwards
// ("upstream"). They are icapkit's, not Avi's (a virtual service gets them elsewhere).
#include "icapkit/codec/uri.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::config {

struct listen_address {
  std::string host;       // "127.0.0.1", "::1" (without brackets), "localhost", "0.0.0.0"
  std::uint16_t port = 0; // 0: any free port (tests bind that way)
};

// "HOST:PORT" or "[V6]:PORT". On failure returns nullopt and sets `error` to what is wrong.
std::optional<listen_address> parse_listen(std::string_view text, std::string& error);
// "http://HOST[:PORT][/path]" or https (codec::parse_uri rules); icap:// and icaps:// are
// refused since the upstream is the HTTP origin.
std::optional<codec::uri> parse_upstream(std::string_view text, std::string& error);

} // namespace icapkit::config
