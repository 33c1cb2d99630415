#include "icapkit/proxy/http_reader.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/serializer.hpp"
#include "icapkit/net/errc.hpp"
#include "icapkit/proxy/errc.hpp"

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstring>

namespace icapkit::proxy {
namespace {

// More interim (1xx) responses than this before the final one is a misbehaving upstream.
constexpr int max_interim_responses = 32;

bool is_timeout(const std::error_code& ec) noexcept {
  return ec == net::errc::idle_timeout || ec == net::errc::deadline_exceeded;
}

bool is_size_error(const std::error_code& ec) noexcept {
  return ec == codec::errc::header_too_long || ec == codec::errc::too_many_headers ||
         ec == codec::errc::start_line_too_long;
}

// Collects one head. An obs-fold in a request is refused (RFC 9112 5.2 allows a 400, and a
// folded Transfer-Encoding is a smuggling vector); in a response each fold becomes a space, the
// other choice RFC 9112 5.2 gives a proxy. A request is checked line by line as it arrives
// (`early_error`): a bad target, a fold, or framing fields already known bad are refused without
// waiting for the blank line, since no later line can make them good.
class head_collector final : public codec::head_events {
public:
  void reset(codec::head_kind kind) {
    kind_ = kind;
    request = {};
    response = {};
    start_line_seen = false;
    folded = false;
    early_error = {};
    framing_lines_ = {};
  }
  void on_request_line(std::string_view method, std::string_view target,
                       codec::version v) override {
    request.method.assign(method);
    request.target.assign(target);
    request.http_version = v;
    start_line_seen = true;
    if (!is_valid_request_target(target)) {
      note(errc::bad_request_target);
    }
  }
  void on_field_line(std::string_view name, std::string_view value) override {
    if (kind_ != codec::head_kind::http_request ||
        !(codec::iequals(name, "Content-Length") || codec::iequals(name, "Transfer-Encoding"))) {
      return;
    }
    framing_lines_.http_version = request.http_version;
    framing_lines_.headers.add(std::string(name), std::string(value));
    framing ignored;
    note(request_framing(framing_lines_, ignored));
  }
  void on_fold_line(std::string_view /*value*/) override {
    if (kind_ == codec::head_kind::http_request) {
      note(errc::bad_request);
    }
  }
  void on_status_line(codec::version v, int status, std::string_view reason) override {
    response.http_version = v;
    response.status = status;
    response.reason.assign(reason);
    start_line_seen = true;
  }
  void on_field(std::string_view name, std::string_view value) override {
    std::string text(value);
    if (text.find('\n') != std::string::npos) {
      folded = true;
      std::replace(text.begin(), text.end(), '\n', ' ');
    }
    auto& headers = kind_ == codec::head_kind::http_request ? request.headers : response.headers;
    headers.add(std::string(name), std::move(text));
  }

  codec::http_request_head request;
  codec::http_response_head response;
  bool start_line_seen = false;
  bool folded = false;
  std::error_code early_error; // the first line of a request known bad

private:
  void note(std::error_code ec) {
    if (ec && !early_error) {
      early_error = ec;
    }
  }

  codec::head_kind kind_ = codec::head_kind::http_request;
  codec::http_request_head framing_lines_; // the request's framing fields so far
};

// Requests may follow a stray CRLF (RFC 9112 2.2: a server SHOULD ignore at least one empty line
// before a request line; limits::max_leading_empty_lines bounds them). Responses stay strict.
codec::leniency request_leniency() {
  codec::leniency len;
  len.leading_empty_lines = true;
  return len;
}

// Moves decoded chunk data down over the chunk framing already consumed, so the body bytes of
// one decoder call end up contiguous at the start of what was fed. Every destination lies in
// bytes the decoder has finished with, so the in-place move is safe.
class chunk_compactor final : public codec::chunked_events {
public:
  void start(char* destination) noexcept {
    start_ = destination;
    written_ = 0;
  }
  void on_chunk_data(std::string_view data) override {
    std::memmove(start_ + written_, data.data(), data.size());
    written_ += data.size();
  }
  std::size_t written() const noexcept { return written_; }

private:
  char* start_ = nullptr;
  std::size_t written_ = 0;
};

} // namespace

struct http_reader::impl {
  impl(net::stream& s, codec::limits lim, std::size_t buffer_size)
      : stream(s), buffer(std::max<std::size_t>(buffer_size, 1)),
        request_parser(codec::head_kind::http_request, heads, lim, request_leniency()),
        response_parser(codec::head_kind::http_response, heads, lim), decoder(chunks, lim) {}

  std::string_view buffered() const noexcept { return {buffer.data() + begin, end - begin}; }

  // Reads at least one byte into the buffer; the caller has used every byte buffered so far.
  asio::awaitable<std::error_code> read_more() {
    if (begin == end) {
      begin = end = 0;
    } else if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    const asio::mutable_buffer space(buffer.data() + end, buffer.size() - end);
    std::error_code ec;
    const std::size_t n = co_await stream.read_some(space, ec);
    if (!ec && n == 0) {
      ec = net::errc::closed_by_peer;
    }
    end += n;
    co_return ec;
  }

  // Feeds buffered bytes to the head parser; returns true once the head is complete or failed.
  bool feed_head(std::error_code& ec) {
    const auto used = parser->put(buffered(), ec);
    begin += used;
    head_bytes = parser->head_bytes();
    return ec || parser->is_done();
  }

  net::stream& stream;
  std::vector<char> buffer;
  std::size_t begin = 0;
  std::size_t end = 0;
  head_collector heads;
  codec::head_parser request_parser;
  codec::head_parser response_parser;
  codec::head_parser* parser = &request_parser; // the one in use
  chunk_compactor chunks;
  codec::chunked_decoder decoder;
  framing body;
  std::uint64_t remaining = 0;
  bool body_done = true;
  std::uint64_t body_bytes = 0;
  std::error_code body_error;
  std::size_t head_bytes = 0;
  bool idle_timed_out = false;
};

http_reader::http_reader(net::stream& stream, codec::limits limits, std::size_t buffer_size)
    : impl_(std::make_unique<impl>(stream, limits, buffer_size)) {}

http_reader::~http_reader() = default;

asio::awaitable<std::optional<codec::http_request_head>>
http_reader::read_request_head(std::error_code& ec) {
  auto& s = *impl_;
  ec = {};
  s.idle_timed_out = false;
  s.head_bytes = 0;
  s.heads.reset(codec::head_kind::http_request);
  s.parser = &s.request_parser;
  s.parser->reset();
  for (;;) {
    if (s.begin < s.end) {
      std::error_code parse_error;
      const bool finished = s.feed_head(parse_error);
      const auto v = s.heads.request.http_version;
      // Checked as soon as the request line is in: an HTTP/2 preface fails without waiting.
      if (s.heads.start_line_seen && !(v.major == 1 && (v.minor == 0 || v.minor == 1))) {
        ec = errc::unsupported_version;
        co_return std::nullopt;
      }
      // A line already known bad is refused in wire order, before a later parse error.
      if (s.heads.early_error) {
        ec = s.heads.early_error;
        co_return std::nullopt;
      }
      if (parse_error) {
        ec = is_size_error(parse_error) ? errc::header_too_large : errc::bad_request;
        co_return std::nullopt;
      }
      if (finished) {
        if (s.heads.folded) {
          ec = errc::bad_request;
          co_return std::nullopt;
        }
        co_return std::move(s.heads.request);
      }
    }
    const auto read_error = co_await s.read_more();
    if (read_error) {
      if (!s.parser->started()) {
        // Between messages (skipped empty lines included): the end of a keep-alive connection,
        // not an error.
        if (read_error == net::errc::closed_by_peer) {
          co_return std::nullopt;
        }
        if (is_timeout(read_error)) {
          s.idle_timed_out = true;
          co_return std::nullopt;
        }
        ec = read_error;
      } else if (read_error == net::errc::closed_by_peer) {
        ec = errc::truncated_body;
      } else {
        ec = is_timeout(read_error) ? make_error_code(errc::client_timeout) : read_error;
      }
      co_return std::nullopt;
    }
  }
}

asio::awaitable<std::optional<codec::http_response_head>>
http_reader::read_response_head(std::error_code& ec) {
  auto& s = *impl_;
  ec = {};
  s.head_bytes = 0;
  s.heads.reset(codec::head_kind::http_response);
  s.parser = &s.response_parser;
  s.parser->reset();
  int interim_responses = 0;
  for (;;) {
    if (s.begin < s.end) {
      std::error_code parse_error;
      const bool finished = s.feed_head(parse_error);
      if (parse_error) {
        ec = is_size_error(parse_error) ? errc::header_too_large : errc::bad_upstream_response;
        co_return std::nullopt;
      }
      if (finished) {
        const auto& head = s.heads.response;
        if (head.http_version.major != 1) {
          ec = errc::bad_upstream_response;
          co_return std::nullopt;
        }
        if (head.status >= 200 || head.status == 101) {
          co_return std::move(s.heads.response);
        }
        // 100 Continue, 103 Early Hints, ...: the client gets the final answer only.
        if (++interim_responses > max_interim_responses) {
          ec = errc::bad_upstream_response;
          co_return std::nullopt;
        }
        s.heads.reset(codec::head_kind::http_response);
        s.parser->reset();
        continue;
      }
    }
    const auto read_error = co_await s.read_more();
    if (read_error) {
      if (read_error == net::errc::closed_by_peer) {
        ec = errc::truncated_body;
      } else {
        ec = is_timeout(read_error) ? make_error_code(errc::upstream_timeout) : read_error;
      }
      co_return std::nullopt;
    }
  }
}

void http_reader::start_body(const framing& f) {
  auto& s = *impl_;
  s.body = f;
  s.remaining = f.length;
  s.body_bytes = 0;
  s.body_error = {};
  s.decoder.reset();
  s.body_done =
      f.kind == body_framing::none || (f.kind == body_framing::content_length && f.length == 0);
}

asio::awaitable<std::string_view> http_reader::read_body(std::error_code& ec) {
  auto& s = *impl_;
  ec = s.body_error;
  if (s.body_done || ec) {
    co_return std::string_view{};
  }
  for (;;) {
    if (s.begin < s.end) {
      const auto start = s.begin;
      std::size_t size = s.end - s.begin;
      switch (s.body.kind) {
      case body_framing::content_length:
        size = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size));
        s.remaining -= size;
        s.body_done = s.remaining == 0;
        s.begin += size;
        break;
      case body_framing::until_close:
        s.begin = s.end;
        break;
      case body_framing::chunked: {
        std::error_code decode_error;
        s.chunks.start(s.buffer.data() + start);
        s.begin += s.decoder.put(s.buffered(), decode_error);
        if (decode_error) {
          ec = s.body_error = errc::bad_chunked_body;
          co_return std::string_view{};
        }
        // Trailers (after the last chunk) are dropped: the proxy forwards a body, not them.
        size = s.chunks.written();
        s.body_done = s.decoder.is_done();
        break;
      }
      case body_framing::none:
        s.body_done = true;
        co_return std::string_view{};
      }
      s.body_bytes += size;
      if (size > 0) {
        co_return std::string_view(s.buffer.data() + start, size);
      }
      if (s.body_done) {
        co_return std::string_view{};
      }
    }
    const auto read_error = co_await s.read_more();
    if (read_error) {
      if (read_error == net::errc::closed_by_peer) {
        if (s.body.kind == body_framing::until_close) {
          s.body_done = true;
          co_return std::string_view{};
        }
        ec = s.body_error = errc::truncated_body;
      } else {
        ec = s.body_error = read_error;
      }
      co_return std::string_view{};
    }
  }
}

bool http_reader::body_done() const noexcept {
  return impl_->body_done;
}

std::uint64_t http_reader::body_bytes() const noexcept {
  return impl_->body_bytes;
}

std::size_t http_reader::head_bytes() const noexcept {
  return impl_->head_bytes;
}

bool http_reader::has_buffered_bytes() const noexcept {
  return impl_->begin < impl_->end;
}

bool http_reader::idle_timed_out() const noexcept {
  return impl_->idle_timed_out;
}

const codec::http_request_head* http_reader::partial_request_head() const noexcept {
  return impl_->heads.start_line_seen ? &impl_->heads.request : nullptr;
}

asio::awaitable<void> http_writer::write_head(const codec::http_request_head& head,
                                              std::error_code& ec) {
  ec = codec::validate_head(head);
  if (ec) {
    co_return;
  }
  scratch_ = codec::serialize_head(head);
  const asio::const_buffer bytes(scratch_.data(), scratch_.size());
  co_await stream_.write_all(bytes, ec);
}

asio::awaitable<void> http_writer::write_head(const codec::http_response_head& head,
                                              std::error_code& ec) {
  ec = codec::validate_head(head);
  if (ec) {
    co_return;
  }
  scratch_ = codec::serialize_head(head);
  const asio::const_buffer bytes(scratch_.data(), scratch_.size());
  co_await stream_.write_all(bytes, ec);
}

asio::awaitable<void> http_writer::write_body(std::string_view data, bool chunked,
                                              std::error_code& ec) {
  ec = {};
  if (data.empty()) {
    co_return;
  }
  if (!chunked) {
    const asio::const_buffer bytes(data.data(), data.size());
    co_await stream_.write_all(bytes, ec);
    co_return;
  }
  // One write per chunk: size line, data and CRLF leave in one segment.
  static constexpr char hex_digits[] = "0123456789abcdef";
  char size_line[24];
  std::size_t digits = 0;
  for (auto size = data.size(); size != 0; size >>= 4) {
    size_line[digits++] = hex_digits[size & 0xf];
  }
  std::reverse(size_line, size_line + digits);
  scratch_.assign(size_line, digits);
  scratch_.append("\r\n").append(data).append("\r\n");
  const asio::const_buffer bytes(scratch_.data(), scratch_.size());
  co_await stream_.write_all(bytes, ec);
}

asio::awaitable<void> http_writer::finish_body(bool chunked, std::error_code& ec) {
  ec = {};
  if (!chunked) {
    co_return;
  }
  static constexpr std::string_view last_chunk = "0\r\n\r\n";
  const asio::const_buffer bytes(last_chunk.data(), last_chunk.size());
  co_await stream_.write_all(bytes, ec);
}

} // namespace icapkit::proxy
