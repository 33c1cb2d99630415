#pragma once
// How a record is laid out when written. Readers accept every layout without being told.
namespace icapkit::log {

enum class log_layout {
  // 21.1.1 and later: vendor, opswat_log {reason, threat_id, violations}, nsx_defender_log.
  current,
  // 20.1.x, as the NSX ALB ICAP guide's examples show: reason, threat_id and violations directly
  // on the request log; no vendor, opswat_log or nsx_defender_log (those are dropped).
  legacy,
};

struct write_options {
  log_layout layout = log_layout::current;
  // Write 64-bit integers (latency, log_id, request_length, file.size) as decimal strings, as
  // Avi's proto-JSON rendering does ("latency": "1275"). Off: JSON numbers, as the API model.
  bool int64_as_string = false;
  // Write every pool_name as {"val": name, "crc32": crc32_of(name)}, Avi's internal form. A
  // pool_name read in that form is written in it anyway, with the crc32 it had.
  bool pool_name_with_crc32 = false;
};

} // namespace icapkit::log
