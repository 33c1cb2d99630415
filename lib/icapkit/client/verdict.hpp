#pragma once
// Vendor-aware verdict classification of one REQMOD/RESPMOD exchange, and the icap_log fields it
// decides. Pure: the exchange layer hands over what it received and compared; nothing is read.
//
// The rules, in the order they are applied (ICAP 200 does NOT mean clean, OPSWAT KB):
//  * The exchange failed (error set) -> failed, with its message; no response at all -> failed.
//  * ICAP 204 -> passed. ICAP 100 as the final answer -> failed. ICAP 4xx/5xx -> failed, reason
//    "ICAP 503 Service Overloaded" (code kept). Any other status but 200/201/206 -> failed.
//  * ICAP 200, 201 (Symantec, which Squid also treats as 200) and 206, first match wins:
//    1. REQMOD answered with an HTTP response (res-hdr) -> blocked: the server replaced the
//       request with its own answer (block page, NSX Defender patience page); http_status set.
//    2. X-Response-Info: Blocked -> blocked (OPSWAT, ESET).
//    3. NSX Defender evidence (X-Lastline-Status/-Score/-Task, or a LastlineArtifact(...) in
//       X-Infection-Found or X-Virus-ID): blocked when X-Lastline-Status is `blacklist` or the
//       score is >= classify_policy::nsx_block_score AND the server returned a blocking page
//       (content changed, or an HTTP status >= 400). The threshold 70 is our assumption (no public
//       NSX Defender document states one); it is a policy value so users can change it. Otherwise
//       the content rule (9) decides: PASSIVE mode reports a high score but lets the file through,
//       and that is what happened. NSX Defender's "Resolution=1" in X-Infection-Found is not a
//       repair, so rules 5-8 do not apply.
//    4. X-Response-Info: Sanitized -> modified (OPSWAT CDR).
//    5. X-Blocked-Reason (OPSWAT) or X-Block-Reason (McAfee) present -> blocked.
//    6. X-Infection-Found: Resolution=1 (repaired copy returned) -> modified; any other or no
//       Resolution (0 not repaired, 2 block the original) -> blocked: a named, unrepaired threat.
//    7. RESPMOD answered with HTTP status >= 400 and either threat headers (X-Virus-ID,
//       X-Virus-Name, X-Violations-Found) or a sent status below 400 -> blocked (block page).
//    8. X-Virus-ID or X-Virus-Name -> blocked; X-Violations-Found alone -> modified when every
//       violation was repaired or its section removed, else blocked.
//    9. content_changed -> modified, else passed (c-icap's 200 echo without Allow: 204, a 206
//       that changed nothing).
#include "icapkit/client/threat_headers.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/parser.hpp"
#include "icapkit/log/icap_log.hpp"
#include "icapkit/log/significance.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace icapkit::client {

enum class verdict_outcome { passed, modified, blocked, failed };
std::string_view to_string(verdict_outcome o) noexcept; // "passed", "modified", ...
log::icap_action to_icap_action(verdict_outcome o) noexcept;

// What an exchange produced. The pointers refer to the exchange's own objects and may be null.
struct classify_input {
  codec::icap_method method = codec::icap_method::reqmod; // REQMOD or RESPMOD
  const codec::icap_response_head* response = nullptr;    // final ICAP response; null if none
  const codec::http_request_head* http_request = nullptr; // encapsulated heads returned
  const codec::http_response_head* http_response = nullptr;
  std::optional<int> sent_http_status; // RESPMOD: status of the HTTP response that was sent
  bool content_changed = false; // returned heads or body differ from what was sent (caller checks)
  std::optional<std::uint64_t> returned_body_length; // bytes of body the server returned
  std::optional<std::uint64_t> use_original_body;    // 206: original body follows from offset N
  std::error_code error;     // set when the exchange failed (net, codec or client code)
  std::string error_message; // the user-facing text for `error`; error.message() when empty
};

// An input pointing into `message` (which must outlive it): its ICAP response, encapsulated
// heads and use-original-body. The caller still sets content_changed and the rest.
classify_input input_from(const codec::parsed_message& message, codec::icap_method method);

struct classify_policy {
  std::uint32_t nsx_block_score = 70; // NSX Defender score at and above which a page is a block
};

struct verdict {
  verdict_outcome outcome = verdict_outcome::failed;
  std::string rule;                  // the rule that decided, e.g. "X-Response-Info: Blocked"
  std::optional<int> icap_status;    // the final ICAP status, when a response arrived
  std::optional<std::string> reason; // X-Blocked-Reason, X-Response-Desc, X-Block-Reason or
                                     // X-Response-Description, the first present
  std::optional<std::string> threat; // X-Infection-Found Threat, X-Virus-ID, X-Virus-Name, or the
                                     // first violation's threat, the first present
  std::optional<infection_found> infection;
  std::vector<violation> violations;
  bool violations_truncated = false;
  std::optional<std::uint32_t> http_status; // encapsulated HTTP response status, if any
  std::optional<std::uint32_t> nsx_score;   // X-Lastline-Score, else LastlineArtifact score
  std::optional<std::string> nsx_task_uuid; // X-Lastline-Task, else LastlineArtifact uuid
  std::optional<std::string> nsx_status;    // X-Lastline-Status (new, known, blacklist, ...)
  std::optional<std::uint64_t> modified_content_length; // returned body length, when modified
  std::string failure;   // failed only: "ICAP 503 Service Overloaded", "connection refused ..."
  std::error_code error; // failed because of an error (not an ICAP status): the error
  friend bool operator==(const verdict&, const verdict&) = default;
};

// Applies the rules above. Never throws on peer input.
verdict classify(const classify_input& input, const classify_policy& policy = {});

// Fills what the verdict decides in an icap_log request record:
//  * action; http_response_code only when blocked (Avi: "only available if content is blocked")
//    and cleared otherwise; modified_content_length when modified and known.
//  * opswat_log {reason, threat_id, violations} for OPSWAT and also for GENERIC: Avi 20.1.x logged
//    these three for every server before vendors existed, and a c-icap/ClamAV user expects the
//    threat name in the record; set only when there is something to put in it.
//  * nsx_defender_log {score, status_url = status_url_template with $uuid replaced, task_uuid}
//    for LASTLINE, when the server reported any of them (status_url only with a task uuid).
// Other fields (vendor, icap_response_code, headers, latency) belong to the record builder.
void fill_record(const verdict& v, log::icap_request_log& record, log::icap_vendor vendor,
                 std::string_view status_url_template);

// Sets conditions.action and the conditions the verdict knows of: timed_out (a net timeout),
// connection_error (another net error), server_error (ICAP 4xx/5xx or a protocol error in the
// server's response) and the failure text. slow, body_too_big and out_of_memory are left to the
// caller.
void fill_significance(const verdict& v, log::significance_conditions& conditions);

} // namespace icapkit::client
