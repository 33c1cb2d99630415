#include "icapkit/net/listener.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/use_awaitable.hpp>

#include <charconv>
#include <exception>

namespace icapkit::net {
namespace {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds accept_backoff{50};

error_info parse_error(errc code, std::string_view text) {
  return {make_error_code(code), {}, "\"" + std::string(text) + "\"", {}};
}

// Handshake (when TLS is on) then the handler. Everything by value: it may outlive the listener.
asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls_context,
                            std::chrono::milliseconds handshake_timeout, listener::handler handle,
                            listener::error_handler on_error) {
  std::error_code ignored; // ICAP heads and small responses should leave at once
  socket.set_option(tcp::no_delay(true), ignored);
  if (!tls_context) {
    co_await handle(std::make_unique<stream>(std::move(socket)));
    co_return;
  }
  auto connection = std::make_unique<stream>(std::move(socket), std::move(tls_context));
  // A handshake is one wait from the server's view: a client that stalls it is idle.
  connection->set_idle_timeout(handshake_timeout);
  std::error_code ec;
  co_await connection->handshake(asio::ssl::stream_base::server, ec);
  connection->set_idle_timeout(std::chrono::milliseconds{0});
  if (ec) {
    if (on_error) {
      on_error(connection->last_error());
    }
    co_return;
  }
  co_await handle(std::move(connection));
}

} // namespace

tcp::endpoint parse_endpoint(std::string_view text, error_info& error) {
  error = {};
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    error = parse_error(errc::bad_port, text);
    return {};
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
  }
  std::uint16_t port = 0;
  const auto [end, parse] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || parse != std::errc{} || end != port_text.data() + port_text.size()) {
    error = parse_error(errc::bad_port, text);
    return {};
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  // An IPv6 address must be bracketed so that its last group is not taken for the port.
  if (ec || address.is_v6() != bracketed) {
    error = parse_error(errc::bad_address, text);
    return {};
  }
  return {address, port};
}

std::unique_ptr<listener> listener::open(asio::any_io_executor executor,
                                         const tcp::endpoint& endpoint, error_info& error) {
  error = {};
  tcp::acceptor acceptor(executor);
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec && endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec); // "[::1]" means IPv6 only
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(tcp::acceptor::max_listen_connections, ec);
  }
  if (ec) {
    const std::string where = format_peer(endpoint.address().to_string(), endpoint.port());
    error = error_info{make_error_code(errc::bind_failed),
                       ec,
                       (endpoint.port() == 0 ? endpoint.address().to_string() : where) + ": " +
                           ec.message(),
                       {}};
    return nullptr;
  }
  return std::make_unique<listener>(std::move(acceptor));
}

std::unique_ptr<listener> listener::open(asio::any_io_executor executor, std::string_view address,
                                         error_info& error) {
  const tcp::endpoint endpoint = parse_endpoint(address, error);
  if (error.code) {
    return nullptr;
  }
  return open(std::move(executor), endpoint, error);
}

listener::listener(tcp::acceptor acceptor)
    : acceptor_(std::move(acceptor)), backoff_(acceptor_.get_executor()) {
  std::error_code ignored;
  local_ = acceptor_.local_endpoint(ignored);
}

listener::~listener() = default;

void listener::enable_tls(std::shared_ptr<asio::ssl::context> context,
                          std::chrono::milliseconds handshake_timeout) {
  tls_context_ = std::move(context);
  handshake_timeout_ = handshake_timeout;
}

asio::awaitable<void> listener::run(handler handle) {
  return accept_loop(std::move(handle));
}

asio::awaitable<void> listener::accept_loop(handler handle) {
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (stopped_ || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      report(detail::classify(ec, format_peer(local_.address().to_string(), local_.port())));
      backoff_.expires_after(accept_backoff);
      co_await backoff_.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(acceptor_.get_executor(),
                   serve(std::move(socket), tls_context_, handshake_timeout_, handle, on_error_),
                   [](std::exception_ptr failure) {
                     if (failure) {
                       std::rethrow_exception(failure);
                     }
                   });
  }
}

void listener::stop() noexcept {
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void listener::report(const error_info& error) const {
  if (on_error_) {
    on_error_(error);
  }
}

} // namespace icapkit::net
