#include "icapkit/server/server.hpp"

#include "icapkit/net/errc.hpp"
#include "icapkit/net/listener.hpp"
#include "icapkit/net/self_signed.hpp"
#include "icapkit/server/connection.hpp"
#include "icapkit/server/server_state.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <csignal>
#include <fstream>
#include <stdexcept>

namespace icapkit::server {

namespace detail {
namespace {

constexpr std::chrono::milliseconds accept_backoff{50};     // after EMFILE and friends
constexpr std::chrono::milliseconds final_close_wait{2000}; // after force-closing connections

// Runs on the connection's worker from the start, so the stream and the connection are made on
// the thread that owns worker::connections.
asio::awaitable<void> start_connection(std::shared_ptr<server_state> state, worker* owner,
                                       asio::ip::tcp::socket socket, bool tls, bool overloaded) {
  const int fd = socket.native_handle();
  auto stream = tls ? std::make_unique<net::stream>(std::move(socket), state->tls_context)
                    : std::make_unique<net::stream>(std::move(socket));
  auto conn = std::make_unique<connection>(*state, *owner, std::move(stream), fd);
  co_await run_connection(std::move(conn), *state, overloaded);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server_state> state, std::size_t index) {
  auto& entry = state->listeners[index];
  asio::steady_timer backoff(entry.acceptor.get_executor());
  while (!state->stopping) {
    const auto target = state->next_worker.fetch_add(1) % state->workers.size();
    auto& owner = *state->workers[target];
    asio::ip::tcp::socket socket(owner.context);
    const auto [ec] = co_await entry.acceptor.async_accept(
        socket, asio::experimental::as_tuple(asio::use_awaitable));
    if (state->stopping || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      state->report("accept failed: " + ec.message());
      backoff.expires_after(accept_backoff);
      co_await backoff.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      continue;
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    const bool overloaded = state->options.max_connections > 0 &&
                            state->active.load() >= state->options.max_connections;
    state->active.fetch_add(1);
    auto& exec = owner.context;
    asio::co_spawn(exec, start_connection(state, &owner, std::move(socket), entry.tls, overloaded),
                   asio::detached);
  }
}

// The TLS context for the TLS listeners: the given certificate, or a fresh self-signed one.
std::error_code prepare_tls(server_state& state, std::string& detail) {
  auto tls = state.options.tls;
  const bool given = !tls.cert_file.empty() || !tls.cert_pem.empty();
  if (!given) {
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
    detail = error.detail.empty() ? error.code.message() : error.detail;
    return error.code;
  }
  if (!state.options.write_cert.empty() && !tls.cert_pem.empty()) {
    std::ofstream out(state.options.write_cert, std::ios::binary | std::ios::trunc);
    out << tls.cert_pem;
    if (!out.flush()) {
      detail = state.options.write_cert + ": cannot write the certificate";
      return std::make_error_code(std::errc::io_error);
    }
  }
  return {};
}

std::error_code open_listener(server_state& state, const std::string& address, bool tls,
                              std::string& detail) {
  net::error_info error;
  const auto endpoint = net::parse_endpoint(address, error);
  if (error.code) {
    detail = address;
    return error.code;
  }
  asio::ip::tcp::acceptor acceptor(state.workers.front()->context);
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec); // "[::]:N" beside "0.0.0.0:N"
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
    detail = address + ": " + ec.message();
    return make_error_code(net::errc::bind_failed);
  }
  state.endpoints.push_back(acceptor.local_endpoint(ec));
  state.listeners.push_back(listening_socket{std::move(acceptor), tls});
  return {};
}

// Joins the workers and drops every socket and context; the state can then be destroyed.
void shut_down(server_state& state) {
  for (auto& w : state.workers) {
    w->guard.reset();
    w->context.stop();
  }
  for (auto& w : state.workers) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
  state.listeners.clear();
  state.workers.clear();
}

} // namespace
} // namespace detail

server::server(server_options options)
    : state_(std::make_shared<detail::server_state>(std::move(options))) {}

server::~server() {
  stop();
}

void server::add_service(std::shared_ptr<service> svc) {
  if (!svc) {
    throw std::invalid_argument("server::add_service: null service");
  }
  if (state_->started) {
    throw std::logic_error("server::add_service: the server has started");
  }
  for (auto name : svc->names()) {
    if (!name.empty() && name.front() == '/') {
      name.erase(0, 1);
    }
    if (name.empty() || !state_->services.emplace(name, svc).second) {
      throw std::invalid_argument("server::add_service: service name '" + name +
                                  "' is empty or already taken");
    }
  }
}

std::error_code server::start(std::string& detail) {
  auto& state = *state_;
  if (state.started.exchange(true)) {
    detail = "already started";
    return std::make_error_code(std::errc::operation_in_progress);
  }
  auto threads =
      state.options.threads != 0 ? state.options.threads : std::thread::hardware_concurrency();
  threads = std::max(threads, 1u);
  for (unsigned i = 0; i < threads; ++i) {
    state.workers.push_back(std::make_unique<detail::worker>());
  }
  std::error_code ec;
  if (!state.options.tls_listen.empty()) {
    ec = detail::prepare_tls(state, detail);
  }
  for (const auto& address : state.options.listen) {
    if (!ec) {
      ec = detail::open_listener(state, address, false, detail);
    }
  }
  for (const auto& address : state.options.tls_listen) {
    if (!ec) {
      ec = detail::open_listener(state, address, true, detail);
    }
  }
  if (ec) {
    detail::shut_down(state);
    std::lock_guard lock(state.mutex);
    state.stopped = true;
    return ec;
  }
  for (std::size_t i = 0; i < state.listeners.size(); ++i) {
    asio::co_spawn(state.workers.front()->context, detail::accept_loop(state_, i), asio::detached);
  }
  for (auto& w : state.workers) {
    w->thread = std::thread([&context = w->context] { context.run(); });
  }
  return {};
}

std::vector<asio::ip::tcp::endpoint> server::bound_endpoints() const {
  return state_->endpoints;
}

std::vector<std::string> server::bound_addresses() const {
  std::vector<std::string> out;
  for (const auto& ep : state_->endpoints) {
    const auto address = ep.address().to_string();
    out.push_back((ep.address().is_v6() ? "[" + address + "]" : address) + ":" +
                  std::to_string(ep.port()));
  }
  return out;
}

void server::stop() {
  auto& state = *state_;
  {
    std::lock_guard lock(state.mutex);
    if (state.stopped) {
      return; // also after a failed start()
    }
  }
  if (!state.started || state.stopping.exchange(true)) {
    wait();
    return;
  }
  // Listeners close and idle keep-alive connections go at once; busy ones finish, their answers
  // carrying Connection: close (connection::must_close looks at `stopping`).
  asio::post(state.workers.front()->context, [s = state_] {
    for (auto& l : s->listeners) {
      std::error_code ignored;
      l.acceptor.close(ignored);
    }
  });
  const auto each_connection = [&state](void (detail::connection::*what)() noexcept) {
    for (auto& w : state.workers) {
      asio::post(w->context, [&owner = *w, what] {
        const auto snapshot = owner.connections; // closing may unregister
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
    state.changed.wait_for(lock, state.options.stop_grace, drained);
  }
  if (!drained()) {
    each_connection(&detail::connection::force_close);
    std::unique_lock lock(state.mutex);
    state.changed.wait_for(lock, detail::final_close_wait, drained);
  }
  detail::shut_down(state);
  std::lock_guard lock(state.mutex);
  state.stopped = true;
  state.changed.notify_all();
}

void server::wait() {
  auto& state = *state_;
  if (!state.started) {
    return;
  }
  std::unique_lock lock(state.mutex);
  state.changed.wait(lock, [&state] { return state.stopped; });
}

bool server::running() const noexcept {
  return state_->started && !state_->stopping;
}

std::size_t server::active_connections() const noexcept {
  return state_->active.load();
}

int stop_on_signal(server& srv) {
  asio::io_context context;
  asio::signal_set signals(context, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&received](const std::error_code& ec, int number) {
    if (!ec) {
      received = number;
    }
  });
  context.run();
  srv.stop();
  return received;
}

} // namespace icapkit::server
