#include "icapkit/load/histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using icapkit::load::histogram;

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

// Nearest rank, the definition histogram::percentile documents; `sorted` is sorted.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(exact - exact * 1e-12)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

histogram of(const std::vector<std::uint64_t>& values) {
  histogram h;
  for (const auto v : values) {
    h.record(v);
  }
  return h;
}

void check_percentiles(std::vector<std::uint64_t> values) {
  const histogram h = of(values);
  std::sort(values.begin(), values.end());
  for (const double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99}) {
    const auto exact = static_cast<double>(exact_percentile(values, p));
    const auto reported = static_cast<double>(h.percentile(p));
    INFO("p" << p << " exact " << exact << " reported " << reported);
    CHECK(std::abs(reported - exact) <= exact * 0.01);
  }
  CHECK(h.percentile(0) == values.front());
  CHECK(h.percentile(100) == values.back());
}

std::string from_json_error(const nlohmann::json& j) {
  std::string error;
  const auto h = histogram::from_json(j, error);
  CHECK_FALSE(h.has_value());
  return error;
}

} // namespace

TEST_CASE("histogram: bucket boundaries are contiguous from 0 to 2^64-1") {
  CHECK(histogram::lowest_of(0) == 0);
  CHECK(histogram::highest_of(histogram::bucket_count - 1) == max_u64);
  CHECK(histogram::index_of(max_u64) == histogram::bucket_count - 1);
  for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
    const auto low = histogram::lowest_of(i);
    const auto high = histogram::highest_of(i);
    INFO("bucket " << i << " [" << low << ", " << high << "]");
    REQUIRE(low <= high);
    REQUIRE(histogram::index_of(low) == i);
    REQUIRE(histogram::index_of(high) == i);
    if (i < 128) {
      REQUIRE((low == i && high == i));
    }
    if (i + 1 < histogram::bucket_count) {
      REQUIRE(histogram::lowest_of(i + 1) == high + 1);
    }
  }
  // Indexes past the end clamp to the last bucket rather than shifting out of range.
  CHECK(histogram::lowest_of(histogram::bucket_count + 5) ==
        histogram::lowest_of(histogram::bucket_count - 1));
  CHECK(histogram::highest_of(max_u64) == max_u64);
  CHECK(histogram::index_of(128) == 128);
  CHECK(histogram::highest_of(128) == 129); // [128, 256) in 64 buckets of 2
}

TEST_CASE("histogram: a value is known to within 1/64 of itself") {
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 1; v <= 3'600'000'000; v = v * 3 / 2 + 1) { // 1 us .. 1 h
    values.push_back(v);
  }
  std::mt19937_64 random(42);
  for (int i = 0; i < 10'000; ++i) {
    values.push_back(random() >> (random() % 64));
  }
  values.push_back(max_u64);
  for (const auto v : values) {
    const auto index = histogram::index_of(v);
    const auto low = histogram::lowest_of(index);
    const auto high = histogram::highest_of(index);
    INFO("value " << v);
    REQUIRE(low <= v);
    REQUIRE(v <= high);
    if (low > 0) {
      REQUIRE(static_cast<double>(high - low) / static_cast<double>(low) <= 1.0 / 64.0);
    }
  }
}

TEST_CASE("histogram: percentiles within 1% on uniform, exponential and bimodal data") {
  std::mt19937_64 random(7);
  std::vector<std::uint64_t> uniform(200'000);
  std::uniform_int_distribution<std::uint64_t> flat(100, 2'000'000);
  for (auto& v : uniform) {
    v = flat(random);
  }
  check_percentiles(uniform);

  std::vector<std::uint64_t> exponential(200'000);
  std::exponential_distribution<double> decay(1.0 / 20'000.0); // mean 20 ms
  for (auto& v : exponential) {
    v = static_cast<std::uint64_t>(decay(random)) + 1;
  }
  check_percentiles(exponential);

  // 70% cache hits near 2 ms, 30% full scans near 400 ms: no tested percentile sits in the gap.
  std::vector<std::uint64_t> bimodal(200'000);
  std::normal_distribution<double> fast(2'000.0, 200.0);
  std::normal_distribution<double> slow(400'000.0, 50'000.0);
  std::bernoulli_distribution is_slow(0.3);
  for (auto& v : bimodal) {
    v = static_cast<std::uint64_t>(std::max(1.0, is_slow(random) ? slow(random) : fast(random)));
  }
  check_percentiles(bimodal);
}

TEST_CASE("histogram: small values are exact and percentiles use the nearest rank") {
  const histogram h = of({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(h.percentile(50) == 5);
  CHECK(h.percentile(90) == 9);
  CHECK(h.percentile(91) == 10);
  CHECK(h.percentile(10) == 1);
  CHECK(h.percentile(-3) == 1);
  CHECK(h.percentile(250) == 10);
  CHECK(h.percentile(std::nan("")) == 1);
  // 99.9% of 1000 is rank 999 although 0.999 * 1000 is 999.0000000000001 in doubles.
  histogram thousand;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    thousand.record(v < 1000 ? 5 : 100);
  }
  CHECK(thousand.percentile(99.9) == 5);
}

TEST_CASE("histogram: min, max, mean and sum are exact") {
  histogram h;
  h.record(1'000'003);
  h.record(7, 3);
  h.record(250'000);
  CHECK(h.count() == 5);
  CHECK(h.min() == 7);
  CHECK(h.max() == 1'000'003);
  CHECK(h.sum() == 1'000'003 + 21 + 250'000);
  CHECK(h.mean() == doctest::Approx(1'250'024.0 / 5.0));
  CHECK(h.percentile(100) == 1'000'003);
  CHECK(h.percentile(0) == 7);
  // The sum saturates instead of wrapping, so the mean stays large.
  histogram huge;
  huge.record(max_u64, 2);
  CHECK(huge.sum() == max_u64);
  CHECK(huge.percentile(50) == max_u64);
}

TEST_CASE("histogram: an empty histogram reports zeros and equals a fresh one") {
  histogram h;
  h.record(12, 0);
  CHECK(h == histogram{});
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.percentile(99) == 0);
  CHECK(h.buckets().empty());
  h.merge(histogram{});
  CHECK(h == histogram{});
  std::string error;
  const auto back = histogram::from_json(h.to_json(), error);
  REQUIRE(back.has_value());
  CHECK(*back == h);
}

TEST_CASE("histogram: merging shards equals recording everything in one") {
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> latency(9.0, 1.5);
  std::vector<std::uint64_t> values(50'000);
  for (auto& v : values) {
    v = static_cast<std::uint64_t>(latency(random));
  }
  values.push_back(0);
  values.push_back(max_u64 / 4);
  const histogram all = of(values);
  for (const std::size_t shards : {1u, 2u, 3u, 7u, 64u}) {
    // Round-robin shards and contiguous shards, merged in opposite orders.
    std::vector<histogram> round_robin(shards);
    std::vector<histogram> contiguous(shards);
    for (std::size_t i = 0; i < values.size(); ++i) {
      round_robin[i % shards].record(values[i]);
      contiguous[i * shards / values.size()].record(values[i]);
    }
    histogram forward;
    histogram backward;
    for (std::size_t i = 0; i < shards; ++i) {
      forward.merge(round_robin[i]);
      backward.merge(contiguous[shards - 1 - i]);
    }
    INFO(shards << " shards");
    CHECK(forward == all);
    CHECK(backward == all);
    for (const double p : {50.0, 99.0, 99.99}) {
      CHECK(forward.percentile(p) == all.percentile(p));
    }
    CHECK(backward.mean() == all.mean());
  }
}

TEST_CASE("histogram: buckets lists the non-empty buckets in order") {
  const histogram h = of({3, 3, 200, 201, 5'000});
  const std::vector<histogram::bucket> expected{
      {3, 3, 2}, {200, 201, 2}, {4'992, 5'055, 1}}; // [4096, 8192) in 64 buckets of 64
  CHECK(h.buckets() == expected);
}

TEST_CASE("histogram: JSON round trip") {
  const histogram h = of({0, 3, 3, 200, 5'000, 1'000'000, max_u64 / 2});
  const auto j = h.to_json();
  CHECK(j["unit"] == "us");
  CHECK(j["count"] == 7);
  CHECK(j["min"] == 0);
  CHECK(j["buckets"][1] == nlohmann::json::array({3, 2}));
  std::string error;
  const auto back = histogram::from_json(nlohmann::json::parse(j.dump()), error);
  REQUIRE_MESSAGE(back.has_value(), error);
  CHECK(*back == h);
  const auto direct = histogram::from_json(j, error);
  REQUIRE(direct.has_value());
  CHECK(*direct == h);
}

TEST_CASE("histogram: JSON carries ready percentiles and the mean, ignored on reading") {
  const histogram h = of({100, 200, 300, 400, 1'000});
  const auto j = h.to_json();
  CHECK(j["p50"] == h.percentile(50));
  CHECK(j["p90"] == h.percentile(90));
  CHECK(j["p99"] == h.percentile(99));
  CHECK(j["p99_9"] == h.percentile(99.9));
  CHECK(j["p99"].get<std::uint64_t>() >= 990);
  CHECK(j["max"] == 1'000);
  CHECK(j["mean"] == 400.0);
  auto edited = j;
  edited["p99"] = 7;
  edited["mean"] = "not even a number";
  std::string error;
  const auto back = histogram::from_json(edited, error);
  REQUIRE_MESSAGE(back.has_value(), error);
  CHECK(*back == h);
  CHECK(back->to_json()["p99"] == h.percentile(99));
  const auto empty = histogram{}.to_json();
  CHECK(empty["p50"] == 0);
  CHECK(empty["mean"] == 0.0);
}

TEST_CASE("histogram: from_json rejects malformed input and says where") {
  const auto good = of({3, 3, 200}).to_json(); // buckets [[3,2],[164,1]]
  auto with = [&](const char* key, nlohmann::json value) {
    auto j = good;
    j[key] = std::move(value);
    return j;
  };
  CHECK(from_json_error(nlohmann::json::array()) == "histogram: expected an object");
  CHECK(from_json_error(with("unit", "ms")) == "histogram.unit: expected \"us\"");
  CHECK(from_json_error(with("count", "3")) == "histogram.count: expected a non-negative integer");
  CHECK(from_json_error(with("min", -1)) == "histogram.min: expected a non-negative integer");
  CHECK(from_json_error(with("sum", 1.5)) == "histogram.sum: expected a non-negative integer");
  auto missing = good;
  missing.erase("max");
  CHECK(from_json_error(missing) == "histogram.max: missing");
  CHECK(from_json_error(with("buckets", nlohmann::json::object())) ==
        "histogram.buckets: expected an array of [index, count] pairs");
  CHECK(from_json_error(with("count", 4)) == "histogram.count: 4 but the buckets add up to 3");
  CHECK(from_json_error(with("buckets", nlohmann::json::parse("[[3, 2], [200]]"))) ==
        "histogram.buckets[1]: expected [index, count] with non-negative integers");
  CHECK(from_json_error(with("buckets", nlohmann::json::parse("[[3, 2], [3776, 1]]"))) ==
        "histogram.buckets[1]: bucket index 3776 out of range (0..3775)");
  CHECK(from_json_error(with("buckets", nlohmann::json::parse("[[164, 1], [3, 2]]"))) ==
        "histogram.buckets[1]: bucket index 3 not above the previous index 164");
  CHECK(from_json_error(with("buckets", nlohmann::json::parse("[[3, 1], [3, 1], [164, 1]]"))) ==
        "histogram.buckets[1]: bucket index 3 not above the previous index 3");
  CHECK(from_json_error(with("buckets", nlohmann::json::parse("[[3, 2], [100, 0], [164, 1]]"))) ==
        "histogram.buckets[1]: count must be positive (only non-empty buckets are listed)");
  CHECK(from_json_error(
            with("buckets", nlohmann::json::parse("[[3, 18446744073709551615], [164, 1]]"))) ==
        "histogram.buckets[1]: counts overflow");
  CHECK(from_json_error(with("min", 4)) ==
        "histogram.min/max: 4/200 do not fall in the first/last non-empty buckets");
  CHECK(from_json_error(with("max", 5'000)) ==
        "histogram.min/max: 3/5000 do not fall in the first/last non-empty buckets");
  CHECK(from_json_error(with("sum", 1'000)) == "histogram.sum: 1000 is outside count * [min, max]");
  const auto empty = histogram{}.to_json();
  auto bad_empty = empty;
  bad_empty["max"] = 1;
  CHECK(from_json_error(bad_empty) == "histogram: an empty histogram must have min, max and sum 0");
}
