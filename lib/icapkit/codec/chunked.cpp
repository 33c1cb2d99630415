#include "icapkit/codec/chunked.hpp"

#include "icapkit/codec/errc.hpp"

#include <charconv>
#include <limits>

namespace icapkit::codec {
namespace {

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::size_t count_hex_prefix(std::string_view s) noexcept {
  std::size_t n = 0;
  while (n < s.size() && hex_value(s[n]) >= 0) {
    ++n;
  }
  return n;
}

// Reads the chunk-size digits from the start of `line`; `pos` ends after them.
std::error_code parse_size_digits(std::string_view line, std::size_t& pos, std::uint64_t& size,
                                  const limits& lim) {
  size = 0;
  pos = 0;
  for (; pos < line.size() && hex_value(line[pos]) >= 0; ++pos) {
    if (pos >= lim.max_chunk_size_digits) {
      return errc::chunk_size_too_long;
    }
    if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
      return errc::chunk_size_overflow;
    }
    size = (size << 4) | static_cast<std::uint64_t>(hex_value(line[pos]));
  }
  return pos == 0 ? make_error_code(errc::bad_chunk_size) : std::error_code{};
}

bool is_qdtext(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return c == '\t' || c == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) ||
         (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}

bool is_quoted_pair_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return c == '\t' || c == ' ' || (u >= 0x21 && u <= 0x7e) || u >= 0x80;
}

// quoted-string of RFC 9110 5.6.4 starting at line[pos] == '"'; `value` gets the unescaped text.
bool parse_quoted(std::string_view line, std::size_t& pos, std::string& value) {
  ++pos;
  while (pos < line.size()) {
    char c = line[pos++];
    if (c == '"') {
      return true;
    }
    if (c == '\\') {
      if (pos >= line.size() || !is_quoted_pair_char(line[pos])) {
        return false;
      }
      value += line[pos++];
    } else if (is_qdtext(c)) {
      value += c;
    } else {
      return false;
    }
  }
  return false;
}

std::string_view take_token(std::string_view line, std::size_t& pos) {
  auto start = pos;
  while (pos < line.size() && detail::is_token_char(line[pos])) {
    ++pos;
  }
  return line.substr(start, pos - start);
}

void skip_ws(std::string_view line, std::size_t& pos) {
  while (pos < line.size() && is_ws(line[pos])) {
    ++pos;
  }
}

std::error_code apply_extension(std::string_view name, std::optional<std::string_view> value,
                                chunk_extensions& ext) {
  if (iequals(name, "ieof")) {
    ext.ieof = true;
  } else if (iequals(name, "use-original-body")) {
    if (!value || value->empty()) {
      return errc::bad_use_original_body;
    }
    std::uint64_t offset = 0;
    auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), offset);
    if (ec != std::errc{} || ptr != value->data() + value->size()) {
      return errc::bad_use_original_body;
    }
    ext.use_original_body = offset;
  }
  return {}; // unknown extensions are ignored (RFC 9112 7.1.1)
}

// One `BWS ";" BWS name [ BWS "=" BWS value ]` starting at a ';'.
std::error_code parse_one_extension(std::string_view line, std::size_t& pos,
                                    chunk_extensions& ext) {
  ++pos; // ';'
  skip_ws(line, pos);
  auto name = take_token(line, pos);
  if (name.empty()) {
    return errc::bad_chunk_extension;
  }
  skip_ws(line, pos);
  std::optional<std::string_view> value;
  std::string unquoted;
  if (pos < line.size() && line[pos] == '=') {
    ++pos;
    skip_ws(line, pos);
    if (pos < line.size() && line[pos] == '"') {
      if (!parse_quoted(line, pos, unquoted)) {
        return errc::bad_chunk_extension;
      }
      value = unquoted;
    } else {
      value = take_token(line, pos);
      if (value->empty()) {
        return errc::bad_chunk_extension;
      }
    }
    skip_ws(line, pos);
  }
  return apply_extension(name, value, ext);
}

} // namespace

std::error_code parse_chunk_size_line(std::string_view line, std::uint64_t& size,
                                      chunk_extensions& ext, const limits& lim,
                                      const leniency& len) {
  ext = {};
  std::size_t pos = 0;
  if (auto e = parse_size_digits(line, pos, size, lim)) {
    return e;
  }
  auto after_digits = pos;
  skip_ws(line, pos);
  if (pos == line.size()) {
    // "44 " (Squid bug 4492: IBM_HTTP_Server) only with the leniency.
    return pos == after_digits || len.chunk_size_trailing_space
               ? std::error_code{}
               : make_error_code(errc::bad_chunk_size);
  }
  if (line[pos] != ';') {
    return errc::bad_chunk_size;
  }
  while (pos < line.size()) {
    if (line[pos] != ';') {
      return errc::bad_chunk_extension;
    }
    if (auto e = parse_one_extension(line, pos, ext)) {
      return e;
    }
  }
  return {};
}

chunked_decoder::chunked_decoder(chunked_events& events, limits lim, leniency len)
    : events_(events), lim_(lim), len_(len), trailer_sink_(events), trailers_([&] {
        limits trailer_limits = lim;
        trailer_limits.max_header_bytes = lim.max_trailer_bytes;
        return head_parser(head_kind::fields_only, trailer_sink_, trailer_limits, len);
      }()) {}

void chunked_decoder::reset() {
  trailers_.reset();
  state_ = state::size_line;
  line_.clear();
  remaining_ = 0;
  body_bytes_ = 0;
  seen_ = false;
  error_ = {};
}

std::size_t chunked_decoder::put(std::string_view data, std::error_code& ec) {
  ec = error_;
  if (error_) {
    return 0;
  }
  std::size_t used = 0;
  while (!ec && state_ != state::done && used < data.size()) {
    seen_ = true;
    auto rest = data.substr(used);
    switch (state_) {
    case state::size_line:
      used += put_size_line(rest, ec);
      break;
    case state::data:
      used += put_data(rest);
      break;
    case state::data_cr:
    case state::data_lf:
      used += put_terminator(rest, ec);
      break;
    case state::trailers:
      used += put_trailers(rest, ec);
      break;
    case state::done:
      break;
    }
  }
  error_ = ec;
  return used;
}

// The limit crossed first wins, byte for byte, so the error does not depend on the split.
std::error_code chunked_decoder::check_size_line_growth(std::string_view added) const {
  auto digits = count_hex_prefix(line_);
  if (digits == line_.size()) {
    digits += count_hex_prefix(added);
  }
  auto total = line_.size() + added.size();
  bool too_many_digits = digits > lim_.max_chunk_size_digits;
  bool too_long = total > lim_.max_chunk_line + 2; // the line plus its CRLF
  if (too_many_digits && (!too_long || lim_.max_chunk_size_digits < lim_.max_chunk_line + 2)) {
    return errc::chunk_size_too_long;
  }
  return too_long ? make_error_code(errc::chunk_line_too_long) : std::error_code{};
}

std::size_t chunked_decoder::put_size_line(std::string_view data, std::error_code& ec) {
  auto lf = data.find('\n');
  std::size_t take = lf == std::string_view::npos ? data.size() : lf + 1;
  if ((ec = check_size_line_growth(data.substr(0, take)))) {
    return 0;
  }
  line_.append(data.data(), take);
  if (lf == std::string_view::npos) {
    return take;
  }
  std::string_view line = line_;
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  } else if (!len_.bare_lf) {
    ec = errc::bad_line_ending;
    return take;
  }
  std::uint64_t size = 0;
  chunk_extensions ext;
  if ((ec = parse_chunk_size_line(line, size, ext, lim_, len_))) {
    return take;
  }
  line_.clear();
  remaining_ = size;
  state_ = size == 0 ? state::trailers : state::data;
  events_.on_chunk_header(size, ext);
  return take;
}

std::size_t chunked_decoder::put_data(std::string_view data) {
  auto n = remaining_ < data.size() ? static_cast<std::size_t>(remaining_) : data.size();
  remaining_ -= n;
  body_bytes_ += n;
  if (remaining_ == 0) {
    state_ = state::data_cr;
  }
  events_.on_chunk_data(data.substr(0, n));
  return n;
}

std::size_t chunked_decoder::put_terminator(std::string_view data, std::error_code& ec) {
  char c = data.front();
  if (state_ == state::data_cr && c == '\r') {
    state_ = state::data_lf;
  } else if (c == '\n' && (state_ == state::data_lf || len_.bare_lf)) {
    state_ = state::size_line;
  } else {
    ec = errc::bad_chunk_terminator;
  }
  return 1;
}

std::size_t chunked_decoder::put_trailers(std::string_view data, std::error_code& ec) {
  auto n = trailers_.put(data, ec);
  if (ec) {
    // The field grammar's own codes say "header"; in a trailer section they mean bad_trailer.
    if (ec == errc::bad_header_name || ec == errc::bad_header_value || ec == errc::missing_colon ||
        ec == errc::space_before_colon || ec == errc::unexpected_fold) {
      ec = errc::bad_trailer;
    }
    return n;
  }
  if (trailers_.is_done()) {
    state_ = state::done;
    events_.on_chunked_complete();
  }
  return n;
}

} // namespace icapkit::codec
