// The per-connection coroutines: the client keep-alive loop (heads, errors, drain) and the admin
// endpoint's GET /stats.
#include "icapkit/net/stream.hpp"
#include "icapkit/proxy/errc.hpp"
#include "icapkit/proxy/proxy_state.hpp"
#include "icapkit/proxy/request_flow.hpp"
#include "icapkit/proxy/request_record.hpp"

#include <nlohmann/json.hpp>

namespace icapkit::proxy::detail {

namespace {

// Decrements the active count however the coroutine ends.
struct active_guard {
  proxy_state& state;
  ~active_guard() { state.connection_closed(); }
};

client_info client_of(const net::stream& stream, bool tls) {
  client_info info;
  auto address = stream.remote_endpoint().address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  info.ip = address.to_string();
  info.port = stream.remote_endpoint().port();
  info.address = config::ip_address::parse(info.ip);
  info.tls = tls;
  return info;
}

// The error a failed head read becomes for the client, or 0 for a silent close.
int status_for_head_error(const std::error_code& ec) {
  if (ec.category() == proxy_category()) {
    return status_for(static_cast<errc>(ec.value()));
  }
  if (net::is_timeout(ec)) {
    return 408;
  }
  return 0; // reset, closed: nobody to answer
}

} // namespace

void connection::close_if_idle() noexcept {
  if (!busy_) {
    stream_.close();
  }
}

void connection::force_close() noexcept {
  stream_.close();
}

asio::awaitable<void> run_connection(std::shared_ptr<proxy_state> state, worker* owner,
                                     std::unique_ptr<net::stream> stream, bool tls) {
  active_guard guard{*state};
  state->counters.connection_opened();
  auto& options = state->options;
  connection registration(*owner, *stream);
  if (tls) {
    registration.set_busy(true);
    stream->set_idle_timeout(options.header_timeout);
    std::error_code ec;
    co_await stream->handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      state->event("TLS handshake with " + stream->remote_endpoint().address().to_string() +
                   " failed: " + ec.message());
      stream->close();
      co_return;
    }
    registration.set_busy(false);
  }
  http_reader reader(*stream, options.limits);
  const auto peer = client_of(*stream, tls);
  for (;;) {
    if (state->stopping && !reader.has_buffered_bytes()) {
      break;
    }
    registration.set_busy(false);
    // Waiting for a request: the idle timeout; once it starts, the whole head has header_timeout
    // more (a client trickling a head byte by byte is cut off).
    stream->set_idle_timeout(reader.has_buffered_bytes() ? options.header_timeout
                                                         : options.idle_timeout);
    stream->set_deadline(std::chrono::steady_clock::now() + options.idle_timeout +
                         options.header_timeout);
    std::error_code ec;
    auto head = co_await reader.read_request_head(ec);
    registration.set_busy(true);
    request_context ctx(*state, *owner, *stream, reader);
    ctx.peer = peer;
    ctx.started = std::chrono::steady_clock::now();
    if (!head) {
      // A reset or close between requests is the client leaving, not a request to log.
      if (const int status = status_for_head_error(ec); ec && status != 0 && !state->stopping) {
        begin_record(ctx);
        state->counters.count_http_request();
        // The record names what was parsed (no method at all when not even the request line
        // was: Avi's method enum has no "unknown"); a timed-out stream is closed, so the 408
        // goes nowhere and the record has no response_code.
        ctx.head.method.clear();
        if (const auto* partial = reader.partial_request_head()) {
          ctx.head = *partial;
          describe_request(ctx, ctx.head);
        }
        ctx.record.request_length = reader.head_bytes();
        const auto reason = ec.message();
        co_await refuse(ctx, status, reason);
        finish_record(ctx);
      }
      break;
    }
    state->counters.count_http_request();
    stream->clear_deadline();
    stream->set_idle_timeout(options.body_timeout);
    ctx.head = std::move(*head);
    ctx.head_bytes = reader.head_bytes();
    begin_record(ctx);
    const bool keep_alive = co_await handle_request(ctx);
    if (!keep_alive || !stream->is_open()) {
      break;
    }
  }
  if (stream->is_open()) {
    co_await stream->shutdown();
    stream->close();
  }
}

asio::awaitable<void> run_admin_connection(std::shared_ptr<proxy_state> state,
                                           std::unique_ptr<net::stream> stream) {
  stream->set_idle_timeout(std::chrono::seconds{10});
  http_reader reader(*stream, {});
  http_writer writer(*stream);
  for (;;) {
    std::error_code ec;
    auto head = co_await reader.read_request_head(ec);
    if (!head) {
      break;
    }
    codec::http_response_head response;
    std::string body;
    const auto path = std::string_view(head->target).substr(0, head->target.find('?'));
    if ((head->method == "GET" || head->method == "HEAD") && path == "/stats") {
      auto json = to_json(state->counters.snapshot());
      auto servers = nlohmann::json::array();
      for (const auto* balancer : {state->request_balancer.get(), state->response_balancer.get()}) {
        if (balancer == nullptr) {
          continue;
        }
        for (const auto& s : balancer->status()) {
          servers.push_back({{"pool_group", balancer->group_name()},
                             {"pool", s.pool_name},
                             {"address", s.address},
                             {"up", s.up},
                             {"enabled", s.enabled},
                             {"active", s.active},
                             {"requests", s.requests},
                             {"failures", s.failures},
                             {"last_failure", s.last_failure}});
        }
      }
      json["servers"] = std::move(servers);
      json["draining"] = state->stopping.load();
      body = json.dump(2) + "\n";
      response.headers.add("Content-Type", "application/json");
    } else {
      response.status = 404;
      response.reason = "Not Found";
      body = "GET /stats is the only resource here\n";
      response.headers.add("Content-Type", "text/plain");
    }
    response.headers.add("Content-Length", std::to_string(body.size()));
    response.headers.add("Cache-Control", "no-store");
    framing f;
    if (request_framing(*head, f) || f.kind != body_framing::none) {
      response.headers.add("Connection", "close");
    }
    co_await writer.write_head(response, ec);
    if (!ec && head->method != "HEAD") {
      co_await writer.write_body(body, false, ec);
    }
    if (ec || f.kind != body_framing::none) {
      break;
    }
  }
  stream->close();
}

} // namespace icapkit::proxy::detail
