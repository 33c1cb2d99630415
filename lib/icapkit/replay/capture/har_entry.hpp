#pragma once
// Private to the HAR reader: turns one parsed log.entries[] object into a captured_exchange. The
// streaming (which entry is being read, byte offsets, the sink) stays in har_reader.cpp.
#include "icapkit/replay/capture/capture.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::replay::detail {

// A field of the entry that is missing, has the wrong type or cannot be decoded. `detail` names
// the field by its JSON path inside the entry (array indices 0-based, as in JSON paths):
// "request.postData.params[1].value: expected a string".
struct har_field_error {
  std::string detail;
};

using har_warning = std::function<void(std::string)>;

// Converts one entry. Returns nullopt, after telling `warn` why, for entries the HTTP/1.1 driver
// cannot send (ws://, data:, blob: URLs that browsers record next to HTTP requests). Throws
// har_field_error for a malformed entry; a date it cannot parse only leaves `started` unset.
std::optional<captured_exchange> convert_har_entry(const nlohmann::json& entry, std::string origin,
                                                   const har_warning& warn);

// ISO 8601 as HAR writes it: "2024-03-05T10:15:30.123Z", "...30.123456+01:00", "...30-0500".
// nullopt for anything else, including a time without a zone (its instant is unknown).
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

} // namespace icapkit::replay::detail
