#include "icapkit/codec/head_parser.hpp"

#include "icapkit/codec/errc.hpp"

#include <array>
#include <limits>

namespace icapkit::codec {
namespace {

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

// CTLs except HTAB are refused in values and reason phrases; obs-text (>= 0x80) is allowed.
bool is_bad_value_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

bool has_bad_value_char(std::string_view s) noexcept {
  for (char c : s) {
    if (is_bad_value_char(c)) {
      return true;
    }
  }
  return false;
}

bool is_request_kind(head_kind k) noexcept {
  return k == head_kind::icap_request || k == head_kind::http_request;
}

std::string_view protocol_of(head_kind k) noexcept {
  return (k == head_kind::icap_request || k == head_kind::icap_response) ? "ICAP" : "HTTP";
}

} // namespace

namespace detail {

namespace {

// tchar (RFC 9110 5.6.2) by byte value: one lookup per character of every field name.
constexpr std::array<bool, 256> token_chars = [] {
  std::array<bool, 256> table{};
  for (char c = 'a'; c <= 'z'; ++c) {
    table[static_cast<unsigned char>(c)] = true;
    table[static_cast<unsigned char>(c - 'a' + 'A')] = true;
  }
  for (char c = '0'; c <= '9'; ++c) {
    table[static_cast<unsigned char>(c)] = true;
  }
  for (char c : std::string_view{"!#$%&'*+-.^_`|~"}) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

} // namespace

bool is_token_char(char c) noexcept {
  return token_chars[static_cast<unsigned char>(c)];
}

bool is_valid_token(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

bool parse_version(std::string_view text, std::string_view protocol, version& out) noexcept {
  // Exactly PROTOCOL "/" DIGIT "." DIGIT (RFC 9112 2.3; RFC 3507 uses the same form).
  if (text.size() != protocol.size() + 4 || text.substr(0, protocol.size()) != protocol) {
    return false;
  }
  auto rest = text.substr(protocol.size());
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (rest[0] != '/' || !digit(rest[1]) || rest[2] != '.' || !digit(rest[3])) {
    return false;
  }
  out = version{rest[1] - '0', rest[3] - '0'};
  return true;
}

} // namespace detail

head_parser::head_parser(head_kind kind, head_events& events, limits lim, leniency len)
    : kind_(kind), events_(events), lim_(lim), len_(len) {}

void head_parser::reset() {
  line_.clear();
  pending_name_.clear();
  pending_value_.clear();
  has_pending_ = false;
  start_done_ = false;
  done_ = false;
  head_bytes_ = 0;
  field_count_ = 0;
  empty_lines_ = 0;
  error_ = {};
}

void head_parser::reset(head_kind kind) {
  kind_ = kind;
  reset();
}

std::size_t head_parser::put(std::string_view data, std::error_code& ec) {
  ec = error_;
  if (error_ || done_) {
    return 0;
  }
  std::size_t used = 0;
  while (!done_ && used < data.size()) {
    auto rest = data.substr(used);
    auto lf = rest.find('\n');
    std::size_t take = lf == std::string_view::npos ? rest.size() : lf + 1;
    if (auto e = check_growth(take)) {
      error_ = ec = e;
      return used;
    }
    line_.append(rest.data(), take);
    used += take;
    head_bytes_ += take;
    if (lf == std::string_view::npos) {
      break;
    }
    if (auto e = process_line()) {
      error_ = ec = e;
      return used;
    }
  }
  return used;
}

// The limit crossed first wins, byte for byte, so the error does not depend on how the input
// was split.
std::error_code head_parser::check_growth(std::size_t take) const {
  std::size_t room_head =
      lim_.max_header_bytes > head_bytes_ ? lim_.max_header_bytes - head_bytes_ : 0;
  std::size_t room_line = std::numeric_limits<std::size_t>::max();
  if (in_start_line()) {
    std::size_t line_limit = lim_.max_start_line + 2; // the line plus its CRLF
    room_line = line_limit > line_.size() ? line_limit - line_.size() : 0;
  }
  if (take <= room_head && take <= room_line) {
    return {};
  }
  return room_line < room_head ? errc::start_line_too_long : errc::header_too_long;
}

std::error_code head_parser::process_line() {
  std::string_view line = line_;
  line.remove_suffix(1); // the LF
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  } else if (!len_.bare_lf) {
    return errc::bad_line_ending;
  }
  if (line.find('\r') != std::string_view::npos) {
    return errc::bad_line_ending; // a bare CR inside a line
  }
  std::error_code e;
  if (in_start_line()) {
    if (line.empty()) {
      // c-icap #70, g3proxy: a stray CRLF before the next message.
      if (!len_.leading_empty_lines || ++empty_lines_ > lim_.max_leading_empty_lines) {
        return is_request_kind(kind_) ? errc::bad_request_line : errc::bad_status_line;
      }
    } else {
      e = parse_start_line(line);
      start_done_ = true;
    }
  } else if (line.empty()) {
    flush_pending();
    done_ = true;
    events_.on_head_complete();
  } else if (is_ows(line.front())) {
    e = parse_fold_line(line);
  } else {
    flush_pending();
    e = parse_field_line(line);
  }
  line_.clear();
  return e;
}

std::error_code head_parser::parse_start_line(std::string_view line) {
  return is_request_kind(kind_) ? parse_request_line(line) : parse_status_line(line);
}

std::error_code head_parser::parse_request_line(std::string_view line) {
  auto first = line.find(' ');
  auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    return errc::bad_request_line;
  }
  auto method = line.substr(0, first);
  auto target = line.substr(first + 1, last - first - 1);
  auto version_text = line.substr(last + 1);
  if (method.empty()) {
    return errc::bad_request_line;
  }
  if (!detail::is_valid_token(method)) {
    return errc::bad_method;
  }
  if (target.empty() || target.find(' ') != std::string_view::npos || has_bad_value_char(target) ||
      target.find('\t') != std::string_view::npos) {
    return errc::bad_request_target;
  }
  version v;
  if (!detail::parse_version(version_text, protocol_of(kind_), v)) {
    return errc::bad_version;
  }
  events_.on_request_line(method, target, v);
  return {};
}

std::error_code head_parser::parse_status_line(std::string_view line) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) {
    return errc::bad_status_line;
  }
  version v;
  if (!detail::parse_version(line.substr(0, sp), protocol_of(kind_), v)) {
    return errc::bad_version;
  }
  auto rest = line.substr(sp + 1);
  if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' ')) {
    return errc::bad_status_code;
  }
  int status = 0;
  for (char c : rest.substr(0, 3)) {
    if (c < '0' || c > '9') {
      return errc::bad_status_code;
    }
    status = status * 10 + (c - '0');
  }
  if (status < 100 || status > 599) {
    return errc::bad_status_code;
  }
  auto reason = rest.size() > 3 ? rest.substr(4) : std::string_view{};
  if (has_bad_value_char(reason)) {
    return errc::bad_status_line;
  }
  events_.on_status_line(v, status, reason);
  return {};
}

std::error_code head_parser::parse_field_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return errc::missing_colon;
  }
  auto name = line.substr(0, colon);
  if (!name.empty() && is_ows(name.back())) {
    // "Name : value" is a request-smuggling vector in HTTP; refused unless asked for.
    if (!len_.space_before_colon) {
      return errc::space_before_colon;
    }
    name = trim_ows(name);
  }
  if (!detail::is_valid_token(name)) {
    return errc::bad_header_name;
  }
  auto value = trim_ows(line.substr(colon + 1));
  if (has_bad_value_char(value)) {
    return errc::bad_header_value;
  }
  if (++field_count_ > lim_.max_header_count) {
    return errc::too_many_headers;
  }
  pending_name_.assign(name);
  pending_value_.assign(value);
  has_pending_ = true;
  events_.on_field_line(name, value);
  return {};
}

std::error_code head_parser::parse_fold_line(std::string_view line) {
  if (!has_pending_) {
    return errc::unexpected_fold;
  }
  auto value = trim_ows(line);
  if (has_bad_value_char(value)) {
    return errc::bad_header_value;
  }
  // message.hpp: one line per element, joined with "\n" (X-Violations-Found needs the lines).
  pending_value_ += '\n';
  pending_value_.append(value);
  events_.on_fold_line(value);
  return {};
}

void head_parser::flush_pending() {
  if (has_pending_) {
    has_pending_ = false;
    events_.on_field(pending_name_, pending_value_);
  }
}

} // namespace icapkit::codec
