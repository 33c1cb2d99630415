#include "icapkit/proxy/request_forwarder.hpp"

#include "icapkit/proxy/errc.hpp"
#include "icapkit/proxy/http_framing.hpp"
#include "icapkit/proxy/request_record.hpp"
#include "icapkit/proxy/request_target.hpp"
#include "icapkit/proxy/response_relay.hpp"

#include <string>
#include <utility>

namespace icapkit::proxy::detail {

// Sends the request upstream and relays the answer; any failure becomes 502/504.
asio::awaitable<bool>
request_forwarder::forward(codec::http_request_head head, bool chunked,
                           const std::function<std::unique_ptr<outgoing_body>()>& make_body) {
  send_failure failure;
  send_report report;
  auto response =
      co_await ctx.owner.upstream->send(target, head, chunked, make_body, failure, report);
  note_upstream(ctx, report);
  if (!response) {
    if (failure.body_failed) {
      co_await refuse_unreadable_body(ctx, failure.code);
      co_return false;
    }
    const int status = failure.code == errc::upstream_timeout ? 504 : 502;
    note_upstream_error(ctx, failure.message);
    ctx.state.event(failure.message);
    co_return co_await send_simple(ctx, status, failure.message, ctx.close_after);
  }
  response_relay to_client{ctx, target, origin_form, significance};
  co_return co_await to_client.relay(std::move(*response));
}

// What the ICAP step decided, carried out; `original` is the request body as received.
asio::awaitable<bool> request_forwarder::apply_decision(enforcement_result result,
                                                        codec::http_request_head head,
                                                        const codec::body_spool* original) {
  const std::function<std::unique_ptr<outgoing_body>()> replay_spool =
      [original]() -> std::unique_ptr<outgoing_body> {
    return std::make_unique<source_body>(original->reader());
  };
  switch (result.what) {
  case enforcement_result::next::fail_closed:
    co_return co_await send_simple(ctx, 503, "the ICAP service could not check the request",
                                   ctx.close_after);
  case enforcement_result::next::respond:
    co_return co_await send_spooled(ctx, std::move(*result.response),
                                    result.has_body ? &result.body->spool() : nullptr);
  case enforcement_result::next::forward_modified: {
    auto modified = std::move(*result.modified_request);
    strip_hop_by_hop(modified.headers, modified.http_version);
    upstream_target ignored;
    std::string origin;
    if (split_absolute(modified.target, ignored, origin)) {
      modified.target = origin;
    }
    origin_form = modified.target;
    const auto* body = result.has_body ? &result.body->spool() : nullptr;
    set_content_length(modified.headers, body ? body->size() : 0);
    if (!body && (modified.method == "GET" || modified.method == "HEAD")) {
      modified.headers.remove("Content-Length");
    }
    modified.http_version = codec::version{1, 1};
    const std::function<std::unique_ptr<outgoing_body>()> make_modified =
        [body]() -> std::unique_ptr<outgoing_body> {
      return body ? std::make_unique<source_body>(body->reader()) : nullptr;
    };
    const std::function<std::unique_ptr<outgoing_body>()> no_body;
    co_return co_await forward(std::move(modified), false, body ? make_modified : no_body);
  }
  case enforcement_result::next::forward_original:
    break;
  }
  if (original != nullptr) {
    head.headers.remove("Transfer-Encoding");
    head.headers.set("Content-Length", std::to_string(original->size()));
  }
  const std::function<std::unique_ptr<outgoing_body>()> no_body;
  co_return co_await forward(std::move(head), false, original ? replay_spool : no_body);
}

} // namespace icapkit::proxy::detail
