#include "icapkit/net/self_signed.hpp"

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace net = icapkit::net;

namespace {

struct x509_free {
  void operator()(X509* cert) const { X509_free(cert); }
};

std::unique_ptr<X509, x509_free> parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::unique_ptr<X509, x509_free> cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

} // namespace

TEST_CASE("a generated certificate carries the names and addresses as subjectAltName") {
  for (const auto algorithm : {net::key_algorithm::ec_p256, net::key_algorithm::rsa_2048}) {
    net::self_signed_options options;
    options.key = algorithm;
    options.dns_names = {"localhost", "icap.test"};
    const net::pem_credentials credentials = net::generate_self_signed(options);
    CHECK(credentials.cert_pem.find("-----BEGIN CERTIFICATE-----") == 0);
    CHECK(credentials.key_pem.find("-----BEGIN PRIVATE KEY-----") == 0);
    const auto cert = parse(credentials.cert_pem);
    REQUIRE(cert);
    CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(cert.get(), "icap.test", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(cert.get(), "other.test", 0, 0, nullptr) == 0);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
    CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.2", 0) == 0);
    // Valid now: self-signed and unexpired means its own signature verifies against its key.
    CHECK(X509_cmp_current_time(X509_get0_notBefore(cert.get())) < 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0);
    CHECK(X509_verify(cert.get(), X509_get0_pubkey(cert.get())) == 1);
  }
}

TEST_CASE("two generated certificates differ (fresh key and serial)") {
  CHECK(net::generate_self_signed().cert_pem != net::generate_self_signed().cert_pem);
}

TEST_CASE("a bad IP address or DNS name is a start-up error") {
  net::self_signed_options options;
  options.ip_addresses = {"localhost"};
  CHECK_THROWS_AS(net::generate_self_signed(options), std::runtime_error);
  options.ip_addresses = {};
  options.dns_names = {"a,b"};
  CHECK_THROWS_AS(net::generate_self_signed(options), std::runtime_error);
}
