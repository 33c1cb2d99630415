#pragma once
// Parsers for the header values ICAP servers use to report what they found: X-Infection-Found,
// X-Violations-Found (draft-stecher-icap-subid-00 4.5/4.6) and NSX Defender's LastlineArtifact(...)
// form. Peer input: they never throw on any value and accept the variants real servers send.
#include "icapkit/log/enums.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::client {

// X-Infection-Found: Type=<0|1|2>; Resolution=<0|1|2>; Threat=<text>;
struct infection_found {
  std::optional<int> type;       // 0 virus, 1 mail policy violation, 2 container violation
  std::optional<int> resolution; // 0 not repaired, 1 repaired copy returned, 2 block the original
  std::string threat;            // empty when the server sent none
  friend bool operator==(const infection_found&, const infection_found&) = default;
};

// Parameters in any order, names case-insensitive, spaces around '=' and ';' optional, the final
// ';' optional. Threat runs to the next ';' at parenthesis depth 0, so NSX Defender's
// "Threat=LastlineArtifact(score=90;md5=..;uuid=..)" stays whole; a ';' followed by text that is
// not "name=" also stays in Threat (the draft forbids ';' there, servers still send it). Unknown
// parameters are skipped, a Type or Resolution that is not a small number is left unset. A value
// with no "name=" parameter at all is taken as the threat text. nullopt only for a blank value.
std::optional<infection_found> parse_infection_found(std::string_view value);

// One violation of X-Violations-Found.
struct violation {
  std::optional<std::string> file_name; // unset when the server sent "-" (c-icap) or nothing
  std::string threat_name;
  std::optional<std::uint64_t> problem_id;
  std::optional<log::violation_resolution> resolution; // unset for an id other than 0, 1, 2
  friend bool operator==(const violation&, const violation&) = default;
};

struct violations_found {
  std::optional<std::uint64_t> announced; // the count on the first line; unset if not a number
  std::vector<violation> violations;      // the complete groups of four lines, at most announced
  bool truncated = false; // fewer lines than announced (or the count was unreadable)
  friend bool operator==(const violations_found&, const violations_found&) = default;
};

// The value as codec::header_list keeps a folded field: lines joined with "\n" (CRLF also
// accepted), leading/trailing whitespace of each line ignored, blank lines skipped. First line the
// count, then per violation: file name, threat description, problem id, resolution id
// (0 -> ICAP_FILE_NOT_REPAIRED, 1 -> ICAP_FILE_REPAIRED, 2 -> ICAP_VIOLATING_SECTION_REMOVED).
// A count alone gives no violations; an incomplete last group is dropped and `truncated` set.
violations_found parse_violations_found(std::string_view value);

// NSX Defender's LastlineArtifact(score=NN;md5=HEX;uuid=UUID) as found in the X-Infection-Found
// Threat and in X-Virus-ID (which spells the last one task_uuid=).
struct lastline_artifact {
  std::optional<std::uint32_t> score; // 0..100; unset when absent, a placeholder or out of range
  std::optional<std::string> md5;     // unset when empty
  std::optional<std::string> task_uuid;
  friend bool operator==(const lastline_artifact&, const lastline_artifact&) = default;
};

// Finds "LastlineArtifact(" anywhere in `text` (case-insensitive) and reads its parameters up to
// the matching ')' or the end of the text. nullopt when the form is absent.
std::optional<lastline_artifact> parse_lastline_artifact(std::string_view text);

// An NSX Defender score ("90", " 100 "): 0..100, nullopt for anything else.
std::optional<std::uint32_t> parse_score(std::string_view text) noexcept;

namespace detail {
// Small value helpers shared by the client's header parsers.
std::string_view trim(std::string_view text) noexcept;
// A plain decimal number without sign; nullopt on anything else or on overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view text) noexcept;
// "a, b ,c" -> {"a", "b", "c"}; empty elements dropped.
std::vector<std::string_view> split_list(std::string_view text, char separator = ',');
bool istarts_with(std::string_view text, std::string_view prefix) noexcept;
} // namespace detail

} // namespace icapkit::client
