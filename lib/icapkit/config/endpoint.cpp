#include "icapkit/config/endpoint.hpp"

#include <charconv>

namespace icapkit::config {
namespace detail {
namespace {

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool valid_host(std::string_view host) {
  if (host.empty()) {
    return false;
  }
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Splits "host:port" / "[v6]:port" / "host"; `port_text` is empty when no port is given.
bool split_host_port(std::string_view text, std::string_view& host, std::string_view& port_text) {
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return false;
    }
    port_text = rest.empty() ? rest : rest.substr(1);
    return !rest.empty() ? !port_text.empty() : true;
  }
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(':') != colon) {
    return false; // a bare IPv6 address needs brackets to carry a port
  }
  host = text.substr(0, colon);
  port_text = (colon == std::string_view::npos) ? std::string_view{} : text.substr(colon + 1);
  return colon == std::string_view::npos || !port_text.empty();
}

} // namespace
} // namespace detail

std::optional<listen_address> parse_listen(std::string_view text, std::string& error) {
  std::string_view host;
  std::string_view port_text;
  listen_address out;
  if (!detail::split_host_port(text, host, port_text) || port_text.empty()) {
    error = "\"" + std::string(text) + "\" is not HOST:PORT or [IPV6]:PORT";
    return std::nullopt;
  }
  if (!detail::valid_host(host)) {
    error = "\"" + std::string(text) + "\" has an empty or invalid host";
    return std::nullopt;
  }
  if (!detail::parse_port(port_text, out.port)) {
    error = "\"" + std::string(port_text) + "\" is not a port in 0..65535";
    return std::nullopt;
  }
  out.host = std::string(host);
  return out;
}

std::optional<codec::uri> parse_upstream(std::string_view text, std::string& error) {
  codec::uri out;
  if (const auto ec = codec::parse_uri(text, out)) {
    error = "\"" + std::string(text) + "\" is not a valid URL: " + ec.message();
    return std::nullopt;
  }
  if (out.scheme != "http" && out.scheme != "https") {
    error = "\"" + std::string(text) + "\" must be an http:// or https:// URL";
    return std::nullopt;
  }
  return out;
}

} // namespace icapkit::config
