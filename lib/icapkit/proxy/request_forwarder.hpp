#pragma once
// Sending a proxied request on: as the ICAP step decided (an answer of its own, fail closed, the
// request rewritten, or the original), or as received, then the upstream's answer relayed; an
// upstream failure becomes 502/504. Internal to the proxy.
#include "icapkit/codec/body_spool.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/proxy/enforcement.hpp"
#include "icapkit/proxy/request_flow.hpp"
#include "icapkit/proxy/upstream.hpp"

#include <asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

namespace icapkit::proxy::detail {

// The collaborators are the request's: its context, the upstream it goes to, its origin-form
// target (a rewritten request replaces it), and its significance conditions.
struct request_forwarder {
  request_context& ctx;
  const upstream_target& target;
  std::string& origin_form;
  log::significance_conditions& significance;

  // Sends the request upstream and relays the answer; any failure becomes 502/504, a client
  // body that cannot be read 408/400.
  asio::awaitable<bool> forward(codec::http_request_head head, bool chunked,
                                const std::function<std::unique_ptr<outgoing_body>()>& make_body);

  // What the ICAP step decided, carried out; `head` is the request as the ICAP server got it,
  // `original` the request body as received (null: none).
  asio::awaitable<bool> apply_decision(enforcement_result result, codec::http_request_head head,
                                       const codec::body_spool* original);
};

} // namespace icapkit::proxy::detail
