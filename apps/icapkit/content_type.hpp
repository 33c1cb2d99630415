#pragma once
// The Content-Type a browser would send for a file, guessed from its extension as browsers do
// (they consult a built-in table much like this one), application/octet-stream otherwise.
#include <string_view>

namespace icapkit::app {

// "report.PDF" -> "application/pdf"; names without a known extension ->
// "application/octet-stream". Pure.
std::string_view guess_content_type(std::string_view file_name) noexcept;

// The extension without the dot, as written ("tar.gz" -> "gz"); empty when there is none. A
// leading dot (".bashrc") is not an extension.
std::string_view file_extension(std::string_view file_name) noexcept;

} // namespace icapkit::app
