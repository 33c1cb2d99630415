#pragma once
// Helpers for driving mock services directly: build requests, feed bodies, read answers.
#include "icapkit/mock/mock_service.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::mock::test {

inline server::request_info reqmod_info(std::string target, std::string body_size = {}) {
  server::request_info info;
  info.method = codec::icap_method::reqmod;
  info.icap.method = "REQMOD";
  codec::http_request_head http;
  http.method = "POST";
  http.target = std::move(target);
  http.headers.add("Host", "icapkit.test");
  if (!body_size.empty()) {
    http.headers.add("Content-Length", body_size);
  }
  info.http_request = http;
  info.has_body = true;
  info.allow_204 = true;
  info.client_address = "127.0.0.1";
  return info;
}

inline server::request_info respmod_info(std::string target) {
  auto info = reqmod_info(std::move(target));
  info.method = codec::icap_method::respmod;
  info.icap.method = "RESPMOD";
  info.http_request->method = "GET";
  codec::http_response_head res;
  res.headers.add("Content-Type", "text/plain");
  info.http_response = res;
  return info;
}

inline server::response drive(server::service& svc, const server::request_info& info,
                              const std::vector<std::string>& pieces) {
  auto t = svc.begin(info);
  server::body_state state;
  for (const auto& p : pieces) {
    state.bytes_received += p.size();
    if (t->on_body(p) == server::body_action::answer_now) {
      break;
    }
  }
  state.complete = true;
  state.may_send_204 = info.allow_204;
  asio::io_context io;
  std::optional<server::response> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await t->on_complete(state); }, asio::detached);
  io.run();
  return std::move(*out);
}

inline std::string read_all(codec::body_source& source) {
  std::string out;
  std::array<char, 1024> buf{};
  std::error_code ec;
  for (;;) {
    const auto n = source.read(buf, ec);
    if (ec || n == 0) {
      return out;
    }
    out.append(buf.data(), n);
  }
}

inline std::shared_ptr<mock_context> context(std::string_view vendor, scenario rules = {},
                                             std::string mode = "MANAGER-KNOWN") {
  personality_options o;
  o.blocking_mode = std::move(mode);
  o.analysis_time = std::chrono::milliseconds(200);
  return std::make_shared<mock_context>(make_personality(vendor, o), std::move(rules));
}

inline std::string header(const server::response& r, std::string_view name) {
  return std::string(r.icap_headers.get(name).value_or(""));
}

} // namespace icapkit::mock::test
