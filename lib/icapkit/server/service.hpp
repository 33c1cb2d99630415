#pragma once
// The interface an ICAP service implements for the server engine (server.hpp). The engine owns
// sockets, framing, RFC 3507 rules (204 only when allowed, never 100 after ieof, errors 4xx/5xx)
// and faults; a service only sees parsed heads and body pieces and says what to answer.
//
// Threading: one service object serves every connection on every worker thread, so names(),
// methods(), istag(), options() and begin() must be thread-safe. A transaction object belongs to
// one connection: its member functions are called one at a time, on that connection's thread.
#include "icapkit/codec/encapsulated.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/log/transaction_record.hpp"
#include "icapkit/server/options_reply.hpp"
#include "icapkit/server/response.hpp"

#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::server {

// The server log's record (log/transaction_record.hpp): the engine fills one per transaction.
using log::transaction_record;

// Everything known about a request once its heads are parsed.
struct request_info {
  codec::icap_method method = codec::icap_method::options;
  codec::icap_request_head icap; // method token, URI as sent, every ICAP header (Preview, Allow...)
  std::string service_name;      // the name that matched (without a leading '/')
  std::string path;              // URI path, e.g. "/avscan"
  std::string query;             // URI query without '?', empty when none
  std::optional<codec::http_request_head> http_request;   // req-hdr
  std::optional<codec::http_response_head> http_response; // res-hdr
  codec::encapsulated encapsulated;
  bool has_body = false;                // a req-body/res-body section follows
  std::optional<std::uint64_t> preview; // Preview: N
  bool allow_204 = false;               // "Allow: 204" was sent
  bool allow_206 = false;               // "Allow: 206" was sent
  std::string client_address;           // peer IP, e.g. "127.0.0.1" or "::1"
  std::uint16_t client_port = 0;
  std::string x_client_ip; // X-Client-IP header, empty when absent
  bool tls = false;        // arrived on a TLS listener
};

// Where the body stands when the service is asked to decide.
struct body_state {
  std::uint64_t bytes_received = 0; // de-chunked body bytes so far
  bool complete = false;            // the whole body was received (always true without a body)
  bool ieof = false;                // the preview carried the whole body ("0; ieof")
  bool in_preview = false;          // this decision answers a preview (100 is still possible)
  // The engine will send 204 for response::unmodified() (RFC 3507 4.6: "Allow: 204" or an
  // answer to a preview, ieof included); otherwise it echoes the original as a 200.
  bool may_send_204 = false;
};

enum class body_action {
  more,      // keep reading
  answer_now // an early response (ERRATA e7): decide now; the engine discards the rest of the body
};

// One REQMOD/RESPMOD transaction as the service sees it.
class transaction {
public:
  virtual ~transaction() = default;

  // Body bytes, de-chunked, in order, across the preview and the rest; `piece` is valid only
  // during the call (copy what you keep; spool large copies, see body_spool.hpp). Return
  // answer_now to decide before the body ends.
  virtual body_action on_body(std::string_view piece) {
    static_cast<void>(piece);
    return body_action::more;
  }
  // Encapsulated HTTP trailer fields after the last chunk.
  virtual void on_trailer(std::string_view name, std::string_view value) {
    static_cast<void>(name);
    static_cast<void>(value);
  }
  // The preview ended without ieof (and without answer_now): return continue_body() for a 100
  // Continue and more body, or any final response now (unmodified() becomes a 204 here). The
  // default reads the whole body.
  virtual asio::awaitable<response> on_preview_end(const body_state& state);
  // The body is complete (or absent, or ended by ieof, or answer_now was returned): the final
  // answer. continue_body() here means unmodified().
  virtual asio::awaitable<response> on_complete(const body_state& state) = 0;
  // The transaction is over; the record is final except connection_closed. Default: nothing.
  virtual void on_finished(const transaction_record& record) { static_cast<void>(record); }
};

class service {
public:
  virtual ~service() = default;

  // Names the service answers to: the path of the ICAP URI without the leading '/' ("avscan",
  // "OMSScanReq-AV"). Compared case-sensitively; host and query are ignored. Read once, when the
  // service is added to the server.
  virtual std::vector<std::string> names() const = 0;
  // REQMOD and/or RESPMOD; any other method on this service gets 405 (OPTIONS always works).
  virtual std::vector<codec::icap_method> methods() const = 0;
  // The ISTag value as sent (quote it yourself: "\"OPSWAT-1\""); in every response of the service.
  virtual std::string istag() const = 0;

  // The OPTIONS answer. `request` has no encapsulated parts.
  virtual options_reply options(const request_info& request) const = 0;

  // A REQMOD/RESPMOD request for this service: return the object that will see its body and
  // decide. Never null.
  virtual std::unique_ptr<transaction> begin(const request_info& request) = 0;

  // Last say on every response of this service, engine-made ones included (100, 204, 400, 405,
  // 503...): e.g. OPSWAT's X-Response-Info. Called just before the head is serialized.
  virtual void finish_headers(int status, codec::header_list& icap_headers) const {
    static_cast<void>(status);
    static_cast<void>(icap_headers);
  }
};

} // namespace icapkit::server
