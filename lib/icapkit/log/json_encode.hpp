#pragma once
// Model -> JSON. Never throws for any model value: strings that are not valid UTF-8 (header
// bytes from a peer) are written with U+FFFD in place of the bad bytes.
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/icap_log.hpp"
#include "icapkit/log/layout.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace icapkit::log {

// Members in the order of the Avi model (alphabetical, as the SDK lists them), set members only;
// unknown members kept from reading come last.
nlohmann::ordered_json to_json(const icap_request_log& request, const write_options& options = {});
nlohmann::ordered_json to_json(const icap_log& log, const write_options& options = {});
nlohmann::ordered_json to_json(const app_log_record& record, const write_options& options = {});

// One compact JSON object without the trailing newline.
std::string to_json_text(const app_log_record& record, const write_options& options = {});

} // namespace icapkit::log
