#pragma once
// One connected byte stream, plain TCP or TLS, with coroutine reads and writes that never wait
// longer than the I/O idle timeout or the absolute deadline.
#include "icapkit/net/errc.hpp"

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace icapkit::net {

class stream {
public:
  using clock = std::chrono::steady_clock;
  using tcp = asio::ip::tcp;

  // Plain TCP over a connected (or accepted) socket.
  explicit stream(tcp::socket socket);
  // TLS over a connected socket: call handshake() before any read or write.
  stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> context);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();

  bool is_tls() const noexcept { return tls_ != nullptr; }
  bool is_open() const noexcept { return socket_.is_open(); }
  // Bytes received and not read yet (the kernel's count, plus OpenSSL's for TLS). On an idle
  // connection any byte is one the peer sent unasked: such a connection must not carry a request.
  std::size_t unread_bytes() const noexcept;
  // For a connection that sat idle in a pool: true when it cannot carry a request, because the
  // peer closed or reset it (EOF, an error) or sent bytes unasked (for TLS, counted on the TCP
  // socket beneath, so a close_notify counts too). A non-blocking peek: never waits, reads nothing.
  // A closed stream is unusable too.
  bool peer_closed_or_readable() noexcept;
  // Bytes write_all got out since the stream was made (for TLS: plaintext bytes whose records
  // were written). Unchanged across a failed write_all: the peer cannot have received any of it.
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }
  asio::any_io_executor get_executor() noexcept { return socket_.get_executor(); }
  // Both endpoints are captured at construction, so they stay valid after close().
  const tcp::endpoint& local_endpoint() const noexcept { return local_; }
  const tcp::endpoint& remote_endpoint() const noexcept { return remote_; }
  // remote_endpoint()'s address as text ("127.0.0.1", "::1"), made once.
  const std::string& remote_address() const noexcept { return remote_address_; }
  // How errors name the peer ("icap.example:11344"); defaults to the remote endpoint.
  const std::string& peer() const noexcept { return peer_; }
  void set_peer(std::string peer) { peer_ = std::move(peer); }

  // Longest wait for a single read or write to make progress; zero disables it.
  void set_idle_timeout(std::chrono::milliseconds timeout) noexcept { idle_timeout_ = timeout; }
  std::chrono::milliseconds idle_timeout() const noexcept { return idle_timeout_; }
  // Absolute limit for every later wait (the total response timeout); clock::time_point::max()
  // (the default) disables it.
  void set_deadline(clock::time_point deadline) noexcept { deadline_ = deadline; }
  void clear_deadline() noexcept { deadline_ = clock::time_point::max(); }
  clock::time_point deadline() const noexcept { return deadline_; }

  // TLS handshake under the idle timeout and deadline. Reports tls_verify_failed (detail: OpenSSL's
  // reason), tls_handshake_failed, idle_timeout/deadline_exceeded, connection_reset,
  // closed_by_peer. No-op for plain TCP.
  asio::awaitable<void> handshake(asio::ssl::stream_base::handshake_type type, std::error_code& ec);

  // Reads at least one byte. At the end of the stream returns 0 with closed_by_peer. Other reports:
  // idle_timeout, deadline_exceeded, connection_reset, tls_handshake_failed (the peer rejected us
  // with an alert, e.g. a missing client certificate), tls_protocol_error; asio's
  // operation_aborted only when the caller cancelled. A timeout closes the stream.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec);

  // Writes the whole buffer; the idle timeout applies to each partial write. Same reports as
  // read_some. A timeout closes the stream.
  asio::awaitable<void> write_all(asio::const_buffer buffer, std::error_code& ec);

  // Graceful end: TLS close_notify (bounded by the idle timeout and deadline, 2 s if neither is
  // set), then a TCP shutdown of both directions. Best effort: errors are ignored. Does not close,
  // unless close_notify timed out (a timeout closes the stream, as for any operation).
  asio::awaitable<void> shutdown();

  // Closes the socket at once; pending operations complete with operation_aborted.
  void close() noexcept;

  // The TCP socket's descriptor (socket options; tests that need a half-closed socket).
  tcp::socket::native_handle_type native_socket() noexcept { return socket_.native_handle(); }

  // The OpenSSL connection (peer certificate, version, cipher), or null for plain TCP.
  SSL* native_tls_handle() noexcept { return tls_ ? tls_->native_handle() : nullptr; }

  // The failure behind the most recent error this stream reported, with the original error.
  const error_info& last_error() const noexcept { return last_error_; }

private:
  struct wait_limit {
    clock::time_point expiry;
    errc code; // which timeout expiry stands for
  };
  // The deadline of the operation pending in one direction: a timer whose expiry ends the stream
  // (fail_timeout), so the operation completes with operation_aborted and fail() reports the
  // timeout. Cheaper than racing each operation against a timer in a parallel group.
  struct operation_deadline {
    explicit operation_deadline(const asio::any_io_executor& executor) : timer(executor) {}
    asio::steady_timer timer;
    bool pending = false; // an operation is waiting under the timer
    errc code = errc::idle_timeout;
  };
  wait_limit next_limit(std::chrono::milliseconds fallback) const noexcept;
  // False when the limit has already passed: the operation must not start.
  bool arm(operation_deadline& deadline, const wait_limit& limit);
  void disarm(operation_deadline& deadline) noexcept;
  std::error_code fail(std::error_code cause);
  std::error_code fail_timeout(errc code);

  std::shared_ptr<asio::ssl::context> context_; // outlives tls_
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  operation_deadline read_deadline_;  // reads and writes may be outstanding at the same time
  operation_deadline write_deadline_; // so each direction has its own timer
  // Shared with the timers' handlers: a handler that runs after the stream is gone sees false.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::chrono::milliseconds idle_timeout_{0};
  clock::time_point deadline_ = clock::time_point::max();
  tcp::endpoint local_;
  tcp::endpoint remote_;
  std::string remote_address_;
  std::string peer_;
  std::error_code closed_by_timeout_; // a timeout closed the socket: the other direction reports it
  error_info last_error_;
  std::uint64_t bytes_written_ = 0;
};

} // namespace icapkit::net
