#pragma once
// Sans-I/O push parser for ICAP requests and responses and the HTTP heads they encapsulate.
// Bytes in, events out, bytes consumed returned; never owns body bytes, never touches a socket.
#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/encapsulated.hpp"
#include "icapkit/codec/limits.hpp"
#include "icapkit/codec/message.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

// chunk_extensions (chunked.hpp): the ICAP meaning of a chunk-size line's extensions.

// What the parser reports, in wire order. Views are valid only during the call.
class parser_events {
public:
  virtual ~parser_events() = default;
  virtual void on_icap_request_line(std::string_view /*method*/, std::string_view /*uri*/,
                                    version /*v*/) {}
  virtual void on_icap_status_line(version /*v*/, int /*status*/, std::string_view /*reason*/) {}
  virtual void on_icap_header(std::string_view /*name*/, std::string_view /*value*/) {}
  // After the ICAP head; Encapsulated and Preview have been validated.
  virtual void on_icap_headers_complete() {}
  // An encapsulated section begins (req-hdr, res-hdr, req-body, res-body, opt-body, null-body).
  virtual void on_section(section /*s*/) {}
  virtual void on_http_request_line(std::string_view /*method*/, std::string_view /*target*/,
                                    version /*v*/) {}
  virtual void on_http_status_line(version /*v*/, int /*status*/, std::string_view /*reason*/) {}
  virtual void on_http_header(std::string_view /*name*/, std::string_view /*value*/) {}
  virtual void on_http_headers_complete() {}
  virtual void on_chunk_header(std::uint64_t /*size*/, const chunk_extensions& /*ext*/) {}
  // Body bytes (de-chunked); may be called several times per chunk.
  virtual void on_body(std::string_view /*data*/) {}
  virtual void on_trailer(std::string_view /*name*/, std::string_view /*value*/) {}
  // The zero chunk that ends a preview: ieof true when the whole body was in the preview.
  virtual void on_preview_end(bool /*ieof*/) {}
  virtual void on_message_complete() {}
};

enum class parse_mode { icap_request, icap_response };

namespace detail {
class parser_impl;
}

class parser {
public:
  parser(parse_mode mode, parser_events& events, limits lim = {}, leniency len = {});
  ~parser();
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;
  parser(parser&&) noexcept;
  parser& operator=(parser&&) noexcept;

  // Response mode: the method of the request being answered (OPTIONS responses may carry
  // opt-body; REQMOD/RESPMOD decide the legal Encapsulated shapes, and their 200/201/206 answers
  // need one: errc::response_without_encapsulated). Default: REQMOD. Whatever the method, a 100
  // or 204 with more than "null-body=0" is errc::sections_not_allowed_for_status.
  void set_request_method(icap_method m);

  // Feeds bytes. Returns how many were consumed: all of them, except that parsing stops right
  // after a complete message (pipelined bytes stay with the caller), at a preview decision, or at
  // an error (ec set; the parser is then unusable until reset()). Partial lines are kept in an
  // internal buffer bounded by the limits; body bytes are passed on without copying.
  std::size_t put(std::string_view data, std::error_code& ec);
  // The peer closed: errc::unexpected_eof unless between messages.
  void put_eof(std::error_code& ec);

  bool is_done() const noexcept; // a whole message was parsed
  // The ICAP head was read to its blank line, even if it then failed validation (a response
  // whose framing is wrong still says what the server answered).
  bool icap_head_read() const noexcept;
  bool at_message_start() const noexcept; // nothing of a message seen yet
  // A request preview ended with "0\r\n\r\n" (not ieof): the server decides, then calls one of:
  bool awaiting_preview_decision() const noexcept;
  void continue_after_preview(); // 100 Continue was sent: the rest of the body follows
  void end_after_preview();      // answered without 100: the message is complete

  // Valid from on_icap_headers_complete() on.
  const encapsulated& encapsulated_header() const noexcept;
  std::optional<std::uint64_t> preview() const noexcept; // the request's Preview value
  icap_method method() const noexcept;                   // request mode
  int status() const noexcept;                           // response mode

  // Ready for the next message on the same connection (keeps mode, limits, leniencies).
  void reset();

private:
  std::unique_ptr<detail::parser_impl> impl_;
};

// A whole message collected from events, for tests and small callers.
struct parsed_message {
  std::optional<icap_request_head> icap_request;
  std::optional<icap_response_head> icap_response;
  std::optional<http_request_head> http_request;
  std::optional<http_response_head> http_response;
  encapsulated encapsulated_header;
  std::string body;
  header_list trailers;
  bool preview_ended = false;
  bool ieof = false;
  std::optional<std::uint64_t> use_original_body;
  bool complete = false;
};

// Parses one whole message from `data` (continuing after a preview as if 100 Continue was sent).
// Returns bytes consumed; ec set on error or errc::unexpected_eof when the data ends early.
std::size_t parse_message(std::string_view data, parse_mode mode, parsed_message& out,
                          std::error_code& ec, icap_method request_method = icap_method::reqmod,
                          limits lim = {}, leniency len = {});

} // namespace icapkit::codec
