#pragma once
// A mergeable log-linear histogram of microsecond values (latencies), in the spirit of
// HdrHistogram: values below 128 have a bucket each; above, every power of two [2^k, 2^(k+1)) is
// split into 64 equal buckets, so a value is known to within 1/64 of itself and a reported
// percentile (the bucket's midpoint, clamped to the recorded min and max) is within about 0.8%.
// Counts are integers, so merging histograms (shards, threads, hosts) is exact: merging the
// shards of a run gives the same histogram as recording every value in one.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace icapkit::load {

class histogram {
public:
  // Adds `count` occurrences of `value` (microseconds; any uint64).
  void record(std::uint64_t value, std::uint64_t count = 1);
  // Adds every count of `other`: exact.
  void merge(const histogram& other);

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; } // exact
  std::uint64_t max() const noexcept { return max_; }                   // exact
  std::uint64_t sum() const noexcept { return sum_; } // exact unless saturated at 2^64-1
  double mean() const noexcept;                       // from the exact sum
  // The value at percentile p (0..100): the smallest bucket holding at least p% of the values,
  // as its midpoint, clamped to [min, max]; p = 100 is max, p = 0 is min; 0 when empty.
  std::uint64_t percentile(double p) const;

  // The non-empty buckets in increasing order: (lowest value, highest value, count).
  struct bucket {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    std::uint64_t count = 0;
    friend bool operator==(const bucket&, const bucket&) = default;
  };
  std::vector<bucket> buckets() const;

  // {"unit":"us","count":N,"min":..,"max":..,"sum":..,"mean":..,"p50":..,"p90":..,"p99":..,
  // "p99_9":..,"buckets":[[index,count],...]} with only non-empty buckets, in index order; the
  // mean and percentiles are in the unit (us), computed from the buckets. from_json validates
  // (names the member in `error`), checks that the counts add up, and ignores mean and the
  // percentiles (a merged histogram recomputes them).
  nlohmann::json to_json() const;
  static std::optional<histogram> from_json(const nlohmann::json& j, std::string& error);

  friend bool operator==(const histogram&, const histogram&) = default;

  // Bucket arithmetic, public for tests and for Prometheus buckets. Indexes run from 0 to
  // bucket_count - 1 (the bucket ending at 2^64-1); lowest_of/highest_of clamp larger indexes.
  static constexpr std::size_t bucket_count = 128 + 57 * 64;
  static std::size_t index_of(std::uint64_t value) noexcept;
  static std::uint64_t lowest_of(std::size_t index) noexcept;
  static std::uint64_t highest_of(std::size_t index) noexcept;

private:
  std::vector<std::uint64_t> counts_; // grown on demand up to the highest index used
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  // Sum of all values, for the mean; saturates rather than wraps.
  std::uint64_t sum_ = 0;
};

} // namespace icapkit::load
