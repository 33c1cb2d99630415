#pragma once
// Network failures as error codes, each with a message that says which wait or step failed, plus
// error_info: the code together with the original asio/OpenSSL error and the words a user needs.
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::net {

enum class errc {
  // deadlines: one code per wait so the message names the wait that timed out
  connect_timeout =
      1,        // resolve + TCP connect + TLS handshake did not finish within the connect timeout
  idle_timeout, // a single read or write made no progress within the I/O idle timeout
  deadline_exceeded, // the absolute deadline (total response timeout) passed during a read or write
  // connection
  resolve_failed,     // the host name did not resolve to any address
  connection_refused, // the peer answered the TCP connect with a reset (nothing listening)
  connection_reset,   // the peer reset an established connection (or the pipe broke)
  closed_by_peer,     // the peer closed the connection (EOF, or TLS without close_notify)
  // TLS
  tls_handshake_failed, // TLS negotiation failed (protocol version, alert from the peer, ...)
  tls_verify_failed,    // the peer's certificate chain or host name did not verify
  tls_protocol_error,   // a TLS error on an established connection that is not an alert
  tls_bad_file,         // a CA, certificate or key file is missing, unreadable or not valid PEM
  tls_version,          // a minimum/maximum TLS version other than "1.2" or "1.3"
  // addresses
  bad_address, // "ADDR:PORT" with an address that is not an IPv4/IPv6 literal
  bad_port,    // "ADDR:PORT" with a port that is missing or not in 0..65535
  bind_failed, // the listening socket could not be opened, bound or put into listening state
};

const std::error_category& net_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// True for connect_timeout, idle_timeout and deadline_exceeded.
bool is_timeout(const std::error_code& ec) noexcept;

// A failure with its context. `code` is what callers branch on; the rest only feeds describe().
struct error_info {
  std::error_code code;  // an icapkit.net code, or the original error when no net code fits
  std::error_code cause; // the original asio/system/OpenSSL error; empty when there is none
  std::string detail;    // OpenSSL's verify reason, the TLS alert, the file name, ...
  std::string peer;      // "host:port" (IPv6 in brackets) the failure concerns; may be empty
};

// "127.0.0.1:1344", "[::1]:1344", "icap.example:11344"; the host alone when port is 0.
std::string format_peer(std::string_view host, std::uint16_t port);

// One line for a user, e.g. "connection refused by 127.0.0.1:1344" or
// "TLS certificate verify failed for localhost:11344: self-signed certificate".
std::string describe(const error_info& info);
// Same for a bare code (net, asio, system or OpenSSL); host/port name the peer when given.
std::string describe(const std::error_code& ec, std::string_view host = {}, std::uint16_t port = 0);

namespace detail {

// Maps an asio, system or OpenSSL error to a net code and keeps the original as cause: EOF and a
// TLS stream without close_notify -> closed_by_peer; reset, broken pipe, aborted ->
// connection_reset; refused -> connection_refused; resolver errors -> resolve_failed; a TLS alert
// from the peer -> tls_handshake_failed; other OpenSSL errors -> tls_protocol_error. Anything else
// stays as it is.
error_info classify(const std::error_code& cause, std::string peer);

} // namespace detail
} // namespace icapkit::net

template <>
struct std::is_error_code_enum<icapkit::net::errc> : std::true_type {};
