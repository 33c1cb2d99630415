#include "icapkit/proxy/request_flow.hpp"

#include "icapkit/codec/uri.hpp"
#include "icapkit/config/rule_match.hpp"
#include "icapkit/log/enums.hpp"
#include "icapkit/log/icap_log.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/proxy/errc.hpp"
#include "icapkit/proxy/request_forwarder.hpp"
#include "icapkit/proxy/request_record.hpp"
#include "icapkit/proxy/request_target.hpp"
#include "icapkit/proxy/response_relay.hpp"
#include "icapkit/proxy/streaming_body.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>
#include <string>
#include <utility>

namespace icapkit::proxy::detail {

namespace {

std::string_view reason_of(int status) noexcept {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Status";
  }
}

struct flow {
  request_context& ctx;
  upstream_target target;
  std::string origin_form; // the target as the upstream gets it
  framing request_body;
  log::significance_conditions significance;
  bool icap_checked = false;

  codec::http_request_head upstream_head(const codec::http_request_head& from) const {
    return detail::upstream_head(from, origin_form, ctx.peer.ip);
  }

  request_forwarder forwarder() { return {ctx, target, origin_form, significance}; }

  // The request does not go to ICAP: stream it through.
  asio::awaitable<bool> pass_through() {
    auto head = upstream_head(ctx.head);
    bool chunked = false;
    if (request_body.kind == body_framing::chunked) {
      head.headers.set("Transfer-Encoding", "chunked");
      chunked = true;
    }
    bool made = false;
    const std::function<std::unique_ptr<outgoing_body>()> make_body =
        [&]() -> std::unique_ptr<outgoing_body> {
      if (request_body.kind == body_framing::none || made) {
        return nullptr;
      }
      made = true;
      return std::make_unique<client_body>(ctx.reader);
    };
    // Both branches are lvalues: no std::function temporary inside the co_await expression
    // (g++ 12 can destroy such a temporary twice).
    const std::function<std::unique_ptr<outgoing_body>()> no_body;
    auto out = forwarder();
    co_return co_await out.forward(std::move(head), chunked,
                                   request_body.kind == body_framing::none ? no_body : make_body);
  }

  asio::awaitable<bool> check_with_icap() {
    icap_checked = true;
    auto& enf = *ctx.owner.request_enforcer;
    const auto& profile = enf.profile();
    const auto limit = profile.buffer_size_bytes();
    codec::body_spool spool(ctx.state.options.spool_memory, ctx.state.options.temp_dir);
    bool too_big = request_body.kind == body_framing::content_length && request_body.length > limit;
    if (!too_big && !profile.allow_204 && request_body.kind != body_framing::none) {
      co_return co_await check_streaming(limit);
    }
    if (request_body.kind != body_framing::none) {
      while (!too_big) {
        std::error_code ec;
        const auto piece = co_await ctx.reader.read_body(ec);
        if (ec) {
          co_await refuse_unreadable_body(ctx, ec);
          co_return false;
        }
        if (piece.empty()) {
          break;
        }
        if (auto append_ec = spool.append(piece)) {
          significance.out_of_memory = true;
          significance.action = log::icap_action::failed;
          co_await send_simple(ctx, 500, "cannot hold the request body: " + append_ec.message(),
                               true);
          co_return false;
        }
        too_big = spool.size() > limit;
      }
    }
    if (too_big) {
      co_return co_await body_too_big(spool);
    }
    auto head = upstream_head(ctx.head);
    head.headers.remove("Transfer-Encoding");
    if (request_body.kind != body_framing::none) {
      head.headers.set("Content-Length", std::to_string(spool.size()));
    }
    auto result = co_await enf.check_request(
        head, request_body.kind == body_framing::none ? nullptr : &spool, client_address(ctx));
    note_enforcement(ctx, result);
    merge_significance(significance, result.significance);
    auto out = forwarder();
    co_return co_await out.apply_decision(std::move(result), std::move(head),
                                          request_body.kind == body_framing::none ? nullptr
                                                                                  : &spool);
  }

  // What the feeder and check_streaming share. The feeder holds it until it has set `done`, so
  // it never touches anything of the flow's own frame after the flow returned.
  struct feed_state {
    feed_state(streaming_body b, const asio::any_io_executor& executor)
        : body(std::move(b)), done(executor) {}
    streaming_body body;
    done_event done; // set by the feeder when it stops reading
    bool too_big = false;
    std::error_code client_error;
  };

  // Reads the client's body into state->body until its end, an error, or past `limit`; then
  // wakes check_streaming.
  static asio::awaitable<void> feed(http_reader& reader, std::shared_ptr<feed_state> state,
                                    std::uint64_t limit) {
    auto& body = state->body;
    for (;;) {
      std::error_code ec;
      const auto piece = co_await reader.read_body(ec);
      if (ec) {
        state->client_error = ec;
        body.fail(ec);
        break;
      }
      if (piece.empty()) {
        body.finish();
        break;
      }
      if (auto append_ec = body.append(piece)) {
        state->client_error = append_ec;
        break;
      }
      if (body.size() > limit) {
        state->too_big = true;
        body.fail(make_error_code(errc::body_too_large));
        break;
      }
    }
    state->done.set();
  }

  // allow_204 off: the body goes to the ICAP server while it still arrives from the client
  // (Avi then buffers only the preview). Every byte is kept in a spool all the same, for the
  // upstream after a 204 in preview, a failover retry, or fail-open.
  asio::awaitable<bool> check_streaming(std::uint64_t limit) {
    auto& enf = *ctx.owner.request_enforcer;
    std::optional<std::uint64_t> declared;
    if (request_body.kind == body_framing::content_length) {
      declared = request_body.length;
    }
    auto executor = co_await asio::this_coro::executor;
    const auto feeding = std::make_shared<feed_state>(
        streaming_body(declared, ctx.state.options.spool_memory, ctx.state.options.temp_dir),
        executor);
    const auto& body = feeding->body;
    asio::co_spawn(executor, feed(ctx.reader, feeding, limit), asio::detached);
    auto head = upstream_head(ctx.head);
    head.headers.remove("Transfer-Encoding");
    if (!declared) {
      head.headers.remove("Content-Length"); // not known yet; the ICAP body is chunked anyway
    }
    auto result = co_await enf.check_request(head, body, client_address(ctx));
    co_await feeding->done.wait(); // the rest of the body, also after an early answer
    if (feeding->client_error) {
      co_await refuse_unreadable_body(ctx, feeding->client_error);
      co_return false;
    }
    if (feeding->too_big) {
      co_return co_await body_too_big(body.spool());
    }
    note_enforcement(ctx, result);
    merge_significance(significance, result.significance);
    auto out = forwarder();
    co_return co_await out.apply_decision(std::move(result), std::move(head), &body.spool());
  }

  // buffer_size exceeded: 413 (fail closed) or forwarded unscanned (fail open), significant.
  asio::awaitable<bool> body_too_big(const codec::body_spool& spool) {
    const auto& profile = ctx.owner.request_enforcer->profile();
    significance.body_too_big = true;
    significance.action = log::icap_action::failed;
    ctx.record.icap_log.action = log::icap_action::failed;
    ctx.state.counters.count_icap(stats::icap_outcome::error, false, std::chrono::microseconds{0});
    if (profile.buffer_size_exceed_action == config::icap_fail_action::fail_closed) {
      ctx.close_after = true; // the rest of the body is not read
      co_return co_await send_simple(ctx, 413,
                                     "the request body is larger than the ICAP buffer_size", true);
    }
    auto head = upstream_head(ctx.head);
    bool chunked = false;
    if (request_body.kind == body_framing::chunked) {
      head.headers.set("Transfer-Encoding", "chunked");
      chunked = true;
    }
    bool made = false;
    const std::function<std::unique_ptr<outgoing_body>()> make_body =
        [&]() -> std::unique_ptr<outgoing_body> {
      if (made) {
        return nullptr;
      }
      made = true;
      return std::make_unique<client_body>(ctx.reader, spool.reader());
    };
    auto out = forwarder();
    co_return co_await out.forward(std::move(head), chunked, make_body);
  }
};

} // namespace

asio::awaitable<bool> send_simple(request_context& ctx, int status, std::string_view text,
                                  bool close, bool proxy_error) {
  if (proxy_error && status >= 400) {
    ctx.state.counters.count_http_error();
  }
  codec::http_response_head head;
  head.status = status;
  head.reason = std::string(reason_of(status));
  head.headers.add("Content-Type", "text/plain; charset=utf-8");
  std::string body = std::to_string(status) + " " + head.reason + ": " + std::string(text) + "\n";
  head.headers.add("Content-Length", std::to_string(body.size()));
  if (close || ctx.state.stopping) {
    ctx.close_after = true;
  }
  head.headers.add("Connection", ctx.close_after ? "close" : "keep-alive");
  head.headers.add("Via", "1.1 icapkit");
  if (ctx.response_started) {
    co_return false; // the client already has a status line: the record keeps that one
  }
  ctx.response_started = true;
  std::error_code ec;
  co_await ctx.writer.write_head(head, ec);
  if (!ec) {
    ctx.record.response_code = static_cast<std::uint32_t>(status);
  }
  if (!ec && ctx.head.method != "HEAD") {
    co_await ctx.writer.write_body(body, false, ec);
  }
  co_return !ec;
}

asio::awaitable<void> refuse_unreadable_body(request_context& ctx, std::error_code ec) {
  ctx.close_after = true;
  const bool timeout = net::is_timeout(ec);
  if (timeout || ec == errc::bad_chunked_body || ec == errc::truncated_body) {
    co_await refuse(ctx, timeout ? 408 : 400,
                    "the request body could not be read: " + ec.message());
  }
}

asio::awaitable<void> refuse(request_context& ctx, int status, std::string_view reason) {
  if (ctx.refused.empty()) {
    ctx.refused = std::string(reason);
  }
  co_await send_simple(ctx, status, reason, true);
}

asio::awaitable<bool> handle_request(request_context& ctx) {
  auto& head = ctx.head;
  flow f{ctx, {}, {}, {}, {}, false};
  // What the record says about the request, before anything can fail.
  describe_request(ctx, head);

  if (auto ec = request_framing(head, f.request_body)) {
    const auto reason = ec.message();
    co_await refuse(ctx, status_for(static_cast<errc>(ec.value())), reason);
    finish_record(ctx);
    co_return false;
  }
  ctx.reader.start_body(f.request_body);
  const bool upgrade = requests_upgrade(head);
  ctx.close_after = strip_hop_by_hop(head.headers, head.http_version) || ctx.close_after;
  if (head.http_version == codec::version{1, 1} && head.headers.count("Host") != 1) {
    co_await refuse(ctx, 400,
                    head.headers.contains("Host") ? "several Host header fields"
                                                  : "HTTP/1.1 request without Host");
    finish_record(ctx);
    co_return false;
  }
  if (head.method == "CONNECT" || upgrade) {
    const auto refusal =
        head.method == "CONNECT" ? errc::connect_not_supported : errc::upgrade_not_supported;
    const auto reason = make_error_code(refusal).message();
    co_await refuse(ctx, status_for(refusal), reason);
    finish_record(ctx);
    co_return false;
  }

  std::string authority;
  if (split_absolute(head.target, f.target, f.origin_form, &authority)) {
    // Forward proxy: the request names its origin, and the Host sent on (upstream and in the
    // ICAP request) is that authority, whatever the client's Host said (RFC 9112 3.2.2).
    head.headers.set("Host", authority);
  } else if (head.target.starts_with('/') && ctx.state.upstream) {
    f.target = target_of(*ctx.state.upstream);
    const auto& base = ctx.state.upstream->path;
    f.origin_form =
        (base.empty() || base == "/")
            ? head.target
            : (base.ends_with('/') ? base.substr(0, base.size() - 1) : base) + head.target;
  } else {
    const bool origin = head.target.starts_with('/');
    co_await refuse(ctx, 400,
                    origin ? "no upstream is configured for origin-form requests (set "
                             "\"upstream\" or --upstream, or send an absolute URL)"
                           : "the request target is neither origin-form nor an http URL");
    finish_record(ctx);
    co_return false;
  }

  // The security policy decides whether this request goes to ICAP.
  const config::security_rule* rule = nullptr;
  if (ctx.state.options.config.security_policy) {
    auto view = config::http_request_view::from_target(head.method, f.origin_form);
    if (auto host = head.headers.get("Host")) {
      view.host = *host;
    }
    view.headers = &head.headers;
    view.client_ip = ctx.peer.address;
    rule = config::select_rule(*ctx.state.options.config.security_policy, view);
  }
  if (rule != nullptr) {
    ctx.record.http_security_policy_rule_name = rule->name;
  }
  bool ok = false;
  const auto action = rule ? rule->action : config::security_action::allow;
  switch (action) {
  case config::security_action::close_conn:
    ctx.close_after = true;
    finish_record(ctx);
    co_return false;
  case config::security_action::send_response: {
    // The body is not read: keep the connection only when there is none.
    const bool has_body = f.request_body.kind != body_framing::none;
    ok = co_await send_simple(ctx, rule->status_code,
                              "answered by security rule \"" + rule->name + "\"", has_body, false);
    break;
  }
  case config::security_action::request_check_icap:
    if (ctx.owner.request_enforcer) {
      ok = co_await f.check_with_icap();
      break;
    }
    [[fallthrough]];
  default:
    ok = co_await f.pass_through();
    break;
  }
  ctx.record.request_length = ctx.head_bytes + ctx.reader.body_bytes();
  if (f.icap_checked || f.significance.body_too_big ||
      f.significance.action != log::icap_action::passed || f.significance.slow) {
    if (ctx.record.icap_log.request_logs.empty() &&
        f.significance.action == log::icap_action::passed) {
      ctx.record.icap_log.action = log::icap_action::disabled;
    }
    log::apply_significance(ctx.record, log::assess_significance(f.significance));
  }
  finish_record(ctx);
  co_return ok && !ctx.close_after;
}

} // namespace icapkit::proxy::detail
