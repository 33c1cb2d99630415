#include "icapkit/load/prometheus.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <sstream>
#include <stdexcept>

using icapkit::load::histogram;
using icapkit::load::prometheus_writer;

TEST_CASE("prometheus: exact text of histograms, counters and gauges") {
  histogram connect;
  connect.record(300);   // 0.0003 s
  connect.record(2'000); // 0.002 s
  histogram total;
  total.record(40'000, 2); // 0.04 s
  total.record(3'000'000); // 3 s
  std::ostringstream out;
  prometheus_writer writer(out);
  writer.write_histogram("icapkit_load_latency_seconds", "Latency by phase.",
                         {{"phase", "connect"}}, connect);
  writer.write_histogram("icapkit_load_latency_seconds", "Latency by phase.", {{"phase", "total"}},
                         total);
  writer.write_counter("icapkit_load_requests_total", "Requests by outcome.",
                       {{"outcome", "blocked"}}, 12);
  writer.write_counter("icapkit_load_requests_total", "Requests by outcome.",
                       {{"outcome", "passed"}}, 30);
  writer.write_gauge("icapkit_load_rate", "Achieved requests per second.", {}, 512.5);
  CHECK(out.str() == R"(# HELP icapkit_load_latency_seconds Latency by phase.
# TYPE icapkit_load_latency_seconds histogram
icapkit_load_latency_seconds_bucket{phase="connect",le="0.0005"} 1
icapkit_load_latency_seconds_bucket{phase="connect",le="0.001"} 1
icapkit_load_latency_seconds_bucket{phase="connect",le="0.0025"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.005"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.01"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.025"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.05"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.1"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.25"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="0.5"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="1"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="2.5"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="5"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="10"} 2
icapkit_load_latency_seconds_bucket{phase="connect",le="+Inf"} 2
icapkit_load_latency_seconds_sum{phase="connect"} 0.0023
icapkit_load_latency_seconds_count{phase="connect"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="0.0005"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.001"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.0025"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.005"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.01"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.025"} 0
icapkit_load_latency_seconds_bucket{phase="total",le="0.05"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="0.1"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="0.25"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="0.5"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="1"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="2.5"} 2
icapkit_load_latency_seconds_bucket{phase="total",le="5"} 3
icapkit_load_latency_seconds_bucket{phase="total",le="10"} 3
icapkit_load_latency_seconds_bucket{phase="total",le="+Inf"} 3
icapkit_load_latency_seconds_sum{phase="total"} 3.08
icapkit_load_latency_seconds_count{phase="total"} 3
# HELP icapkit_load_requests_total Requests by outcome.
# TYPE icapkit_load_requests_total counter
icapkit_load_requests_total{outcome="blocked"} 12
icapkit_load_requests_total{outcome="passed"} 30
# HELP icapkit_load_rate Achieved requests per second.
# TYPE icapkit_load_rate gauge
icapkit_load_rate 512.5
)");
}

TEST_CASE("prometheus: a bucket straddling a bound counts under the next bound") {
  // 500 us falls in the bucket [500, 503], whose highest value is above 0.0005 s.
  histogram h;
  h.record(499); // bucket [496, 499]: at or below 0.0005
  h.record(500);
  std::ostringstream out;
  prometheus_writer(out).write_histogram("x", "h", {}, h);
  CHECK(out.str().find("x_bucket{le=\"0.0005\"} 1\nx_bucket{le=\"0.001\"} 2\n") !=
        std::string::npos);
  CHECK(out.str().find("x_sum 0.000999\n") != std::string::npos);
}

TEST_CASE("prometheus: label values and help text are escaped") {
  std::ostringstream out;
  prometheus_writer(out).write_counter("c_total", "line one\\two\nthree \"q\"",
                                       {{"file", "C:\\x \"y\"\nz"}}, 1);
  CHECK(out.str() == "# HELP c_total line one\\\\two\\nthree \"q\"\n"
                     "# TYPE c_total counter\n"
                     "c_total{file=\"C:\\\\x \\\"y\\\"\\nz\"} 1\n");
}

TEST_CASE("prometheus: numbers") {
  using icapkit::load::prometheus_number;
  CHECK(prometheus_number(0) == "0");
  CHECK(prometheus_number(0.0005) == "0.0005");
  CHECK(prometheus_number(2.5) == "2.5");
  CHECK(prometheus_number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prometheus_number(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(prometheus_number(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("prometheus: misuse is a programming error") {
  std::ostringstream out;
  prometheus_writer writer(out);
  CHECK_THROWS_AS(writer.write_counter("1bad", "h", {}, 1), std::invalid_argument);
  CHECK_THROWS_AS(writer.write_counter("ok_total", "h", {{"bad-label", "v"}}, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(writer.write_histogram("h", "h", {{"le", "1"}}, histogram{}),
                  std::invalid_argument);
  writer.write_counter("a_total", "h", {}, 1);
  CHECK_THROWS_AS(writer.write_gauge("a_total", "h", {{"x", "1"}}, 1), std::invalid_argument);
  writer.write_counter("b_total", "h", {}, 1);
  CHECK_THROWS_AS(writer.write_counter("a_total", "h", {{"x", "1"}}, 1), std::invalid_argument);
}
