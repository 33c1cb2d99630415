#include "icapkit/client/record.hpp"

#include "icapkit/log/field_format.hpp"

namespace icapkit::client {

std::string header_lines_of(std::string_view head) {
  const auto first_line_end = head.find("\r\n");
  if (first_line_end == std::string_view::npos) {
    return {};
  }
  head.remove_prefix(first_line_end + 2);
  // The blank line that ends the head is the only "\r\n" left at the very end.
  if (head.ends_with("\r\n\r\n")) {
    head.remove_suffix(2);
  } else if (head == "\r\n") {
    head = {};
  }
  return std::string(head);
}

namespace {

log::avi_icap_method avi_method(codec::icap_method m) noexcept {
  return m == codec::icap_method::respmod ? log::avi_icap_method::respmod
                                          : log::avi_icap_method::reqmod;
}

void fill_transport(const record_inputs& in, log::icap_request_log& out) {
  if (!in.server_address.empty()) {
    out.icap_server_ip = log::icap_server_ip_from_string(in.server_address);
  }
  if (in.server_port) {
    out.icap_server_port = *in.server_port;
  } else if (in.service != nullptr) {
    out.icap_server_port = in.service->port;
  }
  if (in.source_port) {
    out.source_port = *in.source_port;
  }
  if (in.latency) {
    out.latency = static_cast<std::uint64_t>(in.latency->count());
  }
}

} // namespace

void build_record(const record_inputs& in, const verdict& v, log::icap_request_log& out) {
  if (in.service != nullptr) {
    out.icap_absolute_uri = in.service->to_string();
  }
  out.icap_method = avi_method(in.method);
  if (in.http_request != nullptr) {
    out.http_method = log::avi_http_method_from_token(in.http_request->method);
  }
  if (!in.icap_head_sent.empty()) {
    out.icap_headers_sent_to_server = header_lines_of(in.icap_head_sent);
  }
  if (in.response != nullptr) {
    out.icap_response_code = static_cast<std::uint32_t>(in.response->status);
    out.icap_headers_received_from_server = log::join_icap_headers(in.response->headers);
  }
  fill_transport(in, out);
  out.complete_body_sent = in.complete_body_sent;
  out.vendor = in.vendor;
  if (in.pool_name) {
    out.pool_name = log::crc_string{*in.pool_name, std::nullopt};
  }
  out.pool_uuid = in.pool_uuid;
  fill_record(v, out, in.vendor, in.nsx_status_url);
}

} // namespace icapkit::client
