#include "icapkit/proxy/proxy.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/net/listener.hpp"
#include "icapkit/net/self_signed.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/proxy/proxy_state.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>

namespace icapkit::proxy {

namespace detail {
namespace {

constexpr std::chrono::milliseconds accept_backoff{50};
constexpr std::chrono::milliseconds final_close_wait{300}; // after force-closing clients

asio::awaitable<void> start_connection(std::shared_ptr<proxy_state> state, worker* owner,
                                       asio::ip::tcp::socket socket, bool tls, bool admin) {
  auto stream = tls ? std::make_unique<net::stream>(std::move(socket), state->tls_context)
                    : std::make_unique<net::stream>(std::move(socket));
  if (admin) {
    connection registration(*owner, *stream); // idle between requests: the drain closes it
    co_await run_admin_connection(state, std::move(stream));
    state->connection_closed();
    co_return;
  }
  co_await run_connection(state, owner, std::move(stream), tls);
}

asio::awaitable<void> accept_loop(std::shared_ptr<proxy_state> state, std::size_t index) {
  auto& entry = state->listeners[index];
  asio::steady_timer backoff(entry.acceptor.get_executor());
  while (!state->stopping) {
    const auto target = entry.admin ? 0 : state->next_worker.fetch_add(1) % state->workers.size();
    auto& owner = *state->workers[target];
    asio::ip::tcp::socket socket(*owner.context);
    const auto [ec] = co_await entry.acceptor.async_accept(
        socket, asio::experimental::as_tuple(asio::use_awaitable));
    if (state->stopping || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      state->event("accept failed: " + ec.message());
      backoff.expires_after(accept_backoff);
      co_await backoff.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      continue;
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    state->active.fetch_add(1);
    asio::co_spawn(*owner.context,
                   start_connection(state, &owner, std::move(socket), entry.tls, entry.admin),
                   asio::detached);
  }
}

std::error_code open_listener(proxy_state& state, const std::string& address, bool tls, bool admin,
                              std::string& detail) {
  net::error_info error;
  const auto endpoint = net::parse_endpoint(address, error);
  if (error.code) {
    detail = net::describe(error);
    return error.code;
  }
  asio::ip::tcp::acceptor acceptor(*state.workers.front()->context);
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    detail = "cannot listen on " + address + ": " + ec.message();
    return make_error_code(net::errc::bind_failed);
  }
  state.endpoints.push_back(acceptor.local_endpoint(ec));
  state.listeners.push_back(listening_socket{std::move(acceptor), tls, admin});
  return {};
}

std::error_code prepare_tls(proxy_state& state, std::string& detail) {
  auto tls = state.options.tls;
  if (tls.cert_file.empty() && tls.cert_pem.empty()) {
    try {
      auto made = net::generate_self_signed();
      tls.cert_pem = std::move(made.cert_pem);
      tls.key_pem = std::move(made.key_pem);
    } catch (const std::exception& e) {
      detail = std::string("self-signed certificate: ") + e.what();
      return make_error_code(net::errc::tls_bad_file);
    }
  }
  net::error_info error;
  state.tls_context = net::make_server_context(tls, error);
  if (!state.tls_context) {
    detail = net::describe(error);
    return error.code;
  }
  return {};
}

// OPTIONS to the server's service; a 200 within the timeout passes.
asio::awaitable<void> run_monitor(client::pool_group_balancer* balancer) {
  auto executor = co_await asio::this_coro::executor;
  auto clients = std::make_shared<std::map<std::size_t, std::unique_ptr<client::client>>>();
  // A named function object: g++ 12 mishandles temporaries created inside co_await.
  client::pool_group_balancer::check_fn check =
      [executor, clients](const client::server_choice& choice,
                          std::chrono::milliseconds timeout) -> asio::awaitable<bool> {
    auto& slot = (*clients)[choice.pool_index];
    if (!slot) {
      client::client_settings settings;
      settings.tls = choice.tls;
      settings.user_agent = "icapkit-proxy-health";
      settings.vendor = log::icap_vendor::generic;
      settings.connect_timeout = timeout;
      settings.io_timeout = timeout;
      settings.response_timeout = timeout;
      slot = std::make_unique<client::client>(executor, std::move(settings));
    }
    // Each check bypasses the OPTIONS cache: the answer itself is the health signal.
    auto reply = co_await slot->options(choice.service, false);
    co_return reply.ok() && reply.latency <= timeout;
  };
  co_await balancer->run_monitor(std::move(check));
}

void shut_down(proxy_state& state) {
  if (state.request_balancer) {
    state.request_balancer->stop();
  }
  if (state.response_balancer) {
    state.response_balancer->stop();
  }
  state.monitor_context.stop();
  if (state.monitor_thread.joinable()) {
    state.monitor_thread.join();
  }
  for (auto& w : state.workers) {
    w->guard.reset();
    w->context->stop();
  }
  for (auto& w : state.workers) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
  // Objects bound to a worker's context must go before it: the listeners, the idle pooled
  // connections; then the context itself, which destroys coroutines a forced drain abandoned
  // (they hold the state, so without this the state would never be freed).
  state.listeners.clear();
  for (auto& w : state.workers) {
    if (w->request_enforcer) {
      w->request_enforcer->close_idle();
    }
    if (w->response_enforcer) {
      w->response_enforcer->close_idle();
    }
    if (w->upstream) {
      w->upstream->close_idle();
    }
    w->context.reset();
  }
}

} // namespace
} // namespace detail

proxy::proxy(proxy_options options)
    : state_(std::make_shared<detail::proxy_state>(std::move(options))) {}

proxy::~proxy() {
  stop();
}

std::error_code proxy::start(std::string& detail) {
  auto& state = *state_;
  auto& o = state.options;
  state.upstream = o.upstream ? o.upstream : o.config.upstream;
  auto listen = o.listen;
  if (listen.empty() && o.tls_listen.empty()) {
    if (!o.config.listen) {
      detail = "no listen address: give --listen or \"listen\" in the config";
      return make_error_code(net::errc::bad_address);
    }
    const auto& l = *o.config.listen;
    listen.push_back((l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host) + ":" +
                     std::to_string(l.port));
  }
  const auto& cfg = o.config;
  if (!cfg.pool_groups.empty()) {
    state.request_balancer = std::make_unique<client::pool_group_balancer>(
        cfg, cfg.profile.pool_group_index, cfg.profile.service_uri,
        [&cfg](std::size_t pool) { return client::health_settings_for(cfg, pool); });
    if (cfg.response_profile) {
      state.response_balancer = std::make_unique<client::pool_group_balancer>(
          cfg, cfg.response_profile->pool_group_index, cfg.response_profile->service_uri,
          [&cfg](std::size_t pool) { return client::health_settings_for(cfg, pool); });
    }
  }
  const auto threads =
      std::max(1u, o.threads != 0 ? o.threads : std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<detail::worker>();
    auto exec = w->context->get_executor();
    if (state.request_balancer) {
      w->request_enforcer = std::make_unique<enforcer>(exec, cfg.profile, *state.request_balancer,
                                                       o.spool_memory, o.temp_dir);
    }
    if (state.response_balancer) {
      w->response_enforcer = std::make_unique<enforcer>(
          exec, *cfg.response_profile, *state.response_balancer, o.spool_memory, o.temp_dir);
    }
    upstream_settings us;
    us.tls = o.upstream_tls;
    us.connect_timeout = o.upstream_connect_timeout;
    us.io_timeout = o.body_timeout;
    us.response_timeout = o.upstream_timeout;
    w->upstream = std::make_unique<upstream_client>(exec, us);
    state.workers.push_back(std::move(w));
  }
  std::error_code ec;
  if (!o.tls_listen.empty()) {
    ec = detail::prepare_tls(state, detail);
  }
  for (const auto& a : listen) {
    if (!ec) {
      ec = detail::open_listener(state, a, false, false, detail);
    }
  }
  for (const auto& a : o.tls_listen) {
    if (!ec) {
      ec = detail::open_listener(state, a, true, false, detail);
    }
  }
  if (!ec && !o.admin.empty()) {
    ec = detail::open_listener(state, o.admin, false, true, detail);
  }
  if (ec) {
    state.listeners.clear();
    state.workers.clear();
    std::lock_guard lock(state.mutex);
    state.stopped = true;
    return ec;
  }
  state.started = true;
  for (std::size_t i = 0; i < state.listeners.size(); ++i) {
    asio::co_spawn(*state.workers.front()->context, detail::accept_loop(state_, i), asio::detached);
  }
  for (auto& w : state.workers) {
    w->thread = std::thread([&context = *w->context] { context.run(); });
  }
  if (state.request_balancer) {
    asio::co_spawn(state.monitor_context, detail::run_monitor(state.request_balancer.get()),
                   asio::detached);
  }
  if (state.response_balancer) {
    asio::co_spawn(state.monitor_context, detail::run_monitor(state.response_balancer.get()),
                   asio::detached);
  }
  state.monitor_thread = std::thread([&state] {
    auto guard = asio::make_work_guard(state.monitor_context);
    state.monitor_context.run();
  });
  return {};
}

namespace {
std::string format_endpoint(const asio::ip::tcp::endpoint& ep) {
  const auto address = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}
} // namespace

std::vector<std::string> proxy::listen_addresses() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < state_->listeners.size(); ++i) {
    if (!state_->listeners[i].tls && !state_->listeners[i].admin) {
      out.push_back(format_endpoint(state_->endpoints[i]));
    }
  }
  return out;
}

std::vector<std::string> proxy::tls_listen_addresses() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < state_->listeners.size(); ++i) {
    if (state_->listeners[i].tls) {
      out.push_back(format_endpoint(state_->endpoints[i]));
    }
  }
  return out;
}

std::string proxy::admin_address() const {
  for (std::size_t i = 0; i < state_->listeners.size(); ++i) {
    if (state_->listeners[i].admin) {
      return format_endpoint(state_->endpoints[i]);
    }
  }
  return {};
}

void proxy::stop() {
  auto& state = *state_;
  {
    std::lock_guard lock(state.mutex);
    if (state.stopped) {
      return;
    }
  }
  if (!state.started || state.stopping.exchange(true)) {
    wait();
    return;
  }
  asio::post(*state.workers.front()->context, [s = state_] {
    for (auto& l : s->listeners) {
      std::error_code ignored;
      l.acceptor.close(ignored);
    }
  });
  const auto each_connection = [&state](void (detail::connection::*what)() noexcept) {
    for (auto& w : state.workers) {
      asio::post(*w->context, [&owner = *w, what] {
        const auto snapshot = owner.connections;
        for (auto* c : snapshot) {
          (c->*what)();
        }
      });
    }
  };
  each_connection(&detail::connection::close_if_idle);
  const auto drained = [&state] { return state.active.load() == 0; };
  {
    std::unique_lock lock(state.mutex);
    state.changed.wait_for(lock, state.options.drain_timeout, drained);
  }
  if (!drained()) {
    state.event("drain timeout: closing " + std::to_string(state.active.load()) +
                " connection(s) still busy");
    each_connection(&detail::connection::force_close);
    std::unique_lock lock(state.mutex);
    state.changed.wait_for(lock, detail::final_close_wait, drained);
  }
  detail::shut_down(state);
  std::lock_guard lock(state.mutex);
  state.stopped = true;
  state.changed.notify_all();
}

void proxy::wait() {
  auto& state = *state_;
  if (!state.started) {
    return;
  }
  std::unique_lock lock(state.mutex);
  state.changed.wait(lock, [&state] { return state.stopped; });
}

stats_snapshot proxy::stats() const {
  return state_->counters.snapshot();
}

int stop_on_signal(proxy& p) {
  asio::io_context context;
  asio::signal_set signals(context, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&received](const std::error_code& ec, int number) {
    if (!ec) {
      received = number;
    }
  });
  context.run();
  // Further signals during the drain are ignored: the drain is bounded by drain_timeout, and a
  // supervisor that signals its whole process group (coreutils timeout) must not cut it short.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  p.stop();
  return received;
}

} // namespace icapkit::proxy
