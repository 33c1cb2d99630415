#include "icapkit/proxy/errc.hpp"

#include <array>
#include <string>

namespace icapkit::proxy {
namespace {

struct errc_info {
  errc code;
  std::string_view name;
  std::string_view message;
  int status;
};

// One row per code: the name logs carry, the message a user reads, and the client's status.
constexpr std::array<errc_info, 17> errc_table{{
    {errc::conflicting_framing, "conflicting_framing",
     "request has both Content-Length and Transfer-Encoding", 400},
    {errc::bad_content_length, "bad_content_length",
     "invalid or repeated Content-Length (one 1*DIGIT value only)", 400},
    {errc::bad_transfer_encoding, "bad_transfer_encoding",
     "unsupported Transfer-Encoding (only a single \"chunked\" is accepted)", 400},
    {errc::bad_chunked_body, "bad_chunked_body", "malformed chunked body", 400},
    {errc::header_too_large, "header_too_large", "header section too large", 431},
    {errc::bad_request, "bad_request", "malformed HTTP request head", 400},
    {errc::body_too_large, "body_too_large", "request body larger than the proxy accepts", 413},
    {errc::unsupported_version, "unsupported_version",
     "unsupported HTTP version (only HTTP/1.0 and HTTP/1.1)", 505},
    {errc::missing_host, "missing_host", "request without Host and no upstream to send it to", 400},
    {errc::bad_upstream_response, "bad_upstream_response", "upstream sent a malformed response",
     502},
    {errc::upstream_unreachable, "upstream_unreachable", "cannot connect to the upstream server",
     502},
    {errc::upstream_timeout, "upstream_timeout", "upstream server did not answer in time", 504},
    {errc::client_timeout, "client_timeout", "client too slow sending its request", 408},
    {errc::truncated_body, "truncated_body", "connection closed before the end of the message",
     400},
    {errc::bad_request_target, "bad_request_target",
     "request target with a byte a URI cannot hold (non-ASCII, space, control, fragment...)", 400},
    {errc::upgrade_not_supported, "upgrade_not_supported",
     "protocol upgrades (WebSocket) are not tunnelled by icapkit proxy", 501},
    {errc::connect_not_supported, "connect_not_supported",
     "CONNECT tunnels are not supported by icapkit proxy", 501},
}};

const errc_info* find_info(int value) noexcept {
  for (const auto& info : errc_table) {
    if (static_cast<int>(info.code) == value) {
      return &info;
    }
  }
  return nullptr;
}

class proxy_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "icapkit.proxy"; }
  std::string message(int value) const override {
    const auto* info = find_info(value);
    return info != nullptr ? std::string(info->message) : "unknown proxy error";
  }
};

} // namespace

const std::error_category& proxy_category() noexcept {
  static const proxy_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), proxy_category()};
}

std::string_view errc_name(errc e) noexcept {
  const auto* info = find_info(static_cast<int>(e));
  return info != nullptr ? info->name : std::string_view{};
}

int status_for(errc e) noexcept {
  const auto* info = find_info(static_cast<int>(e));
  return info != nullptr ? info->status : 500;
}

} // namespace icapkit::proxy
