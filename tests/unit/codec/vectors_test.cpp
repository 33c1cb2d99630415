// Runs every testdata/vectors/*.vec (format: testdata/vectors/README.md) whole, split in two at
// every byte position, and byte by byte (Beast's parsegrind); all runs must agree with the
// expected events or error.
#include "icapkit/codec/chunked.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/head_parser.hpp"
#include "icapkit/codec/parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace icapkit::codec;
namespace fs = std::filesystem;

namespace {

// The errc name a vector's "--- error" line uses.
std::string error_text(std::error_code ec) {
  if (!ec) {
    return "";
  }
  auto name = icapkit::codec::errc_name(ec);
  return name.empty() ? "?" + ec.message() : std::string(name);
}

// \r \n \t \\ \xHH, as the vector files write bytes.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'r') {
      out += '\r';
    } else if (c == 'n') {
      out += '\n';
    } else if (c == 't') {
      out += '\t';
    } else if (c == 'x' && i + 2 < s.size()) {
      unsigned value = 0;
      std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += c; // "\\" and anything else
    }
  }
  return out;
}

std::string escape(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// An input line becomes its bytes plus CRLF, unless it ends in a single (unescaped) backslash.
void append_input_line(std::string& wire, std::string_view line) {
  std::size_t backslashes = 0;
  while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') {
    ++backslashes;
  }
  if (backslashes % 2 == 1) {
    wire += unescape(line.substr(0, line.size() - 1));
  } else {
    wire += unescape(line);
    wire += "\r\n";
  }
}

struct vector_case {
  std::string file;
  std::map<std::string, std::string> keys;
  std::string input;
  std::vector<std::string> events; // unescaped
  std::string error;
  std::string rest;
  bool has_rest = false;
};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string{} : std::string(s.substr(b, e - b + 1));
}

vector_case load_vector(const fs::path& path) {
  vector_case v;
  v.file = path.filename().string();
  std::ifstream in(path, std::ios::binary);
  std::string line;
  enum { head, input, events, rest, error } part = head;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.rfind("--- ", 0) == 0) {
      auto what = trim(std::string_view(line).substr(4));
      if (what == "input") {
        part = input;
      } else if (what == "events") {
        part = events;
      } else if (what == "rest") {
        part = rest;
        v.has_rest = true;
      } else if (what.rfind("error", 0) == 0) {
        v.error = trim(std::string_view(what).substr(5));
        part = error;
      } else {
        FAIL(v.file << ": unknown section '" << line << "'");
      }
      continue;
    }
    if (part == head) {
      auto colon = line.find(':');
      if (line.rfind("# ", 0) == 0 && colon != std::string::npos) {
        v.keys[trim(line.substr(2, colon - 2))] = trim(line.substr(colon + 1));
      }
    } else if (part == input) {
      append_input_line(v.input, line);
    } else if (part == rest) {
      append_input_line(v.rest, line);
    } else if (part == events && !line.empty()) {
      v.events.push_back(unescape(line));
    }
  }
  return v;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (auto t = trim(item); !t.empty()) {
      out.push_back(t);
    }
  }
  return out;
}

leniency leniency_of(const vector_case& v) {
  leniency len;
  auto it = v.keys.find("leniency");
  if (it == v.keys.end()) {
    return len;
  }
  std::map<std::string, bool*> flags{{"bare_lf", &len.bare_lf},
                                     {"space_before_colon", &len.space_before_colon},
                                     {"leading_empty_lines", &len.leading_empty_lines},
                                     {"missing_encapsulated", &len.missing_encapsulated},
                                     {"chunk_size_trailing_space", &len.chunk_size_trailing_space},
                                     {"ieof_outside_preview", &len.ieof_outside_preview},
                                     {"missing_host", &len.missing_host}};
  for (const auto& name : split_list(it->second)) {
    auto flag = flags.find(name);
    REQUIRE_MESSAGE(flag != flags.end(), v.file << ": unknown leniency " << name);
    *flag->second = true;
  }
  return len;
}

limits limits_of(const vector_case& v) {
  limits lim;
  auto it = v.keys.find("limit");
  if (it == v.keys.end()) {
    return lim;
  }
  for (const auto& item : split_list(it->second)) {
    auto eq = item.find('=');
    REQUIRE_MESSAGE(eq != std::string::npos, v.file << ": bad limit " << item);
    auto name = trim(item.substr(0, eq));
    auto value = std::stoull(trim(item.substr(eq + 1)));
    if (name == "max_start_line") {
      lim.max_start_line = value;
    } else if (name == "max_header_bytes") {
      lim.max_header_bytes = value;
    } else if (name == "max_header_count") {
      lim.max_header_count = value;
    } else if (name == "max_chunk_size_digits") {
      lim.max_chunk_size_digits = value;
    } else if (name == "max_chunk_line") {
      lim.max_chunk_line = value;
    } else if (name == "max_encapsulated_offset") {
      lim.max_encapsulated_offset = value;
    } else if (name == "max_trailer_bytes") {
      lim.max_trailer_bytes = value;
    } else {
      FAIL(v.file << ": unknown limit " << name);
    }
  }
  return lim;
}

std::string version_text(std::string_view protocol, version v) {
  return std::string(protocol) + "/" + std::to_string(v.major) + "." + std::to_string(v.minor);
}

std::string status_text(std::string_view protocol, version v, int status, std::string_view reason) {
  auto s = version_text(protocol, v) + " " + std::to_string(status);
  if (!reason.empty()) {
    s += " " + std::string(reason);
  }
  return s;
}

std::string chunk_text(std::uint64_t size, const chunk_extensions& ext) {
  auto s = "chunk " + std::to_string(size);
  if (ext.ieof) {
    s += " ieof";
  }
  if (ext.use_original_body) {
    s += " use-original-body=" + std::to_string(*ext.use_original_body);
  }
  return s;
}

// One recorder for all modes; body events are merged so that splits do not change the text.
class recorder final : public parser_events, public head_events, public chunked_events {
public:
  std::vector<std::string> lines;

  void add(std::string line) { lines.push_back(std::move(line)); }
  void add_body(std::string_view data) {
    if (data.empty()) {
      return;
    }
    if (!lines.empty() && lines.back().rfind("body ", 0) == 0) {
      lines.back().append(data);
    } else {
      add("body " + std::string(data));
    }
  }
  static std::string field(std::string_view name, std::string_view value) {
    return std::string(name) + ": " + std::string(value);
  }

  // parser_events
  void on_icap_request_line(std::string_view m, std::string_view uri, version v) override {
    add("icap-request " + std::string(m) + " " + std::string(uri) + " " + version_text("ICAP", v));
  }
  void on_icap_status_line(version v, int status, std::string_view reason) override {
    add("icap-response " + status_text("ICAP", v, status, reason));
  }
  void on_icap_header(std::string_view n, std::string_view val) override {
    add("icap-header " + field(n, val));
  }
  void on_icap_headers_complete() override { add("icap-headers-complete"); }
  void on_section(section s) override { add("section " + std::string(to_string(s))); }
  void on_http_request_line(std::string_view m, std::string_view t, version v) override {
    add("http-request " + std::string(m) + " " + std::string(t) + " " + version_text("HTTP", v));
  }
  void on_http_status_line(version v, int status, std::string_view reason) override {
    add("http-response " + status_text("HTTP", v, status, reason));
  }
  void on_http_header(std::string_view n, std::string_view val) override {
    add("http-header " + field(n, val));
  }
  void on_http_headers_complete() override { add("http-headers-complete"); }
  void on_chunk_header(std::uint64_t size, const chunk_extensions& ext) override {
    add(chunk_text(size, ext));
  }
  void on_body(std::string_view data) override { add_body(data); }
  void on_trailer(std::string_view n, std::string_view val) override {
    add("trailer " + field(n, val));
  }
  void on_preview_end(bool ieof) override { add(ieof ? "preview-end ieof" : "preview-end"); }
  void on_message_complete() override { add("message-complete"); }

  // head_events (the http-*-head modes)
  void on_request_line(std::string_view m, std::string_view t, version v) override {
    on_http_request_line(m, t, v);
  }
  void on_status_line(version v, int status, std::string_view reason) override {
    on_http_status_line(v, status, reason);
  }
  void on_field(std::string_view n, std::string_view val) override { on_http_header(n, val); }
  void on_head_complete() override { on_http_headers_complete(); }

  // chunked_events (the chunked mode)
  void on_chunk_data(std::string_view data) override { add_body(data); }
  void on_chunked_complete() override { on_message_complete(); }
};

struct run_result {
  std::vector<std::string> events;
  std::string error;
  std::string rest;
  friend bool operator==(const run_result&, const run_result&) = default;
};

// The three parsers behind one small interface so one driver feeds them all.
struct driver {
  virtual ~driver() = default;
  virtual std::size_t put(std::string_view d, std::error_code& ec) = 0;
  virtual bool done() const = 0;
  virtual bool awaiting() const { return false; }
  virtual void decide(bool /*continue_body*/) {}
  virtual void eof(std::error_code& ec) { ec = errc::unexpected_eof; }
};

struct icap_driver final : driver {
  parser p;
  icap_driver(parse_mode m, recorder& r, limits lim, leniency len) : p(m, r, lim, len) {}
  std::size_t put(std::string_view d, std::error_code& ec) override { return p.put(d, ec); }
  bool done() const override { return p.is_done(); }
  bool awaiting() const override { return p.awaiting_preview_decision(); }
  void decide(bool continue_body) override {
    continue_body ? p.continue_after_preview() : p.end_after_preview();
  }
  void eof(std::error_code& ec) override { p.put_eof(ec); }
};

struct head_driver final : driver {
  head_parser p;
  head_driver(head_kind k, recorder& r, limits lim, leniency len) : p(k, r, lim, len) {}
  std::size_t put(std::string_view d, std::error_code& ec) override { return p.put(d, ec); }
  bool done() const override { return p.is_done(); }
};

struct chunked_driver final : driver {
  chunked_decoder p;
  chunked_driver(recorder& r, limits lim, leniency len) : p(r, lim, len) {}
  std::size_t put(std::string_view d, std::error_code& ec) override { return p.put(d, ec); }
  bool done() const override { return p.is_done(); }
};

std::unique_ptr<driver> make_driver(const vector_case& v, recorder& r) {
  auto lim = limits_of(v);
  auto len = leniency_of(v);
  const auto& mode = v.keys.at("mode");
  if (mode == "icap-request" || mode == "icap-response") {
    auto d = std::make_unique<icap_driver>(
        mode == "icap-request" ? parse_mode::icap_request : parse_mode::icap_response, r, lim, len);
    if (auto it = v.keys.find("request-method"); it != v.keys.end()) {
      d->p.set_request_method(parse_icap_method(it->second));
    }
    return d;
  }
  if (mode == "http-request-head" || mode == "http-response-head") {
    return std::make_unique<head_driver>(mode == "http-request-head" ? head_kind::http_request
                                                                     : head_kind::http_response,
                                         r, lim, len);
  }
  REQUIRE_MESSAGE(mode == "chunked", v.file << ": unknown mode " << mode);
  return std::make_unique<chunked_driver>(r, lim, len);
}

run_result run(const vector_case& v, const std::vector<std::string_view>& pieces) {
  recorder rec;
  auto d = make_driver(v, rec);
  bool continue_body = true;
  if (auto it = v.keys.find("preview-decision"); it != v.keys.end()) {
    continue_body = it->second != "stop";
  }
  run_result result;
  std::error_code ec;
  auto settle = [&] {
    if (d->awaiting()) {
      d->decide(continue_body);
    }
  };
  for (auto piece : pieces) {
    while (!piece.empty() && !d->done()) {
      auto n = d->put(piece, ec);
      piece.remove_prefix(n);
      if (ec) {
        result.events = rec.lines;
        result.error = error_text(ec);
        return result;
      }
      bool paused = d->awaiting();
      settle();
      if (!paused && !d->done() && !piece.empty()) {
        result.error = "parser stalled with " + std::to_string(piece.size()) + " bytes left";
        return result;
      }
    }
    result.rest.append(piece);
  }
  settle();
  if (!d->done()) {
    d->eof(ec);
    result.error = error_text(ec);
  }
  result.events = rec.lines;
  return result;
}

std::string describe(const run_result& r) {
  std::string s;
  for (const auto& e : r.events) {
    s += "  " + escape(e) + "\n";
  }
  if (!r.error.empty()) {
    s += "  --- error " + r.error + "\n";
  }
  if (!r.rest.empty()) {
    s += "  --- rest " + escape(r.rest) + "\n";
  }
  return s;
}

std::vector<fs::path> vector_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(ICAPKIT_TESTDATA_DIR) / "vectors")) {
    if (entry.path().extension() == ".vec") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void check_vector(const vector_case& v) {
  INFO("vector " << v.file);
  REQUIRE_MESSAGE(v.keys.count("title") == 1, v.file << ": no '# title:'");
  REQUIRE_MESSAGE(v.keys.count("mode") == 1, v.file << ": no '# mode:'");
  REQUIRE_MESSAGE(!v.input.empty(), v.file << ": empty input");
  REQUIRE_MESSAGE((v.error.empty() != v.events.empty()),
                  v.file << ": needs exactly one of '--- events' and '--- error'");

  std::string_view input = v.input;
  auto whole = run(v, {input});
  if (v.error.empty()) {
    run_result expected{v.events, "", v.rest};
    CHECK_MESSAGE(whole == expected, v.file << " (whole input)\nexpected:\n"
                                            << describe(expected) << "got:\n"
                                            << describe(whole));
  } else {
    CHECK_MESSAGE(whole.error == v.error, v.file << " (whole input): expected error " << v.error
                                                 << ", got:\n"
                                                 << describe(whole));
  }
  for (std::size_t i = 1; i < input.size(); ++i) {
    auto split = run(v, {input.substr(0, i), input.substr(i)});
    if (!(split == whole)) {
      FAIL_CHECK(v.file << " split at byte " << i << " differs from the whole input\nwhole:\n"
                        << describe(whole) << "split:\n"
                        << describe(split));
      break;
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) {
    bytes.push_back(input.substr(i, 1));
  }
  auto grind = run(v, bytes);
  CHECK_MESSAGE(grind == whole, v.file << " byte by byte differs from the whole input\nwhole:\n"
                                       << describe(whole) << "byte by byte:\n"
                                       << describe(grind));
}

} // namespace

TEST_CASE("vectors: the directory holds the vectors (they cannot silently vanish)") {
  CHECK(vector_files().size() >= 50);
}

TEST_CASE("vectors: every vector runs whole, split at every byte, and byte by byte") {
  for (const auto& path : vector_files()) {
    check_vector(load_vector(path));
  }
}

TEST_CASE("vectors: the file format's escapes and line endings") {
  CHECK(unescape("a\\r\\n\\t\\\\\\x41") == "a\r\n\t\\A");
  std::string wire;
  append_input_line(wire, "abc");
  append_input_line(wire, "x\\n\\");
  append_input_line(wire, "y\\\\");
  CHECK(wire == "abc\r\nx\ny\\\r\n");
  CHECK(escape("a\r\n\x01") == "a\\r\\n\\x01");
}
