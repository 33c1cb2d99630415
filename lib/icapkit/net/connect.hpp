#pragma once
// Opening a client stream: resolve, try each address, then the TLS handshake, all within one
// connect timeout.
#include "icapkit/net/errc.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/net/tls.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace icapkit::net {

// Where a connect's time went, for measurements (icapkit load's connect and TLS phases).
struct connect_timing {
  std::chrono::steady_clock::duration tcp{};       // resolution and the TCP connect
  std::chrono::steady_clock::duration handshake{}; // the TLS handshake (zero without TLS)
  bool tcp_connected = false; // TCP connected: a failure after it happened in the handshake
};

// Connects to host:port. host is a name, an IPv4 literal or an IPv6 literal (brackets optional).
// Each resolved address is tried in turn until one accepts; when tls.enabled, the TLS handshake
// follows (SNI and host-name verification per detail::set_peer_name). Resolution, every TCP
// connect and the handshake share one deadline, connect_timeout from now (zero: no limit).
// tls_context is the client context to use (make_client_context, built once and shared by many
// connections); when null and tls.enabled, one is built from tls for this call.
// The returned stream's remote_endpoint() is the address that connected; its peer() is
// "host:port". On failure returns null and fills error: resolve_failed, connection_refused,
// connect_timeout, connection_reset, tls_verify_failed (detail: OpenSSL's reason, e.g.
// "self-signed certificate", "hostname mismatch"), tls_handshake_failed, tls_bad_file, tls_version,
// or the system's own error (e.g. network unreachable) with the peer. When `timing` is given it
// receives how long TCP and the handshake took (also on failure).
asio::awaitable<std::unique_ptr<stream>>
connect(asio::any_io_executor executor, std::string host, std::uint16_t port, tls_options tls,
        std::chrono::milliseconds connect_timeout, error_info& error,
        std::shared_ptr<asio::ssl::context> tls_context = nullptr,
        connect_timing* timing = nullptr);

// The same, reporting only the code; use the error_info overload to tell a user why.
asio::awaitable<std::unique_ptr<stream>>
connect(asio::any_io_executor executor, std::string host, std::uint16_t port, tls_options tls,
        std::chrono::milliseconds connect_timeout, std::error_code& ec,
        std::shared_ptr<asio::ssl::context> tls_context = nullptr);

} // namespace icapkit::net
