#include "scan_job.hpp"

#include "content_type.hpp"

#include "icapkit/client/failover.hpp"
#include "icapkit/log/significance.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace icapkit::app {

namespace {

namespace fs = std::filesystem;

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    const bool unreserved = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                            (b >= '0' && b <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0x0F];
    }
  }
  return out;
}

std::string host_value(const codec::uri& url) {
  std::string host = url.ipv6_literal ? "[" + url.host + "]" : url.host;
  if (url.port_explicit && url.port != codec::default_port(url.scheme)) {
    host += ":" + std::to_string(url.port);
  }
  return host;
}

void set_length(codec::header_list& headers, std::optional<std::uint64_t> size) {
  if (size) {
    headers.add("Content-Length", std::to_string(*size));
  } else {
    headers.add("Transfer-Encoding", "chunked");
  }
}

// The heads a browser upload (REQMOD) or a download answered 200 (RESPMOD) would have.
void build_heads(const http_template& http, const codec::uri& url, const input_body& body,
                 const std::string& file_type, const body_shape& shape,
                 client::exchange_request& request) {
  codec::http_request_head req;
  const bool reqmod = http.mode == codec::icap_method::reqmod;
  req.method = http.method.empty() ? (reqmod ? "POST" : "GET") : http.method;
  req.target = url.target();
  req.headers.add("Host", host_value(url));
  req.headers.add("User-Agent", "icapkit/" ICAPKIT_VERSION);
  if (reqmod) {
    req.headers.add("Content-Type", shape.multipart
                                        ? "multipart/form-data; boundary=" + shape.boundary
                                        : file_type);
    set_length(req.headers, body.wire_size());
  }
  for (const auto& field : http.http_headers) {
    req.headers.add(field.name, field.value);
  }
  if (!reqmod) {
    codec::http_response_head res;
    res.headers.add("Content-Type", file_type);
    set_length(res.headers, body.wire_size());
    request.http_response = std::move(res);
  }
  request.http_request = std::move(req);
}

// No connection to the server (refused, no name, connect timeout), or a TLS handshake or
// verification that failed: the same for every file (scan says them once).
bool could_not_connect(const client::exchange_result& result) {
  const auto& ec = result.error.code;
  return !result.icap_response &&
         (ec == net::errc::connection_refused || ec == net::errc::resolve_failed ||
          ec == net::errc::connect_timeout || ec == net::errc::tls_handshake_failed ||
          ec == net::errc::tls_verify_failed || ec == net::errc::tls_bad_file ||
          ec == net::errc::tls_version);
}

// The server order for this file: servers not known to be down first, in the given order.
std::vector<std::size_t> server_order(const scan_context& context) {
  std::vector<std::size_t> order;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < context.servers.size(); ++i) {
      if (context.server_down[i] == (pass == 1)) {
        order.push_back(i);
      }
    }
  }
  return order;
}

// "dir/name", else "dir/stem-1.ext", "dir/stem-2.ext", ...: never replaces an existing file.
fs::path free_name(const fs::path& dir, const std::string& name) {
  fs::path candidate = dir / name;
  const fs::path stem = fs::path(name).stem();
  const fs::path extension = fs::path(name).extension();
  for (int n = 1; fs::exists(candidate) || fs::is_symlink(candidate); ++n) {
    candidate = dir / (stem.string() + "-" + std::to_string(n) + extension.string());
  }
  return candidate;
}

file_verdict to_file_verdict(client::verdict_outcome outcome) {
  switch (outcome) {
  case client::verdict_outcome::passed:
    return file_verdict::passed;
  case client::verdict_outcome::modified:
    return file_verdict::modified;
  case client::verdict_outcome::blocked:
    return file_verdict::blocked;
  case client::verdict_outcome::failed:
    break;
  }
  return file_verdict::failed;
}

log::app_log_record make_scan_record(const scan_context& context, const scan_input& input,
                                     std::size_t index, const client::exchange_request& request,
                                     const codec::uri& url, const client::exchange_result& result,
                                     const net::hashing_body_source& file, bool file_complete,
                                     const std::vector<log::icap_request_log>& failed_attempts) {
  auto record =
      log::make_record(log::record_source::scan, index + 1, std::chrono::system_clock::now());
  record.client_ip = context.client_ip;
  record.method = request.http_request->method;
  record.host = host_value(url);
  record.uri_path = url.path;
  if (!url.query.empty()) {
    record.uri_query = url.query;
  }
  if (context.http.mode == codec::icap_method::reqmod && request.body != nullptr) {
    record.request_length = request.body->size();
  }
  // Attempts that failed and went to the next --server come first, each its own request log.
  record.icap_log.request_logs = failed_attempts;
  record.icap_log.request_logs.push_back(result.record);
  // The file's outcome is the last attempt's: a failover that then passed is not a failure.
  record.icap_log.action = log::summarise_actions({result.record});
  log::apply_significance(record, log::assess_significance(result.significance));
  log::scanned_file scanned;
  scanned.path = input.path;
  if (file_complete) {
    scanned.size = file.bytes_read();
    scanned.sha256 = file.hex_digest();
  }
  record.file = std::move(scanned);
  return record;
}

struct attempt_outcome {
  client::exchange_result result;
  codec::uri service;
  std::vector<log::icap_request_log> failed_attempts; // before the last one, in order
  std::vector<std::string> failovers; // "server URL: what failed", one per failed attempt
};

} // namespace

std::string expand_url(const std::string& url_template, std::string_view name) {
  std::string url = url_template;
  const auto encoded = percent_encode(name);
  for (auto at = url.find("{name}"); at != std::string::npos; at = url.find("{name}", at)) {
    url.replace(at, 6, encoded);
    at += encoded.size();
  }
  return url;
}

namespace {

// Runs the exchange against each server in turn (each at most once) while the failure is the
// server's (refused, reset, EOF, TLS, timeout: client/failover.hpp) and the body can be sent again
// from its first byte: a file is reopened, stdin only when it was copied to a temporary file.
asio::awaitable<void> exchange_with_failover(scan_context& context, const std::string& path,
                                             const body_shape& shape, const codec::uri& url,
                                             const std::string& file_type,
                                             std::unique_ptr<input_body>& body,
                                             client::file_body_sink* sink,
                                             client::exchange_request& sent, attempt_outcome& out) {
  const auto order = server_order(context);
  const bool replayable = path != "-";
  for (std::size_t n = 0; n < order.size(); ++n) {
    client::exchange_request request;
    request.method = context.http.mode;
    request.service = context.servers[order[n]];
    request.body = &body->wire();
    request.file_extension = std::string(file_extension(shape.file_name));
    request.content_sink = sink;
    request.reopen_body = [path, shape] { return reopen_wire_body(path, shape); };
    build_heads(context.http, url, *body, file_type, shape, request);
    sent = request;
    out.service = request.service;
    out.result = co_await context.icap->exchange(std::move(request));
    if (client::is_connection_failure(out.result)) {
      context.server_down[order[n]] = true; // later files try the others first
    }
    // Each --server has its own response timeout: the budget is not shared.
    auto decision =
        client::decide_failover(out.result, replayable, std::chrono::steady_clock::duration::max());
    if (decision.retry && n + 1 == order.size()) {
      decision.retry = false;
      if (order.size() > 1) {
        decision.not_retried = "every --server was tried";
      }
    }
    if (!decision.retry) {
      if (!decision.not_retried.empty()) {
        out.result.significance.failure += " (" + decision.not_retried + ")";
      }
      co_return;
    }
    if (body->file().bytes_read() > 0) {
      if (!replayable) {
        out.result.significance.failure +=
            " (not sent to another server: stdin was read and cannot be sent again)";
        co_return;
      }
      body = std::make_unique<input_body>();
      if (auto ec = body->open(path, shape, &context.bytes_read)) {
        out.result.significance.failure +=
            " (not sent to another server: the file could not be opened again: " + ec.message() +
            ")";
        co_return;
      }
    }
    if (sink != nullptr) {
      if (auto ec = sink->restart()) {
        out.result.significance.failure +=
            " (not sent to another server: --save-modified: " + ec.message() + ")";
        co_return;
      }
    }
    out.failed_attempts.push_back(out.result.record);
    out.failovers.push_back(out.service.to_string() + ": " + out.result.error_message);
  }
}

} // namespace

asio::awaitable<void> scan_file(scan_context& context, const scan_input& input, std::size_t index,
                                scan_job_result& out) {
  out.report.path = input.path;
  std::string path = input.path;
  std::string spooled;
  if (path == "-" && context.spool_stdin) {
    if (auto ec = spool_stdin(spooled)) {
      out.report.detail = "cannot copy stdin to a temporary file: " + ec.message();
      co_return;
    }
    path = spooled;
  }
  const auto file_type = context.http.content_type.empty()
                             ? std::string(guess_content_type(input.name))
                             : context.http.content_type;
  body_shape shape;
  shape.multipart = context.http.multipart;
  shape.boundary = shape.multipart ? make_form_boundary() : std::string();
  shape.file_name = input.name;
  shape.content_type = file_type;
  auto body = std::make_unique<input_body>();
  if (auto ec = body->open(path, shape, &context.bytes_read)) {
    out.report.detail = ec.message();
    co_return;
  }
  const auto url_text = expand_url(context.http.url, input.name);
  codec::uri url;
  codec::parse_uri(url_text, url); // checked at start-up with a sample name

  client::file_body_sink sink;
  fs::path partial;
  if (!context.save_dir.empty()) {
    partial = fs::path(context.save_dir) /
              (".icapkit-partial-" + std::to_string(::getpid()) + "-" + std::to_string(index));
    if (auto ec = sink.open(partial.string())) {
      out.report.detail = "--save-modified: " + partial.string() + ": " + ec.message();
      co_return;
    }
  }
  client::exchange_request sent;
  attempt_outcome attempt;
  co_await exchange_with_failover(context, path, shape, url, file_type, body,
                                  context.save_dir.empty() ? nullptr : &sink, sent, attempt);
  const auto& result = attempt.result;
  out.connect_failed = could_not_connect(result); // the last server tried failed too
  const auto drain_error = body->file().drain();
  if (!spooled.empty()) {
    std::error_code ignored;
    fs::remove(spooled, ignored);
  }

  auto& report = out.report;
  report.verdict = to_file_verdict(result.result.outcome);
  report.threat = result.result.threat;
  report.icap_status = result.result.icap_status;
  report.latency_ms = result.latency.count();
  if (report.verdict == file_verdict::failed) {
    report.detail = !result.error_message.empty() ? result.error_message : result.result.failure;
  } else if (result.not_sent) {
    report.detail = "not sent: the service's Transfer-Ignore lists this extension";
  }
  if (drain_error) {
    report.verdict = file_verdict::failed;
    report.detail = "reading the file: " + drain_error.message();
  }
  for (const auto& failover : attempt.failovers) {
    report.verbose_lines.push_back("failed over from " + failover);
  }
  report.verbose_lines.push_back("server " + attempt.service.to_string() + ", rule: " +
                                 (result.result.rule.empty() ? "-" : result.result.rule));
  if (result.result.reason) {
    report.verbose_lines.push_back("reason: " + *result.result.reason);
  }
  if (!context.save_dir.empty()) {
    const bool keep =
        (report.verdict == file_verdict::passed || report.verdict == file_verdict::modified) &&
        (result.returned_body_bytes > 0 || result.content_changed);
    std::error_code ec;
    if (keep) {
      const auto target = free_name(context.save_dir, input.name);
      fs::rename(partial, target, ec);
      if (ec) {
        report.verdict = file_verdict::failed;
        report.detail = "--save-modified: " + target.string() + ": " + ec.message();
      } else {
        report.detail = "saved to " + target.string();
      }
    } else {
      fs::remove(partial, ec);
    }
  }
  out.record = make_scan_record(context, input, index, sent, url, result, body->file(),
                                !drain_error, attempt.failed_attempts);
}

} // namespace icapkit::app
