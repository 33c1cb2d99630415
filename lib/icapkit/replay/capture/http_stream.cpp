#include "icapkit/replay/capture/http_stream.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

namespace icapkit::replay::detail {

namespace {

// Gaps inside a chunked body are bridged by feeding the decoder filler bytes (dropped from the
// body): a hole inside chunk data keeps the framing; a bigger hole is not worth the CPU.
constexpr std::uint64_t max_chunked_filler = 1u << 20;

bool is_method_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

// Transfer-Encoding without its final "chunked" coding; nullopt when chunked is not last.
std::optional<std::string> without_final_chunked(std::string_view value) {
  const auto comma = value.rfind(',');
  const auto last =
      codec::trim_ows(comma == std::string_view::npos ? value : value.substr(comma + 1));
  if (!codec::iequals(last, "chunked")) {
    return std::nullopt;
  }
  return std::string(comma == std::string_view::npos ? ""
                                                     : codec::trim_ows(value.substr(0, comma)));
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  value = codec::trim_ows(value);
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return length;
}

} // namespace

stream_start classify_start(std::string_view first_bytes) noexcept {
  if (first_bytes.starts_with("HTTP/")) {
    return stream_start::response;
  }
  std::size_t length = 0;
  while (length < first_bytes.size() && length < 20 && is_method_char(first_bytes[length])) {
    ++length;
  }
  if (length > 0 && length < first_bytes.size() && first_bytes[length] == ' ') {
    return stream_start::request;
  }
  return stream_start::other;
}

struct http_stream::state final : codec::head_events, codec::chunked_events {
  enum class mode { head, body_length, body_chunked, body_until_close, stopped };

  state(http_side which, warn_fn warn_with, answers_head_fn head_lookup)
      : side(which), warn(std::move(warn_with)), answers_head(std::move(head_lookup)),
        head(which == http_side::client ? codec::head_kind::http_request
                                        : codec::head_kind::http_response,
             *this, codec::limits{}, head_leniency()),
        chunked(*this) {}

  static codec::leniency head_leniency() {
    codec::leniency len;
    len.bare_lf = true; // hand-written clients in captures; replay reframes anyway
    return len;
  }

  // head_events
  void on_request_line(std::string_view method, std::string_view target,
                       codec::version v) override {
    message.request.method = std::string(method);
    message.request.target = std::string(target);
    message.request.http_version = v;
  }
  void on_status_line(codec::version v, int status, std::string_view reason) override {
    message.response.http_version = v;
    message.response.status = status;
    message.response.reason = std::string(reason);
  }
  void on_field(std::string_view name, std::string_view value) override {
    headers().add(std::string(name), std::string(value));
  }
  // chunked_events
  void on_chunk_data(std::string_view data) override {
    if (!filling) {
      message.body.append(data);
    }
  }

  codec::header_list& headers() {
    return side == http_side::client ? message.request.headers : message.response.headers;
  }
  const char* side_name() const { return side == http_side::client ? "client" : "server"; }
  const char* message_name() const { return side == http_side::client ? "request" : "response"; }

  void put_data(std::string_view data, std::uint64_t offset, packet_time time);
  std::size_t put_head(std::string_view data, std::uint64_t offset, packet_time time);
  std::size_t put_chunked(std::string_view data);
  void put_gap(std::uint64_t offset, std::uint64_t size);
  void bridge_chunked_gap(std::uint64_t size, const std::string& note);
  bool head_complete();
  bool check_version(const codec::version& v);
  void start_body(bool request);
  void finish(bool clean);
  void complete_message();
  void mark_incomplete(const std::string& note);
  void give_up(const std::string& why);

  http_side side;
  warn_fn warn;
  answers_head_fn answers_head;
  codec::head_parser head;
  codec::chunked_decoder chunked;
  mode current = mode::head;
  bool in_head = false; // some byte of the next head has been seen
  bool filling = false; // filler bytes are going through the chunked decoder
  bool switched = false;
  std::size_t final_responses = 0;
  std::uint64_t remaining = 0; // body_length: bytes still owed
  std::uint64_t declared = 0;  // body_length: Content-Length
  http_message message;
  std::vector<http_message> done;
};

void http_stream::state::put_data(std::string_view data, std::uint64_t offset, packet_time time) {
  while (!data.empty() && current != mode::stopped) {
    std::size_t used = 0;
    switch (current) {
    case mode::head:
      used = put_head(data, offset, time);
      break;
    case mode::body_length:
      used = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, data.size()));
      message.body.append(data.substr(0, used));
      remaining -= used;
      if (remaining == 0) {
        complete_message();
      }
      break;
    case mode::body_chunked:
      used = put_chunked(data);
      break;
    case mode::body_until_close:
      message.body.append(data);
      used = data.size();
      break;
    case mode::stopped:
      return;
    }
    if (used == 0) {
      return; // every state consumes bytes; never spin if one did not
    }
    data.remove_prefix(used);
    offset += used;
  }
}

std::size_t http_stream::state::put_head(std::string_view data, std::uint64_t offset,
                                         packet_time time) {
  std::size_t skipped = 0;
  if (!in_head) {
    // Clients send a stray CRLF after a POST body now and then: not part of the next head.
    while (skipped < data.size() && (data[skipped] == '\r' || data[skipped] == '\n')) {
      ++skipped;
    }
    if (skipped == data.size()) {
      return skipped;
    }
    in_head = true;
    message = http_message{};
    message.offset = offset + skipped;
    message.started = time;
  }
  std::error_code ec;
  const std::size_t used = head.put(data.substr(skipped), ec);
  if (ec) {
    give_up(std::string("the ") + message_name() + " head at offset " +
            std::to_string(message.offset) + " of the " + side_name() +
            " stream is not HTTP/1.x (" + ec.message() + ")");
    return data.size();
  }
  if (head.is_done() && !head_complete()) {
    return data.size();
  }
  return skipped + used;
}

bool http_stream::state::check_version(const codec::version& v) {
  if (v.major == 1) {
    return true;
  }
  give_up(std::string("the ") + message_name() + " at offset " + std::to_string(message.offset) +
          " is HTTP/" + std::to_string(v.major) + "." + std::to_string(v.minor) +
          ", only HTTP/1.x is read");
  return false;
}

bool http_stream::state::head_complete() {
  head.reset();
  in_head = false;
  if (side == http_side::client) {
    if (!check_version(message.request.http_version)) {
      return false;
    }
    if (message.request.method == "CONNECT") {
      switched = true;
      give_up("CONNECT " + message.request.target +
              ": the tunnelled bytes (TLS or another protocol) are ignored");
      return false;
    }
    start_body(true);
    return true;
  }
  if (!check_version(message.response.http_version)) {
    return false;
  }
  const int status = message.response.status;
  if (status == 101) {
    switched = true;
    give_up("101 Switching Protocols: the rest of the connection is not HTTP/1.x");
    return false;
  }
  if (status >= 100 && status < 200) { // interim: the final response follows
    complete_message();
    return true;
  }
  const bool head_request = answers_head && answers_head(final_responses);
  ++final_responses;
  if (head_request || status == 204 || status == 304) {
    complete_message();
    return true;
  }
  start_body(false);
  return true;
}

void http_stream::state::start_body(bool request) {
  auto& fields = headers();
  if (const auto coding = fields.get("Transfer-Encoding")) {
    if (auto rest = without_final_chunked(*coding)) {
      if (!request) { // the recorded response carries the decoded body
        if (rest->empty()) {
          fields.remove("Transfer-Encoding");
        } else {
          fields.set("Transfer-Encoding", std::move(*rest));
        }
      }
      chunked.reset();
      current = mode::body_chunked;
      return;
    }
    if (request) {
      give_up("request at offset " + std::to_string(message.offset) +
              ": Transfer-Encoding without chunked last, the body length is unknown");
      return;
    }
    current = mode::body_until_close;
    return;
  }
  if (const auto length_text = fields.get("Content-Length")) {
    const auto length = parse_content_length(*length_text);
    if (!length) {
      give_up(std::string(message_name()) + " at offset " + std::to_string(message.offset) +
              ": bad Content-Length \"" + std::string(*length_text) + "\"");
      return;
    }
    declared = remaining = *length;
    current = mode::body_length;
    if (remaining == 0) {
      complete_message();
    }
    return;
  }
  if (request) {
    complete_message();
    return;
  }
  current = mode::body_until_close;
}

std::size_t http_stream::state::put_chunked(std::string_view data) {
  std::error_code ec;
  const std::size_t used = chunked.put(data, ec);
  if (ec) {
    mark_incomplete("the chunked body is malformed (" + ec.message() + ")");
    complete_message();
    give_up(std::string("the chunked ") + message_name() + " body at offset " +
            std::to_string(message.offset) + " is malformed: the rest of the " + side_name() +
            " stream is skipped");
    return data.size();
  }
  if (chunked.is_done()) {
    complete_message();
  }
  return used;
}

void http_stream::state::put_gap(std::uint64_t offset, std::uint64_t size) {
  const std::string note = "capture lost " + std::to_string(size) + " bytes at offset " +
                           std::to_string(offset) + " of the " + side_name() + " stream";
  switch (current) {
  case mode::head:
    give_up(note + ": the " + message_name() +
            " head there is unreadable, the rest of the stream is skipped");
    return;
  case mode::body_length: {
    mark_incomplete(note);
    const std::uint64_t covered = std::min(size, remaining);
    remaining -= covered;
    if (remaining == 0) {
      complete_message();
      if (size > covered) {
        give_up(note + ": the next " + std::string(message_name()) +
                " head is unreadable, the rest of the stream is skipped");
      }
    }
    return;
  }
  case mode::body_chunked:
    mark_incomplete(note);
    bridge_chunked_gap(size, note);
    return;
  case mode::body_until_close:
    mark_incomplete(note);
    return;
  case mode::stopped:
    return;
  }
}

void http_stream::state::bridge_chunked_gap(std::uint64_t size, const std::string& note) {
  static const std::string filler(16384, '\0');
  std::uint64_t left = size > max_chunked_filler ? 0 : size;
  bool framing_kept = size <= max_chunked_filler;
  filling = true;
  while (left > 0 && framing_kept) {
    std::error_code ec;
    const auto piece = std::string_view(filler).substr(
        0, static_cast<std::size_t>(std::min<std::uint64_t>(left, filler.size())));
    left -= chunked.put(piece, ec);
    framing_kept = !ec && (!chunked.is_done() || left == 0);
  }
  filling = false;
  if (framing_kept) {
    if (chunked.is_done()) {
      complete_message();
    }
    return;
  }
  complete_message();
  give_up(note + ": the chunk framing is lost, the rest of the stream is skipped");
}

void http_stream::state::finish(bool clean) {
  switch (current) {
  case mode::head:
    if (in_head) {
      give_up(std::string("the ") + side_name() + " stream ended inside the " + message_name() +
              " head at offset " + std::to_string(message.offset));
    }
    break;
  case mode::body_length:
    mark_incomplete("the connection ended after " + std::to_string(declared - remaining) + " of " +
                    std::to_string(declared) + " body bytes");
    complete_message();
    break;
  case mode::body_chunked:
    mark_incomplete("the connection ended inside the chunked body");
    complete_message();
    break;
  case mode::body_until_close:
    if (!clean) {
      mark_incomplete("the connection was reset or the capture ended before the body's end");
    }
    complete_message();
    break;
  case mode::stopped:
    break;
  }
  current = mode::stopped;
}

void http_stream::state::complete_message() {
  done.push_back(std::move(message));
  message = http_message{};
  current = mode::head;
}

void http_stream::state::mark_incomplete(const std::string& note) {
  message.body_complete = false;
  if (message.body_note.empty()) {
    message.body_note = note;
  }
}

void http_stream::state::give_up(const std::string& why) {
  current = mode::stopped;
  if (warn) {
    warn(why);
  }
}

http_stream::http_stream(http_side side, warn_fn warn, answers_head_fn answers_head)
    : state_(std::make_unique<state>(side, std::move(warn), std::move(answers_head))) {}

http_stream::~http_stream() = default;

void http_stream::put(const stream_piece& piece) {
  if (piece.type == stream_piece::kind::gap) {
    state_->put_gap(piece.offset, piece.size);
  } else {
    state_->put_data(piece.data, piece.offset, piece.time);
  }
}

void http_stream::finish(bool clean) {
  state_->finish(clean);
}

void http_stream::stop() noexcept {
  state_->current = state::mode::stopped;
}

std::vector<http_message> http_stream::take() {
  return std::exchange(state_->done, {});
}

bool http_stream::stopped() const noexcept {
  return state_->current == state::mode::stopped;
}

bool http_stream::switched_protocol() const noexcept {
  return state_->switched;
}

} // namespace icapkit::replay::detail
