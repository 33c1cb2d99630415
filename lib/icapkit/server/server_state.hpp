#pragma once
// Internals shared by the server, its accept loops and its connections.
#include "icapkit/server/server.hpp"
#include "icapkit/server/service.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace icapkit::server::detail {

class connection;

// One worker thread and its io_context. `connections` is only touched on this worker's thread.
// Declared before the context: destroying the context destroys unfinished connection
// coroutines, whose destructors still unregister here.
struct worker {
  std::unordered_set<connection*> connections;
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{context.get_executor()};
  std::thread thread;
};

struct listening_socket {
  asio::ip::tcp::acceptor acceptor;
  bool tls = false;
};

struct server_state {
  explicit server_state(server_options opts) : options(std::move(opts)) {}

  server_options options;
  std::map<std::string, std::shared_ptr<service>, std::less<>> services; // by name, no '/'
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<listening_socket> listeners; // on workers[0]
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::shared_ptr<asio::ssl::context> tls_context;

  std::atomic<std::size_t> active{0}; // accepted connections not yet closed (503 ones included)
  std::atomic<std::size_t> next_worker{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};

  std::mutex mutex; // guards stopped and the condition variable waits
  std::condition_variable changed;
  bool stopped = false;

  void report(const std::string& message) const {
    if (options.on_error) {
      options.on_error(message);
    }
  }
  void deliver(const transaction_record& record) const {
    if (options.on_transaction) {
      options.on_transaction(record);
    }
  }
  // A connection ended: stop() may be waiting for the count to reach zero.
  void connection_closed() {
    active.fetch_sub(1);
    std::lock_guard lock(mutex);
    changed.notify_all();
  }
};

} // namespace icapkit::server::detail
