#pragma once
// A listening socket for servers (mock ICAP server, proxy): bind ADDR:PORT, accept until stopped,
// hand every connection (after its TLS handshake when TLS is on) to a coroutine of its own.
#include "icapkit/net/errc.hpp"
#include "icapkit/net/stream.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

namespace icapkit::net {

// Parses "127.0.0.1:1344", "0.0.0.0:0", "[::1]:11344", "[::]:0". The address must be an IP literal
// (IPv6 in brackets) and the port a decimal number in 0..65535 (0: the system picks one). On
// failure returns an empty endpoint and fills error with bad_address or bad_port (detail: the
// text).
asio::ip::tcp::endpoint parse_endpoint(std::string_view text, error_info& error);

class listener {
public:
  // Runs once per accepted connection, in its own coroutine; it owns the stream. It should not
  // throw: an exception from it propagates out of io_context::run (a programming error).
  using handler = std::function<asio::awaitable<void>(std::unique_ptr<stream>)>;
  // Told about accept failures and failed TLS handshakes; the listener keeps going after both.
  using error_handler = std::function<void(const error_info&)>;

  // Opens, binds (SO_REUSEADDR) and listens on endpoint. Returns null and fills error with
  // bind_failed (cause: the system error, detail: the address) on failure.
  static std::unique_ptr<listener> open(asio::any_io_executor executor,
                                        const asio::ip::tcp::endpoint& endpoint, error_info& error);
  // The same from "ADDR:PORT" text; also reports parse_endpoint's errors.
  static std::unique_ptr<listener> open(asio::any_io_executor executor, std::string_view address,
                                        error_info& error);

  explicit listener(asio::ip::tcp::acceptor acceptor);
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener();

  // The bound address, with the real port when 0 was asked for.
  const asio::ip::tcp::endpoint& local_endpoint() const noexcept { return local_; }

  // Wrap every accepted connection in TLS with context; a handshake that does not finish within
  // handshake_timeout is reported to the error handler and the connection dropped.
  void enable_tls(std::shared_ptr<asio::ssl::context> context,
                  std::chrono::milliseconds handshake_timeout = std::chrono::seconds{10});
  void on_error(error_handler report) { on_error_ = std::move(report); }

  // Accepts until stop() (or the caller's cancellation), spawning one coroutine per connection.
  // Connections already handed to the handler are not affected by stop().
  asio::awaitable<void> run(handler handle);

  // Stops accepting and closes the listening socket; run() returns soon after.
  void stop() noexcept;

private:
  asio::awaitable<void> accept_loop(handler handle);
  void report(const error_info& error) const;

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint local_;
  asio::steady_timer backoff_; // pause after a failed accept (e.g. out of descriptors)
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::chrono::milliseconds handshake_timeout_{10000};
  error_handler on_error_;
  bool stopped_ = false;
};

} // namespace icapkit::net
