#include "icapkit/load/duration.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <string>

using namespace std::chrono_literals;
using icapkit::load::format_duration;
using icapkit::load::parse_duration;

namespace {

std::chrono::microseconds parsed(const char* text) {
  std::string error;
  const auto value = parse_duration(text, error);
  REQUIRE_MESSAGE(value.has_value(), error);
  return *value;
}

std::string error_of(const char* text) {
  std::string error;
  CHECK_FALSE(parse_duration(text, error).has_value());
  return error;
}

} // namespace

TEST_CASE("duration: every unit") {
  CHECK(parsed("250us") == 250us);
  CHECK(parsed("500ms") == 500ms);
  CHECK(parsed("4s") == 4s);
  CHECK(parsed("2m") == 2min);
  CHECK(parsed("1h") == 1h);
  CHECK(parsed("0s") == 0us);
}

TEST_CASE("duration: fractions are exact and round to the nearest microsecond") {
  CHECK(parsed("1.5s") == 1'500ms);
  CHECK(parsed("0.1s") == 100ms);
  CHECK(parsed("0.25m") == 15s);
  CHECK(parsed("1.0005ms") == 1'001us); // 1000.5 us rounds up
  CHECK(parsed("1.0004ms") == 1'000us);
  CHECK(parsed("2.000000000001h") == 2h); // digits past the ninth do not matter
}

TEST_CASE("duration: errors quote the text and say what is wrong") {
  CHECK(error_of("") == "duration '': empty duration");
  CHECK(error_of("5") == "duration '5': missing unit (us, ms, s, m or h)");
  CHECK(error_of("5ns") == "duration '5ns': unknown unit 'ns' (us, ms, s, m or h)");
  CHECK(error_of("5 s") == "duration '5 s': unknown unit ' s' (us, ms, s, m or h)");
  CHECK(error_of("-1s") == "duration '-1s': must not be negative");
  CHECK(error_of("+1s") == "duration '+1s': unexpected sign");
  CHECK(error_of("1.5.2s") == "duration '1.5.2s': malformed number");
  CHECK(error_of("1.s") == "duration '1.s': expected digits after '.'");
  CHECK(error_of("ms") == "duration 'ms': expected a number");
  CHECK(error_of(".5s") == "duration '.5s': expected a number");
  CHECK(error_of("99999999999999999999s") == "duration '99999999999999999999s': too large");
  CHECK(error_of("2562047789h") == "duration '2562047789h': too large"); // just past int64 us
}

TEST_CASE("duration: the largest value microseconds hold") {
  CHECK(parsed("9223372036854775807us").count() == std::numeric_limits<std::int64_t>::max());
  CHECK(error_of("9223372036854775808us") == "duration '9223372036854775808us': too large");
  CHECK(parsed("2562047788h") == 2'562'047'788h);
}

TEST_CASE("duration: parts add up, as Go, k6 and vegeta read them") {
  CHECK(parsed("1m30s") == 90s);
  CHECK(parsed("1h2m3s") == 3'723s);
  CHECK(parsed("1h30m") == 90min);
  CHECK(parsed("2s500ms") == 2'500ms);
  CHECK(parsed("1.5m30s") == 2min);
  CHECK(parsed("1ms500us") == 1'500us);
  CHECK(parsed("30s1m") == 90s); // any order, as Go's time.ParseDuration
  CHECK(parsed("0h0m0s") == 0us);
}

TEST_CASE("duration: errors in a later part") {
  CHECK(error_of("1m30") == "duration '1m30': missing unit (us, ms, s, m or h)");
  CHECK(error_of("1m30x") == "duration '1m30x': unknown unit 'x' (us, ms, s, m or h)");
  CHECK(error_of("1m-30s") == "duration '1m-30s': unknown unit 'm-' (us, ms, s, m or h)");
  CHECK(error_of("1s.5s") == "duration '1s.5s': expected a number");
  CHECK(error_of("1m 30s") == "duration '1m 30s': unknown unit 'm ' (us, ms, s, m or h)");
  CHECK(error_of("2562047788h1h") == "duration '2562047788h1h': too large"); // the sum overflows
}

TEST_CASE("duration: a flag's bare unit applies to a lone number only") {
  std::string error;
  CHECK(parse_duration("5000", 1ms, error) == 5s);
  CHECK(parse_duration("2.5", 1s, error) == 2'500ms);
  CHECK(parse_duration("5s", 1ms, error) == 5s); // a unit wins over the bare unit
  CHECK(parse_duration("1m30s", 1ms, error) == 90s);
  CHECK_FALSE(parse_duration("1s500", 1ms, error).has_value());
  CHECK(error == "duration '1s500': missing unit (us, ms, s, m or h)");
  CHECK_FALSE(parse_duration("500", 0us, error).has_value());
  CHECK(error == "duration '500': missing unit (us, ms, s, m or h)");
  CHECK_FALSE(parse_duration("abc", 1ms, error).has_value());
  CHECK(error == "duration 'abc': expected a number");
}

TEST_CASE("duration: a bare number can mean a default unit (thresholds)") {
  std::string problem;
  CHECK(icapkit::load::detail::read_duration("200", 1'000, problem) == 200ms);
  CHECK(icapkit::load::detail::read_duration("1.5", 1'000, problem) == 1'500us);
  CHECK_FALSE(icapkit::load::detail::read_duration("200", 0, problem).has_value());
  CHECK(problem == "missing unit (us, ms, s, m or h)");
}

TEST_CASE("duration: format for humans") {
  CHECK(format_duration(0us) == "0 us");
  CHECK(format_duration(850us) == "850 us");
  CHECK(format_duration(999us) == "999 us");
  CHECK(format_duration(1'000us) == "1 ms");
  CHECK(format_duration(12'340us) == "12.3 ms");
  CHECK(format_duration(183'250us) == "183.3 ms");
  CHECK(format_duration(999'940us) == "999.9 ms");
  CHECK(format_duration(999'960us) == "1 s"); // rounding moves it to the next unit
  CHECK(format_duration(1'250'000us) == "1.25 s");
  CHECK(format_duration(2s) == "2 s");
  CHECK(format_duration(1h) == "3600 s");
  CHECK(format_duration(-12'300us) == "-12.3 ms");
  CHECK(format_duration(std::chrono::microseconds::min()).starts_with("-"));
}
