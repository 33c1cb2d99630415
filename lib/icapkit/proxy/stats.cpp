#include "icapkit/proxy/stats.hpp"

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>

namespace icapkit::proxy {

std::size_t stats::bucket_of(std::uint64_t us) noexcept {
  if (us < sub_buckets) {
    return static_cast<std::size_t>(us);
  }
  const auto exponent = static_cast<std::size_t>(std::bit_width(us)) - 1; // >= 4
  const auto shift = exponent - 4;
  const auto sub = static_cast<std::size_t>((us >> shift) & (sub_buckets - 1));
  const auto bucket = (exponent - 3) * sub_buckets + sub;
  return bucket < bucket_count ? bucket : bucket_count - 1;
}

double stats::upper_bound_us(std::size_t bucket) noexcept {
  if (bucket < sub_buckets) {
    return static_cast<double>(bucket + 1);
  }
  const auto exponent = bucket / sub_buckets + 3;
  const auto sub = bucket % sub_buckets;
  const auto shift = exponent - 4;
  return std::ldexp(static_cast<double>(sub_buckets + sub + 1), static_cast<int>(shift));
}

void stats::count_icap(icap_outcome outcome, bool slow,
                       std::chrono::microseconds latency) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  icap_requests_.fetch_add(1, relaxed);
  switch (outcome) {
  case icap_outcome::passed:
    passed_.fetch_add(1, relaxed);
    break;
  case icap_outcome::blocked:
    blocked_.fetch_add(1, relaxed);
    break;
  case icap_outcome::modified:
    modified_.fetch_add(1, relaxed);
    break;
  case icap_outcome::error:
    error_.fetch_add(1, relaxed);
    break;
  case icap_outcome::timedout:
    timedout_.fetch_add(1, relaxed);
    error_.fetch_add(1, relaxed);
    break;
  case icap_outcome::server_error:
    server_error_.fetch_add(1, relaxed);
    error_.fetch_add(1, relaxed);
    break;
  case icap_outcome::internal:
    internal_.fetch_add(1, relaxed);
    error_.fetch_add(1, relaxed);
    break;
  }
  if (slow) {
    slow_.fetch_add(1, relaxed);
  }
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  buckets_[bucket_of(us)].fetch_add(1, relaxed);
  auto seen = max_us_.load(relaxed);
  while (us > seen && !max_us_.compare_exchange_weak(seen, us, relaxed)) {
  }
}

stats_snapshot stats::snapshot() const noexcept {
  stats_snapshot s;
  s.icap_requests = icap_requests_.load();
  s.icap_passed = passed_.load();
  s.icap_blocked = blocked_.load();
  s.icap_modified = modified_.load();
  s.icap_error = error_.load();
  s.icap_timedout = timedout_.load();
  s.icap_time_exceeded_warning_threshold = slow_.load();
  s.icap_server_error = server_error_.load();
  s.icap_internal_error = internal_.load();
  s.http_requests = http_requests_.load();
  s.http_errors = http_errors_.load();
  s.active_connections = active_.load();
  s.icap_failovers = failovers_.load();
  s.icap_fail_open = fail_open_.load();
  s.icap_fail_closed = fail_closed_.load();
  s.upstream_retries = upstream_retries_.load();
  s.upstream_errors = upstream_errors_.load();
  s.upstream_stale_closed = upstream_stale_.load();
  std::array<std::uint64_t, bucket_count> counts{};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    counts[i] = buckets_[i].load();
    total += counts[i];
  }
  const double max_ms = static_cast<double>(max_us_.load()) / 1000.0;
  const auto percentile = [&](double p) {
    if (total == 0) {
      return 0.0;
    }
    const auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts[i];
      if (seen >= rank && counts[i] != 0) {
        return std::min(upper_bound_us(i) / 1000.0, max_ms);
      }
    }
    return max_ms;
  };
  s.latency_p50_ms = percentile(0.50);
  s.latency_p90_ms = percentile(0.90);
  s.latency_p99_ms = percentile(0.99);
  s.latency_max_ms = max_ms;
  return s;
}

nlohmann::json to_json(const stats_snapshot& s) {
  return nlohmann::json{
      {"icap_requests", s.icap_requests},
      {"icap_passed", s.icap_passed},
      {"icap_blocked", s.icap_blocked},
      {"icap_modified", s.icap_modified},
      {"icap_error", s.icap_error},
      {"icap_timedout", s.icap_timedout},
      {"icap_time_exceeded_warning_threshold", s.icap_time_exceeded_warning_threshold},
      {"icap_server_error", s.icap_server_error},
      {"icap_internal_error", s.icap_internal_error},
      {"http_requests", s.http_requests},
      {"http_errors", s.http_errors},
      {"active_connections", s.active_connections},
      {"icap_failovers", s.icap_failovers},
      {"icap_fail_open", s.icap_fail_open},
      {"icap_fail_closed", s.icap_fail_closed},
      {"upstream_retries", s.upstream_retries},
      {"upstream_errors", s.upstream_errors},
      {"upstream_stale_closed", s.upstream_stale_closed},
      {"latency_ms",
       {{"p50", s.latency_p50_ms},
        {"p90", s.latency_p90_ms},
        {"p99", s.latency_p99_ms},
        {"max", s.latency_max_ms}}},
  };
}

} // namespace icapkit::proxy
