#pragma once
// The ICAP server engine: plain and TLS listeners, one io_context per worker thread, one coroutine
// per connection (keep-alive, pipelining, preview/100/204 rules, limits, deadlines), dispatch by
// the ICAP URI path to a service (service.hpp), and graceful stop.
//
// Threading: the listening sockets live on worker 0; every accepted socket is created on the next
// worker's io_context in turn (round robin) and its connection coroutine runs there for its whole
// life. One accept path keeps the max_connections count exact and the port file simple, and the
// per-connection work (parsing, services) is what spreads across the cores.
//
// Connection policy: keep-alive until idle_timeout; pipelined requests are answered in order
// (bytes after a message stay buffered for the next one). An answer given before the request
// ended (404/405, a preview answered without 100, body_action::answer_now) is followed by reading
// and dropping the rest of that request, as c-icap does, so the connection stays usable; if the
// client stops sending instead (ERRATA e7 lets it close), the read fails and the connection
// closes. 400, 408, 501, 505 and 503 close the connection (after a lingering half-close, so the
// answer is not destroyed by a reset). Signals are the app's: stop_on_signal() below is a helper.
#include "icapkit/codec/limits.hpp"
#include "icapkit/net/tls.hpp"
#include "icapkit/server/service.hpp"
#include "icapkit/server/trickle.hpp"

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace icapkit::server {

struct server_options {
  server_options() = default; // not an aggregate: see net::tls_options (g++ 12 co_await bug)

  std::vector<std::string> listen;     // plain listeners, "ADDR:PORT" ("[::1]:0" for IPv6)
  std::vector<std::string> tls_listen; // TLS listeners (ICAPS: TLS from the first byte)
  // Certificate and key for tls_listen. When neither a file nor PEM text is given, a self-signed
  // certificate for localhost, 127.0.0.1 and ::1 is generated at start.
  net::tls_server_options tls;
  std::string write_cert; // when set, the TLS certificate (PEM) is written there at start

  unsigned threads = 0;            // worker threads; 0: std::thread::hardware_concurrency (min 1)
  std::size_t max_connections = 0; // past it a new connection gets 503 and is closed; 0: no limit

  // Deadline for a whole request head (ICAP + encapsulated HTTP heads) from its first byte; the
  // first request's deadline starts at accept. Mid-head it ends with 408 + close.
  std::chrono::milliseconds head_timeout{std::chrono::seconds{10}};
  // Longest wait for the next request on a keep-alive connection; then a silent close.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{60}};
  // Longest wait for progress of one read or write inside a transaction (body, answer).
  std::chrono::milliseconds io_timeout{std::chrono::seconds{30}};
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds{10}};
  // How long a stall fault holds the connection when the fault sets no limit of its own.
  std::chrono::milliseconds stall_limit{std::chrono::minutes{10}};
  // stop(): how long in-flight transactions may take before their connections are closed.
  std::chrono::milliseconds stop_grace{std::chrono::seconds{5}};

  codec::limits limits;     // parser limits for requests
  codec::leniency leniency; // named parser leniencies for requests

  std::string server_header = "icapkit";     // Server: on every response (a service may replace it)
  std::string default_istag = "\"icapkit\""; // ISTag when no service matched (404, 400, 503...)
  // Copies kept for echoing clean messages (no "Allow: 204") move to disk past this size.
  std::size_t spool_memory_limit = 64 * 1024;
  std::string temp_dir; // empty: $TMPDIR, else /tmp
  // Answer 200 early and send part of a large body back while reading it (c-icap's virus_scan
  // SendPercentData); off by default. See trickle.hpp.
  trickle_options trickle;

  // Called once per transaction (from worker threads, concurrently: make it thread-safe).
  std::function<void(const transaction_record&)> on_transaction;
  // Accept failures, failed TLS handshakes, certificate problems (worker threads, concurrently).
  std::function<void(const std::string&)> on_error;
};

namespace detail {
struct server_state;
}

class server {
public:
  explicit server(server_options options);
  ~server(); // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Adds a service before start(). Throws std::invalid_argument when a name is already taken or
  // the service is null (start-up configuration).
  void add_service(std::shared_ptr<service> svc);

  // Binds every listener, prepares TLS, starts the worker threads. On failure nothing keeps
  // running and the error says why: net::errc::bind_failed/bad_address/bad_port/tls_bad_file...
  // with `detail` naming the address or file.
  std::error_code start(std::string& detail);

  // The bound addresses after start(), plain listeners first, in the order given; the real port
  // when 0 was asked for. bound_addresses() formats them for --port-file: "127.0.0.1:40123",
  // "[::1]:40124".
  std::vector<asio::ip::tcp::endpoint> bound_endpoints() const;
  std::vector<std::string> bound_addresses() const;

  // Graceful stop: closes the listeners and idle keep-alive connections, lets in-flight
  // transactions finish (their answers carry "Connection: close") for up to stop_grace, then
  // closes what is left and joins the workers. Idempotent; call it from any thread except a
  // worker (i.e. not from inside a service).
  void stop();
  // Blocks until stop() has finished (from another thread).
  void wait();

  bool running() const noexcept;
  std::size_t active_connections() const noexcept;

private:
  std::shared_ptr<detail::server_state> state_;
};

// Blocks until SIGINT or SIGTERM arrives, then calls srv.stop(); returns the signal number. The
// app calls it from main after start(); signals are not touched otherwise.
int stop_on_signal(server& srv);

} // namespace icapkit::server
