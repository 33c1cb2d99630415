#pragma once
// Captured HTTP exchanges: what the capture readers (HAR, raw HTTP, pcap/pcapng) produce and the
// replay driver sends. Readers stream: each exchange goes to a sink as soon as it is complete, so
// memory holds one exchange (or, for pcap, the connections still open), never the whole capture.
#include "icapkit/codec/message.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace icapkit::replay {

// The response the capture recorded for a request (HAR response, the server's side of a pcap
// connection). Raw HTTP request files record none.
struct recorded_response {
  codec::http_response_head head; // Transfer-Encoding: chunked removed when the body was decoded
  // Decoded from chunked and base64. Content-Encoding as on the wire for pcap (the body is still
  // compressed); HAR records the decompressed text, so its reader drops Content-Encoding.
  std::string body;
  bool body_complete = true; // false: the capture holds less than the response declared
};

struct captured_exchange {
  // Where it came from, for messages and JUnit names: "uploads.har entry 3",
  // "requests.http message 2", "upload.pcap 127.0.0.1:40122->127.0.0.1:8080 request 1".
  std::string origin;
  std::string url; // absolute "http://host[:port]/path?query" (https when the capture says so)
  // method, origin-form target ("/path?query"), version, headers as recorded (Host included;
  // Content-Length / Transfer-Encoding as recorded: the driver reframes the body it sends).
  codec::http_request_head head;
  std::string body; // decoded request body (no chunked framing, no base64)
  // False when the capture does not hold the whole body (HAR exports without file contents,
  // bodySize or Content-Length larger than the text, a pcap stream with a gap): such a request
  // must never be reported as scanned and clean. body_note says what is missing.
  bool body_captured = true;
  std::string body_note;
  // When the request was sent (HAR startedDateTime, the pcap timestamp of its first byte);
  // unset when the capture has no time (raw files).
  std::optional<std::chrono::system_clock::time_point> started;
  std::optional<recorded_response> response;
};

// A malformed or unreadable capture. Names the file, the entry when known ("entry 3",
// "message 2", "packet 17") and the byte offset when known.
struct capture_error {
  std::filesystem::path file;
  std::string entry;
  std::optional<std::uint64_t> offset;
  std::string detail; // "postData.params[1].value: expected a string"

  // "uploads.har: entry 3 (byte 2041): postData.params[1].value: expected a string"; unknown
  // parts are left out.
  std::string message() const;
};

// Receives each exchange in capture order; returns false to stop reading (--limit).
using exchange_sink = std::function<bool(captured_exchange&&)>;

// Non-fatal findings while reading (a pcap connection whose start was not captured, a HAR
// entry with a ws:// URL, ...): reported, reading goes on.
using warning_sink = std::function<void(const capture_error&)>;

enum class capture_format { har, raw_http, pcap };

// By content, not name: "{" (after whitespace/BOM) is HAR, a pcap or pcapng magic number is
// pcap, anything else is raw HTTP. nullopt with `error` set when the file cannot be read.
std::optional<capture_format> detect_format(const std::filesystem::path& file,
                                            capture_error& error);

// Each reader returns nullopt when the whole file was read (or the sink asked to stop), else
// the first fatal error; exchanges already given to the sink stay given. Readers never throw.
std::optional<capture_error> read_har(const std::filesystem::path& file, const exchange_sink& sink,
                                      const warning_sink& warn = {});
std::optional<capture_error> read_raw_http(const std::filesystem::path& file,
                                           const exchange_sink& sink,
                                           const warning_sink& warn = {});
std::optional<capture_error> read_pcap(const std::filesystem::path& file, const exchange_sink& sink,
                                       const warning_sink& warn = {});
// detect_format, then the matching reader.
std::optional<capture_error> read_capture(const std::filesystem::path& file,
                                          const exchange_sink& sink, const warning_sink& warn = {});

} // namespace icapkit::replay
