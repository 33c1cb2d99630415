#include "icapkit/codec/uri.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/message.hpp"

#include <array>
#include <charconv>

namespace icapkit::codec {
namespace {

struct scheme_port {
  std::string_view scheme;
  std::uint16_t port;
};
constexpr std::array<scheme_port, 4> scheme_ports{
    {{"icap", 1344}, {"icaps", 11344}, {"http", 80}, {"https", 443}}};

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s.front())) {
    return false;
  }
  for (char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Visible ASCII only: spaces, controls and raw non-ASCII bytes must be percent-encoded.
bool valid_uri_text(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return false;
    }
  }
  return true;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    auto dot = s.find('.');
    auto part = s.substr(0, dot);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 3 || ec != std::errc{} || ptr != part.data() + part.size() ||
        value > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) {
      break;
    }
    s.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// RFC 4291 2.2 text forms: eight 16-bit hex groups, one "::" for a run of zero groups, and an
// optional dotted IPv4 address in place of the last two groups. Zone identifiers are refused.
bool valid_ipv6(std::string_view s) {
  auto gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos) {
    return false;
  }
  int groups = 0;
  auto count_groups = [&groups](std::string_view part, bool ipv4_allowed) {
    if (part.empty()) {
      return true;
    }
    while (true) {
      auto colon = part.find(':');
      auto group = part.substr(0, colon);
      if (colon == std::string_view::npos && ipv4_allowed && group.find('.') != group.npos) {
        groups += 2;
        return valid_ipv4(group);
      }
      if (group.empty() || group.size() > 4) {
        return false;
      }
      for (char c : group) {
        if (!is_hex(c)) {
          return false;
        }
      }
      ++groups;
      if (colon == std::string_view::npos) {
        return true;
      }
      part.remove_prefix(colon + 1);
    }
  };
  if (gap == std::string_view::npos) {
    return count_groups(s, true) && groups == 8;
  }
  return count_groups(s.substr(0, gap), false) && count_groups(s.substr(gap + 2), true) &&
         groups <= 7;
}

// A registered name (RFC 3986 reg-name, restricted to what DNS names and hosts files use) or a
// dotted IPv4 address.
bool valid_name_or_ipv4(std::string_view s) {
  bool only_digits_and_dots = true;
  for (char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_' && c != '~') {
      return false;
    }
    only_digits_and_dots = only_digits_and_dots && (is_digit(c) || c == '.');
  }
  return !only_digits_and_dots || valid_ipv4(s);
}

std::error_code parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || ec != std::errc{} || ptr != text.data() + text.size() ||
      value == 0 || value > 65535) {
    return errc::bad_port;
  }
  port = static_cast<std::uint16_t>(value);
  return {};
}

// Splits "host[:port]" or "[v6][:port]" into `out`.
std::error_code parse_authority(std::string_view authority, uri& out) {
  if (authority.find('@') != std::string_view::npos) {
    return errc::bad_uri;
  }
  std::string_view host;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return errc::bad_host;
    }
    host = authority.substr(1, close - 1);
    rest = authority.substr(close + 1);
    if (!valid_ipv6(host)) {
      return errc::bad_host;
    }
    out.ipv6_literal = true;
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    if (host.find(']') != std::string_view::npos || rest.find(':', 1) != rest.npos) {
      return errc::bad_host; // a stray bracket, or an IPv6 address without brackets
    }
    if (host.empty() || !valid_name_or_ipv4(host)) {
      return errc::bad_host;
    }
  }
  out.host = std::string(host);
  if (rest.empty()) {
    return {};
  }
  if (rest.front() != ':') {
    return errc::bad_host; // "[::1]x"
  }
  out.port_explicit = true;
  return parse_port(rest.substr(1), out.port);
}

} // namespace

std::uint16_t default_port(std::string_view scheme) noexcept {
  for (const auto& e : scheme_ports) {
    if (iequals(e.scheme, scheme)) {
      return e.port;
    }
  }
  return 0;
}

std::error_code parse_uri(std::string_view text, uri& out) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos || !valid_scheme(text.substr(0, sep))) {
    return errc::bad_uri;
  }
  uri result;
  for (char c : text.substr(0, sep)) {
    result.scheme += to_lower(c);
  }
  result.port = default_port(result.scheme);
  if (result.port == 0) {
    return errc::unsupported_scheme;
  }
  auto rest = text.substr(sep + 3);
  rest = rest.substr(0, rest.find('#')); // fragments never reach a server
  if (!valid_uri_text(rest)) {
    return errc::bad_uri;
  }
  auto authority_end = rest.find_first_of("/?");
  if (auto ec = parse_authority(rest.substr(0, authority_end), result)) {
    return ec;
  }
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  auto question = rest.find('?');
  auto path = rest.substr(0, question);
  result.path = path.empty() ? "/" : std::string(path);
  if (question != std::string_view::npos) {
    result.query = std::string(rest.substr(question + 1));
  }
  out = std::move(result);
  return {};
}

std::string uri::authority() const {
  return host_header_value(*this);
}

std::string uri::target() const {
  return query.empty() ? path : path + '?' + query;
}

namespace {

void append_host_port(std::string& out, const uri& u, bool with_port) {
  if (u.ipv6_literal) {
    out += '[';
    out += u.host;
    out += ']';
  } else {
    out += u.host;
  }
  if (with_port) {
    std::array<char, 8> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), u.port).ptr;
    out += ':';
    out.append(digits.data(), end);
  }
}

} // namespace

std::string uri::to_string() const {
  std::string out;
  out.reserve(scheme.size() + host.size() + path.size() + query.size() + 16);
  out += scheme;
  out += "://";
  append_host_port(out, *this, port_explicit || port != default_port(scheme));
  out += path;
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

std::string host_header_value(const uri& u) {
  std::string out;
  append_host_port(out, u, true);
  return out;
}

} // namespace icapkit::codec
