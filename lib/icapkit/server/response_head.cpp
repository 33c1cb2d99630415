#include "icapkit/server/response_head.hpp"

#include <array>
#include <ctime>

namespace icapkit::server::detail {

namespace {

// Fields from `extra` replace the engine's fields of the same name; duplicates within `extra`
// (two X-Violations-Found, say) are kept.
void merge_fields(codec::header_list& head, const codec::header_list& extra) {
  for (const auto& field : extra) {
    head.remove(field.name);
  }
  for (const auto& field : extra) {
    head.add(field.name, field.value);
  }
}

std::string join_methods(const std::vector<codec::icap_method>& methods) {
  std::string out;
  for (const auto m : methods) {
    if (m != codec::icap_method::reqmod && m != codec::icap_method::respmod) {
      continue;
    }
    if (!out.empty()) {
      out += ", ";
    }
    out += codec::to_string(m);
  }
  return out;
}

} // namespace

std::string http_date(std::chrono::system_clock::time_point when) {
  // Every response carries a Date and the text changes once a second: formatted once per second
  // (per thread, as the server's workers each have one).
  thread_local std::time_t formatted_second = -1;
  thread_local std::string formatted;
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  if (t == formatted_second) {
    return formatted;
  }
  static constexpr std::array<const char*, 7> days = {"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              days.at(static_cast<std::size_t>(tm.tm_wday % 7)), tm.tm_mday,
                              months.at(static_cast<std::size_t>(tm.tm_mon % 12)),
                              tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  formatted.assign(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  formatted_second = t;
  return formatted;
}

codec::icap_response_head make_head(const server_state& state, const head_spec& spec) {
  codec::icap_response_head head;
  head.status = spec.status;
  head.reason = spec.reason.empty() ? std::string(codec::icap_reason_phrase(spec.status))
                                    : std::string(spec.reason);
  if (spec.istag != nullptr && spec.istag->has_value()) {
    head.headers.add("ISTag", **spec.istag);
  } else {
    head.headers.add("ISTag",
                     spec.svc != nullptr ? spec.svc->istag() : state.options.default_istag);
  }
  head.headers.add("Date", http_date(std::chrono::system_clock::now()));
  head.headers.add("Server", state.options.server_header);
  if (spec.extra != nullptr) {
    merge_fields(head.headers, *spec.extra);
  }
  if (spec.close) {
    head.headers.set("Connection", "close");
  }
  if (spec.svc != nullptr) {
    spec.svc->finish_headers(spec.status, head.headers);
  }
  return head;
}

codec::icap_response_head make_options_head(const server_state& state, const service& svc,
                                            const options_reply& reply, bool close) {
  codec::header_list fields;
  fields.add("Methods", join_methods(reply.methods.empty() ? svc.methods() : reply.methods));
  if (!reply.service.empty()) {
    fields.add("Service", reply.service);
  }
  if (!reply.service_id.empty()) {
    fields.add("Service-ID", reply.service_id);
  }
  if (reply.preview) {
    fields.add("Preview", std::to_string(*reply.preview));
  }
  if (!reply.transfer_preview.empty()) {
    fields.add("Transfer-Preview", reply.transfer_preview);
  }
  if (!reply.transfer_ignore.empty()) {
    fields.add("Transfer-Ignore", reply.transfer_ignore);
  }
  if (!reply.transfer_complete.empty()) {
    fields.add("Transfer-Complete", reply.transfer_complete);
  }
  if (reply.allow_204 || reply.allow_206) {
    fields.add("Allow", reply.allow_204 && reply.allow_206 ? "204, 206"
                        : reply.allow_204                  ? "204"
                                                           : "206");
  }
  if (reply.max_connections) {
    fields.add("Max-Connections", std::to_string(*reply.max_connections));
  } else if (state.options.max_connections > 0) {
    fields.add("Max-Connections", std::to_string(state.options.max_connections));
  }
  if (reply.options_ttl) {
    fields.add("Options-TTL", std::to_string(*reply.options_ttl));
  }
  merge_fields(fields, reply.extra_headers);
  head_spec spec;
  spec.status = 200;
  spec.svc = &svc;
  spec.extra = &fields;
  spec.close = close;
  return make_head(state, spec);
}

} // namespace icapkit::server::detail
