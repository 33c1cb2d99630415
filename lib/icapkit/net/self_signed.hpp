#pragma once
// Self-signed certificates made in memory, so the mock server and tests need no files from the
// repo.
#include <chrono>
#include <string>
#include <vector>

namespace icapkit::net {

enum class key_algorithm { ec_p256, rsa_2048 };

struct self_signed_options {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  std::chrono::hours validity{24 * 365};
  key_algorithm key = key_algorithm::ec_p256;
};

struct pem_credentials {
  std::string cert_pem;
  std::string key_pem; // unencrypted PKCS#8
};

// A fresh key and a self-signed certificate for it, valid from one hour ago (clock skew) for
// `validity`, with dns_names and ip_addresses as subjectAltName entries. Throws std::runtime_error
// when OpenSSL fails or an address is not an IP literal: this is start-up configuration.
pem_credentials generate_self_signed(const self_signed_options& options = {});

} // namespace icapkit::net
