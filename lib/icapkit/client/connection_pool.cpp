#include "icapkit/client/connection_pool.hpp"

#include "icapkit/net/errc.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

namespace icapkit::client {

connection_pool::~connection_pool() {
  close_idle();
}

asio::awaitable<pool_lease> connection_pool::acquire(const pool_key& key, std::size_t cap,
                                                     clock::time_point deadline,
                                                     std::error_code& ec) {
  ec.clear();
  cap = std::max<std::size_t>(cap, 1);
  auto& server = servers_[key];
  // A woken waiter goes back to the front so that a newcomer arriving in between cannot starve it.
  bool woken_before = false;
  while (server.in_use >= cap) {
    if (clock::now() >= deadline) {
      ec = net::errc::deadline_exceeded;
      co_return pool_lease{};
    }
    waiter self{asio::steady_timer(executor_, deadline), false};
    auto position = woken_before ? server.waiters.insert(server.waiters.begin(), &self)
                                 : server.waiters.insert(server.waiters.end(), &self);
    std::error_code wait_ec;
    co_await self.timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
    if (!self.woken) {
      // The deadline fired: nobody woke us, so we are still queued.
      server.waiters.erase(position);
      ec = net::errc::deadline_exceeded;
      co_return pool_lease{};
    }
    woken_before = true; // release() removed us from the queue
  }
  co_return take_slot(server);
}

std::optional<pool_lease> connection_pool::try_acquire(const pool_key& key, std::size_t cap) {
  auto& server = servers_[key];
  if (server.in_use >= std::max<std::size_t>(cap, 1)) {
    return std::nullopt;
  }
  return take_slot(server);
}

pool_lease connection_pool::take_slot(server_state& server) {
  ++server.in_use;
  pool_lease lease;
  while (!server.idle.empty() && !lease.stream) {
    auto candidate = std::move(server.idle.front());
    server.idle.pop_front();
    // Bytes that arrived while it was idle answer no request: reading them as the next answer
    // would mix two exchanges, so the connection is dropped.
    if (candidate && candidate->is_open() && candidate->unread_bytes() == 0) {
      lease.stream = std::move(candidate);
      lease.reused = true;
    } else if (candidate) {
      candidate->close();
    }
  }
  return lease;
}

void connection_pool::release(const pool_key& key, std::unique_ptr<net::stream> reusable) {
  auto found = servers_.find(key);
  if (found == servers_.end()) {
    return;
  }
  auto& server = found->second;
  if (server.in_use > 0) {
    --server.in_use;
  }
  if (reusable && reusable->is_open()) {
    reusable->clear_deadline();
    server.idle.push_back(std::move(reusable));
  } else if (reusable) {
    reusable->close();
  }
  if (!server.waiters.empty()) {
    auto* first = server.waiters.front();
    server.waiters.pop_front();
    first->woken = true;
    first->timer.cancel();
  }
}

void connection_pool::close_idle() noexcept {
  for (auto& [key, server] : servers_) {
    for (auto& connection : server.idle) {
      if (connection) {
        connection->close();
      }
    }
    server.idle.clear();
  }
}

void connection_pool::close_idle(const pool_key& key) noexcept {
  auto found = servers_.find(key);
  if (found == servers_.end()) {
    return;
  }
  for (auto& connection : found->second.idle) {
    if (connection) {
      connection->close();
    }
  }
  found->second.idle.clear();
}

std::size_t connection_pool::idle_count(const pool_key& key) const {
  auto found = servers_.find(key);
  return found == servers_.end() ? 0 : found->second.idle.size();
}

std::size_t connection_pool::in_use(const pool_key& key) const {
  auto found = servers_.find(key);
  return found == servers_.end() ? 0 : found->second.in_use;
}

} // namespace icapkit::client
