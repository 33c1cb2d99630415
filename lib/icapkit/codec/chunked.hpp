#pragma once
// Incremental decoder of HTTP/1.1 chunked coding as ICAP uses it (RFC 9112 7.1, RFC 3507 4.5):
// chunk sizes, the ICAP chunk extensions (ieof, use-original-body), chunk data, trailers. Usable
// on its own (a fuzz target drives it) and inside the ICAP parser. Body bytes are passed on as
// views into the caller's buffer, never copied.
#include "icapkit/codec/head_parser.hpp"
#include "icapkit/codec/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

// Extensions of one chunk-size line that mean something to ICAP; unknown ones are ignored.
struct chunk_extensions {
  bool ieof = false;                              // "0; ieof": the body ended inside the preview
  std::optional<std::uint64_t> use_original_body; // "0; use-original-body=N" (206 responses)
  friend bool operator==(const chunk_extensions&, const chunk_extensions&) = default;
};

// Parses one chunk-size line without its line terminator, e.g. "1f", "0; ieof",
// "0; use-original-body=22". Grammar: 1*HEXDIG *( BWS ";" BWS name [ BWS "=" BWS value ] ) with
// value a token or a quoted-string; whitespace after the last extension is tolerated.
// `ieof` and `use-original-body` are matched case-insensitively: c-icap refuses "0; IEOF" (it
// answers 408), but icap-protocol.md pitfall 2 asks receivers to parse tolerantly, so we accept
// it. Unknown extensions are ignored.
// Errors: bad_chunk_size (empty, negative, non-hex, or "44 " without leniency
// chunk_size_trailing_space), chunk_size_too_long (more than limits::max_chunk_size_digits),
// chunk_size_overflow (beyond 64 bits), bad_chunk_extension, bad_use_original_body.
std::error_code parse_chunk_size_line(std::string_view line, std::uint64_t& size,
                                      chunk_extensions& ext, const limits& lim = {},
                                      const leniency& len = {});

// What the decoder reports, in wire order. Views are valid only during the call.
class chunked_events {
public:
  virtual ~chunked_events() = default;
  // Every chunk-size line, the last (size 0) included.
  virtual void on_chunk_header(std::uint64_t /*size*/, const chunk_extensions& /*ext*/) {}
  // Chunk data; a chunk may arrive in several pieces.
  virtual void on_chunk_data(std::string_view /*data*/) {}
  // One trailer field after the last chunk (same field grammar as a head).
  virtual void on_trailer(std::string_view /*name*/, std::string_view /*value*/) {}
  // The blank line after the last chunk (and its trailers) was consumed.
  virtual void on_chunked_complete() {}
};

class chunked_decoder {
public:
  chunked_decoder(chunked_events& events, limits lim = {}, leniency len = {});
  // The trailer parser points at a member: not copyable, not movable.
  chunked_decoder(const chunked_decoder&) = delete;
  chunked_decoder& operator=(const chunked_decoder&) = delete;

  // Feeds bytes; returns how many were consumed. Stops right after the chunked body ends (the
  // blank line after the last chunk and its trailers) or at an error (ec set, sticky until
  // reset()). Besides the errors of parse_chunk_size_line: chunk_line_too_long (more than
  // limits::max_chunk_line), bad_line_ending, bad_chunk_terminator (data not followed by CRLF),
  // bad_trailer, header_too_long (trailers beyond limits::max_trailer_bytes), too_many_headers.
  std::size_t put(std::string_view data, std::error_code& ec);

  bool is_done() const noexcept { return state_ == state::done; }
  // Nothing of the chunked body has been seen yet.
  bool at_start() const noexcept { return state_ == state::size_line && line_.empty() && !seen_; }
  // Chunk data bytes reported so far.
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }

  // Ready for a new chunked body; keeps events, limits and leniencies.
  void reset();

private:
  enum class state { size_line, data, data_cr, data_lf, trailers, done };

  // Forwards the trailer section's fields, parsed by a head_parser in fields_only mode.
  class trailer_sink final : public head_events {
  public:
    explicit trailer_sink(chunked_events& events) : events_(events) {}
    void on_field(std::string_view name, std::string_view value) override {
      events_.on_trailer(name, value);
    }

  private:
    chunked_events& events_;
  };

  std::size_t put_size_line(std::string_view data, std::error_code& ec);
  std::size_t put_data(std::string_view data);
  std::size_t put_terminator(std::string_view data, std::error_code& ec);
  std::size_t put_trailers(std::string_view data, std::error_code& ec);
  std::error_code check_size_line_growth(std::string_view added) const;

  chunked_events& events_;
  limits lim_;
  leniency len_;
  trailer_sink trailer_sink_;
  head_parser trailers_;
  state state_ = state::size_line;
  std::string line_; // the current, incomplete chunk-size line
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  bool seen_ = false;
  std::error_code error_;
};

} // namespace icapkit::codec
