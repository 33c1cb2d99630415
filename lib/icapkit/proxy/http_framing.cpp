#include "icapkit/proxy/http_framing.hpp"

#include "icapkit/codec/head_parser.hpp"
#include "icapkit/proxy/errc.hpp"

#include <array>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::proxy {
namespace {

// The comma-separated elements of every field named `name`, in order, OWS trimmed; empty
// elements are kept so each caller decides whether "a,,b" is acceptable.
std::vector<std::string_view> list_elements(const codec::header_list& headers,
                                            std::string_view name) {
  std::vector<std::string_view> elements;
  for (const auto& field : headers) {
    if (!codec::iequals(field.name, name)) {
      continue;
    }
    std::string_view rest = field.value;
    for (;;) {
      const auto comma = rest.find(',');
      elements.push_back(codec::trim_ows(rest.substr(0, comma)));
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  return elements;
}

// 1*DIGIT that fits in 64 bits; nothing else (no sign, no whitespace, no suffix).
std::optional<std::uint64_t> parse_decimal(std::string_view text) noexcept {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

// Content-Length from every field and list member. A request must carry exactly one value:
// RFC 9110 8.6 lets a recipient accept "5, 5", but an origin that reads it otherwise (as 0, or as
// the first field only) desynchronises the connection behind the proxy. A response may repeat an
// identical value (RFC 9110 8.6); the client gets one value from prepare_client_response.
std::error_code content_length(const codec::header_list& headers, bool allow_repeats,
                               framing& out) {
  std::optional<std::uint64_t> length;
  for (auto element : list_elements(headers, "Content-Length")) {
    const auto value = parse_decimal(element);
    if (!value || (length && (!allow_repeats || *length != *value))) {
      return errc::bad_content_length;
    }
    length = value;
  }
  out = {body_framing::content_length, *length};
  return {};
}

// unreserved / sub-delims / ":" / "@" / "/" / "?" and the gen-delims "[" "]" of an IP literal
// (RFC 3986 2.2, 2.3, 3.3, 3.4); "%" is checked apart.
constexpr std::array<bool, 256> target_chars = [] {
  std::array<bool, 256> table{};
  for (char c = 'a'; c <= 'z'; ++c) {
    table[static_cast<unsigned char>(c)] = true;
    table[static_cast<unsigned char>(c - 'a' + 'A')] = true;
  }
  for (char c = '0'; c <= '9'; ++c) {
    table[static_cast<unsigned char>(c)] = true;
  }
  for (char c : std::string_view{"-._~!$&'()*+,;=:@/?[]"}) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A transfer-coding: a token, optionally followed by ";"-separated parameters.
bool is_valid_coding(std::string_view element) noexcept {
  const auto name = codec::trim_ows(element.substr(0, element.find(';')));
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!codec::detail::is_token_char(c)) {
      return false;
    }
  }
  for (char c : element) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return false;
    }
  }
  return true;
}

bool is_close_option(std::string_view token) noexcept {
  return codec::iequals(token, "close");
}

bool is_http10_or_older(codec::version v) noexcept {
  return v.major < 1 || (v.major == 1 && v.minor == 0);
}

std::string version_text(codec::version v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor);
}

// Appends `value` to the list field `name`, folding every existing field into one.
void append_to_list(codec::header_list& headers, std::string_view name, std::string_view value) {
  std::string joined;
  for (const auto& field : headers) {
    if (codec::iequals(field.name, name) && !field.value.empty()) {
      joined.append(field.value).append(", ");
    }
  }
  joined.append(value);
  headers.set(name, std::move(joined));
}

} // namespace

std::error_code request_framing(const codec::http_request_head& head, framing& out) {
  out = {};
  const bool has_length = head.headers.contains("Content-Length");
  const bool has_coding = head.headers.contains("Transfer-Encoding");
  if (has_length && has_coding) {
    return errc::conflicting_framing;
  }
  if (has_coding) {
    // HTTP/1.0 has no chunked coding: a 1.0 hop in front of us would frame it differently.
    if (is_http10_or_older(head.http_version)) {
      return errc::bad_transfer_encoding;
    }
    const auto codings = list_elements(head.headers, "Transfer-Encoding");
    if (codings.size() != 1 || !codec::iequals(codings.front(), "chunked")) {
      return errc::bad_transfer_encoding;
    }
    out.kind = body_framing::chunked;
    return {};
  }
  if (has_length) {
    return content_length(head.headers, false, out);
  }
  return {};
}

std::error_code response_framing(std::string_view request_method,
                                 const codec::http_response_head& head, framing& out) {
  out = {};
  if (request_method == "HEAD" || (head.status >= 100 && head.status < 200) || head.status == 204 ||
      head.status == 304) {
    return {};
  }
  if (head.headers.contains("Transfer-Encoding")) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 6.3 item 3). Empty list elements are
    // ignored as RFC 9110 5.6.1 asks of recipients.
    std::string_view last;
    for (auto element : list_elements(head.headers, "Transfer-Encoding")) {
      if (element.empty()) {
        continue;
      }
      if (!is_valid_coding(element)) {
        return errc::bad_transfer_encoding;
      }
      last = element;
    }
    if (last.empty()) {
      return errc::bad_transfer_encoding;
    }
    out.kind = codec::iequals(last, "chunked") ? body_framing::chunked : body_framing::until_close;
    return {};
  }
  if (head.headers.contains("Content-Length")) {
    return content_length(head.headers, true, out);
  }
  out.kind = body_framing::until_close;
  return {};
}

bool is_valid_request_target(std::string_view target) noexcept {
  if (target.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex_digit(target[i + 1]) || !is_hex_digit(target[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!target_chars[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

bool requests_upgrade(const codec::http_request_head& head) {
  // RFC 9110 7.8: an Upgrade received in HTTP/1.0 is ignored.
  if (is_http10_or_older(head.http_version)) {
    return false;
  }
  for (auto protocol : list_elements(head.headers, "Upgrade")) {
    if (!protocol.empty() && !codec::iequals(protocol, "h2c")) {
      return true;
    }
  }
  return false;
}

bool strip_hop_by_hop(codec::header_list& headers, codec::version message_version) {
  static constexpr std::array<std::string_view, 9> always_hop_by_hop{"Connection",
                                                                     "Keep-Alive",
                                                                     "Proxy-Connection",
                                                                     "Proxy-Authenticate",
                                                                     "Proxy-Authorization",
                                                                     "TE",
                                                                     "Trailer",
                                                                     "Transfer-Encoding",
                                                                     "Upgrade"};
  bool close = false;
  bool keep_alive = false;
  std::vector<std::string> named;
  for (auto option : list_elements(headers, "Connection")) {
    // A folded value (kept as "a\nb") lists one option per line.
    for (std::size_t start = 0; start <= option.size();) {
      auto end = option.find('\n', start);
      if (end == std::string_view::npos) {
        end = option.size();
      }
      const auto token = codec::trim_ows(option.substr(start, end - start));
      start = end + 1;
      if (token.empty()) {
        continue;
      }
      if (is_close_option(token)) {
        close = true;
      } else if (codec::iequals(token, "keep-alive")) {
        keep_alive = true;
      }
      named.emplace_back(token);
    }
  }
  for (const auto& name : named) {
    headers.remove(name);
  }
  for (auto name : always_hop_by_hop) {
    headers.remove(name);
  }
  if (is_http10_or_older(message_version)) {
    return close || !keep_alive;
  }
  return close;
}

void add_forwarding_headers(codec::header_list& headers, codec::version received_version,
                            std::string_view client_ip, std::string_view via_name) {
  append_to_list(headers, "Via", version_text(received_version) + " " + std::string(via_name));
  if (!client_ip.empty()) {
    append_to_list(headers, "X-Forwarded-For", client_ip);
  }
}

} // namespace icapkit::proxy
