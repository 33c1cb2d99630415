#pragma once
// Sans-I/O pull serializer for ICAP requests and responses. The caller asks for the next piece of
// bytes to write; the serializer produces the ICAP head, the encapsulated HTTP heads, the preview
// chunks, "0; ieof" and the rest of the body from a body_source, one bounded piece at a time. It
// never holds a whole body: memory is two piece-sized buffers plus the heads.
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/encapsulated.hpp"
#include "icapkit/codec/message.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::codec {

// What follows the ICAP head. Heads are serialized when a message starts, so they need only live
// during start_request()/start_response(); the body source must outlive the serialization.
struct encapsulated_parts {
  const http_request_head* request_head = nullptr;   // req-hdr
  const http_response_head* response_head = nullptr; // res-hdr
  body_source* body = nullptr; // req-body/res-body/opt-body; nullptr means null-body
};

inline constexpr std::size_t default_piece_size = 16 * 1024;
// Small enough for tests, large enough for a chunk header and any last-chunk line.
inline constexpr std::size_t min_piece_size = 64;

struct request_options {
  // "Preview: N": up to N body bytes are sent, then the serializer pauses for the server's
  // decision unless the whole body fitted ("0; ieof"). With null-body the header says
  // "Preview: 0" and no chunk follows, as Squid does. Ignored for OPTIONS.
  std::optional<std::uint64_t> preview;
  bool allow_204 = false; // "Allow: 204"; with allow_206: "Allow: 204, 206"
  bool allow_206 = false;
  // OPTIONS only: send "Encapsulated: null-body=0" (c-icap-client, RFC 3507 4.4.1) or no
  // Encapsulated at all (Squid, ERRATA e1).
  bool options_null_body = true;
  std::size_t piece_size = default_piece_size; // raised to min_piece_size if smaller
};

struct response_options {
  // The method of the request being answered: decides the body section (req-body or res-body in
  // REQMOD, res-body in RESPMOD, opt-body in OPTIONS) and the legal Encapsulated shapes.
  icap_method request_method = icap_method::reqmod;
  // 206 Partial Content: the last chunk is "0; use-original-body=N". Without a body source the
  // body section is empty (the adapted headers then the original body from offset N).
  std::optional<std::uint64_t> use_original_body;
  std::size_t piece_size = default_piece_size;
};

class serializer {
public:
  serializer() = default;

  // Prepares an ICAP request. Writes, in this order: the request line (the URI in normal form),
  // Host (the caller's, else host:port from the URI), the caller's headers, Encapsulated, Preview,
  // Allow. The caller's Encapsulated and Preview fields are replaced by computed ones; the
  // caller's Allow is replaced when allow_204 or allow_206 is set and kept otherwise.
  // Errors: bad_uri, unsupported_scheme (not icap/icaps), bad_host, bad_port, bad_method (not
  // OPTIONS/REQMOD/RESPMOD or a bad HTTP method), bad_request_target, bad_status_code,
  // bad_status_line, bad_header_name, bad_header_value (CR, LF or controls: no header injection),
  // encapsulated_shape (parts not legal for the method; an OPTIONS request never has parts).
  std::error_code start_request(const icap_request_head& head, const encapsulated_parts& parts = {},
                                const request_options& opt = {});

  // Prepares an ICAP response. 100 and 204 have no Encapsulated header and take no parts; every
  // other status has one ("null-body=0" when there are no parts, as for 4xx/5xx errors).
  // Errors: bad_status_code (not 100..599), bad_status_line (CR/LF in the reason), the header
  // and head errors of start_request(), encapsulated_shape.
  std::error_code start_response(const icap_response_head& head,
                                 const encapsulated_parts& parts = {},
                                 const response_options& opt = {});

  // The next bytes to write, at most piece_size of them, valid until the next call. An empty view
  // with ec clear means nothing more now: done(), awaiting_preview_decision(), or
  // waiting_for_body(). Body source failures report errc::body_source_error (the source's own
  // code is in source_error()) and a source ending before its size()
  // errc::body_shorter_than_declared; the serializer then stays failed and the connection must be
  // closed.
  std::string_view next(std::error_code& ec);

  bool done() const noexcept { return phase_ == phase::done; }
  // The last next() stopped because the body source would block (operation_would_block): what it
  // returned (possibly nothing) is all there is for now. Call next() again once the source may
  // have more bytes; it reads the source again, wherever it stopped (preview, the look-ahead that
  // chooses between "0; ieof" and "0", or the body after 100 Continue).
  bool waiting_for_body() const noexcept { return waiting_for_body_; }
  // The preview ended with "0\r\n\r\n": wait for the server's answer, then call one of:
  bool awaiting_preview_decision() const noexcept { return phase_ == phase::paused; }
  // After "100 Continue": the rest of the body follows, ending with "0\r\n\r\n" (never ieof).
  // Does nothing in any other state (a 100 that wrongly follows ieof is ignored, RFC EID 5893).
  void continue_after_preview() noexcept;
  // The server answered the preview (204, 200, error): nothing more is sent.
  void stop_after_preview() noexcept;

  bool ieof_sent() const noexcept { return ieof_sent_; }
  std::uint64_t body_bytes_sent() const noexcept { return body_bytes_sent_; }
  std::error_code source_error() const noexcept { return source_error_; }
  // The ICAP head as sent, start line through the blank line (for icap_log records).
  std::string_view icap_head() const noexcept;
  // The Encapsulated header sent, if one was.
  const std::optional<encapsulated>& encapsulated_header() const noexcept { return encapsulated_; }

private:
  enum class phase { idle, head, body, paused, done, failed };

  void reset(std::size_t piece_size);
  std::error_code prepare_request(const icap_request_head& head, const encapsulated_parts& parts,
                                  const request_options& opt);
  std::error_code prepare_response(const icap_response_head& head, const encapsulated_parts& parts,
                                   const response_options& opt);
  // Appends http_heads_ to the ICAP head built in head_ and starts sending.
  void begin(body_source* body, bool chunked_body);
  bool emit_head();
  bool emit_body(std::error_code& ec);
  bool finish_preview(std::error_code& ec);
  bool finish_body();
  std::string_view fetch(std::size_t max, std::error_code& ec);
  char* read_space();

  phase phase_ = phase::idle;
  std::size_t piece_size_ = default_piece_size;
  std::string head_;       // ICAP head followed by the encapsulated HTTP heads
  std::string http_heads_; // the encapsulated HTTP heads while the ICAP head is built
  std::size_t icap_head_size_ = 0;
  std::size_t head_sent_ = 0;
  std::optional<encapsulated> encapsulated_;

  body_source* body_ = nullptr; // may be null with chunked_body_: an empty body section
  bool chunked_body_ = false;
  std::optional<std::uint64_t> declared_left_; // from body_source::size()
  bool source_ended_ = false;
  bool waiting_for_body_ = false; // the last fetch() found the source would block
  bool in_preview_ = false;
  std::uint64_t preview_left_ = 0;
  std::string last_chunk_; // "0\r\n\r\n" or "0; use-original-body=N\r\n\r\n"
  bool ieof_sent_ = false;
  std::uint64_t body_bytes_sent_ = 0;
  std::error_code failure_;
  std::error_code source_error_;

  // Source reads; holds the look-ahead after a preview. Allocated at the first body read and kept
  // (not zero-filled) across messages: a serializer reused for many messages allocates it once.
  std::unique_ptr<char[]> read_buffer_;
  std::size_t read_buffer_size_ = 0;
  std::size_t lookahead_offset_ = 0;
  std::size_t lookahead_size_ = 0;
  std::string piece_;
};

// Serializes an encapsulated HTTP head: start line, fields, blank line. A value containing "\n"
// (the parser's representation of an obs-fold) is written folded with "\r\n\t". The byte count
// is what the Encapsulated offsets are computed from.
std::string serialize_head(const http_request_head& head);
std::string serialize_head(const http_response_head& head);

// Checks what serialize_head() would write: a tchar method and status code 100..599, a visible
// target, a reason without CR/LF, valid field names and values. Errors as start_request().
std::error_code validate_head(const http_request_head& head);
std::error_code validate_head(const http_response_head& head);
std::error_code validate_fields(const header_list& fields);

// Appends what the serializer produces until it pauses after a preview, is done, or waits for a
// body source that would block (then waiting_for_body() is true).
std::error_code serialize_to_string(serializer& s, std::string& out);
// A whole message in one string; a request with a preview is written as if the server answered
// it with 100 Continue. For tests and small callers: the body ends up in `out`. A body source
// that would block cannot be waited for here: std::errc::operation_would_block.
std::error_code serialize_to_string(const icap_request_head& head, const encapsulated_parts& parts,
                                    const request_options& opt, std::string& out);
std::error_code serialize_to_string(const icap_response_head& head, const encapsulated_parts& parts,
                                    const response_options& opt, std::string& out);

} // namespace icapkit::codec
