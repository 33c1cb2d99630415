#include "icapkit/client/verdict.hpp"

#include "icapkit/codec/encapsulated.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/net/errc.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>

namespace icapkit::client {

namespace {

using detail::trim;

// The first of `names` present with a non-blank value, trimmed.
std::optional<std::string> first_header(const codec::header_list& headers,
                                        std::initializer_list<std::string_view> names) {
  for (const auto name : names) {
    const auto value = headers.get(name);
    if (value && !trim(*value).empty()) {
      return std::string(trim(*value));
    }
  }
  return std::nullopt;
}

// What the headers said beyond the verdict's own fields, for the rules.
struct evidence {
  std::string response_info;        // X-Response-Info
  bool block_reason_header = false; // X-Blocked-Reason or X-Block-Reason
  bool virus_header = false;        // X-Virus-ID or X-Virus-Name
  bool lastline = false;            // any NSX Defender header or LastlineArtifact form
};

struct decision {
  verdict_outcome outcome;
  std::string rule;
};

// X-Lastline-* are HTTP headers on the page NSX Defender returns; a server that puts them on the
// ICAP response instead is accepted too.
bool collect_nsx(const classify_input& in, const std::optional<std::string>& virus_id, verdict& v) {
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (in.http_response) {
      if (auto value = first_header(in.http_response->headers, {name})) {
        return value;
      }
    }
    return first_header(in.response->headers, {name});
  };
  const auto score = lookup("X-Lastline-Score");
  if (score) {
    v.nsx_score = parse_score(*score);
  }
  v.nsx_task_uuid = lookup("X-Lastline-Task");
  v.nsx_status = lookup("X-Lastline-Status");
  auto artifact = v.infection ? parse_lastline_artifact(v.infection->threat) : std::nullopt;
  if (!artifact && virus_id) {
    artifact = parse_lastline_artifact(*virus_id);
  }
  if (artifact) {
    if (!v.nsx_score) {
      v.nsx_score = artifact->score;
    }
    if (!v.nsx_task_uuid) {
      v.nsx_task_uuid = artifact->task_uuid;
    }
  }
  return score || v.nsx_task_uuid || v.nsx_status || artifact;
}

evidence collect_evidence(const classify_input& in, verdict& v) {
  const auto& headers = in.response->headers;
  evidence ev;
  ev.response_info = first_header(headers, {"X-Response-Info"}).value_or("");
  v.reason = first_header(
      headers, {"X-Blocked-Reason", "X-Response-Desc", "X-Block-Reason", "X-Response-Description"});
  ev.block_reason_header =
      first_header(headers, {"X-Blocked-Reason", "X-Block-Reason"}).has_value();
  if (const auto value = headers.get("X-Infection-Found")) {
    v.infection = parse_infection_found(*value);
  }
  if (const auto value = headers.get("X-Violations-Found")) {
    auto parsed = parse_violations_found(*value);
    v.violations = std::move(parsed.violations);
    v.violations_truncated = parsed.truncated;
  }
  const auto virus_id = first_header(headers, {"X-Virus-ID"});
  const auto virus_name = first_header(headers, {"X-Virus-Name"});
  ev.virus_header = virus_id || virus_name;
  if (v.infection && !v.infection->threat.empty()) {
    v.threat = v.infection->threat;
  } else if (virus_id || virus_name) {
    v.threat = virus_id ? virus_id : virus_name;
  } else if (!v.violations.empty() && !v.violations.front().threat_name.empty()) {
    v.threat = v.violations.front().threat_name;
  }
  if (in.http_response && in.http_response->status > 0) {
    v.http_status = static_cast<std::uint32_t>(in.http_response->status);
  }
  ev.lastline = collect_nsx(in, virus_id, v);
  return ev;
}

bool served_block_page(const classify_input& in, const verdict& v) {
  return in.content_changed || (v.http_status && *v.http_status >= 400);
}

// Rule 3: NSX Defender decides by status and score; nullopt leaves it to the content rule.
std::optional<decision> nsx_rule(const classify_input& in, const classify_policy& policy,
                                 const verdict& v) {
  const bool blacklisted = v.nsx_status && codec::iequals(*v.nsx_status, "blacklist");
  const bool high_score = v.nsx_score && *v.nsx_score >= policy.nsx_block_score;
  if ((blacklisted || high_score) && served_block_page(in, v)) {
    return decision{verdict_outcome::blocked,
                    blacklisted ? "NSX Defender status blacklist with a blocking page"
                                : "NSX Defender score " + std::to_string(*v.nsx_score) +
                                      " >= " + std::to_string(policy.nsx_block_score) +
                                      " with a blocking page"};
  }
  return std::nullopt;
}

// Rules 4-8: what vendors say in ICAP headers.
std::optional<decision> header_rules(const classify_input& in, const evidence& ev,
                                     const verdict& v) {
  using enum verdict_outcome;
  if (codec::iequals(ev.response_info, "Sanitized")) {
    return decision{modified, "X-Response-Info: Sanitized"};
  }
  if (ev.block_reason_header) {
    return decision{blocked, "X-Blocked-Reason/X-Block-Reason present"};
  }
  if (v.infection) {
    if (v.infection->resolution == 1) {
      return decision{modified, "X-Infection-Found Resolution=1 (repaired)"};
    }
    return decision{blocked,
                    v.infection->resolution
                        ? "X-Infection-Found Resolution=" + std::to_string(*v.infection->resolution)
                        : std::string("X-Infection-Found without Resolution")};
  }
  const bool threat_headers = ev.virus_header || !v.violations.empty();
  const bool error_page =
      in.method == codec::icap_method::respmod && v.http_status && *v.http_status >= 400;
  if (error_page && (threat_headers || (in.sent_http_status && *in.sent_http_status < 400))) {
    return decision{blocked, "RESPMOD answered with HTTP " + std::to_string(*v.http_status)};
  }
  if (ev.virus_header) {
    return decision{blocked, "X-Virus-ID/X-Virus-Name present"};
  }
  if (!v.violations.empty()) {
    const bool all_resolved = std::all_of(v.violations.begin(), v.violations.end(), [](auto& x) {
      return x.resolution && *x.resolution != log::violation_resolution::file_not_repaired;
    });
    return all_resolved ? decision{modified, "X-Violations-Found, all repaired or removed"}
                        : decision{blocked, "X-Violations-Found with an unrepaired violation"};
  }
  return std::nullopt;
}

decision decide_content(const classify_input& in, const classify_policy& policy, const evidence& ev,
                        const verdict& v) {
  using enum verdict_outcome;
  if (in.method == codec::icap_method::reqmod && in.http_response) {
    return {blocked, "REQMOD answered with an HTTP response"};
  }
  if (codec::iequals(ev.response_info, "Blocked")) {
    return {blocked, "X-Response-Info: Blocked"};
  }
  if (ev.lastline) {
    if (auto d = nsx_rule(in, policy, v)) {
      return std::move(*d);
    }
  } else if (auto d = header_rules(in, ev, v)) {
    return std::move(*d);
  }
  if (in.content_changed) {
    return {modified, "content changed"};
  }
  return {passed, "content unchanged"};
}

// "ICAP 503 Service Overloaded"; a phrase that itself starts with "ICAP " loses it.
std::string status_text(const codec::icap_response_head& response) {
  std::string_view reason = response.reason.empty() ? codec::icap_reason_phrase(response.status)
                                                    : std::string_view(response.reason);
  if (detail::istarts_with(reason, "ICAP ")) {
    reason.remove_prefix(5);
  }
  return "ICAP " + std::to_string(response.status) + (reason.empty() ? "" : " ") +
         std::string(reason);
}

verdict failed(verdict v, std::string failure) {
  v.outcome = verdict_outcome::failed;
  v.rule = "failed";
  v.failure = std::move(failure);
  return v;
}

} // namespace

std::string_view to_string(verdict_outcome o) noexcept {
  switch (o) {
  case verdict_outcome::passed:
    return "passed";
  case verdict_outcome::modified:
    return "modified";
  case verdict_outcome::blocked:
    return "blocked";
  case verdict_outcome::failed:
    return "failed";
  }
  return "failed";
}

log::icap_action to_icap_action(verdict_outcome o) noexcept {
  switch (o) {
  case verdict_outcome::passed:
    return log::icap_action::passed;
  case verdict_outcome::modified:
    return log::icap_action::modified;
  case verdict_outcome::blocked:
    return log::icap_action::blocked;
  case verdict_outcome::failed:
    return log::icap_action::failed;
  }
  return log::icap_action::failed;
}

classify_input input_from(const codec::parsed_message& message, codec::icap_method method) {
  classify_input in;
  in.method = method;
  in.response = message.icap_response ? &*message.icap_response : nullptr;
  in.http_request = message.http_request ? &*message.http_request : nullptr;
  in.http_response = message.http_response ? &*message.http_response : nullptr;
  in.use_original_body = message.use_original_body;
  return in;
}

verdict classify(const classify_input& input, const classify_policy& policy) {
  verdict v;
  if (input.response) {
    v.icap_status = input.response->status;
  }
  if (input.error) {
    v.error = input.error;
    return failed(std::move(v),
                  input.error_message.empty() ? input.error.message() : input.error_message);
  }
  if (!input.response) {
    return failed(std::move(v), "no ICAP response");
  }
  const int status = input.response->status;
  if (status == 204) {
    v.outcome = verdict_outcome::passed;
    v.rule = "ICAP 204";
    return v;
  }
  if (status == 100) {
    return failed(std::move(v), "ICAP 100 Continue as the final answer");
  }
  if (!codec::status_carries_adapted_message(status)) {
    const auto text = status_text(*input.response);
    return failed(std::move(v), status >= 400 ? text : "unexpected " + text);
  }
  const auto ev = collect_evidence(input, v);
  auto d = decide_content(input, policy, ev, v);
  v.outcome = d.outcome;
  v.rule = std::move(d.rule);
  if (v.outcome == verdict_outcome::modified) {
    v.modified_content_length = input.returned_body_length;
  }
  return v;
}

namespace {

std::optional<log::icap_opswat_log> opswat_log_of(const verdict& v) {
  if (!v.reason && !v.threat && v.violations.empty()) {
    return std::nullopt;
  }
  log::icap_opswat_log out;
  out.reason = v.reason;
  out.threat_id = v.threat;
  for (const auto& x : v.violations) {
    log::icap_violation entry;
    entry.file_name = x.file_name;
    if (!x.threat_name.empty()) {
      entry.threat_name = x.threat_name;
    }
    entry.resolution = x.resolution;
    out.violations.push_back(std::move(entry));
  }
  return out;
}

std::optional<log::icap_nsx_defender_log> nsx_log_of(const verdict& v,
                                                     std::string_view status_url_template) {
  if (!v.nsx_score && !v.nsx_task_uuid) {
    return std::nullopt;
  }
  log::icap_nsx_defender_log out;
  out.score = v.nsx_score;
  out.task_uuid = v.nsx_task_uuid;
  if (v.nsx_task_uuid && !status_url_template.empty()) {
    out.status_url = config::expand_status_url(status_url_template, *v.nsx_task_uuid);
  }
  return out;
}

} // namespace

void fill_record(const verdict& v, log::icap_request_log& record, log::icap_vendor vendor,
                 std::string_view status_url_template) {
  record.action = to_icap_action(v.outcome);
  record.http_response_code.reset();
  if (v.outcome == verdict_outcome::blocked) {
    record.http_response_code = v.http_status;
  }
  if (v.outcome == verdict_outcome::modified && v.modified_content_length) {
    record.modified_content_length = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        *v.modified_content_length, std::numeric_limits<std::uint32_t>::max()));
  }
  record.opswat_log.reset();
  record.nsx_defender_log.reset();
  if (vendor == log::icap_vendor::lastline) {
    record.nsx_defender_log = nsx_log_of(v, status_url_template);
  } else {
    record.opswat_log = opswat_log_of(v);
  }
}

void fill_significance(const verdict& v, log::significance_conditions& conditions) {
  conditions.action = to_icap_action(v.outcome);
  if (v.outcome != verdict_outcome::failed) {
    return;
  }
  conditions.failure = v.failure;
  if (v.error) {
    const bool net_error = v.error.category() == net::net_category();
    conditions.timed_out = conditions.timed_out || net::is_timeout(v.error);
    conditions.connection_error =
        conditions.connection_error || (net_error && !net::is_timeout(v.error));
    // Codec errors are the server's malformed response, except the two about our own body source.
    const bool own_body = v.error == codec::errc::body_source_error ||
                          v.error == codec::errc::body_shorter_than_declared;
    conditions.server_error =
        conditions.server_error || (v.error.category() == codec::codec_category() && !own_body);
  } else if (v.icap_status && *v.icap_status >= 400) {
    conditions.server_error = true;
  }
}

} // namespace icapkit::client
