#include "icapkit/replay/junit.hpp"

#include <array>
#include <charconv>
#include <ostream>
#include <string_view>

namespace icapkit::replay {
namespace detail {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0 (RFC 3629 table 3-7:
// no overlongs, no surrogates, nothing past U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto b0 = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 < 0x80) {
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    low = b0 == 0xE0 ? 0xA0 : 0x80;
    high = b0 == 0xED ? 0x9F : 0xBF;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    low = b0 == 0xF0 ? 0x90 : 0x80;
    high = b0 == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// Characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE, U+FFFF) and bytes that are not
// UTF-8 become U+FFFD: URLs and threat names come from captures and may hold anything.
void append_xml_char(std::string& out, std::string_view sequence, bool attribute) {
  if (sequence.size() > 1) {
    const bool non_character = sequence == "\xEF\xBF\xBE" || sequence == "\xEF\xBF\xBF";
    out += non_character ? replacement_character : sequence;
    return;
  }
  switch (const char c = sequence[0]) {
  case '&':
    out += "&amp;";
    break;
  case '<':
    out += "&lt;";
    break;
  case '>':
    out += "&gt;";
    break;
  case '"':
    out += "&quot;";
    break;
  case '\'':
    out += "&apos;";
    break;
  // In attributes a parser normalizes literal whitespace to spaces; references keep it.
  case '\t':
    out += attribute ? "&#9;" : "\t";
    break;
  case '\n':
    out += attribute ? "&#10;" : "\n";
    break;
  case '\r':
    out += "&#13;";
    break;
  default:
    if (static_cast<unsigned char>(c) < 0x20) {
      out += replacement_character;
    } else {
      out += c;
    }
  }
}

std::string xml_escaped(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto length = utf8_sequence_length(text);
    if (length == 0) {
      out += replacement_character;
      text.remove_prefix(1);
      continue;
    }
    append_xml_char(out, text.substr(0, length), attribute);
    text.remove_prefix(length);
  }
  return out;
}

std::string attr(std::string_view text) {
  return xml_escaped(text, true);
}
std::string body(std::string_view text) {
  return xml_escaped(text, false);
}

// Fixed three decimals with a '.', whatever the locale.
std::string seconds_text(double seconds) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(),
                                       seconds < 0 ? 0.0 : seconds, std::chars_format::fixed, 3);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("0.000");
}

std::string joined(const std::vector<std::string>& lines, std::string_view separator) {
  std::string out;
  for (const auto& line : lines) {
    out += out.empty() ? "" : separator;
    out += line;
  }
  return out;
}

void write_testcase(std::ostream& out, const outcome& o, const check_result& r) {
  const auto name = "#" + std::to_string(o.index) + " " + o.method + " " + o.url;
  out << "    <testcase name=\"" << attr(name) << "\" classname=\"" << attr(o.origin)
      << "\" time=\"" << seconds_text(o.seconds) << "\"";
  switch (r.kind) {
  case verdict::matched:
    out << "/>\n";
    return;
  case verdict::mismatched:
    out << ">\n      <failure message=\"" << attr(joined(r.differences, "; "))
        << "\" type=\"mismatch\">" << body(joined(r.differences, "\n")) << "</failure>\n";
    break;
  case verdict::error:
    out << ">\n      <error message=\"" << attr(o.error) << "\" type=\"request failed\">"
        << body(o.error) << "</error>\n";
    break;
  case verdict::no_expectation:
    out << ">\n      <skipped message=\"no expectation\"";
    if (!o.sent && !o.body_captured) {
      out << ">" << body("not replayed, body not in the capture: " + o.body_note) << "</skipped>\n";
    } else {
      out << "/>\n";
    }
    break;
  }
  out << "    </testcase>\n";
}

} // namespace
} // namespace detail

void write_junit(std::ostream& out, const std::string& suite,
                 const std::vector<std::pair<outcome, check_result>>& results, double seconds) {
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  for (const auto& [o, r] : results) {
    failures += r.kind == verdict::mismatched ? 1U : 0U;
    errors += r.kind == verdict::error ? 1U : 0U;
    skipped += r.kind == verdict::no_expectation ? 1U : 0U;
  }
  const auto counts = "tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
                      std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                      "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" +
                      detail::seconds_text(seconds) + "\"";
  const auto name = detail::attr(suite);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"" << name << "\" " << counts << ">\n";
  out << "  <testsuite name=\"" << name << "\" " << counts << ">\n";
  for (const auto& [o, r] : results) {
    detail::write_testcase(out, o, r);
  }
  out << "  </testsuite>\n</testsuites>\n";
}

} // namespace icapkit::replay
