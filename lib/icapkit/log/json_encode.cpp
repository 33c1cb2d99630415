#include "icapkit/log/json_encode.hpp"

#include "icapkit/log/field_format.hpp"

namespace icapkit::log {
namespace detail {

using ojson = nlohmann::ordered_json;

void put(ojson& object, const char* key, const std::optional<std::string>& value) {
  if (value) {
    object[key] = *value;
  }
}

void put(ojson& object, const char* key, const std::optional<bool>& value) {
  if (value) {
    object[key] = *value;
  }
}

void put(ojson& object, const char* key, const std::optional<std::uint32_t>& value) {
  if (value) {
    object[key] = *value;
  }
}

// 64-bit members: proto-JSON renders them as strings, the API model as numbers.
void put_u64(ojson& object, const char* key, const std::optional<std::uint64_t>& value,
             const write_options& options) {
  if (!value) {
    return;
  }
  if (options.int64_as_string) {
    object[key] = std::to_string(*value);
  } else {
    object[key] = *value;
  }
}

template <class Enum>
void put_enum(ojson& object, const char* key, const std::optional<Enum>& value) {
  if (value) {
    object[key] = std::string(to_string(*value));
  }
}

// Unknown members were stored as compact JSON text; a text that no longer parses (a caller built
// it by hand) is skipped rather than thrown.
void put_unknown(ojson& object, const unknown_members& unknown) {
  for (const auto& [name, text] : unknown) {
    if (object.contains(name)) {
      continue;
    }
    auto value = ojson::parse(text, nullptr, false);
    if (!value.is_discarded()) {
      object[name] = std::move(value);
    }
  }
}

ojson violation_json(const icap_violation& violation) {
  ojson object = ojson::object();
  put(object, "file_name", violation.file_name);
  put_enum(object, "resolution", violation.resolution);
  put(object, "threat_name", violation.threat_name);
  put_unknown(object, violation.unknown);
  return object;
}

// reason, threat_id, violations: under opswat_log (current) or flat on the request log (legacy).
void put_opswat_members(ojson& object, const icap_opswat_log& opswat) {
  put(object, "reason", opswat.reason);
  put(object, "threat_id", opswat.threat_id);
  if (!opswat.violations.empty()) {
    ojson list = ojson::array();
    for (const auto& violation : opswat.violations) {
      list.push_back(violation_json(violation));
    }
    object["violations"] = std::move(list);
  }
  put_unknown(object, opswat.unknown);
}

ojson nsx_defender_json(const icap_nsx_defender_log& nsx) {
  ojson object = ojson::object();
  put(object, "score", nsx.score);
  put(object, "status_url", nsx.status_url);
  put(object, "task_uuid", nsx.task_uuid);
  put_unknown(object, nsx.unknown);
  return object;
}

void put_pool_name(ojson& object, const std::optional<crc_string>& pool_name,
                   const write_options& options) {
  if (!pool_name) {
    return;
  }
  if (pool_name->crc32 || options.pool_name_with_crc32) {
    object["pool_name"] = {{"val", pool_name->val},
                           {"crc32", pool_name->crc32.value_or(crc32_of(pool_name->val))}};
  } else {
    object["pool_name"] = pool_name->val;
  }
}

ojson scanned_file_json(const scanned_file& file, const write_options& options) {
  ojson object = ojson::object();
  put(object, "path", file.path);
  put_u64(object, "size", file.size, options);
  put(object, "sha256", file.sha256);
  put_unknown(object, file.unknown);
  return object;
}

ojson replayed_request_json(const replayed_request& replay, const write_options& options) {
  ojson object = ojson::object();
  put_u64(object, "index", replay.index, options);
  put(object, "origin", replay.origin);
  put(object, "body_captured", replay.body_captured);
  put(object, "note", replay.note);
  put_unknown(object, replay.unknown);
  return object;
}

ojson upstream_attempts_json(const upstream_attempts& upstream) {
  ojson object = ojson::object();
  put(object, "attempts", upstream.attempts);
  if (!upstream.retries.empty()) {
    object["retries"] = upstream.retries;
  }
  put(object, "error", upstream.error);
  put_unknown(object, upstream.unknown);
  return object;
}

} // namespace detail

nlohmann::ordered_json to_json(const icap_request_log& request, const write_options& options) {
  using detail::put;
  const bool legacy = options.layout == log_layout::legacy;
  auto object = nlohmann::ordered_json::object();
  detail::put_enum(object, "action", request.action);
  put(object, "complete_body_sent", request.complete_body_sent);
  detail::put_enum(object, "http_method", request.http_method);
  put(object, "http_response_code", request.http_response_code);
  put(object, "icap_absolute_uri", request.icap_absolute_uri);
  put(object, "icap_headers_received_from_server", request.icap_headers_received_from_server);
  put(object, "icap_headers_sent_to_server", request.icap_headers_sent_to_server);
  detail::put_enum(object, "icap_method", request.icap_method);
  put(object, "icap_response_code", request.icap_response_code);
  put(object, "icap_server_ip", request.icap_server_ip);
  put(object, "icap_server_port", request.icap_server_port);
  detail::put_u64(object, "latency", request.latency, options);
  put(object, "modified_content_length", request.modified_content_length);
  if (!legacy && request.nsx_defender_log) {
    object["nsx_defender_log"] = detail::nsx_defender_json(*request.nsx_defender_log);
  }
  if (!legacy && request.opswat_log) {
    auto opswat = nlohmann::ordered_json::object();
    detail::put_opswat_members(opswat, *request.opswat_log);
    object["opswat_log"] = std::move(opswat);
  }
  detail::put_pool_name(object, request.pool_name, options);
  put(object, "pool_uuid", request.pool_uuid);
  put(object, "source_port", request.source_port);
  if (!legacy) {
    detail::put_enum(object, "vendor", request.vendor);
  } else if (request.opswat_log) {
    detail::put_opswat_members(object, *request.opswat_log);
  }
  detail::put_unknown(object, request.unknown);
  return object;
}

nlohmann::ordered_json to_json(const icap_log& log, const write_options& options) {
  auto object = nlohmann::ordered_json::object();
  object["action"] = std::string(to_string(log.action));
  if (!log.request_logs.empty()) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& request : log.request_logs) {
      list.push_back(to_json(request, options));
    }
    object["request_logs"] = std::move(list);
  }
  detail::put_unknown(object, log.unknown);
  return object;
}

nlohmann::ordered_json to_json(const app_log_record& record, const write_options& options) {
  using detail::put;
  auto object = nlohmann::ordered_json::object();
  put(object, "report_timestamp", record.report_timestamp);
  detail::put_u64(object, "log_id", record.log_id, options);
  detail::put_enum(object, "source", record.source);
  put(object, "client_ip", record.client_ip);
  put(object, "client_src_port", record.client_src_port);
  put(object, "method", record.method);
  put(object, "host", record.host);
  put(object, "uri_path", record.uri_path);
  put(object, "uri_query", record.uri_query);
  detail::put_u64(object, "request_length", record.request_length, options);
  put(object, "response_code", record.response_code);
  put(object, "http_security_policy_rule_name", record.http_security_policy_rule_name);
  put(object, "significant", record.significant);
  if (!record.significant_log.empty()) {
    object["significant_log"] = record.significant_log;
  }
  put(object, "significance", record.significance);
  object["icap_log"] = to_json(record.icap_log, options);
  if (record.file) {
    object["file"] = detail::scanned_file_json(*record.file, options);
  }
  if (record.replay) {
    object["replay"] = detail::replayed_request_json(*record.replay, options);
  }
  if (record.upstream) {
    object["upstream"] = detail::upstream_attempts_json(*record.upstream);
  }
  detail::put_unknown(object, record.unknown);
  return object;
}

std::string to_json_text(const app_log_record& record, const write_options& options) {
  return to_json(record, options).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace icapkit::log
