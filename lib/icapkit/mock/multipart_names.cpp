#include "icapkit/mock/multipart_names.hpp"

#include "icapkit/codec/message.hpp"

#include <algorithm>
#include <cctype>

namespace icapkit::mock {

namespace {

// Part header lines longer than this are not names we need; the rest of the line is skipped.
constexpr std::size_t max_line = 4096;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// The value of parameter `name` in "type; a=b; c=\"d\"" (case-insensitive name), unquoted.
std::string parameter(std::string_view value, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = value.find(';', pos)) != std::string_view::npos) {
    ++pos;
    const auto eq = value.find('=', pos);
    if (eq == std::string_view::npos) {
      return {};
    }
    if (!codec::iequals(trim(value.substr(pos, eq - pos)), name)) {
      continue;
    }
    auto rest = trim(value.substr(eq + 1));
    if (!rest.empty() && rest.front() == '"') {
      const auto close = rest.find('"', 1);
      return std::string(rest.substr(1, close == std::string_view::npos ? rest.npos : close - 1));
    }
    return std::string(trim(rest.substr(0, rest.find(';'))));
  }
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace

multipart_names::multipart_names(std::string boundary)
    : delimiter_(boundary.empty() ? std::string() : "--" + boundary) {}

void multipart_names::feed(std::string_view piece) {
  if (delimiter_.empty()) {
    return;
  }
  for (const char c : piece) {
    if (c == '\n') {
      end_line();
      continue;
    }
    if (line_.size() < max_line) {
      line_ += c;
    } else {
      line_too_long_ = true;
    }
  }
}

void multipart_names::end_line() {
  const std::string_view line = trim(line_);
  if (!line_too_long_) {
    if (line.starts_with(delimiter_)) {
      in_headers_ = line.substr(delimiter_.size()) != "--"; // "--boundary--" ends the body
    } else if (in_headers_ && line.empty()) {
      in_headers_ = false;
    } else if (in_headers_) {
      const auto colon = line.find(':');
      if (colon != std::string_view::npos &&
          codec::iequals(trim(line.substr(0, colon)), "Content-Disposition")) {
        auto name = disposition_filename(line.substr(colon + 1));
        if (!name.empty()) {
          names_.push_back(std::move(name));
        }
      }
    }
  }
  line_.clear();
  line_too_long_ = false;
}

std::string multipart_boundary(std::string_view content_type) {
  if (!lower(trim(content_type)).starts_with("multipart/")) {
    return {};
  }
  return parameter(content_type, "boundary");
}

std::string disposition_filename(std::string_view value) {
  auto extended = parameter(value, "filename*");
  if (!extended.empty()) {
    const auto quote = extended.find("''");
    return percent_decode(quote == std::string::npos ? extended : extended.substr(quote + 2));
  }
  return parameter(value, "filename");
}

std::string url_file_name(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  const auto scheme = target.find("://");
  if (scheme != std::string_view::npos) {
    const auto path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view() : target.substr(path);
  }
  const auto slash = target.rfind('/');
  return percent_decode(slash == std::string_view::npos ? target : target.substr(slash + 1));
}

std::string file_extension(std::string_view name) {
  const auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) {
    return {};
  }
  return lower(name.substr(dot + 1));
}

} // namespace icapkit::mock
