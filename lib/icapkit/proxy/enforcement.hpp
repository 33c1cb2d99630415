#pragma once
// The ICAP step of one proxied request, as the load balancer does it: pick a server from the
// profile's pool group, run the REQMOD (or, for the response profile, RESPMOD) exchange on the
// held body, and turn the verdict into what happens next: forward the original, forward the
// modified request, answer with the server's response, or apply fail_action. An exchange that
// fails on connect, reset, EOF or timeout is sent again to the next server the group offers
// (client/failover.hpp: at most max_failover_attempts, all within response_timeout) before
// fail_action applies. Records every attempt for the icap_log.
#include "icapkit/client/client.hpp"
#include "icapkit/client/pool_group_balancer.hpp"
#include "icapkit/codec/body_spool.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/config/ip_address.hpp"
#include "icapkit/log/icap_log.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/proxy/streaming_body.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::proxy {

// A client::body_sink that appends to a spool (memory, then a temporary file).
class spool_sink final : public client::body_sink {
public:
  spool_sink(std::size_t memory_limit, std::string temp_dir)
      : spool_(memory_limit, std::move(temp_dir)) {}
  std::error_code write(std::string_view data) override { return spool_.append(data); }
  codec::body_spool& spool() noexcept { return spool_; }

private:
  codec::body_spool spool_;
};

struct enforcement_result {
  enum class next {
    forward_original, // 204, or a clean echo: the message goes on unchanged
    forward_modified, // REQMOD content rewrite: modified_request + body go upstream
    respond,          // the server's HTTP response (block page, or a modified response) goes back
    fail_closed,      // fail_action ICAP_FAIL_CLOSED: the proxy answers 503
  };
  next what = next::forward_original;
  std::optional<codec::http_request_head> modified_request;
  std::optional<codec::http_response_head> response;
  std::unique_ptr<spool_sink> body; // the returned body for forward_modified / respond
  bool has_body = false;            // the server returned a body section
  std::vector<log::icap_request_log> request_logs; // one per attempt (failover adds more)
  // The outcome of the last attempt: an attempt that failed over to another server does not
  // make a request that then passed ICAP_FAILED.
  log::icap_action action = log::icap_action::passed;
  log::significance_conditions significance;
  bool failed = false; // the ICAP step failed (fail_action applied, open or closed)
  bool slow = false;
  bool timed_out = false;
  std::size_t failovers = 0; // attempts that failed and were followed by another server's
  std::chrono::microseconds latency{0}; // of the last attempt
};

// Per worker thread: one ICAP client per pool (TLS settings differ per pool), all sharing the
// balancer of the profile's pool group.
class enforcer {
public:
  enforcer(asio::any_io_executor executor, const config::icap_profile& profile,
           client::pool_group_balancer& balancer, std::size_t spool_memory, std::string temp_dir);
  ~enforcer();
  enforcer(const enforcer&) = delete;
  enforcer& operator=(const enforcer&) = delete;

  // REQMOD of `request` (origin-form target, Host set, Content-Length of the body) with `body`.
  asio::awaitable<enforcement_result> check_request(const codec::http_request_head& request,
                                                    const codec::body_spool* body,
                                                    std::optional<config::ip_address> client_ip);
  // REQMOD with a body still arriving (allow_204 off: Avi streams all but the preview).
  asio::awaitable<enforcement_result> check_request(const codec::http_request_head& request,
                                                    const streaming_body& body,
                                                    std::optional<config::ip_address> client_ip);
  // RESPMOD of `response` to `request` with the response's `body`.
  asio::awaitable<enforcement_result> check_response(const codec::http_request_head& request,
                                                     const codec::http_response_head& response,
                                                     const codec::body_spool* body,
                                                     std::optional<config::ip_address> client_ip);

  const config::icap_profile& profile() const noexcept { return profile_; }
  // Closes the idle pooled ICAP connections (teardown, before the worker's context goes).
  void close_idle() noexcept;

private:
  // How an attempt gets its body: a fresh source from byte 0, and (streaming) a wait for more.
  struct body_access {
    std::function<std::unique_ptr<codec::body_source>()> open; // null: no body
    std::function<asio::awaitable<void>()> ready;
  };
  asio::awaitable<enforcement_result> run(client::exchange_request request, body_access body,
                                          std::optional<config::ip_address> client_ip);
  client::client& client_for(const client::server_choice& choice);

  asio::any_io_executor executor_;
  const config::icap_profile& profile_;
  client::pool_group_balancer& balancer_;
  std::size_t spool_memory_;
  std::string temp_dir_;
  std::map<std::size_t, std::unique_ptr<client::client>> clients_; // by pool index
};

// The client settings a profile stands for (vendor, preview, 204, timeouts, NSX status URL).
client::client_settings settings_of(const config::icap_profile& profile);

} // namespace icapkit::proxy
