#pragma once
// The human summary `icapkit replay` prints on stderr when it is done:
//   replayed 12 requests in 1.4 s: ICAP_PASSED 8, ICAP_MODIFIED 1, ICAP_BLOCKED 2, ICAP_DISABLED 1
//   (with --target, a line saying the verdicts were read from outside the proxy)
//   not replayed, body not in the capture: 1
//     #9 POST http://a.example/upload (uploads.har entry 9): postData is empty, bodySize 52311
//   failed: 0
//   expectations: 10 matched, 1 mismatched, 1 without an expectation
//     MISMATCH #4 POST http://a.example/eicar (uploads.har entry 4)
//       action: expected ICAP_BLOCKED, got ICAP_PASSED
//     NO EXPECTATION #11 GET http://a.example/x (raw.http message 1)
// "replayed N" counts the requests attempted (all but the not-replayed ones, failed included);
// actions are counted in the order PASSED, MODIFIED, BLOCKED, FAILED, DISABLED, those > 0 only.
// The "not replayed" and "failed" lines are always printed; the expectations block only when
// asked, ending its counts with ", N failed without an expectation" when there are some.
// Lists are capped (`max_listed` each) with "... and N more". Control characters in captured
// text are printed as \xHH so a capture cannot drive the terminal.
#include "icapkit/replay/expectations.hpp"
#include "icapkit/replay/outcome.hpp"

#include <cstddef>
#include <iosfwd>
#include <utility>
#include <vector>

namespace icapkit::replay {

struct summary_options {
  bool expectations_given = false; // print the expectations block
  std::size_t max_listed = 50;
};

void print_summary(std::ostream& out, const std::vector<std::pair<outcome, check_result>>& results,
                   double seconds, const summary_options& options);

// The exit status: 2 when a request failed (outcome.error set, or verdict::error), else 1 when
// one mismatched, else 0.
int exit_status(const std::vector<std::pair<outcome, check_result>>& results);

} // namespace icapkit::replay
