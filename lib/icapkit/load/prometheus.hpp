#pragma once
// Prometheus text exposition format 0.0.4 (prometheus.io "Exposition formats") for the final
// numbers of a load run, e.g. for node_exporter's textfile collector (`--prom run.prom`).
#include "icapkit/load/histogram.hpp"

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icapkit::load {

using prometheus_labels = std::vector<std::pair<std::string, std::string>>;

// Upper bounds (seconds) of the exported histogram buckets; +Inf follows them. Latencies are
// recorded in microseconds: 500 us .. 10 s covers an ICAP scan from cache hit to large archive.
inline constexpr std::uint64_t prometheus_bucket_bounds_us[] = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

// Writes metrics to `out` as they are added. Each metric name gets its HELP and TYPE lines once,
// before its first series; further series of the same name (other labels) must follow directly,
// as the format requires every line of a metric to form one group. Breaking that rule, reusing a
// name with another type, or an invalid metric or label name (or "le" on a histogram) is a
// programming error and throws std::invalid_argument. Label values are escaped (\\ \" \n).
class prometheus_writer {
public:
  explicit prometheus_writer(std::ostream& out) : out_(out) {}

  // name_bucket{labels,le="0.0005"} .. {le="+Inf"} (cumulative), name_sum (seconds), name_count.
  void write_histogram(std::string_view name, std::string_view help,
                       const prometheus_labels& labels, const histogram& h);
  void write_counter(std::string_view name, std::string_view help, const prometheus_labels& labels,
                     std::uint64_t value);
  void write_gauge(std::string_view name, std::string_view help, const prometheus_labels& labels,
                   double value);

private:
  void begin(std::string_view name, std::string_view help, std::string_view type,
             const prometheus_labels& labels);

  std::ostream& out_;
  std::set<std::string, std::less<>> names_; // every metric name written, for the group rule
  std::string current_name_;
  std::string current_type_;
};

// A double as Prometheus reads it: shortest round-trip text in %g style like Go's
// FormatFloat(v, 'g', -1, 64) (0.0005, 2.5, 10), "+Inf", "-Inf", "NaN".
std::string prometheus_number(double value);

} // namespace icapkit::load
