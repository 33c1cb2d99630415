#include "icapkit/server/request_sink.hpp"

#include "icapkit/codec/uri.hpp"

#include <algorithm>

namespace icapkit::server::detail {

namespace {

// "Allow: 204, 206" (possibly several Allow fields, as c-icap-client sends).
void read_allow(const codec::header_list& headers, bool& allow_204, bool& allow_206) {
  for (const auto& field : headers) {
    if (!codec::iequals(field.name, "Allow")) {
      continue;
    }
    std::string_view rest = field.value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto token = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
        token.remove_prefix(1);
      }
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
        token.remove_suffix(1);
      }
      allow_204 = allow_204 || token == "204";
      allow_206 = allow_206 || token == "206";
    }
  }
}

} // namespace

request_sink::request_sink(const server_state& state, request_info connection_info)
    : state_(state), connection_info_(std::move(connection_info)) {
  reset();
}

void request_sink::reset() {
  info = connection_info_;
  matched.reset();
  current.reset();
  spool.reset();
  error_status = 0;
  close_after_error = false;
  heads_done = false;
  message_complete = false;
  preview_ended = false;
  ieof = false;
  answer_now = false;
  body_bytes = 0;
  method_token.clear();
  discard_ = false;
  in_response_head_ = false;
}

void request_sink::on_icap_request_line(std::string_view method, std::string_view uri,
                                        codec::version v) {
  method_token = method;
  info.icap.method = method;
  info.icap.uri = uri;
  info.icap.icap_version = v;
  info.method = codec::parse_icap_method(method);
  // Decided here, before the rest can fail to parse: the framing of another version or an
  // unknown method is not ours to trust, so these answers close the connection.
  if (v != codec::version{1, 0}) {
    error_status = 505;
    close_after_error = true;
  } else if (info.method == codec::icap_method::other) {
    error_status = 501;
    close_after_error = true;
  }
}

void request_sink::on_icap_header(std::string_view name, std::string_view value) {
  info.icap.headers.add(std::string(name), std::string(value));
}

void request_sink::on_icap_headers_complete() {
  info.encapsulated = parser_->encapsulated_header();
  info.has_body = info.encapsulated.has_chunked_body();
  info.preview = parser_->preview();
  read_allow(info.icap.headers, info.allow_204, info.allow_206);
  if (auto ip = info.icap.headers.get("X-Client-IP")) {
    info.x_client_ip = std::string(*ip);
  }
  if (error_status != 0) {
    return;
  }
  codec::uri parsed;
  if (codec::parse_uri(info.icap.uri, parsed)) {
    error_status = 400;
    close_after_error = true;
    return;
  }
  info.path = parsed.path;
  info.query = parsed.query;
  std::string_view name = parsed.path;
  if (!name.empty() && name.front() == '/') {
    name.remove_prefix(1);
  }
  const auto found = state_.services.find(name);
  if (found == state_.services.end()) {
    error_status = 404;
    return;
  }
  matched = found->second;
  info.service_name = std::string(name);
  if (info.method != codec::icap_method::options) {
    const auto methods = matched->methods();
    if (std::find(methods.begin(), methods.end(), info.method) == methods.end()) {
      error_status = 405;
    }
  }
}

void request_sink::on_section(codec::section s) {
  in_response_head_ = s == codec::section::res_hdr;
  if (codec::is_body(s)) {
    heads_complete();
  }
}

void request_sink::on_http_request_line(std::string_view method, std::string_view target,
                                        codec::version v) {
  auto& head = info.http_request.emplace();
  head.method = method;
  head.target = target;
  head.http_version = v;
}

void request_sink::on_http_status_line(codec::version v, int status, std::string_view reason) {
  auto& head = info.http_response.emplace();
  head.http_version = v;
  head.status = status;
  head.reason = reason;
}

codec::header_list& request_sink::current_http_headers() {
  if (in_response_head_ && info.http_response) {
    return info.http_response->headers;
  }
  if (!info.http_request) {
    info.http_request.emplace();
  }
  return info.http_request->headers;
}

void request_sink::on_http_header(std::string_view name, std::string_view value) {
  current_http_headers().add(std::string(name), std::string(value));
}

void request_sink::on_body(std::string_view data) {
  body_bytes += data.size();
  if (discard_ || answer_now || !current) {
    return;
  }
  if (spool) {
    spool->append(data); // a failure is kept in the spool and turns an echo into a 500
  }
  if (current->on_body(data) == body_action::answer_now) {
    answer_now = true;
  }
}

void request_sink::on_trailer(std::string_view name, std::string_view value) {
  if (!discard_ && !answer_now && current) {
    current->on_trailer(name, value);
  }
}

void request_sink::on_preview_end(bool end_of_body) {
  preview_ended = true;
  ieof = end_of_body;
}

void request_sink::on_message_complete() {
  heads_complete();
  message_complete = true;
}

void request_sink::heads_complete() {
  if (heads_done) {
    return;
  }
  heads_done = true;
  dispatch();
}

void request_sink::dispatch() {
  if (error_status != 0 || !matched || info.method == codec::icap_method::options) {
    return;
  }
  current = matched->begin(info);
  if (!current) {
    error_status = 500;
    return;
  }
  // Kept for an echo (no "Allow: 204") or for trickling the body back.
  if ((!info.allow_204 || state_.options.trickle.start_after > 0) && info.has_body) {
    spool.emplace(state_.options.spool_memory_limit, state_.options.temp_dir);
  }
}

} // namespace icapkit::server::detail
