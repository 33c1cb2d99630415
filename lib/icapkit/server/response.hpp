#pragma once
// A service's answer to one REQMOD/RESPMOD transaction (after a preview or after the whole body):
// continue, unmodified, a full 200, a 206, or an ICAP error; plus extra ICAP headers, a delay, a
// fault for the engine to perform, and Connection: close.
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/server/fault.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace icapkit::server {

enum class response_action {
  // Only as an answer to on_preview_end(): send 100 Continue and read the rest of the body.
  // Anywhere else the engine treats it as `unmodified`.
  continue_body,
  // The message is clean and unchanged. The engine sends 204 when RFC 3507 4.6 allows it (the
  // client sent "Allow: 204", or this answers a preview), else a 200 echoing the original
  // encapsulated heads and body from the copy the engine kept (see body_state::may_send_204).
  unmodified,
  // Send `status` with the parts below: 200 (modified heads and/or body), 206 (with
  // use_original_body), or an ICAP error (4xx/5xx, no encapsulated parts).
  respond,
};

struct response {
  response_action action = response_action::unmodified;
  int status = 200;   // respond only
  std::string reason; // empty: the standard phrase (codec::icap_reason_phrase)
  // Extra ICAP headers (X-Infection-Found, X-Response-Info, Server, ...). ISTag, Date and Server
  // fields here replace the engine's; Encapsulated is always computed.
  codec::header_list icap_headers;
  // Encapsulated parts of a 200/206. REQMOD may answer with a request (req-hdr [req-body]) or a
  // response (res-hdr res-body, e.g. a 403 block page); RESPMOD with a response.
  std::optional<codec::http_request_head> http_request;
  std::optional<codec::http_response_head> http_response;
  std::unique_ptr<codec::body_source> body;       // null: null-body (or an empty 206 body)
  std::optional<std::uint64_t> use_original_body; // 206: "0; use-original-body=N"
  std::chrono::milliseconds delay{0};             // wait this long before answering
  fault_plan fault;                               // performed instead of or during the answer
  bool close_connection = false;    // send "Connection: close" and close after the answer
  std::string rule;                 // the matched rule's name, copied to the transaction record
  std::optional<std::string> istag; // this response's ISTag instead of the service's

  static response continue_body();
  static response unmodified();
  // 200 with an adapted HTTP request (REQMOD); body null: null-body.
  static response modified_request(codec::http_request_head head,
                                   std::unique_ptr<codec::body_source> body);
  // 200 with an HTTP response (RESPMOD adaptation, or a REQMOD block page).
  static response modified_response(codec::http_response_head head,
                                    std::unique_ptr<codec::body_source> body);
  // 206: adapted heads, then the original body from `original_offset`.
  static response partial(std::optional<codec::http_request_head> request_head,
                          std::optional<codec::http_response_head> response_head,
                          std::unique_ptr<codec::body_source> prefix,
                          std::uint64_t original_offset);
  static response error(int status, std::string reason = {});
  static response with_fault(fault_plan plan);
};

} // namespace icapkit::server
