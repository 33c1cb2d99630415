#include "icapkit/net/stream.hpp"

#include "icapkit/net/tls.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

namespace icapkit::net {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

} // namespace

stream::stream(tcp::socket socket)
    : socket_(std::move(socket)), read_deadline_(socket_.get_executor()),
      write_deadline_(socket_.get_executor()) {
  std::error_code ignored;
  local_ = socket_.local_endpoint(ignored);
  remote_ = socket_.remote_endpoint(ignored);
  remote_address_ = remote_.address().to_string();
  peer_ = format_peer(remote_address_, remote_.port());
}

stream::stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> context)
    : stream(std::move(socket)) {
  context_ = std::move(context);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *context_);
}

stream::~stream() {
  *alive_ = false;
}

stream::wait_limit stream::next_limit(std::chrono::milliseconds fallback) const noexcept {
  const auto idle = idle_timeout_.count() > 0 ? idle_timeout_ : fallback;
  const auto idle_expiry = idle.count() > 0 ? clock::now() + idle : clock::time_point::max();
  if (deadline_ <= idle_expiry) {
    return {deadline_, errc::deadline_exceeded};
  }
  return {idle_expiry, errc::idle_timeout};
}

bool stream::arm(operation_deadline& deadline, const wait_limit& limit) {
  if (limit.expiry == clock::time_point::max()) {
    return true;
  }
  if (limit.expiry <= clock::now()) {
    return false; // already late: starting I/O would only race the expired timer
  }
  deadline.pending = true;
  deadline.code = limit.code;
  deadline.timer.expires_at(limit.expiry);
  deadline.timer.async_wait([this, alive = alive_, &deadline](std::error_code ec) {
    // A cancelled wait, a stream already gone, or a wait that fired while its operation was
    // completing (the timer now belongs to a later operation with a later expiry): nothing to do.
    if (ec || !*alive || !deadline.pending || deadline.timer.expiry() > clock::now()) {
      return;
    }
    fail_timeout(deadline.code);
  });
  return true;
}

void stream::disarm(operation_deadline& deadline) noexcept {
  if (deadline.pending) {
    deadline.pending = false;
    deadline.timer.cancel();
  }
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
  if (!arm(read_deadline_, limit)) {
    ec = fail_timeout(limit.code);
    co_return;
  }
  const auto [error] = co_await tls_->async_handshake(type, use_tuple);
  disarm(read_deadline_);
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
  if (!arm(read_deadline_, limit)) {
    ec = fail_timeout(limit.code);
    co_return 0;
  }
  const auto [error, transferred] = tls_ ? co_await tls_->async_read_some(buffer, use_tuple)
                                         : co_await socket_.async_read_some(buffer, use_tuple);
  disarm(read_deadline_);
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
    if (!arm(write_deadline_, limit)) {
      ec = fail_timeout(limit.code);
      co_return;
    }
    const auto [error, transferred] = tls_ ? co_await tls_->async_write_some(buffer, use_tuple)
                                           : co_await socket_.async_write_some(buffer, use_tuple);
    disarm(write_deadline_);
    if (error) {
      ec = fail(error);
      co_return;
    }
    buffer += transferred;
    bytes_written_ += transferred;
  }
}

asio::awaitable<void> stream::shutdown() {
  if (!socket_.is_open()) {
    co_return;
  }
  if (tls_) {
    const wait_limit limit = next_limit(std::chrono::seconds{2});
    // Peers often close without answering close_notify; either way we are done.
    if (arm(write_deadline_, limit)) {
      co_await tls_->async_shutdown(use_tuple);
      disarm(write_deadline_);
    }
  }
  std::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
}

std::size_t stream::unread_bytes() const noexcept {
  if (!socket_.is_open()) {
    return 0;
  }
  std::error_code ec;
  std::size_t count = socket_.available(ec);
  if (ec) {
    count = 0;
  }
  if (tls_) {
    count += static_cast<std::size_t>(std::max(SSL_pending(tls_->native_handle()), 0));
  }
  return count;
}

bool stream::peer_closed_or_readable() noexcept {
  if (!socket_.is_open()) {
    return true;
  }
  if (tls_) {
    // Records OpenSSL holds, processed or not, and bytes asio already moved into its read BIO:
    // read from the socket, so the peek below cannot see them.
    SSL* ssl = tls_->native_handle();
    if (SSL_has_pending(ssl) != 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) {
      return true;
    }
  }
  // The TCP socket itself, also under TLS: an alert or close_notify is bytes, a FIN is EOF.
  char byte = 0;
  const auto n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) {
    return true; // n == 0: the peer closed; n > 0: bytes nobody asked for
  }
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

void stream::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
  read_deadline_.timer.cancel();
  write_deadline_.timer.cancel();
}

} // namespace icapkit::net
