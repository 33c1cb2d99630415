#include "icapkit/proxy/enforcement.hpp"

#include "icapkit/client/failover.hpp"
#include "icapkit/client/profile_settings.hpp"
#include "icapkit/log/icap_log.hpp"

#include <algorithm>
#include <utility>

namespace icapkit::proxy {

namespace {

client::exchange_outcome outcome_of(const client::exchange_result& r) noexcept {
  if (r.result.outcome != client::verdict_outcome::failed) {
    return client::exchange_outcome::success;
  }
  // A server that is slow to answer, or answers an error, is alive: only failing to reach it or
  // losing it mid-exchange (connect, TLS, reset, EOF) takes it out of rotation at once.
  return client::is_connection_failure(r) ? client::exchange_outcome::connection_error
                                          : client::exchange_outcome::server_error;
}

} // namespace

client::client_settings settings_of(const config::icap_profile& profile) {
  client::client_settings settings;
  client::apply_profile(profile, settings);
  // A server that goes quiet is a response timeout too, not an earlier idle cut.
  settings.io_timeout = settings.response_timeout;
  settings.connect_timeout = std::min(settings.response_timeout, std::chrono::milliseconds{5000});
  settings.user_agent = "icapkit-proxy";
  return settings;
}

enforcer::enforcer(asio::any_io_executor executor, const config::icap_profile& profile,
                   client::pool_group_balancer& balancer, std::size_t spool_memory,
                   std::string temp_dir)
    : executor_(std::move(executor)), profile_(profile), balancer_(balancer),
      spool_memory_(spool_memory), temp_dir_(std::move(temp_dir)) {}

enforcer::~enforcer() = default;

void enforcer::close_idle() noexcept {
  for (auto& [index, c] : clients_) {
    c->close_idle();
  }
}

client::client& enforcer::client_for(const client::server_choice& choice) {
  auto& slot = clients_[choice.pool_index];
  if (!slot) {
    auto settings = settings_of(profile_);
    settings.tls = choice.tls;
    settings.pool_name = balancer_.group_name();
    if (!balancer_.group_uuid().empty()) {
      settings.pool_uuid = balancer_.group_uuid();
    }
    slot = std::make_unique<client::client>(executor_, std::move(settings));
  }
  return *slot;
}

namespace {
// The body of one exchange as the enforcer reads it (a spool, or nothing).
std::function<std::unique_ptr<codec::body_source>()> opener_of(const codec::body_spool* body) {
  if (body == nullptr) {
    return nullptr;
  }
  return [body] { return body->reader(); };
}
} // namespace

asio::awaitable<enforcement_result>
enforcer::check_request(const codec::http_request_head& request, const codec::body_spool* body,
                        std::optional<config::ip_address> client_ip) {
  client::exchange_request exchange;
  exchange.method = codec::icap_method::reqmod;
  exchange.http_request = request;
  body_access access;
  access.open = opener_of(body);
  co_return co_await run(std::move(exchange), std::move(access), std::move(client_ip));
}

asio::awaitable<enforcement_result>
enforcer::check_request(const codec::http_request_head& request, const streaming_body& body,
                        std::optional<config::ip_address> client_ip) {
  client::exchange_request exchange;
  exchange.method = codec::icap_method::reqmod;
  exchange.http_request = request;
  body_access access;
  access.open = [&body] { return body.source(); };
  access.ready = [&body] { return body.wait(); };
  co_return co_await run(std::move(exchange), std::move(access), std::move(client_ip));
}

asio::awaitable<enforcement_result>
enforcer::check_response(const codec::http_request_head& request,
                         const codec::http_response_head& response, const codec::body_spool* body,
                         std::optional<config::ip_address> client_ip) {
  client::exchange_request exchange;
  exchange.method = codec::icap_method::respmod;
  exchange.http_request = request;
  exchange.http_response = response;
  body_access access;
  access.open = opener_of(body);
  co_return co_await run(std::move(exchange), std::move(access), std::move(client_ip));
}

asio::awaitable<enforcement_result> enforcer::run(client::exchange_request request,
                                                  body_access body,
                                                  std::optional<config::ip_address> client_ip) {
  enforcement_result out;
  std::vector<std::pair<std::size_t, std::size_t>> tried;
  // Every attempt shares the profile's response_timeout: a failover never makes the client wait
  // longer than one exchange could.
  const auto deadline = std::chrono::steady_clock::now() + settings_of(profile_).response_timeout;
  std::string not_retried;
  bool retrying = false; // the previous attempt failed in a way another server may not
  for (;;) {
    auto choice = balancer_.pick(client_ip, tried);
    if (!choice) {
      if (out.request_logs.empty()) {
        // No server is up: nothing was sent, the load balancer logs a connection error.
        log::icap_request_log record;
        record.action = log::icap_action::failed;
        record.icap_method = request.method == codec::icap_method::respmod
                                 ? log::avi_icap_method::respmod
                                 : log::avi_icap_method::reqmod;
        record.vendor = client::to_log_vendor(profile_.vendor);
        record.pool_name = log::crc_string{balancer_.group_name(), std::nullopt};
        if (!balancer_.group_uuid().empty()) {
          record.pool_uuid = balancer_.group_uuid();
        }
        out.request_logs.push_back(std::move(record));
        out.significance.failure =
            "no ICAP server of pool group " + balancer_.group_name() + " is up";
        out.significance.connection_error = true;
      } else {
        // The last attempt's failure stands (its significance is kept), and no server is left.
        out.significance.failure += " (no other ICAP server is up)";
      }
      out.failed = true;
      out.significance.action = log::icap_action::failed;
      break;
    }
    tried.emplace_back(choice->pool_index, choice->server_index);
    if (retrying) {
      ++out.failovers;
    }
    auto& icap = client_for(*choice);
    std::unique_ptr<codec::body_source> source;
    if (body.open) {
      source = body.open();
      request.body = source.get();
      request.reopen_body = body.open;
      request.body_ready = body.ready;
    } else {
      request.body = nullptr;
      request.reopen_body = nullptr;
    }
    auto sink = std::make_unique<spool_sink>(spool_memory_, temp_dir_);
    request.content_sink = sink.get();
    request.service = choice->service;
    request.deadline = deadline;
    const auto started = std::chrono::steady_clock::now();
    auto result = co_await icap.exchange(request);
    const auto finished = std::chrono::steady_clock::now();
    const auto elapsed = finished - started;
    const auto outcome = outcome_of(result);
    balancer_.finish(*choice, outcome, result.error_message);
    if (result.timed_out && result.record.latency.value_or(0) == 0) {
      // Nothing was sent before the deadline (pool wait, connect): the time still counts.
      result.record.latency = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
    }
    out.request_logs.push_back(result.record);
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
    // The proxy holds the whole body (a spool, also while it streams): any attempt can start
    // again from its first byte.
    const auto decision = client::decide_failover(result, true, deadline - finished);
    if (decision.retry && tried.size() < client::max_failover_attempts) {
      // The failure stays in this attempt's request log; the next server gets the request.
      out.significance = result.significance;
      out.slow = result.slow;
      out.timed_out = result.timed_out;
      retrying = true;
      continue;
    }
    if (decision.retry) {
      not_retried = "not sent to another server: " + std::to_string(client::max_failover_attempts) +
                    " attempts were made";
    } else {
      not_retried = decision.not_retried;
    }
    out.significance = result.significance;
    out.slow = result.slow;
    out.timed_out = result.timed_out;
    switch (result.result.outcome) {
    case client::verdict_outcome::failed:
      out.failed = true;
      if (!not_retried.empty()) {
        out.significance.failure += (out.significance.failure.empty() ? "" : " (") + not_retried +
                                    (out.significance.failure.empty() ? "" : ")");
      }
      break;
    case client::verdict_outcome::passed:
      out.what = enforcement_result::next::forward_original;
      break;
    case client::verdict_outcome::modified:
    case client::verdict_outcome::blocked:
      if (result.returned_response) {
        out.what = enforcement_result::next::respond;
        out.response = std::move(result.returned_response);
      } else if (result.returned_request && request.method == codec::icap_method::reqmod) {
        out.what = enforcement_result::next::forward_modified;
        out.modified_request = std::move(result.returned_request);
      } else {
        out.what = enforcement_result::next::forward_original;
      }
      out.has_body = result.returned_body_bytes > 0 || sink->spool().size() > 0;
      out.body = std::move(sink);
      break;
    }
    break;
  }
  out.action = out.failed ? log::icap_action::failed
                          : out.request_logs.back().action.value_or(log::icap_action::passed);
  if (out.failed && profile_.fail_action == config::icap_fail_action::fail_closed) {
    out.what = enforcement_result::next::fail_closed;
  } else if (out.failed) {
    out.what = enforcement_result::next::forward_original;
  }
  co_return out;
}

} // namespace icapkit::proxy
