#include "icapkit/load/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace icapkit::load {

namespace {

constexpr std::uint64_t max_us = std::numeric_limits<std::int64_t>::max();
// Fraction digits kept: with 9 digits, fraction * 3.6e9 (an hour in us) still fits in 64 bits.
constexpr std::size_t max_fraction_digits = 9;
constexpr std::uint64_t fraction_scale = 1'000'000'000;

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> units{{
    {"us", 1},
    {"ms", 1'000},
    {"s", 1'000'000},
    {"m", 60'000'000},
    {"h", 3'600'000'000},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

struct decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0; // in units of 1/fraction_scale
  bool whole_overflow = false;
};

// Reads digits [. digits] from the front of `text`, leaving the rest (the unit) in `text`.
std::optional<decimal> read_decimal(std::string_view& text, std::string& problem) {
  decimal d;
  std::size_t i = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    d.whole_overflow = d.whole_overflow || d.whole > (max_us - digit) / 10;
    d.whole = d.whole_overflow ? d.whole : d.whole * 10 + digit;
  }
  if (i == 0) {
    problem = "expected a number";
    return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    std::uint64_t scale = fraction_scale;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      if (i - start < max_fraction_digits) {
        scale /= 10;
        d.fraction += static_cast<std::uint64_t>(text[i] - '0') * scale;
      }
    }
    if (i == start) {
      problem = "expected digits after '.'";
      return std::nullopt;
    }
  }
  if (i < text.size() && (text[i] == '.' || is_digit(text[i]))) {
    problem = "malformed number";
    return std::nullopt;
  }
  text.remove_prefix(i);
  return d;
}

} // namespace

namespace {

// The unit at the front of `text` (its letters up to the next digit or '.'), removed from
// `text`; 0 when there is none or it is unknown (`problem` says which).
std::uint64_t read_unit(std::string_view& text, std::string& problem) {
  std::size_t length = 0;
  while (length < text.size() && !is_digit(text[length]) && text[length] != '.') {
    ++length;
  }
  const auto name = text.substr(0, length);
  text.remove_prefix(length);
  for (const auto& [known, us] : units) {
    if (known == name) {
      return us;
    }
  }
  problem = name.empty() ? "missing unit (us, ms, s, m or h)"
                         : "unknown unit '" + std::string(name) + "' (us, ms, s, m or h)";
  return 0;
}

// number * unit in microseconds, the fraction rounded to the nearest; nullopt past max_us.
std::optional<std::uint64_t> scaled(const decimal& number, std::uint64_t unit) {
  // fraction * unit fits: fraction < 1e9 and unit <= 3.6e9.
  const std::uint64_t fraction_us = (number.fraction * unit + fraction_scale / 2) / fraction_scale;
  if (number.whole_overflow || number.whole > (max_us - fraction_us) / unit) {
    return std::nullopt;
  }
  return number.whole * unit + fraction_us;
}

} // namespace

namespace detail {

std::optional<std::chrono::microseconds>
read_duration(std::string_view text, std::int64_t bare_unit_us, std::string& problem) {
  if (text.empty()) {
    problem = "empty duration";
    return std::nullopt;
  }
  if (text.front() == '-' || text.front() == '+') {
    problem = text.front() == '-' ? "must not be negative" : "unexpected sign";
    return std::nullopt;
  }
  std::uint64_t total = 0;
  bool first = true;
  while (!text.empty()) {
    const auto number = read_decimal(text, problem);
    if (!number) {
      return std::nullopt;
    }
    std::uint64_t unit = 0;
    if (first && text.empty() && bare_unit_us > 0) {
      unit = static_cast<std::uint64_t>(bare_unit_us); // "200": the flag's own unit
    } else if (unit = read_unit(text, problem); unit == 0) {
      return std::nullopt;
    }
    const auto part = scaled(*number, unit);
    if (!part || *part > max_us - total) {
      problem = "too large";
      return std::nullopt;
    }
    total += *part;
    first = false;
  }
  return std::chrono::microseconds{static_cast<std::int64_t>(total)};
}

} // namespace detail

std::optional<std::chrono::microseconds> parse_duration(std::string_view text, std::string& error) {
  return parse_duration(text, std::chrono::microseconds{0}, error);
}

std::optional<std::chrono::microseconds>
parse_duration(std::string_view text, std::chrono::microseconds bare_unit, std::string& error) {
  std::string problem;
  auto value = detail::read_duration(text, bare_unit.count(), problem);
  if (!value) {
    error = "duration '" + std::string(text) + "': " + problem;
  }
  return value;
}

namespace {

// "12.30" -> "12.3", "2.00" -> "2": `scaled` in units of 1/10^decimals.
std::string trimmed_decimal(std::uint64_t scaled, unsigned decimals) {
  std::uint64_t divisor = 1;
  for (unsigned i = 0; i < decimals; ++i) {
    divisor *= 10;
  }
  std::string out = std::to_string(scaled / divisor);
  std::string fraction = std::to_string(scaled % divisor);
  fraction.insert(0, decimals - fraction.size(), '0');
  while (!fraction.empty() && fraction.back() == '0') {
    fraction.pop_back();
  }
  return fraction.empty() ? out : out + "." + fraction;
}

} // namespace

std::string format_duration(std::chrono::microseconds value) {
  const auto count = value.count();
  // Negate in unsigned arithmetic so the minimum int64 does not overflow.
  const std::uint64_t us = count < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(count)
                                     : static_cast<std::uint64_t>(count);
  const std::string sign = count < 0 ? "-" : "";
  if (us < 1'000) {
    return sign + std::to_string(us) + " us";
  }
  // Round first, then pick the unit, so 999.96 ms prints as "1 s" rather than "1000 ms".
  const std::uint64_t tenths_ms = us / 100 + (us % 100 >= 50 ? 1 : 0);
  if (tenths_ms < 10'000) {
    return sign + trimmed_decimal(tenths_ms, 1) + " ms";
  }
  const std::uint64_t hundredths_s = us / 10'000 + (us % 10'000 >= 5'000 ? 1 : 0);
  return sign + trimmed_decimal(hundredths_s, 2) + " s";
}

} // namespace icapkit::load
