#include "icapkit/net/stream.hpp"

#include "icapkit/net/tls.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <openssl/err.h>

#include <optional>
#include <tuple>
#include <variant>

namespace icapkit::net {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using io_result = std::tuple<std::error_code, std::size_t>;

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  return format_peer(endpoint.address().to_string(), endpoint.port());
}

// Runs `operation` against `timer` set to `limit`. Returns the operation's result, or nullopt when
// the timer won. An operation cancelled from outside returns its own operation_aborted.
template <typename Operation>
asio::awaitable<std::optional<io_result>> race(Operation operation, asio::steady_timer& timer,
                                               stream::clock::time_point expiry) {
  if (expiry == stream::clock::time_point::max()) {
    co_return co_await std::move(operation);
  }
  if (expiry <= stream::clock::now()) {
    co_return std::nullopt; // already late: starting I/O would only race the expired timer
  }
  timer.expires_at(expiry);
  auto result = co_await (std::move(operation) || timer.async_wait(use_tuple));
  if (result.index() == 0) {
    co_return std::get<0>(result);
  }
  const auto [timer_error] = std::get<1>(result);
  if (timer_error) {
    co_return io_result{timer_error, 0}; // the caller cancelled us, not the clock
  }
  co_return std::nullopt;
}

} // namespace

stream::stream(tcp::socket socket)
    : socket_(std::move(socket)), read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()) {
  std::error_code ignored;
  local_ = socket_.local_endpoint(ignored);
  remote_ = socket_.remote_endpoint(ignored);
  peer_ = endpoint_text(remote_);
}

stream::stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> context)
    : stream(std::move(socket)) {
  context_ = std::move(context);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *context_);
}

stream::~stream() = default;

stream::wait_limit stream::next_limit(std::chrono::milliseconds fallback) const noexcept {
  const auto idle = idle_timeout_.count() > 0 ? idle_timeout_ : fallback;
  const auto idle_expiry = idle.count() > 0 ? clock::now() + idle : clock::time_point::max();
  if (deadline_ <= idle_expiry) {
    return {deadline_, errc::deadline_exceeded};
  }
  return {idle_expiry, errc::idle_timeout};
}

std::error_code stream::fail(std::error_code cause) {
  if (closed_by_timeout_ &&
      (cause == asio::error::operation_aborted || cause == asio::error::bad_descriptor)) {
    // The other direction's timeout closed the socket under this operation.
    last_error_ = error_info{closed_by_timeout_, {}, {}, peer_};
    return closed_by_timeout_;
  }
  last_error_ = detail::classify(cause, peer_);
  return last_error_.code;
}

std::error_code stream::fail_timeout(errc code) {
  closed_by_timeout_ = make_error_code(code);
  last_error_ = error_info{closed_by_timeout_, {}, {}, peer_};
  // A timed-out exchange cannot be resumed (a TLS record may be half read), so the stream ends
  // here.
  close();
  return closed_by_timeout_;
}

asio::awaitable<void> stream::handshake(asio::ssl::stream_base::handshake_type type,
                                        std::error_code& ec) {
  ec = {};
  if (!tls_) {
    co_return;
  }
  const wait_limit limit = next_limit(std::chrono::milliseconds{0});
  auto operation = [this, type]() -> asio::awaitable<io_result> {
    auto [error] = co_await tls_->async_handshake(type, use_tuple);
    co_return io_result{error, 0};
  };
  auto handshaking = operation();
  const auto result = co_await race(std::move(handshaking), read_timer_, limit.expiry);
  if (!result) {
    ec = fail_timeout(limit.code);
    co_return;
  }
  const std::error_code error = std::get<0>(*result);
  if (!error) {
    co_return;
  }
  ec = fail(error);
  if (error.category() != asio::error::get_ssl_category()) {
    co_return;
  }
  const auto packed = static_cast<unsigned long>(error.value());
  if (ERR_GET_REASON(packed) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    last_error_.code = ec = make_error_code(errc::tls_verify_failed);
    last_error_.detail = detail::verify_reason(tls_->native_handle());
  } else {
    last_error_.code = ec = make_error_code(errc::tls_handshake_failed);
    if (ERR_GET_REASON(packed) == SSL_R_WRONG_VERSION_NUMBER) {
      last_error_.detail += " (is the peer speaking TLS on this port?)";
    }
  }
}

asio::awaitable<std::size_t> stream::read_some(asio::mutable_buffer buffer, std::error_code& ec) {
  ec = {};
  if (closed_by_timeout_) {
    ec = fail(asio::error::bad_descriptor);
    co_return 0;
  }
  const wait_limit limit = next_limit(std::chrono::milliseconds{0});
  auto operation =
      tls_ ? tls_->async_read_some(buffer, use_tuple) : socket_.async_read_some(buffer, use_tuple);
  const auto result = co_await race(std::move(operation), read_timer_, limit.expiry);
  if (!result) {
    ec = fail_timeout(limit.code);
    co_return 0;
  }
  const auto [error, transferred] = *result;
  if (error) {
    ec = fail(error);
    co_return 0;
  }
  co_return transferred;
}

asio::awaitable<void> stream::write_all(asio::const_buffer buffer, std::error_code& ec) {
  ec = {};
  while (buffer.size() > 0) {
    if (closed_by_timeout_) {
      ec = fail(asio::error::bad_descriptor);
      co_return;
    }
    const wait_limit limit = next_limit(std::chrono::milliseconds{0});
    auto operation = tls_ ? tls_->async_write_some(buffer, use_tuple)
                          : socket_.async_write_some(buffer, use_tuple);
    const auto result = co_await race(std::move(operation), write_timer_, limit.expiry);
    if (!result) {
      ec = fail_timeout(limit.code);
      co_return;
    }
    const auto [error, transferred] = *result;
    if (error) {
      ec = fail(error);
      co_return;
    }
    buffer += transferred;
  }
}

asio::awaitable<void> stream::shutdown() {
  if (!socket_.is_open()) {
    co_return;
  }
  if (tls_) {
    const wait_limit limit = next_limit(std::chrono::seconds{2});
    auto operation = [this]() -> asio::awaitable<io_result> {
      auto [error] = co_await tls_->async_shutdown(use_tuple);
      co_return io_result{error, 0};
    };
    // Peers often close without answering close_notify; either way we are done.
    auto closing = operation();
    co_await race(std::move(closing), write_timer_, limit.expiry);
  }
  std::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
}

void stream::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
}

} // namespace icapkit::net
