#pragma once
// The proxy's counters: Avi's VirtualServiceIcapStats (icap_passed, icap_blocked, ...) plus HTTP
// totals and ICAP latency percentiles, served as JSON by the admin endpoint. Lock-free updates
// from every worker.
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace icapkit::proxy {

struct stats_snapshot {
  std::uint64_t icap_requests = 0;
  std::uint64_t icap_passed = 0;
  std::uint64_t icap_blocked = 0;
  std::uint64_t icap_modified = 0;
  std::uint64_t icap_error = 0;
  std::uint64_t icap_timedout = 0;
  std::uint64_t icap_time_exceeded_warning_threshold = 0;
  std::uint64_t icap_server_error = 0;
  std::uint64_t icap_internal_error = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t http_errors = 0; // requests refused by the proxy itself (400, 413, 431, 502...)
  std::uint64_t active_connections = 0;
  // Failover and retries (issue 14): ICAP attempts that failed and went to another server; requests
  // answered by fail_action (forwarded unscanned: open; 503: closed); upstream requests written
  // again on a new connection; upstream failures answered 502/504; idle upstream connections found
  // closed by the origin before a request was written on them.
  std::uint64_t icap_failovers = 0;
  std::uint64_t icap_fail_open = 0;
  std::uint64_t icap_fail_closed = 0;
  std::uint64_t upstream_retries = 0;
  std::uint64_t upstream_errors = 0;
  std::uint64_t upstream_stale_closed = 0;
  // ICAP latency (ms): p50, p90, p99, max; bucket upper bounds, so within ~5 % above the truth.
  double latency_p50_ms = 0, latency_p90_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
};

class stats {
public:
  enum class icap_outcome { passed, blocked, modified, error, timedout, server_error, internal };

  void count_http_request() noexcept { http_requests_.fetch_add(1, std::memory_order_relaxed); }
  void count_http_error() noexcept { http_errors_.fetch_add(1, std::memory_order_relaxed); }
  void count_icap_failover() noexcept { failovers_.fetch_add(1, std::memory_order_relaxed); }
  void count_fail_action(bool closed) noexcept {
    (closed ? fail_closed_ : fail_open_).fetch_add(1, std::memory_order_relaxed);
  }
  void count_upstream_retry() noexcept {
    upstream_retries_.fetch_add(1, std::memory_order_relaxed);
  }
  void count_upstream_error() noexcept { upstream_errors_.fetch_add(1, std::memory_order_relaxed); }
  void count_upstream_stale() noexcept { upstream_stale_.fetch_add(1, std::memory_order_relaxed); }
  // One ICAP-checked request: its outcome, whether it was slow, and its ICAP latency.
  void count_icap(icap_outcome outcome, bool slow, std::chrono::microseconds latency) noexcept;
  void connection_opened() noexcept { active_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { active_.fetch_sub(1, std::memory_order_relaxed); }
  std::uint64_t active_connections() const noexcept { return active_.load(); }

  stats_snapshot snapshot() const noexcept;

private:
  // Log-linear buckets of microseconds: 16 sub-buckets per power of two up to 2^36 us.
  static constexpr std::size_t sub_buckets = 16;
  static constexpr std::size_t bucket_count = 37 * sub_buckets;
  static std::size_t bucket_of(std::uint64_t us) noexcept;
  static double upper_bound_us(std::size_t bucket) noexcept;

  std::atomic<std::uint64_t> icap_requests_{0}, passed_{0}, blocked_{0}, modified_{0}, error_{0},
      timedout_{0}, slow_{0}, server_error_{0}, internal_{0}, http_requests_{0}, http_errors_{0},
      active_{0}, max_us_{0}, failovers_{0}, fail_open_{0}, fail_closed_{0}, upstream_retries_{0},
      upstream_errors_{0}, upstream_stale_{0};
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
};

// {"icap_requests": …, …, "latency_ms": {"p50", "p90", "p99", "max"}}; the admin endpoint adds
// the servers.
nlohmann::json to_json(const stats_snapshot& s);

} // namespace icapkit::proxy
