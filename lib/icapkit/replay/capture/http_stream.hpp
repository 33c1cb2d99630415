#pragma once
// HTTP/1.x messages out of one reassembled TCP direction: requests from the client's stream,
// responses from the server's. Heads go through the codec's head_parser and chunked bodies through
// its chunked_decoder; holes the capture never filled mark the body they fall in as incomplete.
#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/head_parser.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/replay/capture/tcp_reassembly.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::replay::detail {

enum class http_side { client, server };

// How a direction's first bytes look: a request line, a status line, or something else (TLS,
// another protocol, or too few bytes to tell).
enum class stream_start { request, response, other };
stream_start classify_start(std::string_view first_bytes) noexcept;

struct http_message {
  std::uint64_t offset = 0;           // where the head starts in the direction's stream
  packet_time started{};              // when its first byte was captured
  codec::http_request_head request;   // client side
  codec::http_response_head response; // server side; chunked framing removed once decoded
  std::string body;                   // decoded (no chunked framing)
  bool body_complete = true;
  std::string body_note; // why the body is incomplete, e.g. "capture lost 1448 bytes at ..."
};

class http_stream {
public:
  // Non-fatal findings ("request head at byte 0 is not HTTP/1.x: ..."), without a location
  // prefix: the caller names the connection.
  using warn_fn = std::function<void(const std::string&)>;
  // Server side: whether the final response with this index (0-based, interim responses not
  // counted) answers a HEAD request, so it has no body. Unknown yet: false.
  using answers_head_fn = std::function<bool(std::size_t)>;

  http_stream(http_side side, warn_fn warn, answers_head_fn answers_head = {});
  ~http_stream();
  http_stream(const http_stream&) = delete;
  http_stream& operator=(const http_stream&) = delete;

  // The next piece of the direction's stream, in order: data is parsed, a gap marks the body it
  // falls in as incomplete (and ends the direction when it hides a head).
  void put(const stream_piece& piece);
  // The direction ended: by FIN (`clean`) or by RST / the end of the capture. A message in
  // progress is delivered with an incomplete body; a body delimited by the close is complete
  // only when `clean`.
  void finish(bool clean);
  // Stops parsing silently (the other direction gave up, the connection is ignored).
  void stop() noexcept;

  // The messages completed so far, in stream order; interim (1xx) responses included.
  std::vector<http_message> take();
  // Parsing gave up: not HTTP/1.x, a head lost in a gap, CONNECT, a protocol upgrade.
  bool stopped() const noexcept;
  // A CONNECT request or a 101 response: what follows is another protocol.
  bool switched_protocol() const noexcept;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace icapkit::replay::detail
