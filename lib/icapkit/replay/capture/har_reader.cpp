// HAR 1.2 reader. The file is parsed once, as a stream: the parser callback follows the path
// root -> "log" -> "entries" -> entry, discards everything else as it is parsed, and discards each
// entry once the sink has it, so memory holds one entry however long the log is.
#include "icapkit/replay/capture/capture.hpp"
#include "icapkit/replay/capture/har_entry.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace icapkit::replay {
namespace {

using json = nlohmann::json;
using parse_event = json::parse_event_t;

// Thrown from the parser callback to leave json::parse, which has no other way out.
struct stop_reading {};
struct reading_failed {
  capture_error error;
};

// Parser callback depths (nlohmann counts the containers around the event).
constexpr int top_level = 0;
constexpr int in_root = 1;
constexpr int in_log = 2;
constexpr int in_entries = 3;

class har_stream {
public:
  har_stream(const std::filesystem::path& file, std::istream& in, const exchange_sink& sink,
             const warning_sink& warn)
      : file_(file), name_(file.filename().string()), in_(in), sink_(sink), warn_(warn) {}

  bool on_event(int depth, parse_event event, json& parsed) {
    switch (depth) {
    case top_level:
      return on_top_level(event);
    case in_root:
      return on_root_member(event, parsed);
    case in_log:
      return on_log_member(event, parsed);
    case in_entries:
      return on_entries_element(event, parsed);
    default:
      // Producers' custom fields ("_initiator", "_webSocketMessages") can be large and are
      // ignored; "_encoding" is the one read (base64 request bodies).
      if (event == parse_event::key && in_entry_) {
        const auto& key = parsed.get_ref<const std::string&>();
        return !key.starts_with('_') || key == "_encoding";
      }
      return true;
    }
  }

  // After a parse that ran to the end of the file.
  std::optional<capture_error> finish() const {
    if (!saw_log_) {
      return capture_error{file_, "", std::nullopt, "not a HAR file: no \"log\" object"};
    }
    if (!saw_entries_) {
      return capture_error{file_, "", std::nullopt, "not a HAR file: no \"log.entries\" array"};
    }
    return std::nullopt;
  }

  capture_error syntax_error(const json::parse_error& error) const;

  // "entry 3" while an entry is being read, else empty.
  std::string entry_label() const {
    return in_entry_ ? "entry " + std::to_string(entry_number_) : std::string();
  }

private:
  bool on_top_level(parse_event event) const {
    if (event == parse_event::array_start || event == parse_event::value) {
      fail("", 0, "not a HAR file: the top level is not a JSON object");
    }
    return true;
  }

  bool on_root_member(parse_event event, const json& parsed) {
    const bool is_log = root_key_ == "log";
    switch (event) {
    case parse_event::key:
      root_key_ = parsed.get<std::string>();
      log_open_ = false;
      return root_key_ == "log";
    case parse_event::object_start:
      log_open_ = is_log;
      saw_log_ = saw_log_ || is_log;
      log_key_.clear();
      return is_log;
    case parse_event::array_start:
    case parse_event::value:
      if (is_log) {
        fail("", position(), "log: expected an object");
      }
      return false;
    default: // the end of "log"
      log_open_ = false;
      return true;
    }
  }

  bool on_log_member(parse_event event, const json& parsed) {
    const bool is_entries = log_open_ && log_key_ == "entries";
    switch (event) {
    case parse_event::key:
      if (log_open_) {
        log_key_ = parsed.get<std::string>();
        entries_open_ = false;
      }
      return log_open_ && log_key_ == "entries";
    case parse_event::array_start:
      entries_open_ = is_entries;
      saw_entries_ = saw_entries_ || is_entries;
      return is_entries;
    case parse_event::object_start:
    case parse_event::value:
      if (is_entries) {
        fail("", position(), "log.entries: expected an array");
      }
      return false;
    default: // the end of "entries" (or of a member discarded anyway)
      entries_open_ = false;
      return true;
    }
  }

  bool on_entries_element(parse_event event, json& parsed) {
    if (!entries_open_) {
      return false;
    }
    switch (event) {
    case parse_event::object_start: {
      ++entry_number_;
      in_entry_ = true;
      const auto after_brace = position();
      entry_offset_ =
          after_brace && *after_brace > 0 ? std::optional(*after_brace - 1) : after_brace;
      return true;
    }
    case parse_event::object_end:
      deliver(parsed);
      in_entry_ = false;
      return false; // discard the entry: the sink has it
    case parse_event::array_start:
    case parse_event::value:
      ++entry_number_;
      fail("entry " + std::to_string(entry_number_), position(), "expected an object");
    default:
      return true;
    }
  }

  void deliver(const json& entry) {
    const std::string label = entry_label();
    auto warn = [this, &label](std::string detail) {
      if (warn_) {
        warn_(capture_error{file_, label, entry_offset_, std::move(detail)});
      }
    };
    std::optional<captured_exchange> exchange;
    try {
      exchange = detail::convert_har_entry(entry, name_ + " " + label, warn);
    } catch (const detail::har_field_error& error) {
      fail(label, entry_offset_, error.detail);
    }
    if (exchange && !sink_(std::move(*exchange))) {
      throw stop_reading{};
    }
  }

  // The parser's position in the file; unknown once the stream has hit its end.
  std::optional<std::uint64_t> position() const {
    const std::streamoff offset = in_.tellg();
    return offset < 0 ? std::nullopt : std::optional(static_cast<std::uint64_t>(offset));
  }

  [[noreturn]] void fail(std::string entry, std::optional<std::uint64_t> offset,
                         std::string detail) const {
    throw reading_failed{capture_error{file_, std::move(entry), offset, std::move(detail)}};
  }

  const std::filesystem::path& file_;
  const std::string name_;
  std::istream& in_;
  const exchange_sink& sink_;
  const warning_sink& warn_;

  std::string root_key_; // the member of the top-level object being parsed
  std::string log_key_;  // the member of "log" being parsed
  bool log_open_ = false;
  bool entries_open_ = false;
  bool saw_log_ = false;
  bool saw_entries_ = false;
  bool in_entry_ = false;
  std::size_t entry_number_ = 0; // 1-based, counts every element of log.entries
  std::optional<std::uint64_t> entry_offset_;
};

// nlohmann's message: "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
// error while parsing object - ...; last read: '...'". Keep the reason and the line, shorten the
// echoed input (it can be a whole long string) and make it printable ASCII.
std::string clean_parse_message(std::string_view what) {
  std::string_view reason = what;
  std::string_view line_column;
  if (const auto at = what.find(" at line "); at != std::string_view::npos) {
    const auto colon = what.find(": ", at);
    line_column = what.substr(at + 4, colon == std::string_view::npos ? 0 : colon - at - 4);
    reason = colon == std::string_view::npos ? what : what.substr(colon + 2);
  }
  std::string echoed_prefix;
  constexpr std::string_view last_read = "last read: '";
  if (const auto at = reason.find(last_read); at != std::string_view::npos) {
    const auto start = at + last_read.size();
    const auto end = reason.find("'; ", start);
    const auto length = (end == std::string_view::npos ? reason.size() : end) - start;
    constexpr std::size_t keep = 40; // the offending bytes are at the end of the echo
    if (length > keep) {
      echoed_prefix = std::string(reason.substr(0, start)) + "...";
      reason.remove_prefix(start + length - keep);
    }
  }
  std::string out;
  for (const char c : echoed_prefix + std::string(reason)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) {
      constexpr std::string_view hex = "0123456789ABCDEF";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    } else {
      out += c;
    }
  }
  if (!line_column.empty()) {
    out += " (" + std::string(line_column) + ")";
  }
  return out;
}

capture_error har_stream::syntax_error(const json::parse_error& error) const {
  // parse_error::byte is 1-based (n + 1 at the end of an n-byte file); offsets here are 0-based.
  const std::uint64_t offset = error.byte > 0 ? error.byte - 1 : 0;
  return capture_error{file_, entry_label(), offset, clean_parse_message(error.what())};
}

} // namespace

std::optional<capture_error> read_har(const std::filesystem::path& file, const exchange_sink& sink,
                                      const warning_sink& warn) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    return capture_error{file, "", std::nullopt, "is a directory, not a HAR file"};
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return capture_error{file, "", std::nullopt,
                         "cannot be opened: " + std::string(std::strerror(errno))};
  }
  if (in.peek() == std::ifstream::traits_type::eof()) {
    return capture_error{file, "", std::nullopt, "is empty, not a HAR file"};
  }
  har_stream stream(file, in, sink, warn);
  try {
    // What is left of the document ({"log": {"entries": []}}) is not needed.
    const json skeleton = json::parse(in, [&stream](int depth, parse_event event, json& parsed) {
      return stream.on_event(depth, event, parsed);
    });
    static_cast<void>(skeleton);
  } catch (const stop_reading&) {
    return std::nullopt;
  } catch (const reading_failed& failure) {
    return failure.error;
  } catch (const json::parse_error& error) {
    return stream.syntax_error(error);
  } catch (const std::exception& error) {
    // Out of memory, or an exception from the sink: still reported, never thrown.
    return capture_error{file, stream.entry_label(), std::nullopt,
                         std::string("reading stopped: ") + error.what()};
  }
  return stream.finish();
}

} // namespace icapkit::replay
