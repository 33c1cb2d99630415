#pragma once
// A scenario file: ordered rules (first match wins) that bind what a request looks like to a
// verdict, a delay and a fault. The format is testdata/scenarios/scenario.schema.json and
// icapkit-serve(1); loading validates every field and names the first bad one.
#include "icapkit/mock/stream_rewriter.hpp"
#include "icapkit/server/trickle.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace icapkit::mock {

// Start-up configuration error: the message names the file and the field ("rules[2].match.md5[0]").
class scenario_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct header_match {
  std::string name; // ICAP header name (case-insensitive)
  std::string regex_text;
  std::regex regex;
};

struct ip_range {
  std::string text;                 // as written: "10.0.0.0/8", "::1"
  std::vector<unsigned char> bytes; // 4 or 16 bytes
  unsigned prefix = 0;              // significant bits
};

// Every criterion present must hold (AND); a list holds when any element does (OR). No criteria:
// the rule matches every request.
struct match_spec {
  std::vector<std::string> md5;           // lowercase hex
  std::vector<std::string> sha256;        // lowercase hex
  std::vector<std::string> contains;      // raw bytes ("contains" text, "contains_hex" decoded)
  std::vector<std::string> file_names;    // compared case-insensitively with every known name
  std::vector<std::string> extensions;    // lowercase, without the dot
  std::vector<std::string> content_types; // lowercase prefixes: "text/html", "application/"
  std::optional<std::uint64_t> min_size;
  std::optional<std::uint64_t> max_size;
  std::optional<std::string> url_text;
  std::optional<std::regex> url; // searched in the encapsulated request URL
  std::vector<header_match> icap_headers;
  std::vector<ip_range> client_ips; // X-Client-IP when sent, else the peer address
  std::vector<std::string> methods; // "REQMOD", "RESPMOD"
  bool encrypted_archive = false;   // a ZIP entry with the encryption flag

  // Criteria that need the body (hashes, bytes, size, archive flag).
  bool needs_body() const noexcept;
};

enum class verdict_kind { clean, block, sanitize, url_block };

struct verdict_spec {
  verdict_kind kind = verdict_kind::clean;
  std::string threat;                 // block: the threat name (default: the reason)
  std::string reason;                 // block/url_block: why ("Infected", "URL Filtering")
  std::vector<rewrite_spec> rewrites; // sanitize: applied in order
  std::string page;                   // url_block: the HTML page (default: a built-in one)
  int http_status = 403;              // block/url_block: the HTTP status of the page
};

struct delay_spec {
  std::chrono::milliseconds min{0}; // fixed delay when min == max
  std::chrono::milliseconds max{0};
  std::uint64_t seed = 0; // random delays repeat the same sequence for the same seed
  bool random() const noexcept { return max > min; }
};

enum class fault_type {
  none,
  stall,
  continue_then_hang,
  reset,
  close_before_answer,
  malformed,
  icap_status,
  connection_close,
  istag_change
};

struct fault_spec {
  fault_type type = fault_type::none;
  std::optional<std::chrono::milliseconds> limit; // stall / continue_then_hang: how long
  std::size_t reset_after = 32;                   // reset: response bytes before the RST
  std::string raw;                                // malformed: the bytes to write
  int status = 500;                               // icap_status: 4xx/5xx
  std::string istag;                              // istag_change: the new ISTag (quoted)
};

// NSX Defender details a rule can force.
struct lastline_spec {
  std::optional<std::string> status;  // new, known, blacklist, timeout, error
  std::optional<std::uint32_t> score; // 0..100
};

struct rule {
  std::string name;
  match_spec match;
  verdict_spec verdict;
  delay_spec delay;
  fault_spec fault;
  lastline_spec lastline;
};

struct builtin_switches {
  bool eicar = true;             // EICAR anywhere in the body
  bool encrypted_archive = true; // encrypted ZIP entries
  bool sanitize = true;          // <script>...</script> stripped (vendors with CDR: opswat)
};

struct scenario {
  std::string name;
  std::vector<rule> rules;
  builtin_switches builtin;
  // "trickle": {"after_bytes": N, "percent": P}: answer large bodies early, as c-icap's
  // virus_scan does (server/trickle.hpp); start_after 0 when absent.
  server::trickle_options trickle;
};

// Reads and validates a scenario file. Throws scenario_error ("FILE: rules[1].verdict.type: ...").
scenario load_scenario(const std::string& path);
// Validates JSON text; `origin` prefixes error messages.
scenario parse_scenario(const std::string& text, const std::string& origin = "scenario");

std::string_view to_string(verdict_kind kind) noexcept;
std::string_view to_string(fault_type type) noexcept;

// Whether `address` (dotted IPv4 or IPv6 text) lies in `range`.
bool ip_in_range(std::string_view address, const ip_range& range);
// Parses "A.B.C.D", "A.B.C.D/N", IPv6 forms; nullopt when invalid.
std::optional<ip_range> parse_ip_range(std::string_view text);

} // namespace icapkit::mock
