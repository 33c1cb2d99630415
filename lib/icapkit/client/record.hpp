#pragma once
// Builds the icap_log request record of one exchange (DESIGN.md section 4): what was sent, what
// came back, where and how long; the verdict module then adds action, reason and threat.
#include "icapkit/client/verdict.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/log/enums.hpp"
#include "icapkit/log/icap_log.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::client {

struct record_inputs {
  const codec::uri* service = nullptr; // required
  codec::icap_method method = codec::icap_method::reqmod;
  const codec::http_request_head* http_request = nullptr; // the encapsulated request sent
  std::string_view icap_head_sent;                        // serializer::icap_head(); may be empty
  const codec::icap_response_head* response = nullptr;    // the final response, if any
  std::string server_address; // the connected address ("127.0.0.1"); empty when none
  std::optional<std::uint16_t> server_port;
  std::optional<std::uint16_t> source_port;
  std::optional<std::chrono::milliseconds> latency;
  std::optional<bool> complete_body_sent;
  log::icap_vendor vendor = log::icap_vendor::generic;
  std::string_view nsx_status_url;
  std::optional<std::string> pool_name;
  std::optional<std::string> pool_uuid;
};

// Fills `out` from the inputs, then fill_record(v, ...) for action, http_response_code,
// modified_content_length, opswat_log and nsx_defender_log. Fields without a source stay unset
// (icap_server_ip for IPv6 servers, icap_response_code when no response arrived).
void build_record(const record_inputs& in, const verdict& v, log::icap_request_log& out);

// "REQMOD icap://... ICAP/1.0\r\nHost: a\r\nAllow: 204\r\n\r\n" -> "Host: a\r\nAllow: 204\r\n":
// the header lines as Avi logs them, without the start line and the blank line.
std::string header_lines_of(std::string_view head);

} // namespace icapkit::client
