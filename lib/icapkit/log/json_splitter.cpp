#include "icapkit/log/json_splitter.hpp"

namespace icapkit::log {

namespace {

constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The characters of a number or of true, false and null; the JSON parser checks the spelling.
constexpr bool is_literal(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '+' || c == '.';
}

std::string describe(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7F) {
    return std::string("'") + c + "'";
  }
  constexpr std::string_view hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[byte >> 4U] + hex[byte & 0xFU];
}

constexpr unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

} // namespace

json_splitter::json_splitter(std::size_t max_document_bytes, std::size_t max_depth)
    : max_document_bytes_(max_document_bytes), max_depth_(max_depth) {}

json_splitter::event json_splitter::push(char c) {
  event out = event::none;
  if (at_start_) {
    if (static_cast<unsigned char>(c) == bom[bom_seen_]) {
      at_start_ = ++bom_seen_ < sizeof bom;
      ++column_;
      return event::none;
    }
    at_start_ = false;
    if (bom_seen_ > 0) {
      line_blank_ = false;
      fail(out, "a UTF-8 byte order mark is not complete");
      resyncing_ = true;
    }
  }
  if (resyncing_ && line_blank_ && (c == '{' || c == '[')) {
    resyncing_ = false;
  }
  current_ = c;
  if (!resyncing_) {
    while (!step(c, out)) {
    }
    // A line that begins a document ends the broken one before it: it is read, not skipped.
    if (resyncing_ && line_blank_ && (c == '{' || c == '[')) {
      resyncing_ = false;
      while (!step(c, out)) {
      }
    }
  }
  if (c == '\n') {
    ++line_;
    column_ = 0;
    line_blank_ = true;
    resyncing_ = resyncing_ && !skip_line_only_;
  } else {
    ++column_;
    line_blank_ = line_blank_ && is_space(c);
  }
  return out;
}

json_splitter::event json_splitter::finish() {
  event out = event::none;
  if (in_literal_) {
    in_literal_ = false;
    value_done();
  }
  // After an error inside an array its end may have been skipped: that was reported already.
  if (resyncing_ || (stack_.empty() && !in_string_) || (!in_document_ && error_in_array_)) {
    return out;
  }
  if (in_document_) {
    fail(out, "the input ends inside this document (truncated?)");
  } else {
    fail(out, "the input ends inside an array of records (truncated?)");
  }
  return out;
}

bool json_splitter::at_document_position() const noexcept {
  return !in_document_ && (stack_.empty() || stack_.back().kind == role::record_array ||
                           stack_.back().kind == role::results);
}

void json_splitter::append(char c) {
  if (!in_document_) {
    return;
  }
  if (document_.size() < max_document_bytes_) {
    document_.push_back(c);
  } else {
    document_too_long_ = true;
  }
}

void json_splitter::begin_document() {
  in_document_ = true;
  document_base_ = stack_.size();
  document_.clear();
  document_line_ = line_;
  document_too_long_ = false;
}

bool json_splitter::step(char c, event& out) {
  if (in_string_) {
    append(c);
    if (escaped_) {
      escaped_ = false;
      capture_key_ = false; // a key with an escape is not taken for "results"
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
      end_of_string();
    } else if (static_cast<unsigned char>(c) < 0x20) {
      return fail(out, c == '\n' ? "the line ends inside a string"
                                 : "control character " + describe(c) + " inside a string");
    } else if (capture_key_ && key_.size() < 16) {
      key_ += c;
    }
    return true;
  }
  if (in_literal_) {
    if (is_literal(c)) {
      append(c);
      return true;
    }
    in_literal_ = false;
    value_done();
    return false;
  }
  if (is_space(c)) {
    append(c);
    return true;
  }
  if (c == '}' || c == ']') {
    return close(c, out);
  }
  frame* top = stack_.empty() ? nullptr : &stack_.back();
  if (c == ',') {
    if (top == nullptr || top->next != expect::comma_or_close) {
      return fail(out, "unexpected ','");
    }
    top->next = top->object ? expect::key : expect::value;
    append(c);
    return true;
  }
  if (c == ':') {
    if (top == nullptr || top->next != expect::colon) {
      return fail(out, "unexpected ':'");
    }
    top->next = expect::value;
    append(c);
    return true;
  }
  return value_start(c, out);
}

bool json_splitter::value_start(char c, event& out) {
  frame* top = stack_.empty() ? nullptr : &stack_.back();
  const bool key_expected =
      top != nullptr && (top->next == expect::key || top->next == expect::key_or_close);
  const bool value_expected =
      top == nullptr || top->next == expect::value || top->next == expect::value_or_close;
  if (c == '"' && key_expected) {
    string_is_key_ = true;
    // Only the members of a document that may be an export page can name its "results".
    capture_key_ = in_document_ && stack_.size() == document_base_ + 1 &&
                   (document_base_ == 0 || stack_[document_base_ - 1].kind == role::record_array);
    key_.clear();
    results_next_ = false;
    in_string_ = true;
    append(c);
    return true;
  }
  if (!value_expected) {
    if (top != nullptr && top->next == expect::colon) {
      return fail(out, "expected ':' but found " + describe(c));
    }
    if (key_expected) {
      return fail(out, "expected a member name but found " + describe(c));
    }
    return fail(out, std::string("expected ',' or '") + (top->object ? '}' : ']') + "' but found " +
                         describe(c));
  }
  if (at_document_position()) {
    if (c == '[' && stack_.empty()) {
      stack_.push_back({false, role::record_array, expect::value_or_close});
      return true;
    }
    if (c != '{' && c != '[') {
      return fail(out, stack_.empty() ? "expected a JSON object or array but found " + describe(c)
                                      : "expected a JSON object but found " + describe(c));
    }
    begin_document();
  }
  if (results_next_ && c == '[') {
    // The document is an export page: its "results" elements are the documents.
    results_next_ = false;
    stack_.back().kind = role::export_page;
    in_document_ = false;
    document_.clear();
    stack_.push_back({false, role::results, expect::value_or_close});
    return true;
  }
  results_next_ = false;
  if (c == '"') {
    string_is_key_ = false;
    capture_key_ = false;
    in_string_ = true;
    append(c);
    return true;
  }
  if (c == '{' || c == '[') {
    if (in_document_ && stack_.size() - document_base_ >= max_depth_) {
      return fail(out, "JSON nested deeper than " + std::to_string(max_depth_) + " levels",
                  errc::too_deep);
    }
    stack_.push_back(
        {c == '{', role::in_document, c == '{' ? expect::key_or_close : expect::value_or_close});
    append(c);
    return true;
  }
  if (is_literal(c)) {
    in_literal_ = true;
    append(c);
    return true;
  }
  return fail(out, "unexpected " + describe(c));
}

void json_splitter::end_of_string() {
  if (!string_is_key_) {
    value_done();
    return;
  }
  string_is_key_ = false;
  stack_.back().next = expect::colon;
  results_next_ = capture_key_ && key_ == "results";
  capture_key_ = false;
}

void json_splitter::value_done() {
  if (!stack_.empty()) {
    stack_.back().next = expect::comma_or_close;
  }
}

bool json_splitter::close(char c, event& out) {
  if (stack_.empty()) {
    return fail(out, "unexpected " + describe(c));
  }
  const frame top = stack_.back();
  const bool object = c == '}';
  if (top.object != object) {
    return fail(out, std::string("expected ") + (top.object ? "'}'" : "']'") + " but found " +
                         describe(c));
  }
  const bool can_close =
      object ? (top.next == expect::key_or_close || top.next == expect::comma_or_close)
             : (top.next == expect::value_or_close || top.next == expect::comma_or_close);
  if (!can_close) {
    return fail(out, "unexpected " + describe(c) + " after ',' or ':'");
  }
  append(c);
  stack_.pop_back();
  if (in_document_ && stack_.size() == document_base_) {
    in_document_ = false;
    value_done();
    if (document_too_long_) {
      error_ = read_error{make_error_code(errc::line_too_long), document_line_, "",
                          "document longer than " + std::to_string(max_document_bytes_) + " bytes"};
      document_.clear();
      out = event::error;
    } else {
      out = event::document;
    }
    return true;
  }
  value_done();
  if (stack_.empty()) {
    error_in_array_ = false;
  }
  return true;
}

bool json_splitter::fail(event& out, std::string detail, errc code) {
  const std::size_t column = column_ + 1;
  const bool new_line_begins = line_blank_ && in_document_ && line_ != document_line_ &&
                               (current_ == '{' || current_ == '[');
  std::string message = code == errc::invalid_json ? "invalid JSON: " : "";
  if (new_line_begins) {
    message += "the document is not complete where line " + std::to_string(line_) + " begins (" +
               detail + ")";
  } else {
    message += detail + " at line " + std::to_string(line_) + ", column " + std::to_string(column);
  }
  error_ = read_error{make_error_code(code), in_document_ ? document_line_ : line_, "",
                      std::move(message)};
  out = event::error;
  resync_after_error();
  return true;
}

void json_splitter::resync_after_error() {
  // Text outside any document (a line of something else) costs that line only.
  skip_line_only_ = !in_document_ && stack_.empty();
  if (in_document_) {
    stack_.resize(document_base_);
    in_document_ = false;
  } else if (!stack_.empty() && stack_.back().kind != role::record_array &&
             stack_.back().kind != role::results) {
    stack_.clear(); // inside an export page's other members: start again at the top level
  }
  if (!stack_.empty()) {
    stack_.back().next = expect::value;
    error_in_array_ = true;
  }
  document_.clear();
  in_string_ = false;
  escaped_ = false;
  in_literal_ = false;
  string_is_key_ = false;
  capture_key_ = false;
  results_next_ = false;
  resyncing_ = true;
}

} // namespace icapkit::log
