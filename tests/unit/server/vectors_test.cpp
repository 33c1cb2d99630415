// Bad input from the codec's vectors, sent raw over a socket: every malformed icap-request
// vector gets a 4xx/5xx status or a close within a deadline, never a hang or a success.
#include "test_support.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace icapkit::server::test {

namespace {

struct vector_case {
  std::string name;
  std::string mode;
  std::string input;
  codec::limits limits;
  codec::leniency leniency;
};

// Decodes one input line per testdata/vectors/README.md: escapes, and a trailing single '\'
// meaning "no CRLF".
std::string decode_line(std::string_view line) {
  bool terminate = true;
  if (!line.empty() && line.back() == '\\' && (line.size() < 2 || line[line.size() - 2] != '\\')) {
    terminate = false;
    line.remove_suffix(1);
  }
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 >= line.size()) {
      out += line[i];
      continue;
    }
    const char e = line[++i];
    if (e == 'r') {
      out += '\r';
    } else if (e == 'n') {
      out += '\n';
    } else if (e == 't') {
      out += '\t';
    } else if (e == 'x' && i + 2 < line.size() + 1) {
      out += static_cast<char>(std::stoi(std::string(line.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += e;
    }
  }
  return terminate ? out + "\r\n" : out;
}

void apply_limit(codec::limits& lim, const std::string& key, std::uint64_t value) {
  const auto size = static_cast<std::size_t>(value);
  if (key == "max_start_line")
    lim.max_start_line = size;
  if (key == "max_header_bytes")
    lim.max_header_bytes = size;
  if (key == "max_header_count")
    lim.max_header_count = size;
  if (key == "max_chunk_size_digits")
    lim.max_chunk_size_digits = size;
  if (key == "max_chunk_line")
    lim.max_chunk_line = size;
  if (key == "max_encapsulated_offset")
    lim.max_encapsulated_offset = value;
  if (key == "max_trailer_bytes")
    lim.max_trailer_bytes = size;
}

void apply_leniency(codec::leniency& len, const std::string& name) {
  if (name == "bare_lf")
    len.bare_lf = true;
  if (name == "space_before_colon")
    len.space_before_colon = true;
  if (name == "leading_empty_lines")
    len.leading_empty_lines = true;
  if (name == "missing_encapsulated")
    len.missing_encapsulated = true;
  if (name == "chunk_size_trailing_space")
    len.chunk_size_trailing_space = true;
  if (name == "ieof_outside_preview")
    len.ieof_outside_preview = true;
  if (name == "missing_host")
    len.missing_host = true;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(' ');
    const auto last = item.find_last_not_of(' ');
    if (first != std::string::npos) {
      out.push_back(item.substr(first, last - first + 1));
    }
  }
  return out;
}

vector_case read_vector(const std::filesystem::path& path) {
  vector_case v;
  v.name = path.filename().string();
  std::ifstream in(path);
  std::string line;
  bool in_input = false;
  while (std::getline(in, line)) {
    if (line.starts_with("--- ")) {
      in_input = line == "--- input";
      continue;
    }
    if (in_input) {
      v.input += decode_line(line);
      continue;
    }
    if (!line.starts_with("# ") || line.find(':') == std::string::npos) {
      continue;
    }
    const auto colon = line.find(':');
    const auto key = line.substr(2, colon - 2);
    const auto value = line.substr(colon + 1 + (colon + 1 < line.size() && line[colon + 1] == ' '));
    if (key == "mode") {
      v.mode = value;
    } else if (key == "limit") {
      for (const auto& item : split_list(value)) {
        const auto eq = item.find('=');
        apply_limit(v.limits, item.substr(0, eq), std::stoull(item.substr(eq + 1)));
      }
    } else if (key == "leniency") {
      for (const auto& name : split_list(value)) {
        apply_leniency(v.leniency, name);
      }
    }
  }
  return v;
}

} // namespace

TEST_CASE("every malformed icap-request vector gets an error status or a close, never a hang") {
  std::vector<vector_case> cases;
  for (const auto& entry : std::filesystem::directory_iterator(ICAPKIT_TESTDATA_DIR "/vectors")) {
    const auto name = entry.path().filename().string();
    if (name.starts_with("err-") && name.ends_with(".vec")) {
      auto v = read_vector(entry.path());
      if (v.mode == "icap-request") {
        cases.push_back(std::move(v));
      }
    }
  }
  REQUIRE(cases.size() >= 20);
  std::size_t with_status = 0;
  for (const auto& v : cases) {
    CAPTURE(v.name);
    auto options = running_server::make_options();
    options.threads = 1;
    options.limits = v.limits;
    options.leniency = v.leniency;
    options.head_timeout = 2s;
    running_server s(options);
    raw_client c(s.endpoint());
    c.send(v.input);    // the server may close before taking everything
    c.shutdown_write(); // input that stops mid-message must end, not wait
    const auto start = std::chrono::steady_clock::now();
    auto r = c.read_response(codec::icap_method::reqmod, 3s);
    while (status_of(r) == 100) { // a preview may be continued before the error shows
      r = c.read_response(codec::icap_method::reqmod, 3s);
    }
    const int status = status_of(r);
    if (status != 0) {
      ++with_status;
      CHECK(status >= 400);
      CHECK(status <= 599);
    }
    CHECK(c.wait_end(3s) != ending::timeout);
    CHECK(std::chrono::steady_clock::now() - start < 4s);
  }
  // A close is only right when the input ended before a request line; most vectors have one.
  CHECK(with_status * 4 >= cases.size() * 3);
  MESSAGE(cases.size() << " malformed request vectors sent, " << with_status
                       << " answered with a status");
}

} // namespace icapkit::server::test
