#include "icapkit/net/self_signed.hpp"

#include <asio/ip/address.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <stdexcept>

namespace icapkit::net {
namespace {

template <typename T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using pkey_ctx_ptr =
    std::unique_ptr<EVP_PKEY_CTX, openssl_deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using extension_ptr =
    std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void throw_openssl(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  throw std::runtime_error("generating a self-signed certificate: " + what +
                           (reason != nullptr ? std::string(": ") + reason : std::string()));
}

pkey_ptr generate_key(key_algorithm algorithm) {
  const bool ec = algorithm == key_algorithm::ec_p256;
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, ec ? "EC" : "RSA", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    throw_openssl("key context");
  }
  const int configured = ec ? EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256")
                            : EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048);
  EVP_PKEY* key = nullptr;
  if (configured <= 0 || EVP_PKEY_generate(ctx.get(), &key) != 1) {
    throw_openssl("key generation");
  }
  return pkey_ptr(key);
}

// "DNS:localhost,IP:127.0.0.1,IP:::1" in OpenSSL's configuration syntax.
std::string subject_alt_names(const self_signed_options& options) {
  std::string names;
  for (const auto& dns : options.dns_names) {
    if (dns.empty() || dns.find_first_of(", ") != std::string::npos) {
      throw std::runtime_error("self-signed certificate: invalid DNS name \"" + dns + "\"");
    }
    names.append(names.empty() ? "" : ",").append("DNS:").append(dns);
  }
  for (const auto& ip : options.ip_addresses) {
    std::error_code ec;
    asio::ip::make_address(ip, ec);
    if (ec) {
      throw std::runtime_error("self-signed certificate: \"" + ip + "\" is not an IP address");
    }
    names.append(names.empty() ? "" : ",").append("IP:").append(ip);
  }
  return names;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    throw_openssl("extension " + value);
  }
}

void set_identity(X509* cert, const self_signed_options& options) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    throw_openssl("serial number");
  }
  serial[0] &= 0x7f; // positive, as RFC 5280 requires
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_set =
      number != nullptr && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert)) != nullptr;
  BN_free(number);
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* common_name = reinterpret_cast<const unsigned char*>(options.common_name.c_str());
  if (!serial_set || X509_set_version(cert, X509_VERSION_3) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, common_name, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    throw_openssl("subject");
  }
  const long validity = std::chrono::duration_cast<std::chrono::seconds>(options.validity).count();
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), validity) == nullptr) {
    throw_openssl("validity");
  }
}

std::string to_pem(const std::function<int(BIO*)>& write) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) {
    throw_openssl("PEM encoding");
  }
  std::string pem(BIO_ctrl_pending(bio.get()), '\0');
  if (BIO_read(bio.get(), pem.data(), static_cast<int>(pem.size())) !=
      static_cast<int>(pem.size())) {
    throw_openssl("PEM encoding");
  }
  return pem;
}

} // namespace

pem_credentials generate_self_signed(const self_signed_options& options) {
  const pkey_ptr key = generate_key(options.key);
  x509_ptr cert(X509_new());
  if (!cert) {
    throw_openssl("certificate");
  }
  set_identity(cert.get(), options);
  if (X509_set_pubkey(cert.get(), key.get()) != 1) {
    throw_openssl("public key");
  }
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  const std::string alt_names = subject_alt_names(options);
  if (!alt_names.empty()) {
    add_extension(cert.get(), NID_subject_alt_name, alt_names);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    throw_openssl("signature");
  }
  return pem_credentials{
      to_pem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); }), to_pem([&](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      })};
}

} // namespace icapkit::net
