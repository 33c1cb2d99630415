// Raw HTTP/1.x request files (the "nc workflow": what a client wrote on the socket, one or several
// requests back to back). Read through one fixed buffer with the codec's head parser and chunked
// decoder, so a file of any length costs one exchange of memory, and a pipe
// (`nc -l 8080 | icapkit replay /dev/stdin`) delivers each request as soon as it is complete.
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/head_parser.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/replay/capture/capture.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

namespace icapkit::replay {
namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;
constexpr std::size_t max_head_bytes = 64 * 1024;

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

bool starts_with_icase(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && codec::iequals(text.substr(0, prefix.size()), prefix);
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// The file seen through one fixed buffer. Bytes not yet consumed stay in front of the buffer
// when it is refilled, which only ever happens with at most one byte (a CR) left.
class input_buffer {
public:
  std::error_code open(const std::filesystem::path& file) { return source_.open(file.string()); }
  std::string_view data() const noexcept { return {buf_.data() + begin_, end_ - begin_}; }
  // File offset of data().front().
  std::uint64_t offset() const noexcept { return offset_; }
  // Bytes left in a regular file (0 when unknown: pipes, devices).
  std::uint64_t bytes_left() const {
    auto size = source_.size();
    return size && *size > offset_ ? *size - offset_ : 0;
  }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    offset_ += n;
  }
  // Reads more bytes after those held; false at the end of the file or on a read error (ec set).
  bool fill(std::error_code& ec);

private:
  codec::file_body_source source_;
  std::vector<char> buf_ = std::vector<char>(read_buffer_size);
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t offset_ = 0;
  bool eof_ = false;
};

bool input_buffer::fill(std::error_code& ec) {
  ec.clear();
  if (eof_) {
    return false;
  }
  std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  auto n = source_.read(std::span<char>(buf_).subspan(end_), ec);
  if (ec || n == 0) {
    eof_ = !ec;
    return false;
  }
  end_ += n;
  return true;
}

class head_collector final : public codec::head_events {
public:
  void on_request_line(std::string_view method, std::string_view target,
                       codec::version v) override {
    head.method.assign(method);
    head.target.assign(target);
    head.http_version = v;
  }
  void on_field(std::string_view name, std::string_view value) override {
    head.headers.add(std::string(name), std::string(value));
  }

  codec::http_request_head head;
};

class chunk_collector final : public codec::chunked_events {
public:
  void start(std::string& body) {
    body_ = &body;
    chunk_remaining = 0;
    last_chunk_seen = false;
    trailer_count = 0;
  }
  void on_chunk_header(std::uint64_t size, const codec::chunk_extensions&) override {
    chunk_remaining = size;
    last_chunk_seen = last_chunk_seen || size == 0;
  }
  void on_chunk_data(std::string_view data) override {
    body_->append(data);
    chunk_remaining -= data.size();
  }
  void on_trailer(std::string_view, std::string_view) override { ++trailer_count; }

  std::uint64_t chunk_remaining = 0; // data bytes the current chunk still owes
  bool last_chunk_seen = false;
  std::size_t trailer_count = 0;

private:
  std::string* body_ = nullptr;
};

struct body_framing {
  enum class kind { none, length, chunked };
  kind type = kind::none;
  std::uint64_t length = 0;
};

codec::limits head_limits() {
  codec::limits lim;
  // One limit for the whole head, the request line included: long query strings are real.
  lim.max_header_bytes = max_head_bytes;
  lim.max_start_line = max_head_bytes;
  lim.max_header_count = max_head_bytes; // the byte limit already bounds the field count
  return lim;
}

codec::leniency hand_edited() {
  codec::leniency len;
  len.bare_lf = true; // files edited by hand often lose their CRs
  return len;
}

class raw_http_reader {
public:
  raw_http_reader(const std::filesystem::path& file, const exchange_sink& sink,
                  const warning_sink& warn)
      : file_(file), sink_(sink), warn_(warn) {}

  std::optional<capture_error> run();

private:
  std::optional<capture_error> skip_blank_lines(bool& at_end);
  std::optional<capture_error> read_head();
  std::optional<capture_error> head_error(std::error_code ec, std::uint64_t line_start) const;
  std::optional<capture_error> check_head(body_framing& framing);
  std::optional<capture_error> check_version() const;
  std::optional<capture_error> resolve_url();
  std::optional<capture_error> find_framing(body_framing& framing) const;
  std::optional<capture_error> content_length(std::uint64_t& length) const;
  std::optional<capture_error> read_sized_body(std::uint64_t length);
  std::optional<capture_error> read_chunked_body();
  void end_chunked_body_early();

  capture_error error_at(std::uint64_t offset, std::string detail) const {
    return capture_error{file_, "message " + std::to_string(message_number_), offset,
                         std::move(detail)};
  }
  // Between messages (`in_message` false) no message is named: the next one has not begun.
  capture_error read_error(const std::error_code& ec, bool in_message = true) const {
    auto error = error_at(input_.offset(), "read error: " + ec.message());
    if (!in_message) {
      error.entry.clear();
    }
    return error;
  }
  // The file offset of the line holding the index-th field named `name` (message start if none).
  std::uint64_t field_offset(std::string_view name, std::size_t index = 0) const;

  const std::filesystem::path& file_;
  const exchange_sink& sink_;
  const warning_sink& warn_;
  input_buffer input_;
  head_collector head_events_;
  codec::head_parser head_parser_{codec::head_kind::http_request, head_events_, head_limits(),
                                  hand_edited()};
  chunk_collector chunk_events_;
  codec::chunked_decoder chunked_{chunk_events_, codec::limits{}, hand_edited()};
  std::vector<std::uint64_t> field_offsets_; // file offset of each field's first line
  std::string first_bytes_;                  // the message's first bytes, to recognize responses
  std::size_t message_number_ = 0;
  std::uint64_t message_start_ = 0;
  bool previous_unframed_ = false;
  bool ended_ = false; // the file ended inside a body: deliver what was read, then stop
  captured_exchange exchange_;
};

std::optional<capture_error> raw_http_reader::run() {
  if (auto ec = input_.open(file_)) {
    return capture_error{file_, "", std::nullopt, "cannot be opened: " + ec.message()};
  }
  while (true) {
    bool at_end = false;
    if (auto error = skip_blank_lines(at_end); error || at_end) {
      return error;
    }
    ++message_number_;
    message_start_ = input_.offset();
    exchange_ = captured_exchange{};
    body_framing framing;
    if (auto error = read_head()) {
      return error;
    }
    exchange_.head = std::move(head_events_.head);
    if (auto error = check_head(framing)) {
      return error;
    }
    if (framing.type == body_framing::kind::length) {
      if (auto error = read_sized_body(framing.length)) {
        return error;
      }
    } else if (framing.type == body_framing::kind::chunked) {
      if (auto error = read_chunked_body()) {
        return error;
      }
    }
    // Methods that carry a body: text after such a head without framing is probably its body.
    const auto& method = exchange_.head.method;
    previous_unframed_ = framing.type == body_framing::kind::none &&
                         (method == "POST" || method == "PUT" || method == "PATCH");
    exchange_.origin = file_.filename().string() + " message " + std::to_string(message_number_);
    if (!sink_(std::move(exchange_)) || ended_) {
      return std::nullopt;
    }
  }
}

// Between messages: empty lines (CRLF or LF), such as the newline an editor or `echo` leaves
// after a body. `at_end` is set when nothing else is left.
std::optional<capture_error> raw_http_reader::skip_blank_lines(bool& at_end) {
  at_end = false;
  while (true) {
    auto data = input_.data();
    std::size_t n = 0;
    while (n < data.size()) {
      if (data[n] == '\n') {
        ++n;
      } else if (data[n] == '\r' && n + 1 < data.size() && data[n + 1] == '\n') {
        n += 2;
      } else {
        break;
      }
    }
    input_.consume(n);
    data = input_.data();
    // A CR at the end of the buffer may be the start of a CRLF: read on to know.
    if (!data.empty() && data != "\r") {
      return std::nullopt;
    }
    std::error_code ec;
    if (!input_.fill(ec)) {
      if (ec) {
        return read_error(ec, false);
      }
      at_end = input_.data().empty();
      return std::nullopt;
    }
  }
}

// Feeds the head parser one line at a time, so an error is reported at its line's offset and
// each field's offset is known for the framing checks that follow.
std::optional<capture_error> raw_http_reader::read_head() {
  head_events_.head = codec::http_request_head{};
  head_parser_.reset();
  field_offsets_.clear();
  first_bytes_.clear();
  std::uint64_t line_start = input_.offset();
  bool at_line_start = true;
  while (!head_parser_.is_done()) {
    auto data = input_.data();
    if (data.empty()) {
      std::error_code ec;
      if (input_.fill(ec)) {
        continue;
      }
      if (ec) {
        return read_error(ec);
      }
      return error_at(message_start_, "the file ends inside the request head (" +
                                          std::to_string(input_.offset() - message_start_) +
                                          " bytes, no empty line after the header fields)");
    }
    auto lf = data.find('\n');
    auto piece = data.substr(0, lf == std::string_view::npos ? data.size() : lf + 1);
    if (at_line_start && line_start != message_start_ && !is_ows(piece.front()) &&
        piece.front() != '\r' && piece.front() != '\n') {
      field_offsets_.push_back(line_start);
    }
    if (first_bytes_.size() < 8) {
      first_bytes_.append(piece.substr(0, 8 - first_bytes_.size()));
    }
    std::error_code ec;
    auto used = head_parser_.put(piece, ec);
    if (ec) {
      return head_error(ec, line_start);
    }
    input_.consume(used);
    at_line_start = lf != std::string_view::npos;
    if (at_line_start) {
      line_start = input_.offset();
    }
  }
  return std::nullopt;
}

std::optional<capture_error> raw_http_reader::head_error(std::error_code ec,
                                                         std::uint64_t line_start) const {
  if (first_bytes_.starts_with("HTTP/")) {
    return error_at(message_start_, "a response, not a request: raw files hold what the client "
                                    "sent, requests only");
  }
  if (ec == codec::errc::header_too_long || ec == codec::errc::start_line_too_long) {
    return error_at(message_start_,
                    "the request head is larger than " + std::to_string(max_head_bytes) + " bytes");
  }
  std::string detail = ec.message();
  if (line_start == message_start_ && previous_unframed_) {
    // The nc workflow's classic mistake: a body the previous head does not frame.
    detail += " (message " + std::to_string(message_number_ - 1) +
              " has no Content-Length or Transfer-Encoding: is this its body?)";
  }
  return error_at(line_start, std::move(detail));
}

std::optional<capture_error> raw_http_reader::check_head(body_framing& framing) {
  if (auto error = check_version()) {
    return error;
  }
  if (auto error = resolve_url()) {
    return error;
  }
  return find_framing(framing);
}

std::optional<capture_error> raw_http_reader::check_version() const {
  const auto& head = exchange_.head;
  if (head.http_version.major == 1) {
    return std::nullopt;
  }
  if (head.method == "PRI" && head.target == "*") {
    return error_at(message_start_, "HTTP/2 is not supported: raw files hold HTTP/1.x");
  }
  return error_at(message_start_, "HTTP/" + std::to_string(head.http_version.major) + "." +
                                      std::to_string(head.http_version.minor) +
                                      " is not supported: raw files hold HTTP/1.x");
}

// origin-form takes its authority from Host; absolute-form becomes origin-form (as a client
// sends it to an origin server) and gives Host when the file has none.
std::optional<capture_error> raw_http_reader::resolve_url() {
  auto& head = exchange_.head;
  codec::uri parsed;
  if (head.target.starts_with('/')) {
    auto hosts = head.headers.count("Host");
    if (hosts != 1) {
      return error_at(hosts == 0 ? message_start_ : field_offset("Host", 1),
                      hosts == 0 ? "no Host header: the target " + in_quotes(head.target) +
                                       " needs one to make the request's URL"
                                 : "more than one Host header");
    }
    auto url = "http://" + std::string(*head.headers.get("Host")) + head.target;
    if (auto ec = codec::parse_uri(url, parsed)) {
      return error_at(field_offset("Host"), "Host and target do not make a valid URL " +
                                                in_quotes(url) + ": " + ec.message());
    }
    exchange_.url = std::move(url);
    return std::nullopt;
  }
  if (!starts_with_icase(head.target, "http://") && !starts_with_icase(head.target, "https://")) {
    return error_at(message_start_, "the target " + in_quotes(head.target) +
                                        " cannot be replayed: expected \"/path\" or "
                                        "\"http://host/path\"");
  }
  if (auto ec = codec::parse_uri(head.target, parsed)) {
    return error_at(message_start_,
                    "invalid target " + in_quotes(head.target) + ": " + ec.message());
  }
  exchange_.url = parsed.to_string();
  head.target = parsed.target();
  if (!head.headers.contains("Host")) {
    auto host = parsed.ipv6_literal ? "[" + parsed.host + "]" : parsed.host;
    head.headers.add("Host",
                     parsed.port_explicit ? host + ":" + std::to_string(parsed.port) : host);
  }
  return std::nullopt;
}

std::optional<capture_error> raw_http_reader::find_framing(body_framing& framing) const {
  const auto& headers = exchange_.head.headers;
  bool has_length = headers.contains("Content-Length");
  if (headers.contains("Transfer-Encoding")) {
    if (has_length) {
      // RFC 9112 6.1: a request-smuggling pattern; which framing the client meant is unknowable.
      // Reported at whichever of the two came second: that is where the head went wrong.
      return error_at(std::max(field_offset("Content-Length"), field_offset("Transfer-Encoding")),
                      "both Content-Length and Transfer-Encoding: the body's length is ambiguous");
    }
    auto coding = codec::trim_ows(*headers.get("Transfer-Encoding"));
    if (headers.count("Transfer-Encoding") != 1 || !codec::iequals(coding, "chunked")) {
      return error_at(field_offset("Transfer-Encoding"),
                      "Transfer-Encoding other than \"chunked\" cannot be decoded");
    }
    framing.type = body_framing::kind::chunked;
    return std::nullopt;
  }
  if (has_length) {
    framing.type = body_framing::kind::length;
    return content_length(framing.length);
  }
  return std::nullopt;
}

// Every Content-Length field and list element must be the same decimal number (RFC 9110 8.6).
std::optional<capture_error> raw_http_reader::content_length(std::uint64_t& length) const {
  std::optional<std::uint64_t> found;
  std::size_t index = 0;
  for (const auto& field : exchange_.head.headers) {
    if (!codec::iequals(field.name, "Content-Length")) {
      continue;
    }
    std::string_view rest = field.value;
    while (true) {
      auto comma = rest.find(',');
      auto element = codec::trim_ows(rest.substr(0, comma));
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(element.data(), element.data() + element.size(), value);
      if (element.empty() || ec != std::errc{} || end != element.data() + element.size()) {
        return error_at(field_offset("Content-Length", index),
                        "invalid Content-Length " + in_quotes(field.value));
      }
      if (found && *found != value) {
        return error_at(field_offset("Content-Length", index),
                        "conflicting Content-Length values " + std::to_string(*found) + " and " +
                            std::to_string(value));
      }
      found = value;
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
    ++index;
  }
  length = found.value_or(0);
  return std::nullopt;
}

std::uint64_t raw_http_reader::field_offset(std::string_view name, std::size_t index) const {
  const auto& fields = exchange_.head.headers.fields();
  for (std::size_t i = 0; i < fields.size() && i < field_offsets_.size(); ++i) {
    if (codec::iequals(fields[i].name, name) && index-- == 0) {
      return field_offsets_[i];
    }
  }
  return message_start_;
}

std::optional<capture_error> raw_http_reader::read_sized_body(std::uint64_t length) {
  auto& body = exchange_.body;
  // Never trust the declared length for an allocation: a file cannot hold more than it has.
  body.reserve(static_cast<std::size_t>(std::min(length, input_.bytes_left())));
  while (body.size() < length) {
    auto data = input_.data();
    if (data.empty()) {
      std::error_code ec;
      if (input_.fill(ec)) {
        continue;
      }
      if (ec) {
        return read_error(ec);
      }
      exchange_.body_captured = false;
      exchange_.body_note = "file ends " + std::to_string(body.size()) + " bytes into a " +
                            std::to_string(length) + "-byte body";
      ended_ = true;
      return std::nullopt;
    }
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), length - body.size()));
    body.append(data.substr(0, n));
    input_.consume(n);
  }
  return std::nullopt;
}

// Chunk data goes to the decoder in one piece; framing lines one line at a time, so an error is
// reported at the offset of the line (or, for a missing CRLF after data, of the byte) at fault.
std::optional<capture_error> raw_http_reader::read_chunked_body() {
  chunk_events_.start(exchange_.body);
  chunked_.reset();
  std::uint64_t line_start = input_.offset();
  while (!chunked_.is_done()) {
    auto data = input_.data();
    if (data.empty()) {
      std::error_code ec;
      if (input_.fill(ec)) {
        continue;
      }
      if (ec) {
        return read_error(ec);
      }
      end_chunked_body_early();
      return std::nullopt;
    }
    bool in_data = chunk_events_.chunk_remaining > 0;
    std::string_view piece;
    if (in_data) {
      piece = data.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(
                                 data.size(), chunk_events_.chunk_remaining)));
    } else {
      auto lf = data.find('\n');
      piece = data.substr(0, lf == std::string_view::npos ? data.size() : lf + 1);
    }
    std::error_code ec;
    auto used = chunked_.put(piece, ec);
    if (ec) {
      bool byte_at_fault = ec == codec::errc::bad_chunk_terminator && used > 0;
      return error_at(byte_at_fault ? input_.offset() + used - 1 : line_start,
                      "chunked body: " + ec.message());
    }
    input_.consume(used);
    if (in_data || (used > 0 && piece[used - 1] == '\n')) {
      line_start = input_.offset();
    }
  }
  if (chunk_events_.trailer_count > 0 && warn_) {
    warn_(error_at(message_start_, "trailer fields after the chunked body are not replayed"));
  }
  return std::nullopt;
}

void raw_http_reader::end_chunked_body_early() {
  ended_ = true;
  if (chunk_events_.last_chunk_seen) {
    // Every body byte is there; only the empty line closing the trailer section is missing.
    if (warn_) {
      warn_(error_at(input_.offset(), "the file ends before the empty line after the last chunk"));
    }
    return;
  }
  exchange_.body_captured = false;
  exchange_.body_note = "file ends inside the chunked body after " +
                        std::to_string(exchange_.body.size()) +
                        " decoded bytes (the last chunk was never written)";
}

} // namespace

std::optional<capture_error> read_raw_http(const std::filesystem::path& file,
                                           const exchange_sink& sink, const warning_sink& warn) {
  raw_http_reader reader(file, sink, warn);
  return reader.run();
}

} // namespace icapkit::replay
