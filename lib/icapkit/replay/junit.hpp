#pragma once
// JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testsuite> named
// `suite`, one <testcase> per replayed request, named "#<index> <METHOD> <url>" with
// classname = its origin. Mismatches are <failure message="..."> listing the differences, failed
// requests <error>, requests without an expectation <skipped message="no expectation">.
#include "icapkit/replay/expectations.hpp"
#include "icapkit/replay/outcome.hpp"

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace icapkit::replay {

void write_junit(std::ostream& out, const std::string& suite,
                 const std::vector<std::pair<outcome, check_result>>& results, double seconds);

} // namespace icapkit::replay
