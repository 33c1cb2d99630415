#pragma once
// One line of the server log: what one ICAP transaction looked like from the server's side.
// The server engine delivers it to server_options::on_transaction after the transaction ends
// (answered or not); `icapkit serve --log` writes it and `report` reads it back, so it lives
// here, below both.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace icapkit::log {

struct transaction_record {
  std::chrono::system_clock::time_point started; // the first byte of the request head
  std::string service;     // the matched service's first name; empty when none matched
  std::string method;      // the method token as sent ("REQMOD", "FOO"); empty if unparsed
  std::string uri;         // the request URI as sent
  std::string client;      // "ADDR:PORT" of the peer
  std::string x_client_ip; // the X-Client-IP header, if any
  bool tls = false;
  std::optional<std::uint64_t> preview; // the request's Preview value
  bool allow_204 = false;
  bool allow_206 = false;
  bool ieof = false;                     // the whole body fitted the preview
  std::uint64_t body_bytes_received = 0; // de-chunked encapsulated body bytes
  std::uint64_t bytes_received = 0;      // raw bytes of this request consumed by the parser
  std::uint64_t bytes_sent = 0;          // bytes of the answer written (100 included)
  bool sent_continue = false;            // a 100 Continue was sent
  bool trickled = false; // a 200 went out while the body was still arriving (trickle.hpp)
  // What was decided: "options", "continue", "unmodified", "respond", "error" (engine-made
  // error status), "fault:<kind>", "trickle-cut" (another verdict after trickling began), "none"
  // (the client went away first).
  std::string decision;
  int status = 0;    // final status sent (0: none, e.g. faults and client aborts)
  std::string rule;  // response::rule
  std::string error; // codec/net error that ended the transaction, by name; empty if none
  bool connection_closed = false; // the connection was closed after this transaction
  // Timings from `started`: head parsed, decision made, last byte of the answer written.
  std::chrono::microseconds head_time{0};
  std::chrono::microseconds decision_time{0};
  std::chrono::microseconds total_time{0};
};

} // namespace icapkit::log
