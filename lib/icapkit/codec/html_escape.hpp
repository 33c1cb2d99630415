#pragma once
// HTML escaping for every page icapkit writes: the mock servers' block pages and the reports of
// `icapkit report --output html` and `icapkit load --html`.
#include <string>
#include <string_view>

namespace icapkit::codec {

// `text` with & < > " ' replaced by entities, safe inside element content and quoted attribute
// values. Other bytes pass through unchanged.
std::string html_escaped(std::string_view text);

} // namespace icapkit::codec
