#pragma once
// The icap_log model: Avi's IcapLog, IcapRequestLog, IcapOPSWATLog, IcapViolation and
// IcapNSXDefenderLog (alb-sdk go/models, 21.1.1+ field set). Member names are the JSON names.
// Every optional member is omitted from JSON when unset, as Avi omits it.
#include "icapkit/log/enums.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace icapkit::log {

// Members of a JSON object the model does not know, kept so that reading then writing a record
// loses nothing: (name, value as compact JSON text), in input order. Written after known members.
using unknown_members = std::vector<std::pair<std::string, std::string>>;

// A string Avi sometimes renders as {"val": "...", "crc32": N} (its internal form; the API model
// types it as a plain string). crc32 is set when the input used the object form.
struct crc_string {
  std::string val;
  std::optional<std::uint32_t> crc32;
  friend bool operator==(const crc_string&, const crc_string&) = default;
};

struct icap_violation {
  std::optional<std::string> file_name;
  std::optional<std::string> threat_name;
  std::optional<violation_resolution> resolution;
  unknown_members unknown;
  friend bool operator==(const icap_violation&, const icap_violation&) = default;
};

struct icap_opswat_log {
  std::optional<std::string> reason;    // X-Blocked-Reason / X-Response-Desc
  std::optional<std::string> threat_id; // short threat description (X-Infection-Found Threat=)
  std::vector<icap_violation> violations;
  unknown_members unknown;
  friend bool operator==(const icap_opswat_log&, const icap_opswat_log&) = default;
};

struct icap_nsx_defender_log {
  std::optional<std::uint32_t> score; // 0..100; the reader rejects larger values
  std::optional<std::string> status_url;
  std::optional<std::string> task_uuid;
  unknown_members unknown;
  friend bool operator==(const icap_nsx_defender_log&, const icap_nsx_defender_log&) = default;
};

struct icap_request_log {
  std::optional<icap_action> action;
  std::optional<bool> complete_body_sent;
  std::optional<avi_http_method> http_method;
  std::optional<std::uint32_t> http_response_code; // encapsulated HTTP status, only when blocked
  std::optional<std::string> icap_absolute_uri;
  std::optional<std::string> icap_headers_sent_to_server; // "Name: value\r\n"..., no start line
  std::optional<std::string> icap_headers_received_from_server; // same form
  std::optional<avi_icap_method> icap_method;
  std::optional<std::uint32_t> icap_response_code;
  // IPv4 only, a.b.c.d as a<<24|b<<16|c<<8|d (Avi types it uint32). Unset for an IPv6 server:
  // the field cannot hold one, and icap_absolute_uri still names the server.
  std::optional<std::uint32_t> icap_server_ip;
  std::optional<std::uint32_t> icap_server_port;
  std::optional<std::uint64_t> latency; // milliseconds, first byte sent to last byte received
  std::optional<std::uint32_t> modified_content_length;
  std::optional<crc_string> pool_name;
  std::optional<std::string> pool_uuid;
  std::optional<std::uint32_t> source_port;
  std::optional<icap_vendor> vendor;
  // OPSWAT details; the 20.1.x (legacy) layout carries the same three members flat on the request
  // log, the model always keeps them here.
  std::optional<icap_opswat_log> opswat_log;
  std::optional<icap_nsx_defender_log> nsx_defender_log;
  unknown_members unknown;
  friend bool operator==(const icap_request_log&, const icap_request_log&) = default;
};

struct icap_log {
  icap_action action = icap_action::disabled;
  std::vector<icap_request_log> request_logs;
  unknown_members unknown;
  friend bool operator==(const icap_log&, const icap_log&) = default;
};

// The overall action of several exchanges: blocked beats failed beats modified beats passed;
// disabled when there are none. Avi's IcapLog.action summarises its request_logs this way.
icap_action summarise_actions(const std::vector<icap_request_log>& request_logs) noexcept;

} // namespace icapkit::log
