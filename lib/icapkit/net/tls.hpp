#pragma once
// TLS configuration: client and server asio::ssl contexts built from user options (ICAPS is TLS
// from the first byte) and the per-connection peer-name settings.
#include "icapkit/net/errc.hpp"

#include <asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace icapkit::net {

// Client side, as the command line gives it (--cacert, --cert/--key, --sni, --tls-min, --insecure).
struct tls_options {
  // Not an aggregate on purpose: g++ 12 corrupts an aggregate temporary (`{}`) passed by value
  // inside a co_await expression (its std::string members are copied bitwise into the frame).
  tls_options() = default;
  bool enabled = false;
  std::string ca_file;   // trust anchors (PEM); empty: the system's default verify paths
  std::string cert_file; // client certificate chain (PEM) for mutual TLS; needs key_file
  std::string key_file;  // private key (PEM) for cert_file
  std::string sni;       // name sent as SNI and expected in the certificate; empty: the host
  bool insecure = false; // no chain or host-name verification at all
  std::string min_version = "1.2"; // "1.2" or "1.3"
};

// Server side. Files win over in-memory PEM when both are given.
struct tls_server_options {
  tls_server_options() = default; // see tls_options
  std::string cert_file;          // certificate chain (PEM)
  std::string key_file;           // private key (PEM)
  std::string cert_pem;           // certificate chain as PEM text (e.g. from generate_self_signed)
  std::string key_pem;            // private key as PEM text
  std::string client_ca_file; // when set (or client_ca_pem): require a client certificate it signed
  std::string client_ca_pem;
  std::string min_version = "1.2"; // "1.2" or "1.3"
  std::string max_version;         // "", "1.2" or "1.3"; empty: the newest OpenSSL supports
};

// A client context that verifies the peer's chain (ca_file or the default paths) unless insecure,
// with the client certificate when given and the minimum version applied. The peer name is checked
// per connection (see detail::set_peer_name). Returns null and fills `error` with tls_bad_file
// (detail names the file and why) or tls_version.
std::shared_ptr<asio::ssl::context> make_client_context(const tls_options& options,
                                                        error_info& error);

// A server context with its certificate and key, requiring client certificates when a client CA is
// set. Returns null and fills `error` with tls_bad_file or tls_version.
std::shared_ptr<asio::ssl::context> make_server_context(const tls_server_options& options,
                                                        error_info& error);

namespace detail {

// "1.2" -> TLS1_2_VERSION, "1.3" -> TLS1_3_VERSION, anything else -> 0.
int parse_tls_version(std::string_view text) noexcept;

// Sets SNI (not for IP literals) and the name the certificate must carry: options.sni when set,
// else host; an IP literal host is checked against IP subjectAltNames. No check when insecure.
// Returns false when OpenSSL refuses the name.
bool set_peer_name(SSL* ssl, const tls_options& options, std::string_view host);

// OpenSSL's reason for the last verification failure on ssl, e.g. "self-signed certificate".
std::string verify_reason(const SSL* ssl);

} // namespace detail
} // namespace icapkit::net
