#include "icapkit/net/connect.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <optional>
#include <vector>

namespace icapkit::net {
namespace {

using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::string strip_brackets(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// getaddrinfo runs on asio's private thread and cannot be interrupted: on timeout we stop waiting
// and let it finish in the background, so this state outlives the coroutine when needed.
struct resolve_state {
  explicit resolve_state(const asio::any_io_executor& executor)
      : resolver(executor), wake(executor) {}
  tcp::resolver resolver;
  asio::steady_timer wake;
  bool done = false;
  std::error_code error;
  tcp::resolver::results_type results;
};

asio::awaitable<std::vector<tcp::endpoint>> resolve(asio::any_io_executor executor,
                                                    const std::string& host, std::uint16_t port,
                                                    clock::time_point deadline, error_info& error) {
  std::error_code literal_error;
  const auto address = asio::ip::make_address(host, literal_error);
  if (!literal_error) {
    co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
  }
  auto state = std::make_shared<resolve_state>(executor);
  state->wake.expires_at(deadline);
  state->resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                [state](std::error_code ec, tcp::resolver::results_type results) {
                                  state->done = true;
                                  state->error = ec;
                                  state->results = std::move(results);
                                  state->wake.cancel();
                                });
  const auto [wait_error] = co_await state->wake.async_wait(use_tuple);
  const std::string peer = format_peer(host, port);
  if (!state->done) {
    state->resolver.cancel();
    error = wait_error ? detail::classify(wait_error, peer)
                       : error_info{make_error_code(errc::connect_timeout), {}, {}, peer};
    co_return std::vector<tcp::endpoint>{};
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : state->results) {
    endpoints.push_back(entry.endpoint());
  }
  if (state->error || endpoints.empty()) {
    error = error_info{make_error_code(errc::resolve_failed), state->error, {}, host};
  }
  co_return endpoints;
}

// "localhost:1344 (127.0.0.1:1344)" when a name resolved, else just the address.
std::string endpoint_peer(const std::string& host, const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  const std::string text = format_peer(address, endpoint.port());
  return host == address ? text : format_peer(host, endpoint.port()) + " (" + text + ")";
}

asio::awaitable<std::optional<tcp::socket>> connect_any(asio::any_io_executor executor,
                                                        const std::string& host,
                                                        const std::vector<tcp::endpoint>& endpoints,
                                                        clock::time_point deadline,
                                                        error_info& error) {
  asio::steady_timer timer(executor);
  for (const auto& endpoint : endpoints) {
    const std::string peer = endpoint_peer(host, endpoint);
    if (clock::now() >= deadline) {
      error = error_info{make_error_code(errc::connect_timeout), {}, {}, peer};
      co_return std::nullopt;
    }
    tcp::socket socket(executor);
    timer.expires_at(deadline);
    auto result =
        co_await (socket.async_connect(endpoint, use_tuple) || timer.async_wait(use_tuple));
    if (result.index() == 1) {
      const auto [timer_error] = std::get<1>(result);
      error = timer_error ? detail::classify(timer_error, peer)
                          : error_info{make_error_code(errc::connect_timeout), {}, {}, peer};
      co_return std::nullopt;
    }
    const auto [connect_error] = std::get<0>(result);
    if (!connect_error) {
      std::error_code ignored; // ICAP heads and preview chunks are small: send them at once
      socket.set_option(tcp::no_delay(true), ignored);
      co_return std::move(socket);
    }
    error = detail::classify(connect_error, peer);
    if (connect_error == asio::error::operation_aborted) {
      co_return std::nullopt; // cancelled by the caller: do not try the next address
    }
  }
  co_return std::nullopt;
}

asio::awaitable<std::unique_ptr<stream>> start_tls(tcp::socket socket,
                                                   std::shared_ptr<asio::ssl::context> context,
                                                   const tls_options& tls, const std::string& host,
                                                   const std::string& peer,
                                                   clock::time_point deadline, error_info& error) {
  auto connection = std::make_unique<stream>(std::move(socket), std::move(context));
  connection->set_peer(peer);
  if (!detail::set_peer_name(connection->native_tls_handle(), tls, host)) {
    error = error_info{make_error_code(errc::tls_handshake_failed),
                       {},
                       "OpenSSL refused the host name for SNI or verification",
                       peer};
    co_return nullptr;
  }
  connection->set_deadline(deadline);
  std::error_code ec;
  co_await connection->handshake(asio::ssl::stream_base::client, ec);
  connection->clear_deadline();
  if (ec) {
    error = connection->last_error();
    if (ec == errc::deadline_exceeded) {
      // The handshake is part of connecting, but TCP did connect: say what was still missing.
      error.code = make_error_code(errc::connect_timeout);
      error.detail = "the TLS handshake did not finish (is the peer speaking TLS on this port?)";
    }
    co_return nullptr;
  }
  co_return connection;
}

asio::awaitable<std::unique_ptr<stream>>
connect_coroutine(asio::any_io_executor executor, std::string host, std::uint16_t port,
                  tls_options tls, std::chrono::milliseconds connect_timeout, error_info& error,
                  std::shared_ptr<asio::ssl::context> tls_context, connect_timing* timing) {
  error = {};
  connect_timing local;
  connect_timing& measured = timing != nullptr ? *timing : local;
  measured = {};
  const auto started = clock::now();
  const auto deadline =
      connect_timeout.count() > 0 ? clock::now() + connect_timeout : clock::time_point::max();
  host = strip_brackets(std::move(host));
  if (tls.enabled && !tls_context) {
    tls_context = make_client_context(tls, error);
    if (!tls_context) {
      co_return nullptr;
    }
  }
  const auto endpoints = co_await resolve(executor, host, port, deadline, error);
  if (error.code) {
    co_return nullptr;
  }
  auto socket = co_await connect_any(executor, host, endpoints, deadline, error);
  const auto connected = clock::now();
  measured.tcp = connected - started;
  if (!socket) {
    co_return nullptr;
  }
  measured.tcp_connected = true;
  error = {};
  const std::string peer = format_peer(host, port);
  if (!tls.enabled) {
    auto connection = std::make_unique<stream>(std::move(*socket));
    connection->set_peer(peer);
    co_return connection;
  }
  auto connection = co_await start_tls(std::move(*socket), std::move(tls_context), tls, host, peer,
                                       deadline, error);
  measured.handshake = clock::now() - connected;
  co_return connection;
}

asio::awaitable<std::unique_ptr<stream>>
connect_code_coroutine(asio::any_io_executor executor, std::string host, std::uint16_t port,
                       tls_options tls, std::chrono::milliseconds connect_timeout,
                       std::error_code& ec, std::shared_ptr<asio::ssl::context> tls_context) {
  error_info error;
  auto connection =
      co_await connect_coroutine(std::move(executor), std::move(host), port, std::move(tls),
                                 connect_timeout, error, std::move(tls_context), nullptr);
  ec = error.code;
  co_return connection;
}

} // namespace

asio::awaitable<std::unique_ptr<stream>>
connect(asio::any_io_executor executor, std::string host, std::uint16_t port, tls_options tls,
        std::chrono::milliseconds connect_timeout, error_info& error,
        std::shared_ptr<asio::ssl::context> tls_context, connect_timing* timing) {
  return connect_coroutine(std::move(executor), std::move(host), port, std::move(tls),
                           connect_timeout, error, std::move(tls_context), timing);
}

asio::awaitable<std::unique_ptr<stream>> connect(asio::any_io_executor executor, std::string host,
                                                 std::uint16_t port, tls_options tls,
                                                 std::chrono::milliseconds connect_timeout,
                                                 std::error_code& ec,
                                                 std::shared_ptr<asio::ssl::context> tls_context) {
  return connect_code_coroutine(std::move(executor), std::move(host), port, std::move(tls),
                                connect_timeout, ec, std::move(tls_context));
}

} // namespace icapkit::net
