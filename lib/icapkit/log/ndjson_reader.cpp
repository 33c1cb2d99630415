#include "icapkit/log/ndjson_reader.hpp"

#include <algorithm>
#include <streambuf>

namespace icapkit::log {

namespace {

// nlohmann's message, "[json.exception.parse_error.101] parse error at line 1, column 9: what",
// with the position made absolute: the document began on `first_line`.
std::string parse_error_message(const nlohmann::json::parse_error& e, std::string_view text,
                                std::size_t first_line) {
  std::string what = e.what();
  if (const auto colon = what.find(": ", what.find("parse error")); colon != std::string::npos) {
    what.erase(0, colon + 2);
  }
  // e.byte counts the last byte read (1-based), often the newline after a bad literal.
  const auto end = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
  const auto newlines =
      std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n');
  const auto line = first_line + static_cast<std::size_t>(newlines);
  return "invalid JSON at line " + std::to_string(line) + ": " + what;
}

} // namespace

ndjson_reader::ndjson_reader(std::istream& in, read_options options)
    : in_(&in), options_(options), splitter_(options.max_line_bytes, options.max_depth) {}

std::optional<result<std::string_view>> ndjson_reader::next_text() {
  auto* buffer = in_->rdbuf();
  while (!finished_) {
    std::streambuf::int_type c = std::streambuf::traits_type::eof();
    if (buffer != nullptr) {
      try {
        c = buffer->sbumpc();
      } catch (const std::exception& e) {
        in_->setstate(std::ios::badbit);
        read_failed_ = e.what();
      }
    }
    json_splitter::event event = json_splitter::event::none;
    if (c == std::streambuf::traits_type::eof()) {
      if (read_failed_.empty()) {
        in_->setstate(std::ios::eofbit);
      }
      finished_ = true;
      event = read_failed_.empty() ? splitter_.finish() : json_splitter::event::none;
    } else {
      event = splitter_.push(std::streambuf::traits_type::to_char_type(c));
    }
    if (event == json_splitter::event::document) {
      line_ = splitter_.document_line();
      return result<std::string_view>(splitter_.document());
    }
    if (event == json_splitter::event::error) {
      line_ = splitter_.error().line;
      return result<std::string_view>(splitter_.error());
    }
  }
  if (!read_failed_.empty() && !failure_reported_) {
    failure_reported_ = true;
    return result<std::string_view>(read_error{make_error_code(errc::io_error), splitter_.line(),
                                               "", "cannot be read: " + read_failed_});
  }
  return std::nullopt;
}

std::optional<result<nlohmann::ordered_json>> ndjson_reader::next_document() {
  const auto next = next_text();
  if (!next) {
    return std::nullopt;
  }
  if (!next->has_value()) {
    return result<nlohmann::ordered_json>(next->error());
  }
  const auto text = next->value();
  try {
    return result<nlohmann::ordered_json>(nlohmann::ordered_json::parse(text.begin(), text.end()));
  } catch (const nlohmann::json::parse_error& e) {
    return result<nlohmann::ordered_json>(read_error{make_error_code(errc::invalid_json), line_, "",
                                                     parse_error_message(e, text, line_)});
  } catch (const std::exception& e) {
    return result<nlohmann::ordered_json>(read_error{make_error_code(errc::invalid_json), line_, "",
                                                     std::string("invalid JSON: ") + e.what()});
  }
}

std::optional<result<app_log_record>> ndjson_reader::next() {
  auto document = next_document();
  if (!document) {
    return std::nullopt;
  }
  if (!document->has_value()) {
    return result<app_log_record>(document->error());
  }
  return record_from_json(document->value(), line_);
}

} // namespace icapkit::log
