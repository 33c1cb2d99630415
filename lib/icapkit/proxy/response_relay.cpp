#include "icapkit/proxy/response_relay.hpp"

#include "icapkit/log/enums.hpp"
#include "icapkit/proxy/request_record.hpp"
#include "icapkit/proxy/request_target.hpp"

#include <string>
#include <utility>

namespace icapkit::proxy::detail {

void set_content_length(codec::header_list& headers, std::uint64_t length) {
  headers.remove("Transfer-Encoding");
  headers.set("Content-Length", std::to_string(length));
}

// The response's framing toward the client; returns whether the body goes out chunked.
bool prepare_client_response(request_context& ctx, codec::http_response_head& head,
                             const framing& body) {
  bool chunked = false;
  if (body.kind == body_framing::chunked || body.kind == body_framing::until_close) {
    head.headers.remove("Content-Length");
    if (ctx.head.http_version == codec::version{1, 1}) {
      head.headers.set("Transfer-Encoding", "chunked");
      chunked = true;
    } else {
      ctx.close_after = true; // HTTP/1.0: the end of the body is the end of the connection
    }
  }
  if (ctx.state.stopping) {
    ctx.close_after = true;
  }
  head.headers.remove("Connection");
  if (ctx.close_after) {
    head.headers.set("Connection", "close");
  } else if (ctx.head.http_version == codec::version{1, 0}) {
    head.headers.set("Connection", "keep-alive");
  }
  head.headers.add("Via", std::string(head.http_version == codec::version{1, 0} ? "1.0" : "1.1") +
                              " icapkit");
  head.http_version = codec::version{1, 1};
  return chunked;
}

asio::awaitable<bool> send_spooled(request_context& ctx, codec::http_response_head head,
                                   const codec::body_spool* body) {
  set_content_length(head.headers, body ? body->size() : 0);
  framing f;
  f.kind = body_framing::content_length;
  prepare_client_response(ctx, head, f);
  std::error_code ec;
  ctx.response_started = true;
  co_await ctx.writer.write_head(head, ec);
  if (!ec) {
    ctx.record.response_code = static_cast<std::uint32_t>(head.status);
  }
  if (!ec && body != nullptr && ctx.head.method != "HEAD") {
    source_body source(body->reader());
    for (;;) {
      const auto piece = co_await source.next(ec);
      if (ec || piece.empty()) {
        break;
      }
      co_await ctx.writer.write_body(piece, false, ec);
      if (ec) {
        break;
      }
    }
  }
  co_return !ec;
}

const config::icap_profile* response_relay::response_profile() const {
  return ctx.owner.response_enforcer ? &ctx.owner.response_enforcer->profile() : nullptr;
}

asio::awaitable<bool> response_relay::relay(upstream_response response) {
  if (const auto* profile = response_profile();
      profile != nullptr && response.body.kind != body_framing::none && ctx.head.method != "HEAD") {
    co_return co_await scan_response(std::move(response), *profile);
  }
  co_return co_await relay_as_is(std::move(response), nullptr);
}

// Relays the upstream's body; `prefix` holds bytes of it already read (a spool).
asio::awaitable<bool> response_relay::relay_as_is(upstream_response response,
                                                  std::unique_ptr<codec::body_source> prefix) {
  auto head = response.head;
  const bool chunked = prepare_client_response(ctx, head, response.body);
  std::error_code ec;
  ctx.response_started = true;
  co_await ctx.writer.write_head(head, ec);
  if (!ec) {
    ctx.record.response_code = static_cast<std::uint32_t>(head.status);
  }
  client_body body(*response.reader, std::move(prefix));
  bool upstream_ok = true;
  while (!ec) {
    std::error_code read_ec;
    const auto piece = co_await body.next(read_ec);
    if (read_ec) {
      upstream_ok = false;
      ctx.close_after = true; // the client cannot tell the body is cut otherwise
      break;
    }
    if (piece.empty()) {
      co_await ctx.writer.finish_body(chunked, ec);
      break;
    }
    co_await ctx.writer.write_body(piece, chunked, ec);
  }
  ctx.owner.upstream->release(std::move(response), upstream_ok && !ec);
  co_return !ec && upstream_ok;
}

asio::awaitable<bool> response_relay::scan_response(upstream_response response,
                                                    const config::icap_profile& profile) {
  const auto limit = profile.buffer_size_bytes();
  const bool closed = profile.buffer_size_exceed_action == config::icap_fail_action::fail_closed;
  codec::body_spool spool(ctx.state.options.spool_memory, ctx.state.options.temp_dir);
  bool too_big = response.body.kind == body_framing::content_length && response.body.length > limit;
  while (!too_big) {
    std::error_code ec;
    const auto piece = co_await response.reader->read_body(ec);
    if (ec) {
      ctx.owner.upstream->release(std::move(response), false);
      const auto message = "upstream " + net::format_peer(target.host, target.port) +
                           " failed while sending the response body: " + ec.message();
      note_upstream_error(ctx, message);
      co_return co_await send_simple(ctx, 502, message, true);
    }
    if (piece.empty()) {
      break;
    }
    if (auto append_ec = spool.append(piece)) {
      ctx.owner.upstream->release(std::move(response), false);
      significance.out_of_memory = true;
      co_return co_await send_simple(ctx, 500,
                                     "cannot hold the response body: " + append_ec.message(), true);
    }
    too_big = spool.size() > limit;
  }
  if (too_big) {
    significance.body_too_big = true;
    significance.action = log::icap_action::failed;
    if (closed) {
      ctx.owner.upstream->release(std::move(response), false);
      co_return co_await send_simple(ctx, 503, "the response is larger than the ICAP buffer_size",
                                     ctx.close_after);
    }
    co_return co_await relay_as_is(std::move(response), spool.reader());
  }
  auto head_for_icap = response.head;
  set_content_length(head_for_icap.headers, spool.size());
  auto result = co_await ctx.owner.response_enforcer->check_response(
      upstream_head(ctx.head, origin_form, ctx.peer.ip), head_for_icap, &spool,
      client_address(ctx));
  note_enforcement(ctx, result);
  merge_significance(significance, result.significance);
  ctx.owner.upstream->release(std::move(response), true);
  switch (result.what) {
  case enforcement_result::next::respond:
    co_return co_await send_spooled(ctx, std::move(*result.response),
                                    result.has_body ? &result.body->spool() : nullptr);
  case enforcement_result::next::fail_closed:
    co_return co_await send_simple(ctx, 503, "the ICAP service could not check the response",
                                   ctx.close_after);
  case enforcement_result::next::forward_modified:
  case enforcement_result::next::forward_original:
    break;
  }
  co_return co_await send_spooled(ctx, head_for_icap, &spool);
}

} // namespace icapkit::proxy::detail
