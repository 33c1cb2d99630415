#pragma once
// Replays captured requests through an enforcing proxy and collects what happened to each.
//
// In-process mode (`config` set): a proxy::proxy with that configuration on a loopback port,
// whose upstream is a recorded_upstream (recorded responses or a stub) or a given URL; every
// request's record is the proxy's own, matched to the request by the X-Icapkit-Replay header.
// Target mode (`target` set): requests go to an external proxy or load balancer; the driver
// writes the records itself and reads the verdict from what it sees: the HTTP status, and, when
// the external proxy's origin is the driver's own upstream (`upstream_listen`), whether the
// request reached it and with which body (same: passed, different: modified, never: blocked, or
// failed when the proxy answered 5xx).
//
// Requests whose body the capture lacks are never sent (a truncated upload would be scanned and
// pass as clean): each gets a record flagged body_captured = false and an outcome with sent =
// false.
#include "icapkit/codec/uri.hpp"
#include "icapkit/config/loader.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/replay/capture/capture.hpp"
#include "icapkit/replay/outcome.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace icapkit::replay {

// --filter: "POST", "POST /upload/", "/upload/" or "PUT|POST ^https://a\.example/": a first word
// of capital letters (and '|') names the methods; the rest, if any, is a regular expression
// (ECMAScript) searched in the absolute URL.
struct request_filter {
  std::vector<std::string> methods; // empty: any
  std::optional<std::regex> url;
  std::string text; // as given
  bool matches(const captured_exchange& exchange) const;
};
// nullopt with `error` set for an invalid regular expression or an empty filter.
std::optional<request_filter> parse_filter(const std::string& text, std::string& error);

enum class upstream_mode { recorded, stub, url };

struct replay_options {
  replay_options() = default; // not an aggregate: g++ 12 co_await bug (see net/tls.hpp)

  std::vector<std::filesystem::path> captures;

  // In-process mode.
  std::optional<config::virtual_service_config> config;
  upstream_mode upstream = upstream_mode::recorded;
  std::optional<codec::uri> upstream_url; // for upstream_mode::url
  unsigned proxy_threads = 2;

  // Target mode.
  std::optional<codec::uri> target;
  std::string upstream_listen; // "ADDR:PORT": serve recorded responses there (recorded/stub)

  unsigned concurrency = 4;
  double speed = 0; // 0: as fast as possible; 1: the recorded timing; 2: twice as fast
  std::vector<request_filter> filters; // a request is replayed when it matches any; none: all
  std::optional<std::size_t> limit;
  std::chrono::milliseconds timeout{60000}; // per request: connect, send, the whole response

  // Called from several threads (never at once): one record per replayed request, in completion
  // order; one outcome per request; warnings about the captures.
  std::function<void(const log::app_log_record&)> on_record;
  std::function<void(const outcome&)> on_outcome;
  std::function<void(const std::string&)> on_warning;
};

struct replay_report {
  std::vector<outcome> outcomes; // in index order
  double seconds = 0;
  // A fatal error (capture unreadable or malformed, proxy or upstream could not start); the
  // outcomes of the requests replayed before it are kept.
  std::string error;
  std::uint64_t unmatched_upstream_requests = 0; // reached the upstream but matched nothing
};

replay_report run_replay(const replay_options& options);

} // namespace icapkit::replay
