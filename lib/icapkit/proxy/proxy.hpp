#pragma once
// The enforcing HTTP/1.1 proxy (DESIGN.md section 8): what the load balancer's virtual service
// does with ICAP, on loopback. Listeners (plain and TLS), one io_context per worker thread, one
// coroutine per client connection (keep-alive, pipelining), the security policy deciding which
// requests go to ICAP, the profile's preview/204/buffer/timeout/fail-action semantics, pool-group
// failover, an optional RESPMOD scan of upstream responses, one application-log record per
// request, a stats endpoint and a graceful drain.
#include "icapkit/codec/limits.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/config/loader.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/net/tls.hpp"
#include "icapkit/proxy/stats.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace icapkit::proxy {

struct proxy_options {
  proxy_options() = default; // not an aggregate: see net::tls_options (g++ 12 co_await bug)

  config::virtual_service_config config; // profile, pools, policy; listen/upstream as defaults
  std::vector<std::string> listen;       // "ADDR:PORT"; empty: config.listen
  std::vector<std::string> tls_listen;   // HTTPS listeners
  net::tls_server_options tls;           // for tls_listen; none given: self-signed at start
  std::optional<codec::uri> upstream;    // overrides config.upstream
  net::tls_options upstream_tls;         // for an https upstream (enabled from the scheme)
  std::string admin;                     // "ADDR:PORT" for GET /stats; empty: none

  unsigned threads = 0;                            // 0: the core count (at least 1)
  std::chrono::milliseconds header_timeout{10000}; // a whole request head, from its first byte
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  std::chrono::milliseconds body_timeout{30000};   // no progress reading or writing a body
  std::chrono::milliseconds upstream_connect_timeout{5000};
  std::chrono::milliseconds upstream_timeout{60000}; // upstream's answer, from the request's end
  std::chrono::milliseconds drain_timeout{10000};    // stop(): in-flight requests may finish
  codec::limits limits;                              // request head limits (431 past them)
  std::size_t spool_memory = 1024 * 1024; // held bodies move to a temporary file past this
  std::string temp_dir;                   // empty: $TMPDIR, else /tmp

  // One record per request, called from worker threads concurrently: make it thread-safe.
  std::function<void(const log::app_log_record&)> on_record;
  // The same, with the client's request head as received: for callers that match records to
  // the requests they sent (icapkit replay tags each request with a header). Thread-safe too.
  std::function<void(const log::app_log_record&, const codec::http_request_head&)>
      on_request_record;
  // Problems that are not a request's (accept failures, TLS handshakes, health changes).
  std::function<void(const std::string&)> on_event;
};

namespace detail {
struct proxy_state;
}

class proxy {
public:
  explicit proxy(proxy_options options);
  ~proxy(); // stop()
  proxy(const proxy&) = delete;
  proxy& operator=(const proxy&) = delete;

  // Binds the listeners (and the admin endpoint), starts the workers and the health monitors.
  // On failure nothing keeps running and `detail` says why (address, file).
  std::error_code start(std::string& detail);

  // "127.0.0.1:40123" / "[::1]:40124", in the order given, real ports when 0 was asked for.
  std::vector<std::string> listen_addresses() const;
  std::vector<std::string> tls_listen_addresses() const;
  std::string admin_address() const; // empty when none

  // Graceful drain: stop accepting, close idle keep-alive connections, let in-flight requests
  // finish (their responses carry Connection: close) for up to drain_timeout, then close the
  // rest and join the workers. Idempotent; call from a thread that is not a worker.
  void stop();
  void wait();

  stats_snapshot stats() const;

private:
  std::shared_ptr<detail::proxy_state> state_;
};

// Blocks until SIGINT or SIGTERM, then p.stop(); returns the signal number.
int stop_on_signal(proxy& p);

} // namespace icapkit::proxy
