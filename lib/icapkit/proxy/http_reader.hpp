#pragma once
// Reads HTTP/1.1 messages from a net::stream for the proxy, both directions: request heads from
// clients, response heads from upstreams, then their bodies decoded piece by piece through a
// fixed buffer. Bytes after a message stay buffered for the next one (pipelining, keep-alive).
#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/head_parser.hpp"
#include "icapkit/codec/limits.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/proxy/http_framing.hpp"

#include <asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace icapkit::proxy {

class http_reader {
public:
  // `stream` must outlive the reader. `buffer_size` bytes are read at a time.
  http_reader(net::stream& stream, codec::limits limits, std::size_t buffer_size = 64 * 1024);
  ~http_reader();
  http_reader(const http_reader&) = delete;
  http_reader& operator=(const http_reader&) = delete;

  // Reads one request head. Up to limits::max_leading_empty_lines empty lines before it are
  // skipped (RFC 9112 2.2). Returns nullopt with ec clear when the peer closed (or the stream
  // hit its timeout) before the first byte of a head: the clean end of a keep-alive connection
  // (idle_timed_out() tells the two apart). Errors: header_too_large (codec header_too_long /
  // too_many_headers / start_line_too_long), unsupported_version (not HTTP/1.0 or 1.1, or an
  // HTTP/2 preface; reported as soon as the request line is in), bad_request_target (a byte
  // is_valid_request_target refuses, as soon as the request line is in), the request_framing
  // errors (as soon as a Content-Length or Transfer-Encoding line makes the framing invalid,
  // without waiting for the blank line), bad_request (other codec errors, and obs-fold
  // continuation lines, which RFC 9112 5.2 lets a server refuse, as soon as one is in),
  // client_timeout (the stream's idle timeout or deadline fired mid-head), truncated_body
  // (closed mid-head), or the net code (connection_reset, ... even before the first byte).
  asio::awaitable<std::optional<codec::http_request_head>> read_request_head(std::error_code& ec);
  // Reads one response head, skipping 1xx interim responses except 101 (more than 32 of them is
  // bad_upstream_response). obs-fold lines are replaced by a space (RFC 9112 5.2). Errors:
  // header_too_large, bad_upstream_response (any parse error or a version other than HTTP/1.x),
  // upstream_timeout (idle timeout or deadline, also before the first byte), truncated_body
  // (closed before a complete head; head_bytes() == 0 then means the upstream sent nothing, as a
  // stale keep-alive connection does), or the net code.
  asio::awaitable<std::optional<codec::http_response_head>> read_response_head(std::error_code& ec);

  // Starts reading a body with the given framing (none: read_body returns the end at once).
  void start_body(const framing& f);
  // The next piece of decoded body bytes, valid until the next call; an empty view means the body
  // ended (for until_close: the peer closed). Chunk extensions are ignored and trailers dropped.
  // Errors (sticky until the next start_body): truncated_body (closed before the declared length
  // or the last chunk), bad_chunked_body (codec chunked errors), or the net code unchanged,
  // idle_timeout and deadline_exceeded included: the caller knows which side it reads and maps a
  // timeout to client_timeout or upstream_timeout.
  asio::awaitable<std::string_view> read_body(std::error_code& ec);
  bool body_done() const noexcept;
  std::uint64_t body_bytes() const noexcept; // decoded body bytes returned so far

  // Bytes of the current head (for request_length; after a failure, of the partial head) and
  // whether bytes of a next message wait.
  std::size_t head_bytes() const noexcept;
  bool has_buffered_bytes() const noexcept;
  // The last read_request_head returned nullopt because the idle timeout fired.
  bool idle_timed_out() const noexcept;
  // After a failed read_request_head: what was parsed of the head (method, target, version and
  // the fields complete so far), or null when not even the request line was.
  const codec::http_request_head* partial_request_head() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Writes messages and bodies to a stream: heads via codec::serialize_head, bodies either raw
// (Content-Length) or chunked ("<hex>\r\n<data>\r\n" per piece, "0\r\n\r\n" at the end).
// Errors are the stream's net codes; write_head first checks the head with codec::validate_head
// (no CR/LF injection) and reports its codec error without writing anything.
class http_writer {
public:
  explicit http_writer(net::stream& stream) : stream_(stream) {}
  asio::awaitable<void> write_head(const codec::http_request_head& head, std::error_code& ec);
  asio::awaitable<void> write_head(const codec::http_response_head& head, std::error_code& ec);
  // One piece of body: as is when !chunked, else as one chunk (an empty piece writes nothing).
  asio::awaitable<void> write_body(std::string_view data, bool chunked, std::error_code& ec);
  // The last chunk "0\r\n\r\n" when chunked; nothing otherwise.
  asio::awaitable<void> finish_body(bool chunked, std::error_code& ec);

private:
  net::stream& stream_;
  std::string scratch_; // the serialized head or one chunk with its framing
};

} // namespace icapkit::proxy
