#pragma once
// Server selection for one ICAP pool group, as the load balancer does it: the pool with the
// highest priority_label that has an up server wins; inside it, lb_algorithm (round robin, least
// connections, consistent hash on the client IP) weighted by each server's ratio picks the server.
// Servers go down on an exchange failure (passive detection) or failed OPTIONS checks (the active
// monitor) and come back after successful checks. Thread-safe: proxy workers on several threads
// share one balancer.
#include "icapkit/codec/uri.hpp"
#include "icapkit/config/ip_address.hpp"
#include "icapkit/config/loader.hpp"
#include "icapkit/net/tls.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::client {

// Health-check timing (Avi HealthMonitor fields; seconds in Avi, milliseconds here).
struct health_settings {
  health_settings() = default; // not an aggregate: g++ 12 co_await bug (see net/tls.hpp)
  bool active = false;         // run OPTIONS checks (pools with a monitor ref)
  std::chrono::milliseconds send_interval{10000};  // between checks of one server
  std::chrono::milliseconds receive_timeout{4000}; // one check's limit
  unsigned successful_checks = 2;                  // consecutive passes that bring a down server up
  unsigned failed_checks = 2; // consecutive failures that take an up server down
  // Passive detection: a server taken down by a failed exchange is tried again after this long
  // when no active monitor watches its pool.
  std::chrono::milliseconds passive_hold_down{5000};
};

// The timing of `pool_index`'s first health monitor (config::virtual_service_config::monitors_of),
// active when the pool has one; the defaults, inactive, when it has none. Whatever the monitor's
// Avi type, the check is an ICAP OPTIONS request.
health_settings health_settings_for(const config::virtual_service_config& config,
                                    std::size_t pool_index);

// The server an exchange should use.
struct server_choice {
  std::size_t pool_index = 0;   // into virtual_service_config::pools
  std::size_t server_index = 0; // into pool::servers
  codec::uri service;           // icap[s]://host:port + the profile's service_uri
  net::tls_options tls;         // from the pool's TLS settings (enabled for ICAPS)
  std::string pool_name;        // the pool's name (the group's name goes into the record)
};

enum class exchange_outcome {
  success,          // the server answered (any verdict, 2xx)
  connection_error, // connect, TLS or reset: passive detection counts it
  timeout,          // counts too
  server_error,     // ICAP 4xx/5xx or a protocol error: the server is alive, not counted
};

struct server_status {
  std::string pool_name;
  std::string address; // "127.0.0.1:1344"
  bool up = true;
  bool enabled = true;
  std::uint64_t active = 0; // exchanges in progress
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::string last_failure; // one line; empty when none
};

class pool_group_balancer {
public:
  // `config` must outlive the balancer (pools and the group are read from it). `service_uri`
  // is the profile's ("/OMSScanReq-AV?x=1"). `health_of(pool_index)` gives each pool's timing.
  pool_group_balancer(const config::virtual_service_config& config, std::size_t pool_group_index,
                      std::string service_uri,
                      std::function<health_settings(std::size_t)> health_of);
  ~pool_group_balancer();
  pool_group_balancer(const pool_group_balancer&) = delete;
  pool_group_balancer& operator=(const pool_group_balancer&) = delete;

  // The server for the next exchange, or nullopt when no enabled server is up in any pool of the
  // group. `exclude` lists servers already tried for this request (failover), as
  // {pool_index, server_index} pairs. Counts the exchange as active until finish(), which every
  // returned choice must reach exactly once. Pools of equal priority share the picks by their
  // member ratio; a member ratio of 0 takes no new exchanges.
  std::optional<server_choice>
  pick(const std::optional<config::ip_address>& client_ip,
       const std::vector<std::pair<std::size_t, std::size_t>>& exclude = {});
  // The exchange on `choice` ended; connection_error and timeout take the server down (passive).
  void finish(const server_choice& choice, exchange_outcome outcome, std::string failure = {});

  // Active monitor: checks every enabled server of every pool whose health_settings.active is
  // set, with `check` (an OPTIONS to the service; true = a 200 arrived within receive_timeout),
  // every send_interval, each server on its own, until stop(). Runs on the awaiting coroutine's
  // executor (through a strand); returns within about 100 ms of stop() (at once when no pool is
  // monitored or stop() came first). A check still running then is cancelled (per-operation
  // cancellation) and left to end on the executor; a check that outlives receive_timeout counts as
  // failed. Must have returned before the balancer is destroyed; runs once per balancer.
  using check_fn =
      std::function<asio::awaitable<bool>(const server_choice&, std::chrono::milliseconds timeout)>;
  asio::awaitable<void> run_monitor(check_fn check);
  // Ends run_monitor; callable from any thread.
  void stop() noexcept;

  // A snapshot of every server of the group's pools, highest priority first (for /stats).
  std::vector<server_status> status() const;
  const std::string& group_name() const noexcept;
  const std::string& group_uuid() const noexcept;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace icapkit::client
