#include "icapkit/proxy/request_record.hpp"

#include "icapkit/log/app_log_record.hpp"
#include "icapkit/proxy/request_target.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace icapkit::proxy::detail {

void begin_record(request_context& ctx) {
  ctx.record = log::make_record(log::record_source::proxy, ++ctx.state.next_log_id,
                                std::chrono::system_clock::now());
  ctx.record.client_ip = ctx.peer.ip;
  ctx.record.client_src_port = ctx.peer.port;
}

void describe_request(request_context& ctx, const codec::http_request_head& head) {
  auto& r = ctx.record;
  r.method = head.method;
  if (auto host = head.headers.get("Host")) {
    r.host = std::string(*host);
  }
  auto target = std::string_view(head.target);
  std::string origin;
  if (!target.starts_with('/')) {
    upstream_target ignored;
    std::string authority;
    if (!split_absolute(target, ignored, origin, &authority)) {
      return;
    }
    r.host = authority; // the target names the host; a Host field is replaced (RFC 9112 3.2.2)
    target = origin;
  }
  const auto q = target.find('?');
  r.uri_path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    r.uri_query = std::string(target.substr(q + 1));
  }
}

void finish_record(request_context& ctx) {
  auto& r = ctx.record;
  if (!r.method && !ctx.head.method.empty()) {
    r.method = ctx.head.method;
  }
  if (!ctx.refused.empty()) {
    // Not an ICAP condition, so no ADF_ICAP_* code: the sentence says what happened.
    std::string sentence = r.significance.value_or("");
    if (!sentence.empty()) {
      sentence += ' ';
    }
    sentence += "The proxy refused the request (" + ctx.refused + ")";
    sentence += r.response_code ? "; the client got HTTP " + std::to_string(*r.response_code) + "."
                                : "; the connection was closed without an answer.";
    r.significant = true;
    r.significance = std::move(sentence);
  }
  if (ctx.state.options.on_record) {
    ctx.state.options.on_record(r);
  }
  if (ctx.state.options.on_request_record) {
    ctx.state.options.on_request_record(r, ctx.head);
  }
}

// The record's upstream object and /stats: stale idle connections, extra attempts (the object
// appears when there was more than one).
void note_upstream(request_context& ctx, const send_report& report) {
  auto& counters = ctx.state.counters;
  for (std::uint32_t i = 0; i < report.stale_closed; ++i) {
    counters.count_upstream_stale();
  }
  for (std::size_t i = 0; i < report.retries.size(); ++i) {
    counters.count_upstream_retry();
  }
  if (report.attempts > 1) {
    auto& upstream = ctx.record.upstream ? *ctx.record.upstream : ctx.record.upstream.emplace();
    upstream.attempts = report.attempts;
    upstream.retries = report.retries;
  }
}

// An upstream failure answered 502/504: in the record (with the attempts) and in /stats.
void note_upstream_error(request_context& ctx, const std::string& message) {
  ctx.state.counters.count_upstream_error();
  auto& upstream = ctx.record.upstream ? *ctx.record.upstream : ctx.record.upstream.emplace();
  if (!upstream.attempts) {
    upstream.attempts = 1;
  }
  upstream.error = message;
}

std::optional<config::ip_address> client_address(const request_context& ctx) {
  return ctx.peer.address;
}

void note_enforcement(request_context& ctx, const enforcement_result& result) {
  for (const auto& r : result.request_logs) {
    ctx.record.icap_log.request_logs.push_back(r);
  }
  // Blocked beats failed beats modified beats passed, over the REQMOD and RESPMOD steps.
  log::icap_request_log step;
  step.action = result.action;
  ctx.final_actions.push_back(std::move(step));
  ctx.record.icap_log.action = log::summarise_actions(ctx.final_actions);
  auto& counters = ctx.state.counters;
  using outcome = stats::icap_outcome;
  auto o = outcome::passed;
  if (result.failed) {
    o = result.timed_out                       ? outcome::timedout
        : result.significance.server_error     ? outcome::server_error
        : result.significance.connection_error ? outcome::error
                                               : outcome::error;
  } else if (result.significance.action == log::icap_action::blocked) {
    o = outcome::blocked;
  } else if (result.significance.action == log::icap_action::modified) {
    o = outcome::modified;
  }
  counters.count_icap(o, result.slow, result.latency);
  for (std::size_t i = 0; i < result.failovers; ++i) {
    counters.count_icap_failover();
  }
  if (result.failed) {
    counters.count_fail_action(result.what == enforcement_result::next::fail_closed);
  }
}

void merge_significance(log::significance_conditions& into, const log::significance_conditions& c) {
  if (static_cast<int>(c.action) > static_cast<int>(into.action)) {
    into.action = c.action;
  }
  into.slow = into.slow || c.slow;
  into.timed_out = into.timed_out || c.timed_out;
  into.body_too_big = into.body_too_big || c.body_too_big;
  into.connection_error = into.connection_error || c.connection_error;
  into.server_error = into.server_error || c.server_error;
  into.out_of_memory = into.out_of_memory || c.out_of_memory;
  if (into.failure.empty()) {
    into.failure = c.failure;
  }
}

} // namespace icapkit::proxy::detail
