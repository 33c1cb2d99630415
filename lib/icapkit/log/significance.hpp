#pragma once
// Why a record is significant: the ADF_ICAP_* codes and the one-sentence `significance` text.
// Avi documents which behaviours make a log significant (block, modify, fail-open, slow response,
// body over buffer_size) but not the code for each; the mapping below follows the code names.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/enums.hpp"

#include <string>
#include <vector>

namespace icapkit::log {

struct significance_conditions {
  icap_action action = icap_action::passed; // the icap_log action
  bool slow = false;                        // latency above slow_response_warning_threshold
  bool timed_out = false;                   // response_timeout expired
  bool body_too_big = false;     // body larger than buffer_size, not sent to the ICAP server
  bool connection_error = false; // could not connect, or the connection broke
  bool server_error = false;     // ICAP 4xx/5xx or a protocol error from the server
  bool out_of_memory = false;    // the client ran out of buffer space
  // Why an ICAP_FAILED exchange failed, as the client says it ("protocol error from ...: ..."):
  // ends the sentence, so the record names the cause. Ignored for other actions.
  std::string failure{};
};

struct significance_result {
  bool significant = false;
  std::vector<significance_code> codes; // in Avi's ADF order, no duplicates
  std::string sentence;                 // empty when not significant
  friend bool operator==(const significance_result&, const significance_result&) = default;
};

// Codes and sentence for the conditions. ICAP_BLOCKED, ICAP_MODIFIED and ICAP_FAILED actions add
// their own codes; ICAP_PASSED and ICAP_DISABLED add none.
// Example: {blocked, slow} -> [ADF_ICAP_SERVER_HIGH_RESPONSE_TIME, ADF_ICAP_BLOCKED],
// "ICAP server response time above the warning threshold; ICAP server blocked the request."
// A failure text follows "ICAP processing failed": "...; ICAP processing failed: <failure>."
significance_result assess_significance(const significance_conditions& conditions);

// Sets record.significant, significant_log and significance (cleared when not significant).
void apply_significance(app_log_record& record, const significance_result& result);

// The sentence fragment for one code, e.g. "ICAP server blocked the request".
std::string_view describe(significance_code code) noexcept;

} // namespace icapkit::log
