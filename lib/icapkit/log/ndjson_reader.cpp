#include "icapkit/log/ndjson_reader.hpp"

#include <streambuf>

namespace icapkit::log {

ndjson_reader::ndjson_reader(std::istream& in, read_options options)
    : in_(&in), options_(options) {}

bool ndjson_reader::read_line(std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  auto* buffer = in_->rdbuf();
  if (buffer == nullptr) {
    return false;
  }
  bool any = false;
  for (;;) {
    std::streambuf::int_type c = std::streambuf::traits_type::eof();
    try {
      c = buffer->sbumpc();
    } catch (const std::exception& e) {
      in_->setstate(std::ios::badbit);
      read_failed_ = e.what();
      return false;
    }
    if (c == std::streambuf::traits_type::eof()) {
      in_->setstate(std::ios::eofbit);
      break;
    }
    any = true;
    if (c == '\n') {
      break;
    }
    if (line.size() < options_.max_line_bytes) {
      line.push_back(std::streambuf::traits_type::to_char_type(c));
    } else {
      too_long = true;
    }
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return any;
}

std::optional<result<app_log_record>> ndjson_reader::next() {
  std::string text;
  bool too_long = false;
  while (read_line(text, too_long)) {
    ++line_;
    if (too_long) {
      return result<app_log_record>(
          read_error{make_error_code(errc::line_too_long), line_, "",
                     "line longer than " + std::to_string(options_.max_line_bytes) + " bytes"});
    }
    if (text.find_first_not_of(" \t") == std::string::npos) {
      continue;
    }
    return parse_record(text, line_, options_);
  }
  if (!read_failed_.empty() && !failure_reported_) {
    failure_reported_ = true;
    return result<app_log_record>(read_error{make_error_code(errc::io_error), line_ + 1, "",
                                             "cannot be read: " + read_failed_});
  }
  return std::nullopt;
}

} // namespace icapkit::log
