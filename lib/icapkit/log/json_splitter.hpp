#pragma once
// Splits JSON text into the documents that hold one record each, one byte at a time (sans-I/O),
// so that a log of any size is read one record at a time. Accepted, mixed freely:
//   - NDJSON, and documents concatenated or pretty-printed, separated by any whitespace;
//   - a top-level array of records (`icapkit scan --output json`): each element is a document;
//   - an export page, an object with a "results" array ({"count": 2, "results": [...]}, what the
//     Avi analytics API answers for /api/analytics/logs): each element of "results" is a
//     document, the other members are skipped. At the top level or in a top-level array.
// A leading UTF-8 byte order mark is skipped. The structure (brackets, strings, commas, colons)
// is checked as the bytes arrive so that a broken document is found where it breaks; literals,
// numbers, escapes and UTF-8 are left to the JSON parser that reads each document.
//
// After an error the splitter skips to the next line that begins with '{' or '[' (a line that
// begins a document where the broken one was not complete is not skipped): one broken NDJSON
// line or pretty document costs that record only, as it did for line-by-line NDJSON.
#include "icapkit/log/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::log {

class json_splitter {
public:
  enum class event {
    none,     // nothing complete yet
    document, // document() and document_line() describe a complete document
    error,    // error() says what is wrong; that document is dropped
  };

  // A document longer than `max_document_bytes` is an errc::line_too_long error (reported when
  // it ends; it is not kept); nesting deeper than `max_depth` inside a document is errc::too_deep.
  json_splitter(std::size_t max_document_bytes, std::size_t max_depth);

  // Takes the next byte of input.
  event push(char c);
  // The input ended: an error when it ends inside a document or an array, else none.
  event finish();

  // The complete document (valid until the next push), and the 1-based line it begins on.
  std::string_view document() const noexcept { return document_; }
  std::size_t document_line() const noexcept { return document_line_; }
  // Set after event::error.
  const read_error& error() const noexcept { return error_; }
  // 1-based line of the last byte pushed.
  std::size_t line() const noexcept { return line_; }

private:
  enum class role {
    in_document,  // a container inside a document
    record_array, // a top-level array: its elements are documents
    export_page,  // an object whose "results" array holds the documents
    results,      // that "results" array
  };
  enum class expect {
    value,          // array: after '[' or ','; object: after ':'
    value_or_close, // array: after '['
    key_or_close,   // object: after '{'
    key,            // object: after ','
    colon,          // object: after a key
    comma_or_close, // after a value
  };
  struct frame {
    bool object;
    role kind;
    expect next;
  };

  bool step(char c, event& out);        // false: `c` was not consumed and must be seen again
  bool value_start(char c, event& out); // a value begins with `c` (where one is expected)
  void value_done();                    // a value ended: the enclosing frame wants ',' or its close
  bool close(char c, event& out);       // ']' or '}'
  void begin_document();
  void append(char c);
  bool at_document_position() const noexcept;
  bool fail(event& out, std::string detail, errc code = errc::invalid_json);
  void resync_after_error();
  void end_of_string();

  std::size_t max_document_bytes_;
  std::size_t max_depth_;

  std::vector<frame> stack_;
  bool in_document_ = false;
  std::size_t document_base_ = 0; // stack_.size() before the document's first bracket
  std::string document_;
  std::size_t document_line_ = 0;
  bool document_too_long_ = false;

  bool in_string_ = false;
  bool escaped_ = false;
  bool string_is_key_ = false;
  bool capture_key_ = false; // the key might be "results" of an export page
  std::string key_;
  bool in_literal_ = false;   // a number, true, false or null
  bool results_next_ = false; // the member whose value comes next is "results" of a page

  std::size_t line_ = 1;
  std::size_t column_ = 0;
  bool line_blank_ = true;      // no byte other than whitespace on this line yet
  bool resyncing_ = false;      // skipping to the next line that begins with '{' or '['
  bool skip_line_only_ = false; // ... or only to the end of this line
  char current_ = 0;            // the byte being pushed
  bool error_in_array_ = false; // an error since the top-level array began
  std::size_t bom_seen_ = 0;    // bytes of a leading UTF-8 BOM consumed
  bool at_start_ = true;
  read_error error_;
};

} // namespace icapkit::log
