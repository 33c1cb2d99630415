#pragma once
// HTML escaping for the reports that write pages (`icapkit report --html`, `icapkit load --html`).
#include <string>
#include <string_view>

namespace icapkit::load {

// `text` with & < > " ' replaced by entities, safe inside element content and quoted attribute
// values. Other bytes pass through unchanged.
std::string html_escaped(std::string_view text);

} // namespace icapkit::load
