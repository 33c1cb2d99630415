#pragma once
// Shared by the net tests: run a coroutine on a fresh io_context with a hard time bound, temporary
// PEM files, and a loopback listener on a port the system picks.
#include "icapkit/net/listener.hpp"
#include "icapkit/net/self_signed.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/net/tls.hpp"

#include <asio/buffer.hpp>
#include <asio/detached.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

namespace icapkit::net::test {

// Runs body() to completion or fails the test after `limit`; rethrows what the coroutine threw
// (a failed REQUIRE inside it).
template <typename Body>
void run_bounded(asio::io_context& io, Body body,
                 std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  io.run_for(limit);
  REQUIRE_MESSAGE(done, "the test coroutine did not finish within its time bound");
  if (failure) {
    std::rethrow_exception(failure);
  }
}

// A directory under the system temp dir, removed with its files at scope exit.
class temp_dir {
public:
  temp_dir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("icapkit-net-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

// Certificates are costly to make (RSA especially): make the server's and the client's once.
inline const pem_credentials& server_credentials() {
  static const pem_credentials credentials = generate_self_signed();
  return credentials;
}

inline const pem_credentials& client_credentials() {
  static const pem_credentials credentials = [] {
    self_signed_options options;
    options.common_name = "icapkit-test-client";
    options.dns_names = {"icapkit-test-client"};
    options.ip_addresses = {};
    return generate_self_signed(options);
  }();
  return credentials;
}

// Echoes until the peer closes or fails.
inline asio::awaitable<void> echo(std::unique_ptr<stream> connection) {
  connection->set_idle_timeout(std::chrono::seconds{10});
  std::array<char, 16384> buffer{};
  for (;;) {
    std::error_code ec;
    const std::size_t n = co_await connection->read_some(asio::buffer(buffer), ec);
    if (ec) {
      co_return;
    }
    co_await connection->write_all(asio::buffer(buffer.data(), n), ec);
    if (ec) {
      co_return;
    }
  }
}

// Reads and discards until the peer closes: a server that accepts and never answers.
inline asio::awaitable<void> silent(std::unique_ptr<stream> connection) {
  connection->set_idle_timeout(std::chrono::seconds{10});
  std::array<char, 4096> buffer{};
  std::error_code ec;
  while (!ec) {
    co_await connection->read_some(asio::buffer(buffer), ec);
  }
}

// A listener on 127.0.0.1 (or `address`) with a system-chosen port, accepting in the background.
// The test stops it when done so the io_context runs out of work.
inline std::unique_ptr<listener> start_server(asio::io_context& io, listener::handler handle,
                                              std::shared_ptr<asio::ssl::context> tls = nullptr,
                                              std::string_view address = "127.0.0.1:0") {
  error_info error;
  auto server = listener::open(io.get_executor(), address, error);
  REQUIRE_MESSAGE(server, describe(error));
  if (tls) {
    server->enable_tls(std::move(tls), std::chrono::seconds{5});
  }
  asio::co_spawn(io, server->run(std::move(handle)), asio::detached);
  return server;
}

inline std::shared_ptr<asio::ssl::context> server_tls(tls_server_options options = {}) {
  if (options.cert_pem.empty()) {
    options.cert_pem = server_credentials().cert_pem;
    options.key_pem = server_credentials().key_pem;
  }
  error_info error;
  auto context = make_server_context(options, error);
  REQUIRE_MESSAGE(context, describe(error));
  return context;
}

} // namespace icapkit::net::test
