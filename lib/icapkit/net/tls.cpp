#include "icapkit/net/tls.hpp"

#include <asio/ip/address.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>

namespace icapkit::net {
namespace {

using ssl_context = asio::ssl::context;

bool fail(error_info& error, errc code, std::error_code cause, std::string detail) {
  error = error_info{make_error_code(code), cause, std::move(detail), {}};
  return false;
}

// Opening the file first gives "No such file or directory" instead of OpenSSL's "system lib".
bool check_readable(const std::string& path, std::string_view what, error_info& error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const std::error_code cause(errno, std::generic_category());
    return fail(error, errc::tls_bad_file, cause,
                "cannot read " + std::string(what) + " " + path + ": " + cause.message());
  }
  std::fclose(file);
  return true;
}

// Runs one asio loading call (they report through an error_code argument) and names the input.
template <typename Load>
bool loaded(Load load, const std::string& path, std::string_view what, error_info& error) {
  std::error_code ec;
  load(ec);
  if (!ec) {
    return true;
  }
  return fail(error, errc::tls_bad_file, ec,
              std::string(what) + " " + path + " is not usable: " + ec.message());
}

bool set_versions(ssl_context& ctx, const std::string& min_version, const std::string& max_version,
                  error_info& error) {
  const int min = detail::parse_tls_version(min_version.empty() ? "1.2" : min_version);
  if (min == 0) {
    return fail(error, errc::tls_version, {}, "\"" + min_version + "\"");
  }
  const int max = max_version.empty() ? 0 : detail::parse_tls_version(max_version);
  if (!max_version.empty() && (max == 0 || max < min)) {
    return fail(error, errc::tls_version, {}, "maximum \"" + max_version + "\"");
  }
  SSL_CTX_set_min_proto_version(ctx.native_handle(), min);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), max);
  return true;
}

bool load_client_identity(ssl_context& ctx, const tls_options& options, error_info& error) {
  if (options.cert_file.empty() && options.key_file.empty()) {
    return true;
  }
  if (options.cert_file.empty() || options.key_file.empty()) {
    return fail(error, errc::tls_bad_file, {},
                "a client certificate needs both a certificate file and a key file");
  }
  if (!check_readable(options.cert_file, "certificate file", error) ||
      !loaded([&](std::error_code& ec) { ctx.use_certificate_chain_file(options.cert_file, ec); },
              options.cert_file, "certificate file", error) ||
      !check_readable(options.key_file, "key file", error) ||
      !loaded(
          [&](std::error_code& ec) {
            ctx.use_private_key_file(options.key_file, ssl_context::pem, ec);
          },
          options.key_file, "key file", error)) {
    return false;
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return fail(error, errc::tls_bad_file, {},
                "key file " + options.key_file + " does not match " + options.cert_file);
  }
  return true;
}

bool load_server_identity(ssl_context& ctx, const tls_server_options& options, error_info& error) {
  if (!options.cert_file.empty()) {
    if (!check_readable(options.cert_file, "certificate file", error) ||
        !loaded([&](std::error_code& ec) { ctx.use_certificate_chain_file(options.cert_file, ec); },
                options.cert_file, "certificate file", error)) {
      return false;
    }
  } else if (!loaded(
                 [&](std::error_code& ec) {
                   ctx.use_certificate_chain(asio::buffer(options.cert_pem), ec);
                 },
                 "(in memory)", "certificate", error)) {
    return false;
  }
  if (!options.key_file.empty()) {
    return check_readable(options.key_file, "key file", error) &&
           loaded(
               [&](std::error_code& ec) {
                 ctx.use_private_key_file(options.key_file, ssl_context::pem, ec);
               },
               options.key_file, "key file", error);
  }
  return loaded(
      [&](std::error_code& ec) {
        ctx.use_private_key(asio::buffer(options.key_pem), ssl_context::pem, ec);
      },
      "(in memory)", "key", error);
}

bool load_client_ca(ssl_context& ctx, const tls_server_options& options, error_info& error) {
  if (!options.client_ca_file.empty()) {
    if (!check_readable(options.client_ca_file, "client CA file", error) ||
        !loaded([&](std::error_code& ec) { ctx.load_verify_file(options.client_ca_file, ec); },
                options.client_ca_file, "client CA file", error)) {
      return false;
    }
  } else if (!options.client_ca_pem.empty()) {
    if (!loaded(
            [&](std::error_code& ec) {
              ctx.add_certificate_authority(asio::buffer(options.client_ca_pem), ec);
            },
            "(in memory)", "client CA", error)) {
      return false;
    }
  } else {
    return true;
  }
  ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  return true;
}

} // namespace

std::shared_ptr<asio::ssl::context> make_client_context(const tls_options& options,
                                                        error_info& error) {
  auto ctx = std::make_shared<ssl_context>(ssl_context::tls_client);
  if (!set_versions(*ctx, options.min_version, {}, error)) {
    return nullptr;
  }
  if (options.insecure) {
    ctx->set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (options.ca_file.empty()) {
      // A system without a CA bundle fails later, at verification, with OpenSSL's reason.
      std::error_code ignored;
      ctx->set_default_verify_paths(ignored);
    } else if (!check_readable(options.ca_file, "CA file", error) ||
               !loaded([&](std::error_code& ec) { ctx->load_verify_file(options.ca_file, ec); },
                       options.ca_file, "CA file", error)) {
      return nullptr;
    }
  }
  if (!load_client_identity(*ctx, options, error)) {
    return nullptr;
  }
  error = {};
  return ctx;
}

std::shared_ptr<asio::ssl::context> make_server_context(const tls_server_options& options,
                                                        error_info& error) {
  auto ctx = std::make_shared<ssl_context>(ssl_context::tls_server);
  if (!set_versions(*ctx, options.min_version, options.max_version, error) ||
      !load_server_identity(*ctx, options, error) || !load_client_ca(*ctx, options, error)) {
    return nullptr;
  }
  error = {};
  return ctx;
}

namespace detail {

int parse_tls_version(std::string_view text) noexcept {
  if (text == "1.2") {
    return TLS1_2_VERSION;
  }
  if (text == "1.3") {
    return TLS1_3_VERSION;
  }
  return 0;
}

bool set_peer_name(SSL* ssl, const tls_options& options, std::string_view host) {
  const std::string name(options.sni.empty() ? host : std::string_view(options.sni));
  std::error_code ec;
  asio::ip::make_address(name, ec);
  const bool is_ip = !ec;
  if (!is_ip) {
    // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.
    if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str())) != 1) {
      return false;
    }
  }
  if (options.insecure) {
    return true;
  }
  if (is_ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, name.c_str()) == 1;
}

std::string verify_reason(const SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) {
    return {};
  }
  return X509_verify_cert_error_string(result);
}

} // namespace detail
} // namespace icapkit::net
