#pragma once
// Internals shared by the proxy, its accept loops and its connections (not installed API).
#include "icapkit/client/pool_group_balancer.hpp"
#include "icapkit/proxy/enforcement.hpp"
#include "icapkit/proxy/proxy.hpp"
#include "icapkit/proxy/stats.hpp"
#include "icapkit/proxy/upstream.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace icapkit::net {
class stream;
}

namespace icapkit::proxy::detail {

class connection;

// One worker thread: its io_context, its ICAP clients and upstream connections. `connections`
// is only touched on this worker's thread. Teardown order matters (see shut_down in proxy.cpp):
// idle pooled connections close first, then the context goes (destroying any coroutine still
// suspended, which may unregister from `connections`), then the clients that owned the pools.
struct worker {
  worker() : context(std::make_unique<asio::io_context>(1)), guard(context->get_executor()) {}
  std::unordered_set<connection*> connections;
  std::unique_ptr<enforcer> request_enforcer;  // null without an ICAP profile pool group
  std::unique_ptr<enforcer> response_enforcer; // null without icap_response_profile
  std::unique_ptr<upstream_client> upstream;
  std::unique_ptr<asio::io_context> context;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
};

struct listening_socket {
  asio::ip::tcp::acceptor acceptor;
  bool tls = false;
  bool admin = false;
};

struct proxy_state {
  explicit proxy_state(proxy_options opts) : options(std::move(opts)) {}

  proxy_options options;
  std::optional<codec::uri> upstream; // options.upstream, else config.upstream
  std::unique_ptr<client::pool_group_balancer> request_balancer;
  std::unique_ptr<client::pool_group_balancer> response_balancer;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<listening_socket> listeners; // on workers[0]
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::shared_ptr<asio::ssl::context> tls_context;
  ::icapkit::proxy::stats counters;

  std::atomic<std::size_t> active{0};
  std::atomic<std::size_t> next_worker{0};
  std::atomic<std::uint64_t> next_log_id{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::thread monitor_thread;
  asio::io_context monitor_context{1};

  std::mutex mutex;
  std::condition_variable changed;
  bool stopped = false;

  void event(const std::string& message) const {
    if (options.on_event) {
      options.on_event(message);
    }
  }
  void connection_closed() {
    active.fetch_sub(1);
    counters.connection_closed();
    std::lock_guard lock(mutex);
    changed.notify_all();
  }
};

// The per-connection coroutine: keep-alive loop, one request at a time.
asio::awaitable<void> run_connection(std::shared_ptr<proxy_state> state, worker* owner,
                                     std::unique_ptr<net::stream> stream, bool tls);
// The admin endpoint's connection: GET /stats.
asio::awaitable<void> run_admin_connection(std::shared_ptr<proxy_state> state,
                                           std::unique_ptr<net::stream> stream);

// Registered on its worker for the drain: idle connections close at once, busy ones after
// their current response.
class connection {
public:
  connection(worker& owner, net::stream& stream) : owner_(owner), stream_(stream) {
    owner_.connections.insert(this);
  }
  ~connection() { owner_.connections.erase(this); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  void set_busy(bool busy) noexcept { busy_ = busy; }
  void close_if_idle() noexcept;
  void force_close() noexcept;

private:
  worker& owner_;
  net::stream& stream_;
  bool busy_ = false;
};

} // namespace icapkit::proxy::detail
