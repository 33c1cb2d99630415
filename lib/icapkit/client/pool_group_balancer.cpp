#include "icapkit/client/pool_group_balancer.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string_view>

namespace icapkit::client {
namespace {

using clock = std::chrono::steady_clock;

// How often waiting monitor loops look at the stop flag (stop() may come from any thread, so
// nothing cancels their timers), and how often they look whether a running check has answered.
constexpr std::chrono::milliseconds idle_slice{25};
constexpr std::chrono::milliseconds check_slice{5};

struct server_state {
  server_choice choice; // what pick() hands out
  std::string address;  // "host:port", for status()
  bool enabled = true;  // the server's own flag
  bool usable = true;   // enabled, and its address makes a valid service URI
  std::int64_t ratio = 1;

  bool up = true;
  bool passive_down = false; // taken down by finish(); back at retry_at when no monitor runs
  clock::time_point retry_at{};
  unsigned passes_in_row = 0;      // active monitor
  unsigned failures_in_row = 0;    // active monitor
  std::int64_t current_weight = 0; // smooth weighted round robin

  std::uint64_t active = 0;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::string last_failure;
};

struct pool_state {
  std::size_t pool_index = 0;
  std::string name;
  std::uint64_t priority = 0;
  std::int64_t member_ratio = 1;
  std::int64_t current_weight = 0; // among pools of equal priority
  bool enabled = true;
  config::lb_algorithm algorithm = config::lb_algorithm::least_connections;
  health_settings health;
  std::vector<server_state> servers;
};

using exclude_list = std::vector<std::pair<std::size_t, std::size_t>>;

std::optional<codec::uri> service_of(const config::pool& pool, const config::pool_server& server,
                                     const std::string& service_uri) {
  std::string host = server.host();
  if (host.empty()) {
    return std::nullopt;
  }
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  const std::string text = std::string(pool.tls.enabled ? "icaps://" : "icap://") + host + ":" +
                           std::to_string(pool.port_of(server)) + service_uri;
  codec::uri uri;
  if (codec::parse_uri(text, uri)) {
    return std::nullopt;
  }
  return uri;
}

net::tls_options tls_of(const config::pool_tls& tls) {
  net::tls_options options;
  options.enabled = tls.enabled;
  options.ca_file = tls.ca_file;
  options.cert_file = tls.cert_file;
  options.key_file = tls.key_file;
  options.sni = tls.sni;
  options.insecure = !tls.verify;
  return options;
}

pool_state make_pool_state(const config::virtual_service_config& config,
                           const config::pool_group_member& member, const std::string& service_uri,
                           health_settings health) {
  const auto& pool = config.pools.at(member.pool_index);
  pool_state state;
  state.pool_index = member.pool_index;
  state.name = pool.name;
  state.priority = member.priority;
  state.member_ratio = member.ratio;
  state.enabled = pool.enabled;
  state.algorithm = pool.algorithm;
  state.health = health;
  for (std::size_t i = 0; i < pool.servers.size(); ++i) {
    const auto& server = pool.servers[i];
    server_state s;
    s.enabled = server.enabled;
    s.ratio = server.ratio;
    s.choice.pool_index = member.pool_index;
    s.choice.server_index = i;
    s.choice.tls = tls_of(pool.tls);
    s.choice.pool_name = pool.name;
    if (auto uri = service_of(pool, server, service_uri)) {
      s.address = uri->authority();
      s.choice.service = std::move(*uri);
    } else {
      s.address = server.host() + ":" + std::to_string(pool.port_of(server));
      s.usable = false;
      s.last_failure = "no valid ICAP URI for this server's address";
    }
    s.usable = s.usable && server.enabled;
    state.servers.push_back(std::move(s));
  }
  return state;
}

// A server taken down by a failed exchange comes back on its own after the hold-down, unless a
// monitor watches its pool: then only the monitor's passes bring it back.
void refresh(server_state& server, const pool_state& pool, clock::time_point now) {
  if (!server.up && server.passive_down && !pool.health.active && now >= server.retry_at) {
    server.up = true;
    server.passive_down = false;
  }
}

bool excluded(const exclude_list& exclude, std::size_t pool_index, std::size_t server_index) {
  return std::any_of(exclude.begin(), exclude.end(), [&](const auto& e) {
    return e.first == pool_index && e.second == server_index;
  });
}

std::vector<std::size_t> candidates(pool_state& pool, const exclude_list& exclude,
                                    clock::time_point now) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < pool.servers.size(); ++i) {
    auto& server = pool.servers[i];
    refresh(server, pool, now);
    if (server.usable && server.up && !excluded(exclude, pool.pool_index, i)) {
      out.push_back(i);
    }
  }
  return out;
}

struct weighted {
  std::int64_t* current;
  std::int64_t weight;
};

// Smooth weighted round robin (as nginx does it): over any run of sum(weights) picks each item
// is picked `weight` times, interleaved rather than in bursts.
std::size_t smooth_weighted_pick(const std::vector<weighted>& items) {
  std::int64_t total = 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    *items[i].current += items[i].weight;
    total += items[i].weight;
    if (*items[i].current > *items[best].current) {
      best = i;
    }
  }
  *items[best].current -= total;
  return best;
}

std::size_t round_robin(pool_state& pool, const std::vector<std::size_t>& among) {
  std::vector<weighted> items;
  for (const auto i : among) {
    items.push_back({&pool.servers[i].current_weight, pool.servers[i].ratio});
  }
  return among[smooth_weighted_pick(items)];
}

std::size_t least_connections(pool_state& pool, const std::vector<std::size_t>& among) {
  std::uint64_t fewest = UINT64_MAX;
  for (const auto i : among) {
    fewest = std::min(fewest, pool.servers[i].active);
  }
  std::vector<std::size_t> tied;
  for (const auto i : among) {
    if (pool.servers[i].active == fewest) {
      tied.push_back(i);
    }
  }
  return round_robin(pool, tied);
}

// FNV-1a then a splitmix64 finalizer: stable across runs and platforms, unlike std::hash.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_text(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

// Rendezvous hashing: the client goes to the server with the highest score for its IP. A server
// with ratio r draws r scores, so it wins for r/sum(ratio) of the clients; when a server leaves,
// only its clients move.
std::size_t consistent_hash(const pool_state& pool, const std::vector<std::size_t>& among,
                            const config::ip_address& client_ip) {
  const auto client = hash_text(client_ip.unmapped().to_string());
  std::size_t best = among.front();
  std::uint64_t best_score = 0;
  bool first = true;
  for (const auto i : among) {
    const auto server = hash_text(pool.servers[i].address);
    for (std::int64_t replica = 0; replica < pool.servers[i].ratio; ++replica) {
      const auto score = mix(client ^ mix(server + static_cast<std::uint64_t>(replica)));
      if (first || score > best_score) {
        best = i;
        best_score = score;
        first = false;
      }
    }
  }
  return best;
}

std::size_t pick_server(pool_state& pool, const std::vector<std::size_t>& among,
                        const std::optional<config::ip_address>& client_ip) {
  switch (pool.algorithm) {
  case config::lb_algorithm::least_connections:
    return least_connections(pool, among);
  case config::lb_algorithm::consistent_hash:
    return client_ip ? consistent_hash(pool, among, *client_ip) : round_robin(pool, among);
  case config::lb_algorithm::round_robin:
    break;
  }
  return round_robin(pool, among);
}

std::string_view outcome_text(exchange_outcome outcome) {
  switch (outcome) {
  case exchange_outcome::success:
    return "success";
  case exchange_outcome::connection_error:
    return "connection error";
  case exchange_outcome::timeout:
    return "timeout";
  case exchange_outcome::server_error:
    return "server error";
  }
  return "failure";
}

// One check's answer, shared by the monitor loop that waits for it and the check's completion
// handler (which keeps it alive when the loop has already left after stop()).
struct check_slot {
  enum class result { pending, passed, failed };
  result outcome = result::pending;
  std::string reason;
  asio::cancellation_signal cancel;
};

asio::awaitable<bool> run_check(std::shared_ptr<const pool_group_balancer::check_fn> check,
                                server_choice choice, std::chrono::milliseconds timeout) {
  co_return co_await (*check)(choice, timeout);
}

asio::awaitable<void> wait_for(asio::steady_timer& timer, clock::duration duration) {
  timer.expires_after(duration);
  co_await timer.async_wait(asio::use_awaitable);
}

} // namespace

struct pool_group_balancer::state {
  std::string group_name;
  std::string group_uuid;
  std::vector<pool_state> pools; // highest priority first
  mutable std::mutex mutex;
  std::atomic<bool> stopping{false};

  server_state* find(std::size_t pool_index, std::size_t server_index, pool_state** pool_out) {
    for (auto& pool : pools) {
      if (pool.pool_index == pool_index && server_index < pool.servers.size()) {
        *pool_out = &pool;
        return &pool.servers[server_index];
      }
    }
    return nullptr;
  }

  void record_check(std::size_t pool_pos, std::size_t server_pos, bool passed,
                    const std::string& reason) {
    const std::lock_guard lock(mutex);
    auto& pool = pools[pool_pos];
    auto& server = pool.servers[server_pos];
    if (passed) {
      server.failures_in_row = 0;
      ++server.passes_in_row;
      if (!server.up && server.passes_in_row >= pool.health.successful_checks) {
        server.up = true;
        server.passive_down = false;
      }
      return;
    }
    server.passes_in_row = 0;
    ++server.failures_in_row;
    server.last_failure = "health check: " + reason;
    if (server.up && server.failures_in_row >= pool.health.failed_checks) {
      server.up = false;
    }
  }

  // One server's checks, every send_interval, until stop().
  asio::awaitable<void> monitor_server(std::size_t pool_pos, std::size_t server_pos,
                                       std::shared_ptr<const check_fn> check) {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    health_settings health;
    server_choice choice;
    {
      const std::lock_guard lock(mutex);
      health = pools[pool_pos].health;
      choice = pools[pool_pos].servers[server_pos].choice;
    }
    auto next_check = clock::now();
    while (!stopping) {
      const auto now = clock::now();
      if (now < next_check) {
        co_await wait_for(timer, std::min<clock::duration>(next_check - now, idle_slice));
        continue;
      }
      next_check = now + health.send_interval;
      const auto deadline = now + health.receive_timeout;
      auto slot = std::make_shared<check_slot>();
      asio::co_spawn(executor, run_check(check, choice, health.receive_timeout),
                     asio::bind_cancellation_slot(
                         slot->cancel.slot(), [slot](std::exception_ptr error, bool passed) {
                           slot->outcome = (!error && passed) ? check_slot::result::passed
                                                              : check_slot::result::failed;
                           if (error) {
                             slot->reason = "the check failed with an exception";
                           } else if (!passed) {
                             slot->reason = "no valid OPTIONS answer";
                           }
                         }));
      while (slot->outcome == check_slot::result::pending && !stopping && clock::now() < deadline) {
        co_await wait_for(timer, std::min<clock::duration>(deadline - clock::now(), check_slice));
      }
      if (slot->outcome == check_slot::result::pending && !stopping) {
        // The answer may be queued behind this loop on a busy executor: let it run first.
        co_await asio::post(executor, asio::use_awaitable);
      }
      if (slot->outcome == check_slot::result::pending) {
        slot->cancel.emit(asio::cancellation_type::terminal);
        if (stopping) {
          break;
        }
        record_check(pool_pos, server_pos, false, "no answer within receive_timeout");
        continue;
      }
      record_check(pool_pos, server_pos, slot->outcome == check_slot::result::passed, slot->reason);
    }
  }
};

health_settings health_settings_for(const config::virtual_service_config& config,
                                    std::size_t pool_index) {
  health_settings health;
  const auto monitors = config.monitors_of(config.pools.at(pool_index));
  if (monitors.empty()) {
    return health;
  }
  const auto& monitor = *monitors.front();
  health.active = true;
  health.send_interval = std::chrono::seconds(monitor.send_interval);
  health.receive_timeout = std::chrono::seconds(monitor.receive_timeout);
  health.successful_checks = monitor.successful_checks;
  health.failed_checks = monitor.failed_checks;
  return health;
}

pool_group_balancer::pool_group_balancer(const config::virtual_service_config& config,
                                         std::size_t pool_group_index, std::string service_uri,
                                         std::function<health_settings(std::size_t)> health_of)
    : state_(std::make_unique<state>()) {
  const auto& group = config.pool_groups.at(pool_group_index);
  state_->group_name = group.name;
  state_->group_uuid = group.uuid;
  for (const auto& member : group.members) {
    const bool seen = std::any_of(state_->pools.begin(), state_->pools.end(),
                                  [&](const auto& p) { return p.pool_index == member.pool_index; });
    if (!seen) {
      auto health = health_of ? health_of(member.pool_index) : health_settings{};
      state_->pools.push_back(make_pool_state(config, member, service_uri, health));
    }
  }
  std::stable_sort(state_->pools.begin(), state_->pools.end(),
                   [](const auto& a, const auto& b) { return a.priority > b.priority; });
}

pool_group_balancer::~pool_group_balancer() = default;

std::optional<server_choice>
pool_group_balancer::pick(const std::optional<config::ip_address>& client_ip,
                          const exclude_list& exclude) {
  const std::lock_guard lock(state_->mutex);
  const auto now = clock::now();
  auto& pools = state_->pools;
  for (std::size_t level = 0; level < pools.size();) {
    std::size_t end = level;
    while (end < pools.size() && pools[end].priority == pools[level].priority) {
      ++end;
    }
    // The pools of this priority that can take the exchange, and their servers that can.
    std::vector<std::size_t> ready;
    std::vector<std::vector<std::size_t>> ready_servers;
    for (std::size_t p = level; p < end; ++p) {
      auto servers = candidates(pools[p], exclude, now);
      if (pools[p].enabled && pools[p].member_ratio > 0 && !servers.empty()) {
        ready.push_back(p);
        ready_servers.push_back(std::move(servers));
      }
    }
    if (!ready.empty()) {
      std::size_t chosen = 0;
      if (ready.size() > 1) {
        std::vector<weighted> items;
        for (const auto p : ready) {
          items.push_back({&pools[p].current_weight, pools[p].member_ratio});
        }
        chosen = smooth_weighted_pick(items);
      }
      auto& pool = pools[ready[chosen]];
      auto& server = pool.servers[pick_server(pool, ready_servers[chosen], client_ip)];
      ++server.active;
      ++server.requests;
      return server.choice;
    }
    level = end;
  }
  return std::nullopt;
}

void pool_group_balancer::finish(const server_choice& choice, exchange_outcome outcome,
                                 std::string failure) {
  const std::lock_guard lock(state_->mutex);
  pool_state* pool = nullptr;
  auto* server = state_->find(choice.pool_index, choice.server_index, &pool);
  if (server == nullptr) {
    return;
  }
  if (server->active > 0) {
    --server->active;
  }
  if (outcome == exchange_outcome::success) {
    return;
  }
  ++server->failures;
  server->last_failure = failure.empty() ? std::string(outcome_text(outcome)) : std::move(failure);
  if (outcome == exchange_outcome::connection_error || outcome == exchange_outcome::timeout) {
    server->up = false;
    server->passive_down = true;
    server->retry_at = clock::now() + pool->health.passive_hold_down;
    server->passes_in_row = 0;
  }
}

asio::awaitable<void> pool_group_balancer::run_monitor(check_fn check) {
  auto& s = *state_;
  if (s.stopping) {
    co_return;
  }
  const auto executor = co_await asio::this_coro::executor;
  // All loops and checks on one strand: a loop may then cancel its check (cancellation signals
  // are not thread-safe) while the io_context runs on several threads.
  const asio::any_io_executor strand = asio::make_strand(executor);
  const auto shared_check = std::make_shared<const check_fn>(std::move(check));
  const auto running = std::make_shared<std::atomic<std::size_t>>(0);
  for (std::size_t p = 0; p < s.pools.size(); ++p) {
    if (!s.pools[p].health.active || !s.pools[p].enabled) {
      continue;
    }
    for (std::size_t i = 0; i < s.pools[p].servers.size(); ++i) {
      if (!s.pools[p].servers[i].usable) {
        continue;
      }
      ++*running;
      asio::co_spawn(strand, s.monitor_server(p, i, shared_check),
                     [running](std::exception_ptr) { --*running; });
    }
  }
  asio::steady_timer timer(executor);
  while (*running > 0) {
    co_await wait_for(timer, idle_slice);
  }
}

void pool_group_balancer::stop() noexcept {
  state_->stopping = true;
}

std::vector<server_status> pool_group_balancer::status() const {
  const std::lock_guard lock(state_->mutex);
  const auto now = clock::now();
  std::vector<server_status> out;
  for (auto& pool : state_->pools) {
    for (auto& server : pool.servers) {
      refresh(server, pool, now);
      server_status s;
      s.pool_name = pool.name;
      s.address = server.address;
      s.up = server.up;
      s.enabled = pool.enabled && server.enabled;
      s.active = server.active;
      s.requests = server.requests;
      s.failures = server.failures;
      s.last_failure = server.last_failure;
      out.push_back(std::move(s));
    }
  }
  return out;
}

const std::string& pool_group_balancer::group_name() const noexcept {
  return state_->group_name;
}

const std::string& pool_group_balancer::group_uuid() const noexcept {
  return state_->group_uuid;
}

} // namespace icapkit::client
