#pragma once
// Idle ICAP connections per server (host, port, TLS) and a cap on how many are in use at once.
// One outstanding request per connection (RFC 3507 4.1); an exchange holds a slot from acquire()
// to release(). Waiters queue in arrival order, each bounded by its own deadline.
#include "icapkit/net/stream.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>

namespace icapkit::client {

struct pool_key {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  friend auto operator<=>(const pool_key&, const pool_key&) = default;
};

// A slot for one exchange. `stream` is an idle connection to reuse, or null: connect a new one.
struct pool_lease {
  std::unique_ptr<net::stream> stream;
  bool reused = false;
};

// Not thread-safe: used from the client's executor only.
class connection_pool {
public:
  using clock = std::chrono::steady_clock;

  explicit connection_pool(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;
  ~connection_pool();

  // Waits until fewer than `cap` (at least 1) slots are in use for `key`, then takes one, with an
  // idle connection when there is one. Reports net::errc::deadline_exceeded when `deadline`
  // passes first; the slot is not taken then.
  asio::awaitable<pool_lease> acquire(const pool_key& key, std::size_t cap,
                                      clock::time_point deadline, std::error_code& ec);
  // What acquire() does when a slot is free, without waiting (and without a coroutine); nullopt
  // when all `cap` slots are in use: co_await acquire() then.
  std::optional<pool_lease> try_acquire(const pool_key& key, std::size_t cap);

  // Gives the slot back. A connection that ended its exchange cleanly is kept for reuse; pass
  // null (or a closed stream) when it must not be reused. Wakes the first waiter.
  void release(const pool_key& key, std::unique_ptr<net::stream> reusable);

  // Closes every idle connection; slots in use are not affected.
  void close_idle() noexcept;
  // Closes the idle connections to one server: one of them turned out dead (a server restarted
  // drops them all), so the next acquire() connects anew.
  void close_idle(const pool_key& key) noexcept;

  std::size_t idle_count(const pool_key& key) const;
  std::size_t in_use(const pool_key& key) const;

private:
  struct waiter {
    asio::steady_timer timer; // expires at the waiter's deadline; cancelled to wake it
    bool woken = false;       // set by release(): a slot may be free
  };
  struct server_state {
    std::size_t in_use = 0;
    std::deque<std::unique_ptr<net::stream>> idle;
    std::list<waiter*> waiters;
  };
  static pool_lease take_slot(server_state& server);

  asio::any_io_executor executor_;
  std::map<pool_key, server_state> servers_;
};

} // namespace icapkit::client
