#pragma once
// Expected outcomes of a replay (--expect FILE) and the starting file --record-expectations
// writes. The file:
//   {"expectations": [
//     {"index": 0, "method": "POST", "url": "http://a.example/form", "action": "ICAP_PASSED",
//      "status": 200},
//     {"method": "POST", "url_regex": "/eicar", "action": "ICAP_BLOCKED", "status": 403,
//      "threat": "Eicar-Test-Signature"},
//     {"index": 7, "body_captured": false}]}
// An entry with "index" applies to that request only, and its method/url, when given, must also
// match (a capture that changed is a mismatch, not a silent pass). Entries without "index" select
// by method (exact, any when absent) and url (exact) or url_regex (ECMAScript, searched); the
// first such entry that selects a request applies. Index entries win over pattern entries.
// Checked fields: action (an icap_log.action enum), status (HTTP status the client received),
// threat (equal to one of the reported threat names), body_captured.
#include "icapkit/log/enums.hpp"
#include "icapkit/replay/outcome.hpp"

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace icapkit::replay {

struct expectation {
  std::string where; // "expectations[3]", for messages
  std::optional<std::size_t> index;
  std::optional<std::string> method;
  std::optional<std::string> url;
  std::optional<std::string> url_regex; // as written
  std::optional<std::regex> compiled;   // url_regex compiled
  std::optional<log::icap_action> action;
  std::optional<int> status;
  std::optional<std::string> threat;
  std::optional<bool> body_captured;
};

class expectation_set {
public:
  // Reads and validates the file. On failure returns nullopt and `error` names the file, the
  // entry and the member ("expect.json: expectations[2].action: unknown action \"BLOCKED\";
  // one of ICAP_DISABLED, ..."). Unknown members are errors (a typo must not pass silently); a
  // JSON syntax error names the byte ("expect.json: JSON syntax error at byte 42 (line 3): ...").
  // Only the first error is reported.
  static std::optional<expectation_set> load(const std::filesystem::path& file, std::string& error);
  // The same from text (`name` stands for the file in messages).
  static std::optional<expectation_set> parse(const std::string& text, const std::string& name,
                                              std::string& error);

  // The expectation that applies to `o`, or null.
  const expectation* find(const outcome& o) const;
  const std::vector<expectation>& items() const noexcept { return items_; }

private:
  std::vector<expectation> items_;
  std::map<std::size_t, std::size_t> by_index_; // index -> position in items_, so find() is
                                                // not quadratic over a recorded file
};

enum class verdict { matched, mismatched, no_expectation, error };

struct check_result {
  verdict kind = verdict::no_expectation;
  // One line per difference: "action: expected ICAP_BLOCKED, got ICAP_PASSED",
  // "status: expected 403, got 200", "url: expected http://a/x, got http://a/y",
  // "body not captured: not replayed" (expected an action of a request that was not sent).
  std::vector<std::string> differences;
  const expectation* applied = nullptr;
};

// With no set (no --expect): error when o.error is set, else no_expectation. With a set: error
// when the request failed and no expectation applies; otherwise compares (a failed request
// whose expectation names an action or status is a mismatch, with the error as what happened).
// A request not replayed (body not captured) matches "body_captured": false; an expectation
// naming action, status or threat for it is a mismatch ("body not captured: not replayed").
check_result check(const expectation_set* expectations, const outcome& o);

// Writes the outcomes as an expectation file --expect accepts: one index entry per outcome
// with method, url, and action + status (sent), threat (when one was reported), or
// "body_captured": false (not replayed). Failed requests get no entry. Entries are in index
// order, members in the order index, method, url, action, status, threat, body_captured; a
// method, url or threat that is not UTF-8 is left out (JSON cannot carry it unaltered).
void write_expectations(std::ostream& out, const std::vector<outcome>& outcomes);

} // namespace icapkit::replay
