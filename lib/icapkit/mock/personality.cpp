#include "icapkit/mock/personality.hpp"

#include <stdexcept>

namespace icapkit::mock {

void personality::finish_headers(int status, codec::header_list& headers) const {
  static_cast<void>(status);
  headers.set("Server", server_header());
}

std::optional<std::string> canonical_blocking_mode(std::string_view text) {
  std::string upper;
  for (const char c : text) {
    // The guide writes "FULL WITH FEEDBACK"; '-', '_' and ' ' are the same separator here.
    upper += (c == ' ' || c == '_')
                 ? '-'
                 : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (const char* mode :
       {"PASSIVE", "SENSOR-KNOWN", "MANAGER-KNOWN", "FULL", "FULL-WITH-FEEDBACK"}) {
    if (upper == mode) {
      return upper;
    }
  }
  return std::nullopt;
}

std::unique_ptr<personality> make_personality(std::string_view vendor,
                                              const personality_options& options) {
  if (vendor == "opswat") {
    return make_opswat(options);
  }
  if (vendor == "generic") {
    return make_generic(options);
  }
  if (vendor == "lastline") {
    auto canonical = canonical_blocking_mode(options.blocking_mode);
    if (!canonical) {
      throw std::invalid_argument("--blocking-mode: \"" + options.blocking_mode +
                                  "\" is not one of PASSIVE, SENSOR-KNOWN, MANAGER-KNOWN, FULL, "
                                  "FULL-WITH-FEEDBACK");
    }
    auto copy = options;
    copy.blocking_mode = *canonical;
    return make_lastline(copy);
  }
  throw std::invalid_argument("--vendor: \"" + std::string(vendor) +
                              "\" is not one of opswat, lastline, generic");
}

} // namespace icapkit::mock
