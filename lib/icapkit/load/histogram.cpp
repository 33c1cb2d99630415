#include "icapkit/load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace icapkit::load {

namespace {

constexpr std::uint64_t exact_limit = 128; // values below have a bucket each
constexpr unsigned sub_bucket_bits = 6;    // 64 buckets per power of two
constexpr unsigned first_log2 = 7;         // 2^7 = exact_limit
constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return a > max_u64 - b ? max_u64 : a + b;
}

std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  return a != 0 && b > max_u64 / a ? max_u64 : a * b;
}

} // namespace

std::size_t histogram::index_of(std::uint64_t value) noexcept {
  if (value < exact_limit) {
    return static_cast<std::size_t>(value);
  }
  const auto log2 = static_cast<unsigned>(std::bit_width(value) - 1); // 7..63
  const unsigned shift = log2 - sub_bucket_bits;
  // value >> shift is in [64, 128): the top 7 bits, whose low 6 bits pick the sub-bucket.
  const std::uint64_t sub = (value >> shift) - (std::uint64_t{1} << sub_bucket_bits);
  return static_cast<std::size_t>(exact_limit + (log2 - first_log2) * 64 + sub);
}

std::uint64_t histogram::lowest_of(std::size_t index) noexcept {
  index = std::min(index, bucket_count - 1);
  if (index < exact_limit) {
    return index;
  }
  const std::size_t offset = index - exact_limit;
  const auto log2 = static_cast<unsigned>(first_log2 + offset / 64);
  const std::uint64_t sub = offset % 64;
  return (64 + sub) << (log2 - sub_bucket_bits);
}

std::uint64_t histogram::highest_of(std::size_t index) noexcept {
  index = std::min(index, bucket_count - 1);
  if (index < exact_limit) {
    return index;
  }
  const auto log2 = static_cast<unsigned>(first_log2 + (index - exact_limit) / 64);
  // low + (width - 1) rather than next low - 1, which would overflow for the last bucket.
  return lowest_of(index) + ((std::uint64_t{1} << (log2 - sub_bucket_bits)) - 1);
}

void histogram::record(std::uint64_t value, std::uint64_t count) {
  if (count == 0) {
    return; // keeps an untouched histogram equal to an empty one
  }
  const std::size_t index = index_of(value);
  if (counts_.size() <= index) {
    counts_.resize(index + 1, 0);
  }
  counts_[index] += count;
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  count_ += count;
  // Saturating: a sum of saturating additions of non-negative numbers does not depend on order,
  // so merging stays exact even past 2^64.
  sum_ = saturating_add(sum_, saturating_multiply(value, count));
}

void histogram::merge(const histogram& other) {
  if (other.count_ == 0) {
    return;
  }
  if (counts_.size() < other.counts_.size()) {
    counts_.resize(other.counts_.size(), 0);
  }
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ = saturating_add(sum_, other.sum_);
}

double histogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

std::uint64_t histogram::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  if (!(p > 0.0)) { // also NaN
    return min_;
  }
  if (p >= 100.0) {
    return max_;
  }
  // Nearest rank: the smallest rank r with r >= p% of count. The tiny relative slack keeps
  // 99.9% of 1000 at rank 999 although 0.999 * 1000 computes as 999.0000000000001.
  const double exact = p / 100.0 * static_cast<double>(count_);
  const double rank = std::ceil(exact - exact * 1e-12);
  const std::uint64_t target = rank < 1.0 ? 1 : std::min(count_, static_cast<std::uint64_t>(rank));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= target) {
      const std::uint64_t low = lowest_of(i);
      const std::uint64_t middle = low + (highest_of(i) - low) / 2;
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;
}

std::vector<histogram::bucket> histogram::buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      out.push_back({lowest_of(i), highest_of(i), counts_[i]});
    }
  }
  return out;
}

nlohmann::json histogram::to_json() const {
  auto pairs = nlohmann::json::array();
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      pairs.push_back(nlohmann::json::array({static_cast<std::uint64_t>(i), counts_[i]}));
    }
  }
  // Ready percentiles for readers without the bucket arithmetic (jq .histograms.total.p99);
  // from_json ignores them: they follow from the buckets.
  return nlohmann::json{{"unit", "us"},
                        {"count", count_},
                        {"min", min()},
                        {"max", max_},
                        {"sum", sum_},
                        {"mean", mean()},
                        {"p50", percentile(50)},
                        {"p90", percentile(90)},
                        {"p99", percentile(99)},
                        {"p99_9", percentile(99.9)},
                        {"buckets", std::move(pairs)}};
}

namespace {

// A non-negative JSON integer (nlohmann stores literals like 3 as signed, parsed text as
// unsigned); nullopt for anything else.
std::optional<std::uint64_t> as_unsigned(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    return j.get<std::uint64_t>();
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(j.get<std::int64_t>());
  }
  return std::nullopt;
}

std::optional<std::uint64_t> member(const nlohmann::json& j, const char* name, std::string& error) {
  const auto it = j.find(name);
  if (it == j.end()) {
    error = std::string("histogram.") + name + ": missing";
    return std::nullopt;
  }
  auto value = as_unsigned(*it);
  if (!value) {
    error = std::string("histogram.") + name + ": expected a non-negative integer";
  }
  return value;
}

} // namespace

namespace {

// Reads "buckets" into dense counts (index -> count); returns false with `error` set.
bool read_buckets(const nlohmann::json& pairs, std::vector<std::uint64_t>& counts,
                  std::uint64_t& total, std::string& error) {
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& pair = pairs[i];
    const std::string where = "histogram.buckets[" + std::to_string(i) + "]";
    const bool shaped = pair.is_array() && pair.size() == 2;
    const auto index = shaped ? as_unsigned(pair[0]) : std::nullopt;
    const auto n = shaped ? as_unsigned(pair[1]) : std::nullopt;
    if (!index || !n) {
      error = where + ": expected [index, count] with non-negative integers";
      return false;
    }
    if (*index >= histogram::bucket_count) {
      error = where + ": bucket index " + std::to_string(*index) + " out of range (0.." +
              std::to_string(histogram::bucket_count - 1) + ")";
      return false;
    }
    if (!counts.empty() && *index < counts.size()) {
      error = where + ": bucket index " + std::to_string(*index) +
              " not above the previous index " + std::to_string(counts.size() - 1);
      return false;
    }
    if (*n == 0) {
      error = where + ": count must be positive (only non-empty buckets are listed)";
      return false;
    }
    if (*n > max_u64 - total) {
      error = where + ": counts overflow";
      return false;
    }
    total += *n;
    counts.resize(static_cast<std::size_t>(*index) + 1, 0);
    counts.back() = *n;
  }
  return true;
}

// The summary fields must agree with the buckets, or percentiles (clamped to min/max) and the
// mean would contradict them.
bool check_summary(const std::vector<std::uint64_t>& counts, std::uint64_t count, std::uint64_t min,
                   std::uint64_t max, std::uint64_t sum, std::string& error) {
  if (count == 0) {
    if (min != 0 || max != 0 || sum != 0) {
      error = "histogram: an empty histogram must have min, max and sum 0";
      return false;
    }
    return true;
  }
  const auto first = static_cast<std::size_t>(
      std::find_if(counts.begin(), counts.end(), [](auto n) { return n != 0; }) - counts.begin());
  if (min > max || histogram::index_of(min) != first ||
      histogram::index_of(max) != counts.size() - 1) {
    error = "histogram.min/max: " + std::to_string(min) + "/" + std::to_string(max) +
            " do not fall in the first/last non-empty buckets";
    return false;
  }
  if (sum < saturating_multiply(min, count) || sum > saturating_multiply(max, count)) {
    error = "histogram.sum: " + std::to_string(sum) + " is outside count * [min, max]";
    return false;
  }
  return true;
}

} // namespace

std::optional<histogram> histogram::from_json(const nlohmann::json& j, std::string& error) {
  if (!j.is_object()) {
    error = "histogram: expected an object";
    return std::nullopt;
  }
  if (const auto unit = j.find("unit"); unit == j.end() || *unit != "us") {
    error = "histogram.unit: expected \"us\"";
    return std::nullopt;
  }
  const auto count = member(j, "count", error);
  const auto min = count ? member(j, "min", error) : std::nullopt;
  const auto max = min ? member(j, "max", error) : std::nullopt;
  const auto sum = max ? member(j, "sum", error) : std::nullopt;
  if (!sum) {
    return std::nullopt;
  }
  const auto pairs = j.find("buckets");
  if (pairs == j.end() || !pairs->is_array()) {
    error = "histogram.buckets: expected an array of [index, count] pairs";
    return std::nullopt;
  }
  histogram h;
  std::uint64_t total = 0;
  if (!read_buckets(*pairs, h.counts_, total, error)) {
    return std::nullopt;
  }
  if (total != *count) {
    error = "histogram.count: " + std::to_string(*count) + " but the buckets add up to " +
            std::to_string(total);
    return std::nullopt;
  }
  if (!check_summary(h.counts_, total, *min, *max, *sum, error)) {
    return std::nullopt;
  }
  h.count_ = total;
  h.min_ = *min;
  h.max_ = *max;
  h.sum_ = *sum;
  return h;
}

} // namespace icapkit::load
