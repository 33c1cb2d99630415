#include "icapkit/codec/serializer.hpp"

#include "icapkit/codec/head_parser.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/uri.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <initializer_list>

namespace icapkit::codec {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";
// Exactly this spelling: c-icap accepts only lowercase ieof (reference §1.4).
constexpr std::string_view ieof_chunk = "0; ieof\r\n\r\n";

// Field content: visible characters, SP, HTAB and obs-text; "\n" separates folded lines.
bool valid_field_value(std::string_view v) {
  if (!v.empty() && (v.front() == '\n' || v.back() == '\n')) {
    return false;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto u = static_cast<unsigned char>(v[i]);
    if (v[i] == '\n' ? v[i + 1] == '\n' : ((u < 0x20 && u != '\t') || u == 0x7f)) {
      return false;
    }
  }
  return true;
}

bool valid_reason(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

bool valid_target(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

void append_number(std::string& out, int n) {
  std::array<char, 16> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
  out.append(digits.data(), end);
}

void append_version(std::string& out, std::string_view protocol, version v) {
  out += protocol;
  out += '/';
  append_number(out, v.major);
  out += '.';
  append_number(out, v.minor);
}

// "HTTP/1.1 403 Forbidden\r\n" or "ICAP/1.0 200 OK\r\n".
void append_status_line(std::string& out, std::string_view protocol, version v, int status,
                        std::string_view reason) {
  append_version(out, protocol, v);
  out += ' ';
  append_number(out, status);
  out += ' ';
  out += reason;
  out += crlf;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  for (auto fold = value.find('\n'); fold != std::string_view::npos; fold = value.find('\n')) {
    out += value.substr(0, fold);
    out += "\r\n\t"; // obs-fold, the way X-Violations-Found is sent
    value.remove_prefix(fold + 1);
  }
  out += value;
  out += crlf;
}

void append_fields(std::string& out, const header_list& fields) {
  for (const auto& f : fields) {
    append_field(out, f.name, f.value);
  }
}

std::size_t hex_digits(std::uint64_t n) {
  std::size_t digits = 1;
  while (n >= 16) {
    n /= 16;
    ++digits;
  }
  return digits;
}

// The most data bytes whose chunk ("hex CRLF data CRLF") fits in `room`.
std::size_t chunk_capacity(std::size_t room) {
  auto overhead = 4 + hex_digits(room);
  return room > overhead ? room - overhead : 0;
}

void append_chunk(std::string& out, std::string_view data) {
  std::array<char, 16> hex{};
  std::size_t n = data.size();
  std::size_t digits = hex_digits(n);
  for (std::size_t i = digits; i-- > 0; n /= 16) {
    hex[i] = "0123456789abcdef"[n % 16];
  }
  out.append(hex.data(), digits);
  out += crlf;
  out += data;
  out += crlf;
}

std::string allow_value(bool allow_204, bool allow_206) {
  if (allow_204 && allow_206) {
    return "204, 206";
  }
  return allow_204 ? "204" : "206";
}

void append_head(std::string& out, const http_request_head& head) {
  out += head.method;
  out += ' ';
  out += head.target;
  out += ' ';
  append_version(out, "HTTP", head.http_version);
  out += crlf;
  append_fields(out, head.headers);
  out += crlf;
}

void append_head(std::string& out, const http_response_head& head) {
  append_status_line(out, "HTTP", head.http_version, head.status, head.reason);
  append_fields(out, head.headers);
  out += crlf;
}

// Where each encapsulated HTTP head ends up: their sizes, for the Encapsulated offsets.
struct serialized_parts {
  std::optional<std::size_t> request_head_size;
  std::optional<std::size_t> response_head_size;
};

// Appends the encapsulated HTTP heads to `out`, back to back.
std::error_code serialize_parts(const encapsulated_parts& parts, std::string& out,
                                serialized_parts& sizes);

// Caller headers except those the serializer writes itself.
void append_caller_fields(std::string& out, const header_list& fields,
                          std::initializer_list<std::string_view> skipped) {
  for (const auto& f : fields) {
    bool skip = std::any_of(skipped.begin(), skipped.end(),
                            [&](std::string_view name) { return iequals(f.name, name); });
    if (!skip) {
      append_field(out, f.name, f.value);
    }
  }
}

} // namespace

std::error_code validate_fields(const header_list& fields) {
  for (const auto& f : fields) {
    if (!detail::is_valid_token(f.name)) {
      return errc::bad_header_name;
    }
    if (!valid_field_value(f.value)) {
      return errc::bad_header_value;
    }
  }
  return {};
}

std::error_code validate_head(const http_request_head& head) {
  if (!detail::is_valid_token(head.method)) {
    return errc::bad_method;
  }
  if (!valid_target(head.target)) {
    return errc::bad_request_target;
  }
  return validate_fields(head.headers);
}

std::error_code validate_head(const http_response_head& head) {
  if (head.status < 100 || head.status > 599) {
    return errc::bad_status_code;
  }
  if (!valid_reason(head.reason)) {
    return errc::bad_status_line;
  }
  return validate_fields(head.headers);
}

std::string serialize_head(const http_request_head& head) {
  std::string out;
  append_head(out, head);
  return out;
}

std::string serialize_head(const http_response_head& head) {
  std::string out;
  append_head(out, head);
  return out;
}

void serializer::reset(std::size_t piece_size) {
  phase_ = phase::idle;
  piece_size_ = std::max(piece_size, min_piece_size);
  head_.clear();
  http_heads_.clear();
  icap_head_size_ = 0;
  head_sent_ = 0;
  encapsulated_.reset();
  body_ = nullptr;
  chunked_body_ = false;
  declared_left_.reset();
  source_ended_ = false;
  waiting_for_body_ = false;
  in_preview_ = false;
  preview_left_ = 0;
  last_chunk_ = last_chunk;
  ieof_sent_ = false;
  body_bytes_sent_ = 0;
  failure_.clear();
  source_error_.clear();
  lookahead_offset_ = 0;
  lookahead_size_ = 0;
  piece_.clear();
  piece_.reserve(piece_size_);
}

namespace {

std::error_code serialize_parts(const encapsulated_parts& parts, std::string& out,
                                serialized_parts& sizes) {
  if (parts.request_head != nullptr) {
    if (auto ec = validate_head(*parts.request_head)) {
      return ec;
    }
    const auto before = out.size();
    append_head(out, *parts.request_head);
    sizes.request_head_size = out.size() - before;
  }
  if (parts.response_head != nullptr) {
    if (auto ec = validate_head(*parts.response_head)) {
      return ec;
    }
    const auto before = out.size();
    append_head(out, *parts.response_head);
    sizes.response_head_size = out.size() - before;
  }
  return {};
}

} // namespace

std::error_code serializer::start_request(const icap_request_head& head,
                                          const encapsulated_parts& parts,
                                          const request_options& opt) {
  reset(opt.piece_size);
  auto ec = prepare_request(head, parts, opt);
  if (ec) {
    reset(opt.piece_size); // nothing half-prepared stays visible
  }
  return ec;
}

std::error_code serializer::start_response(const icap_response_head& head,
                                           const encapsulated_parts& parts,
                                           const response_options& opt) {
  reset(opt.piece_size);
  auto ec = prepare_response(head, parts, opt);
  if (ec) {
    reset(opt.piece_size);
  }
  return ec;
}

std::error_code serializer::prepare_request(const icap_request_head& head,
                                            const encapsulated_parts& parts,
                                            const request_options& opt) {
  uri target;
  if (auto ec = parse_uri(head.uri, target)) {
    return ec;
  }
  if (target.scheme != "icap" && target.scheme != "icaps") {
    return errc::unsupported_scheme;
  }
  auto method = parse_icap_method(head.method);
  if (method == icap_method::other) {
    return errc::bad_method;
  }
  serialized_parts heads;
  if (auto ec = validate_fields(head.headers)) {
    return ec;
  }
  if (auto ec = serialize_parts(parts, http_heads_, heads)) {
    return ec;
  }
  bool has_parts = parts.request_head || parts.response_head || parts.body;
  std::string& out = head_;
  out += head.method;
  out += ' ';
  out += target.to_string();
  out += ' ';
  append_version(out, "ICAP", head.icap_version);
  out += crlf;
  auto host = head.headers.get("Host");
  append_field(out, "Host", host ? *host : host_header_value(target));
  bool allow = opt.allow_204 || opt.allow_206;
  if (allow) {
    append_caller_fields(out, head.headers, {"Host", "Encapsulated", "Preview", "Allow"});
  } else {
    append_caller_fields(out, head.headers, {"Host", "Encapsulated", "Preview"});
  }
  if (method == icap_method::options) {
    if (has_parts) {
      return errc::encapsulated_shape; // ERRATA e1: a client MUST NOT send an OPTIONS body
    }
    if (opt.options_null_body) {
      encapsulated_ = compute_encapsulated(std::nullopt, std::nullopt, section::null_body);
      append_field(out, "Encapsulated", to_string(*encapsulated_));
    }
  } else {
    bool reqmod = method == icap_method::reqmod;
    auto body_kind = parts.body == nullptr ? section::null_body
                     : reqmod              ? section::req_body
                                           : section::res_body;
    encapsulated_ =
        compute_encapsulated(heads.request_head_size, heads.response_head_size, body_kind);
    auto role = reqmod ? message_role::reqmod_request : message_role::respmod_request;
    if (auto ec = validate_shape(*encapsulated_, role)) {
      return ec;
    }
    append_field(out, "Encapsulated", to_string(*encapsulated_));
    if (opt.preview) {
      // With null-body there is nothing to preview: "Preview: 0" and no chunk (Squid).
      auto size = parts.body == nullptr ? 0 : *opt.preview;
      append_field(out, "Preview", std::to_string(size));
      in_preview_ = parts.body != nullptr;
      preview_left_ = size;
    }
  }
  if (allow) {
    append_field(out, "Allow", allow_value(opt.allow_204, opt.allow_206));
  }
  out += crlf;
  begin(parts.body, parts.body != nullptr);
  return {};
}

std::error_code serializer::prepare_response(const icap_response_head& head,
                                             const encapsulated_parts& parts,
                                             const response_options& opt) {
  if (head.status < 100 || head.status > 599) {
    return errc::bad_status_code;
  }
  if (!valid_reason(head.reason)) {
    return errc::bad_status_line;
  }
  if (auto ec = validate_fields(head.headers)) {
    return ec;
  }
  serialized_parts heads;
  if (auto ec = serialize_parts(parts, http_heads_, heads)) {
    return ec;
  }
  // A 206 without a source is a header-only adaptation: new heads, an empty body section, then
  // the original body from offset N.
  bool body = parts.body != nullptr || opt.use_original_body.has_value();
  std::string& out = head_;
  append_status_line(out, "ICAP", head.icap_version, head.status, head.reason);
  append_caller_fields(out, head.headers, {"Encapsulated"});
  bool has_parts = parts.request_head || parts.response_head || body;
  if (status_has_no_sections(head.status)) {
    if (has_parts) {
      return errc::sections_not_allowed_for_status;
    }
  } else {
    auto role = message_role::reqmod_response;
    auto body_kind = section::req_body;
    if (opt.request_method == icap_method::options) {
      role = message_role::options_response;
      body_kind = section::opt_body;
    } else if (opt.request_method == icap_method::respmod || parts.response_head) {
      role = opt.request_method == icap_method::respmod ? message_role::respmod_response : role;
      body_kind = section::res_body;
    }
    encapsulated_ = compute_encapsulated(heads.request_head_size, heads.response_head_size,
                                         body ? body_kind : section::null_body);
    if (auto ec = validate_shape(*encapsulated_, role)) {
      return ec;
    }
    append_field(out, "Encapsulated", to_string(*encapsulated_));
  }
  if (opt.use_original_body) {
    last_chunk_ = "0; use-original-body=" + std::to_string(*opt.use_original_body) + "\r\n\r\n";
  }
  out += crlf;
  begin(parts.body, body);
  return {};
}

void serializer::begin(body_source* body, bool chunked_body) {
  icap_head_size_ = head_.size();
  head_ += http_heads_;
  body_ = body;
  chunked_body_ = chunked_body;
  if (chunked_body_) {
    declared_left_ = body_ != nullptr ? body_->size() : std::optional<std::uint64_t>(0);
  }
  phase_ = phase::head;
}

std::string_view serializer::icap_head() const noexcept {
  return std::string_view(head_).substr(0, icap_head_size_);
}

std::string_view serializer::next(std::error_code& ec) {
  ec.clear();
  waiting_for_body_ = false;
  if (phase_ == phase::failed) {
    ec = failure_;
    return {};
  }
  piece_.clear();
  bool more = true;
  while (more && piece_.size() < piece_size_) {
    switch (phase_) {
    case phase::head:
      more = emit_head();
      break;
    case phase::body:
      more = emit_body(ec);
      break;
    default:
      more = false;
      break;
    }
  }
  if (ec) {
    failure_ = ec;
    phase_ = phase::failed;
    piece_.clear();
    return {};
  }
  return piece_;
}

bool serializer::emit_head() {
  auto n = std::min(piece_size_ - piece_.size(), head_.size() - head_sent_);
  piece_.append(head_, head_sent_, n);
  head_sent_ += n;
  if (head_sent_ == head_.size()) {
    phase_ = chunked_body_ ? phase::body : phase::done;
  }
  return true;
}

// Adds one data chunk, or the chunk that ends the preview or the body. Returns whether more
// can go into this piece without another source read that might block for nothing.
bool serializer::emit_body(std::error_code& ec) {
  if (in_preview_ && preview_left_ == 0) {
    return finish_preview(ec);
  }
  if (declared_left_ && *declared_left_ == 0 && lookahead_size_ == 0) {
    return finish_body();
  }
  auto capacity = chunk_capacity(piece_size_ - piece_.size());
  if (capacity == 0) {
    return false;
  }
  if (in_preview_) {
    capacity = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, preview_left_));
  }
  auto data = fetch(capacity, ec);
  if (ec || waiting_for_body_) {
    return false;
  }
  if (data.empty()) {
    if (declared_left_ && *declared_left_ > 0) {
      ec = errc::body_shorter_than_declared;
      return false;
    }
    return finish_body();
  }
  append_chunk(piece_, data);
  body_bytes_sent_ += data.size();
  if (in_preview_) {
    preview_left_ -= data.size();
  }
  // Keep going only when the next step is a last chunk we can write without reading.
  bool body_known_done = declared_left_ && *declared_left_ == 0 && lookahead_size_ == 0;
  return body_known_done || (in_preview_ && preview_left_ == 0);
}

// All N preview bytes went out: ieof if the body has ended, else "0" and a pause. A body of
// unknown size is read ahead (up to one piece, kept for after 100 Continue) to learn whether it
// ended exactly at N; a body of known size needs no read. A source that would block leaves the
// terminator unwritten until the next call.
bool serializer::finish_preview(std::error_code& ec) {
  bool ended = false;
  if (lookahead_size_ > 0) {
    ended = false;
  } else if (declared_left_) {
    ended = *declared_left_ == 0;
  } else if (source_ended_) {
    ended = true;
  } else {
    auto data = fetch(chunk_capacity(piece_size_), ec);
    if (ec || waiting_for_body_) {
      return false;
    }
    ended = data.empty();
    lookahead_offset_ = 0;
    lookahead_size_ = data.size();
  }
  auto terminator = ended ? ieof_chunk : last_chunk;
  if (piece_size_ - piece_.size() < terminator.size()) {
    return false;
  }
  piece_ += terminator;
  in_preview_ = false;
  ieof_sent_ = ended;
  phase_ = ended ? phase::done : phase::paused;
  return false;
}

// The body ended: ieof inside a preview, else the message's last chunk.
bool serializer::finish_body() {
  auto terminator = in_preview_ ? std::string_view(ieof_chunk) : last_chunk_;
  if (piece_size_ - piece_.size() < terminator.size()) {
    return false;
  }
  piece_ += terminator;
  ieof_sent_ = in_preview_;
  in_preview_ = false;
  phase_ = phase::done;
  return false;
}

// Up to `max` body bytes: the look-ahead first, then one source read. Empty at the end, and
// empty with waiting_for_body_ set when the source would block.
std::string_view serializer::fetch(std::size_t max, std::error_code& ec) {
  if (lookahead_size_ > 0) {
    auto n = std::min(max, lookahead_size_);
    std::string_view data(read_buffer_.get() + lookahead_offset_, n);
    lookahead_offset_ += n;
    lookahead_size_ -= n;
    return data;
  }
  if (source_ended_ || body_ == nullptr) {
    return {};
  }
  if (declared_left_) {
    max = static_cast<std::size_t>(std::min<std::uint64_t>(max, *declared_left_));
    if (max == 0) {
      return {};
    }
  }
  std::error_code source_ec;
  auto n = body_->read(std::span<char>(read_space(), max), source_ec);
  if (source_ec == std::errc::operation_would_block) {
    waiting_for_body_ = true; // not a failure: nothing consumed, the next call reads again
    return {};
  }
  if (source_ec || n > max) {
    source_error_ = source_ec ? source_ec : std::make_error_code(std::errc::value_too_large);
    ec = errc::body_source_error;
    return {};
  }
  source_ended_ = n == 0;
  if (declared_left_) {
    *declared_left_ -= n;
  }
  return {read_buffer_.get(), n};
}

// The source reads' buffer, piece_size_ bytes: a fetch never asks for more than one piece.
char* serializer::read_space() {
  if (read_buffer_size_ < piece_size_) {
    read_buffer_ = std::make_unique_for_overwrite<char[]>(piece_size_);
    read_buffer_size_ = piece_size_;
  }
  return read_buffer_.get();
}

void serializer::continue_after_preview() noexcept {
  if (phase_ == phase::paused) {
    phase_ = phase::body;
  }
}

void serializer::stop_after_preview() noexcept {
  if (phase_ == phase::paused) {
    phase_ = phase::done;
  }
}

std::error_code serialize_to_string(serializer& s, std::string& out) {
  std::error_code ec;
  while (true) {
    auto piece = s.next(ec);
    if (ec || piece.empty()) {
      return ec;
    }
    out += piece;
  }
}

std::error_code serialize_to_string(const icap_request_head& head, const encapsulated_parts& parts,
                                    const request_options& opt, std::string& out) {
  serializer s;
  if (auto ec = s.start_request(head, parts, opt)) {
    return ec;
  }
  if (auto ec = serialize_to_string(s, out)) {
    return ec;
  }
  s.continue_after_preview();
  if (auto ec = serialize_to_string(s, out)) {
    return ec;
  }
  return s.waiting_for_body() ? std::make_error_code(std::errc::operation_would_block)
                              : std::error_code{};
}

std::error_code serialize_to_string(const icap_response_head& head, const encapsulated_parts& parts,
                                    const response_options& opt, std::string& out) {
  serializer s;
  if (auto ec = s.start_response(head, parts, opt)) {
    return ec;
  }
  if (auto ec = serialize_to_string(s, out)) {
    return ec;
  }
  return s.waiting_for_body() ? std::make_error_code(std::errc::operation_would_block)
                              : std::error_code{};
}

} // namespace icapkit::codec
