#include "icapkit/net/tls.hpp"

#include "test_support.hpp"

#include <doctest/doctest.h>

namespace net = icapkit::net;
using icapkit::net::errc;

TEST_CASE("tls versions: only 1.2 and 1.3") {
  CHECK(net::detail::parse_tls_version("1.2") == TLS1_2_VERSION);
  CHECK(net::detail::parse_tls_version("1.3") == TLS1_3_VERSION);
  CHECK(net::detail::parse_tls_version("1.1") == 0);
  CHECK(net::detail::parse_tls_version("TLSv1.3") == 0);

  net::tls_options options;
  options.enabled = true;
  options.min_version = "1.1";
  net::error_info error;
  CHECK(net::make_client_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_version);
  CHECK(net::describe(error).find("\"1.1\"") != std::string::npos);

  net::tls_server_options server;
  server.cert_pem = net::test::server_credentials().cert_pem;
  server.key_pem = net::test::server_credentials().key_pem;
  server.min_version = "1.3";
  server.max_version = "1.2";
  CHECK(net::make_server_context(server, error) == nullptr);
  CHECK(error.code == errc::tls_version);
}

TEST_CASE("a missing CA file is tls_bad_file naming the path") {
  net::test::temp_dir dir;
  net::tls_options options;
  options.enabled = true;
  options.ca_file = dir.path("no-such-ca.pem");
  net::error_info error;
  CHECK(net::make_client_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_bad_file);
  CHECK(error.cause == std::errc::no_such_file_or_directory);
  const std::string message = net::describe(error);
  CHECK(message.find(options.ca_file) != std::string::npos);
  CHECK(message.find("No such file") != std::string::npos);
}

TEST_CASE("a CA file that is not PEM is tls_bad_file naming the path") {
  net::test::temp_dir dir;
  net::tls_options options;
  options.ca_file = dir.write("garbage.pem", "not a certificate\n");
  net::error_info error;
  CHECK(net::make_client_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_bad_file);
  CHECK(net::describe(error).find(options.ca_file) != std::string::npos);
}

TEST_CASE("client certificate files: both needed, key must match") {
  net::test::temp_dir dir;
  const auto& client = net::test::client_credentials();
  const auto& server = net::test::server_credentials();
  net::tls_options options;
  options.cert_file = dir.write("client.pem", client.cert_pem);
  net::error_info error;
  CHECK(net::make_client_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_bad_file);

  options.key_file = dir.write("other-key.pem", server.key_pem);
  CHECK(net::make_client_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_bad_file);
  CHECK(net::describe(error).find(options.key_file) != std::string::npos);

  options.key_file = dir.write("client-key.pem", client.key_pem);
  CHECK(net::make_client_context(options, error) != nullptr);
  CHECK_FALSE(error.code);
}

TEST_CASE("server context from files, from memory, and with a client CA") {
  net::test::temp_dir dir;
  const auto& server = net::test::server_credentials();
  net::tls_server_options options;
  options.cert_file = dir.write("server.pem", server.cert_pem);
  options.key_file = dir.write("server-key.pem", server.key_pem);
  options.client_ca_pem = net::test::client_credentials().cert_pem;
  net::error_info error;
  auto context = net::make_server_context(options, error);
  REQUIRE(context);
  CHECK((SSL_CTX_get_verify_mode(context->native_handle()) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0);

  options.key_file = dir.path("missing-key.pem");
  CHECK(net::make_server_context(options, error) == nullptr);
  CHECK(error.code == errc::tls_bad_file);
  CHECK(net::describe(error).find("missing-key.pem") != std::string::npos);
}
