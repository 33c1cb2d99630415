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

} // namespace icapkit::proxy::detail
