#include "icapkit/replay/summary.hpp"

#include <algorithm>

#include <array>
#include <charconv>
#include <ostream>
#include <string>
#include <string_view>

namespace icapkit::replay {
namespace detail {
namespace {

using result_list = std::vector<std::pair<outcome, check_result>>;

// The order the summary counts actions in: the common case first, the rare ones last.
constexpr std::array summary_action_order{log::icap_action::passed, log::icap_action::modified,
                                          log::icap_action::blocked, log::icap_action::failed,
                                          log::icap_action::disabled};

constexpr std::string_view hex_digits = "0123456789abcdef";

void append_hex_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += hex_digits[byte >> 4U];
  out += hex_digits[byte & 0xFU];
}

// URLs, notes and errors come from captures and peers; control characters (C0, DEL, and C1 in
// UTF-8, which terminals obey too) could drive the terminal, so they are shown as \xHH.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0U;
    if (byte < 0x20 || byte == 0x7F) {
      append_hex_escape(out, byte);
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      append_hex_escape(out, byte);
      append_hex_escape(out, static_cast<unsigned char>(next));
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// One decimal with a '.', whatever the locale.
std::string one_decimal(double seconds) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(),
                                       seconds < 0 ? 0.0 : seconds, std::chars_format::fixed, 1);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("0.0");
}

std::string counted(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// "#9 POST http://a.example/upload (uploads.har entry 9)"
std::string request_line(const outcome& o) {
  auto line = "#" + std::to_string(o.index) + " " + printable(o.method) + " " + printable(o.url);
  if (!o.origin.empty()) {
    line += " (" + printable(o.origin) + ")";
  }
  return line;
}

bool not_replayed(const outcome& o) {
  return !o.sent && !o.body_captured;
}

void print_first_line(std::ostream& out, const result_list& results, double seconds) {
  std::array<std::size_t, summary_action_order.size()> per_action{};
  std::size_t attempted = 0;
  for (const auto& [o, r] : results) {
    attempted += not_replayed(o) ? 0U : 1U;
    for (std::size_t i = 0; i < summary_action_order.size(); ++i) {
      per_action[i] += o.action == summary_action_order[i] ? 1U : 0U;
    }
  }
  out << "replayed " << counted(attempted, "request") << " in " << one_decimal(seconds) << " s";
  std::string_view separator = ": ";
  for (std::size_t i = 0; i < summary_action_order.size(); ++i) {
    if (per_action[i] > 0) {
      out << separator << log::to_string(summary_action_order[i]) << " " << per_action[i];
      separator = ", ";
    }
  }
  out << '\n';
}

// Prints "heading: N" and, two spaces in, line_of() of the first `max_listed` selected results.
template <class Selected, class Line>
void print_list(std::ostream& out, const result_list& results, std::string_view heading,
                std::size_t max_listed, Selected selected, Line line_of) {
  std::size_t count = 0;
  for (const auto& result : results) {
    count += selected(result) ? 1U : 0U;
  }
  out << heading << ": " << count << '\n';
  std::size_t listed = 0;
  for (const auto& result : results) {
    if (selected(result) && ++listed <= max_listed) {
      out << "  " << line_of(result);
    }
  }
  if (count > max_listed) {
    out << "  ... and " << count - max_listed << " more\n";
  }
}

std::string mismatch_lines(const outcome& o, const check_result& r) {
  std::string lines = "    MISMATCH " + request_line(o) + "\n";
  for (const auto& difference : r.differences) {
    lines += "      " + printable(difference) + "\n";
  }
  return lines;
}

std::size_t count_of(const result_list& results, verdict kind) {
  std::size_t count = 0;
  for (const auto& [o, r] : results) {
    count += r.kind == kind ? 1U : 0U;
  }
  return count;
}

void print_expectations(std::ostream& out, const result_list& results, std::size_t max_listed) {
  out << "expectations: " << count_of(results, verdict::matched) << " matched, "
      << count_of(results, verdict::mismatched) << " mismatched, "
      << count_of(results, verdict::no_expectation) << " without an expectation";
  if (const auto errors = count_of(results, verdict::error); errors > 0) {
    out << ", " << errors << " failed without an expectation";
  }
  out << '\n';
  const auto list = [&](verdict kind, auto line_of) {
    std::size_t count = 0;
    for (const auto& [o, r] : results) {
      if (r.kind == kind && ++count <= max_listed) {
        out << line_of(o, r);
      }
    }
    if (count > max_listed) {
      out << "    ... and " << count - max_listed << " more\n";
    }
  };
  list(verdict::mismatched, mismatch_lines);
  list(verdict::no_expectation, [](const outcome& o, const check_result&) {
    return "    NO EXPECTATION " + request_line(o) + "\n";
  });
}

} // namespace
} // namespace detail

void print_summary(std::ostream& out, const std::vector<std::pair<outcome, check_result>>& results,
                   double seconds, const summary_options& options) {
  using detail::printable;
  using detail::request_line;
  detail::print_first_line(out, results, seconds);
  if (std::any_of(results.begin(), results.end(),
                  [](const auto& r) { return r.first.verdict_from_outside; })) {
    out << "verdicts read from outside the proxy (--target): a request not sent to ICAP shows as "
           "ICAP_PASSED, threat names are not visible\n";
  }
  detail::print_list(
      out, results, "not replayed, body not in the capture", options.max_listed,
      [](const auto& result) { return detail::not_replayed(result.first); },
      [](const auto& result) {
        return request_line(result.first) + ": " + printable(result.first.body_note) + "\n";
      });
  detail::print_list(
      out, results, "failed", options.max_listed,
      [](const auto& result) { return !result.first.error.empty(); },
      [](const auto& result) {
        return request_line(result.first) + ": " + printable(result.first.error) + "\n";
      });
  if (options.expectations_given) {
    detail::print_expectations(out, results, options.max_listed);
  }
}

int exit_status(const std::vector<std::pair<outcome, check_result>>& results) {
  bool mismatched = false;
  for (const auto& [o, r] : results) {
    if (r.kind == verdict::error || !o.error.empty()) {
      return 2;
    }
    mismatched = mismatched || r.kind == verdict::mismatched;
  }
  return mismatched ? 1 : 0;
}

} // namespace icapkit::replay
