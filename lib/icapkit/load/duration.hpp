#pragma once
// Durations as users type them on the command line ("500ms", "4s", "1m30s") and as the load
// tester prints them ("850 us", "12.3 ms", "1.25 s"). Every icapkit flag that takes a time reads
// it with parse_duration, so all accept the same forms.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::load {

// Parses one or more NUMBER UNIT parts, added up as Go's time.ParseDuration does ("500ms",
// "1m30s", "1h2m3.5s"): NUMBER is digits with an optional fraction ("1.5"), UNIT one of us, ms,
// s, m, h. Each part is rounded to the nearest microsecond. Returns nullopt and sets `error`
// ("duration '5': missing unit (us, ms, s, m or h)") for an empty text, a missing or unknown
// unit, a sign, a malformed number ("1.5.2s") or a value beyond what microseconds hold.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text, std::string& error);

// The same, except that a bare number ("200", "1.5") is read in `bare_unit`: flags that took a
// plain number of milliseconds before they took units keep that meaning. A zero `bare_unit`
// makes a bare number an error, as parse_duration does. A unit-less part after others ("1m30")
// is always an error.
std::optional<std::chrono::microseconds>
parse_duration(std::string_view text, std::chrono::microseconds bare_unit, std::string& error);

// For humans: "850 us" below 1 ms, "12.3 ms" below 1 s (0.1 ms steps), "1.25 s" above (10 ms
// steps); trailing zeros dropped ("2 s"). Negative values get a leading '-'.
std::string format_duration(std::chrono::microseconds value);

namespace detail {
// The parser behind parse_duration: a bare number is read in `bare_unit_us` microseconds, or is
// an error when that is 0 (thresholds read "200" as 200 ms). `problem` names what is wrong
// without repeating the text ("missing unit (us, ms, s, m or h)").
std::optional<std::chrono::microseconds>
read_duration(std::string_view text, std::int64_t bare_unit_us, std::string& problem);
} // namespace detail

} // namespace icapkit::load
