#include "icapkit/load/prometheus.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace icapkit::load {

namespace {

bool is_name_start(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool is_valid_name(std::string_view name, bool allow_colon) {
  if (name.empty() || !is_name_start(name[0], allow_colon)) {
    return false;
  }
  for (const char c : name) {
    if (!is_name_start(c, allow_colon) && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  return true;
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="1",b="2"} plus an optional trailing le label; empty when there are no labels at all.
std::string label_set(const prometheus_labels& labels, std::string_view le = {}) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += (out.empty() ? "{" : ",") + name + "=\"" + escape(value, true) + "\"";
  }
  if (!le.empty()) {
    out += (out.empty() ? "{" : ",") + std::string("le=\"") + std::string(le) + "\"";
  }
  return out.empty() ? out : out + "}";
}

std::string seconds(std::uint64_t us) {
  return prometheus_number(static_cast<double>(us) / 1e6);
}

} // namespace

std::string prometheus_number(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                       std::chars_format::general);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("NaN");
}

void prometheus_writer::begin(std::string_view name, std::string_view help, std::string_view type,
                              const prometheus_labels& labels) {
  if (!is_valid_name(name, true)) {
    throw std::invalid_argument("prometheus: invalid metric name '" + std::string(name) + "'");
  }
  for (const auto& [label, value] : labels) {
    if (!is_valid_name(label, false) || label.starts_with("__") ||
        (type == "histogram" && label == "le")) {
      throw std::invalid_argument("prometheus: invalid label name '" + label + "' on " +
                                  std::string(name));
    }
  }
  if (name == current_name_) {
    if (type != current_type_) {
      throw std::invalid_argument("prometheus: " + std::string(name) + " written as " +
                                  current_type_ + " and " + std::string(type));
    }
    return; // another series of the metric just written: no second HELP/TYPE
  }
  if (names_.contains(name)) {
    throw std::invalid_argument("prometheus: series of " + std::string(name) +
                                " must be written together");
  }
  names_.emplace(name);
  current_name_ = std::string(name);
  current_type_ = std::string(type);
  out_ << "# HELP " << name << ' ' << escape(help, false) << '\n';
  out_ << "# TYPE " << name << ' ' << type << '\n';
}

void prometheus_writer::write_histogram(std::string_view name, std::string_view help,
                                        const prometheus_labels& labels, const histogram& h) {
  begin(name, help, "histogram", labels);
  // A bucket of the log-linear histogram that straddles a bound is counted under the first bound
  // at or above its highest value: a latency is never reported as faster than it might have been.
  const auto buckets = h.buckets();
  std::size_t next = 0;
  std::uint64_t cumulative = 0;
  for (const std::uint64_t bound : prometheus_bucket_bounds_us) {
    for (; next < buckets.size() && buckets[next].high <= bound; ++next) {
      cumulative += buckets[next].count;
    }
    out_ << name << "_bucket" << label_set(labels, seconds(bound)) << ' ' << cumulative << '\n';
  }
  out_ << name << "_bucket" << label_set(labels, "+Inf") << ' ' << h.count() << '\n';
  out_ << name << "_sum" << label_set(labels) << ' ' << seconds(h.sum()) << '\n';
  out_ << name << "_count" << label_set(labels) << ' ' << h.count() << '\n';
}

void prometheus_writer::write_counter(std::string_view name, std::string_view help,
                                      const prometheus_labels& labels, std::uint64_t value) {
  begin(name, help, "counter", labels);
  out_ << name << label_set(labels) << ' ' << value << '\n';
}

void prometheus_writer::write_gauge(std::string_view name, std::string_view help,
                                    const prometheus_labels& labels, double value) {
  begin(name, help, "gauge", labels);
  out_ << name << label_set(labels) << ' ' << prometheus_number(value) << '\n';
}

} // namespace icapkit::load
