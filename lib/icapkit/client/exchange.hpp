#pragma once
// One ICAP transaction on one connection: the serializer's pieces are written while the response
// is read concurrently (early responses, ERRATA e7), the preview decision is handed from the
// reader to the writer, the returned body streams to a sink. Above it, client.cpp decides what to
// send and what the result means; below it, net::stream moves the bytes.
#include "icapkit/client/body_sink.hpp"
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/parser.hpp"
#include "icapkit/codec/serializer.hpp"
#include "icapkit/net/errc.hpp"
#include "icapkit/net/stream.hpp"

#include <asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::client::detail {

// What one transaction produced.
struct transaction_report {
  std::optional<codec::icap_response_head> response; // the final response (never a 100)
  std::optional<codec::http_request_head> returned_request;
  std::optional<codec::http_response_head> returned_response;
  std::optional<std::uint64_t> use_original_body; // 206: "0; use-original-body=N"
  bool returned_body_section = false;             // the response had a chunked body
  std::uint64_t returned_body_bytes = 0;
  std::array<unsigned char, 32> returned_body_digest{}; // set with returned_body_section
  bool got_100 = false;
  bool ignored_100 = false;        // a 100 after ieof (EID 5893) or without a pending preview
  bool decided_in_preview = false; // a final answer while the writer waited after the preview
  bool request_complete = false;   // the request ended properly (whole, or at a preview decision)
  bool response_complete = false;
  bool any_response_bytes = false;
  bool reusable = false; // the connection may carry another request
  std::chrono::steady_clock::time_point first_byte_sent{};
  std::chrono::steady_clock::time_point last_byte_received{};
  // The preview's last chunk ("0" or "0; ieof") was written; the server's decision on it (a 100
  // Continue or the final response head) arrived. Unset when there was none.
  std::chrono::steady_clock::time_point preview_ended{};
  std::chrono::steady_clock::time_point preview_decided{};
  net::error_info error; // empty code: success
  std::string error_message;
  bool timed_out = false;
  bool source_failed = false; // the body source failed (not the server): `error` is its code
};

struct transaction_settings {
  codec::icap_method method = codec::icap_method::reqmod; // of the request, for the parser
  // No progress in either direction for this long. A body_ready() call that returns counts as
  // progress, so one call that does not return within io_timeout ends the exchange too.
  std::chrono::milliseconds io_timeout{30000};
  std::size_t piece_size = 64 * 1024;
  // Where the response is read into, reused by the caller across transactions; empty: a buffer
  // of piece_size is allocated for this transaction.
  std::span<char> read_buffer;
  body_sink* sink = nullptr; // the returned body; may be null
  // Awaited when the body source would block; returns when it may have more bytes (or has
  // ended), and within a short time in any case (~100 ms): the writer checks for an early answer
  // between calls. Without it a source that would block fails the exchange like a source error.
  std::function<asio::awaitable<void>()> body_ready;
};

// Writes what `request` (already started) produces and reads the response on `connection`.
// Never throws for peer behaviour; the report's error names the failure: a net code from the
// stream (idle_timeout when neither direction progressed for io_timeout, deadline_exceeded from
// the stream's deadline), a codec errc for a response that does not parse or cannot be framed
// (codec::errc::data_after_response for bytes after a complete one), or the body source's or
// sink's own error (operation_would_block when the source would block and settings.body_ready is
// empty). The stream is closed when it cannot be reused, so it never reaches the pool.
asio::awaitable<transaction_report> run_transaction(net::stream& connection,
                                                    codec::serializer& request,
                                                    const transaction_settings& settings);

// "bad_status_line" for codec::errc::bad_status_line; empty for other categories.
std::string_view codec_errc_name(const std::error_code& ec) noexcept;

// One line for a user about a failed transaction with `peer`.
std::string describe_failure(const net::error_info& error);

} // namespace icapkit::client::detail
