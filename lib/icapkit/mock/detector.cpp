#include "icapkit/mock/detector.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace icapkit::mock {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const codec::header_list* body_headers(const server::request_info& request) {
  if (request.method == codec::icap_method::respmod && request.http_response) {
    return &request.http_response->headers;
  }
  return request.http_request ? &request.http_request->headers : nullptr;
}

std::string absolute_url(const codec::http_request_head& head) {
  if (head.target.find("://") != std::string::npos) {
    return head.target;
  }
  const auto host = head.headers.get("Host");
  if (!host || head.target.empty() || head.target.front() != '/') {
    return head.target;
  }
  return "http://" + std::string(*host) + head.target;
}

void add_name(std::vector<std::string>& names, std::string name) {
  if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
    names.push_back(std::move(name));
  }
}

bool any_contains_prefix(const std::vector<std::string>& prefixes, const std::string& value) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return value.starts_with(p); });
}

} // namespace

request_facts facts_of(const server::request_info& request) {
  request_facts f;
  f.method = std::string(codec::to_string(request.method));
  if (request.http_request) {
    f.url = absolute_url(*request.http_request);
    add_name(f.names, url_file_name(request.http_request->target));
    if (const auto type = request.http_request->headers.get("Content-Type")) {
      f.multipart_boundary = multipart_boundary(*type);
    }
  }
  for (const auto* heads : {request.http_request ? &request.http_request->headers : nullptr,
                            request.http_response ? &request.http_response->headers : nullptr}) {
    if (heads) {
      if (const auto disposition = heads->get("Content-Disposition")) {
        add_name(f.names, disposition_filename(*disposition));
      }
    }
  }
  if (const auto* heads = body_headers(request)) {
    if (const auto type = heads->get("Content-Type")) {
      f.content_type = lower(*type);
    }
  }
  f.client_ip = request.x_client_ip.empty() ? request.client_address : request.x_client_ip;
  f.icap_headers = &request.icap.headers;
  return f;
}

bool names_match(const match_spec& m, const std::vector<std::string>& names) {
  if (!m.file_names.empty()) {
    const bool any = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      const auto base = url_file_name(n);
      return std::any_of(m.file_names.begin(), m.file_names.end(),
                         [&](const std::string& want) { return codec::iequals(base, want); });
    });
    if (!any) {
      return false;
    }
  }
  if (!m.extensions.empty()) {
    const bool any = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      const auto ext = file_extension(n);
      return std::find(m.extensions.begin(), m.extensions.end(), ext) != m.extensions.end();
    });
    if (!any) {
      return false;
    }
  }
  return true;
}

bool detector::header_match(const rule& r, const request_facts& facts, bool body_seen,
                            const body_scan* body) const {
  const auto& m = r.match;
  if (!m.methods.empty() &&
      std::find(m.methods.begin(), m.methods.end(), facts.method) == m.methods.end()) {
    return false;
  }
  if (!m.content_types.empty() && !any_contains_prefix(m.content_types, facts.content_type)) {
    return false;
  }
  if (m.url && !std::regex_search(facts.url, *m.url)) {
    return false;
  }
  for (const auto& h : m.icap_headers) {
    const auto value = facts.icap_headers ? facts.icap_headers->get(h.name) : std::nullopt;
    if (!value || !std::regex_search(value->begin(), value->end(), h.regex)) {
      return false;
    }
  }
  if (!m.client_ips.empty() &&
      std::none_of(m.client_ips.begin(), m.client_ips.end(),
                   [&](const ip_range& range) { return ip_in_range(facts.client_ip, range); })) {
    return false;
  }
  if (!m.file_names.empty() || !m.extensions.empty()) {
    auto names = facts.names;
    if (body_seen && body) {
      for (const auto& n : body->part_names()) {
        add_name(names, n);
      }
    }
    return names_match(m, names);
  }
  return true;
}

bool detector::body_match(const rule& r, std::size_t index, const body_scan* body) const {
  const auto& m = r.match;
  const std::uint64_t size = body ? body->size() : 0;
  if ((m.min_size && size < *m.min_size) || (m.max_size && size > *m.max_size)) {
    return false;
  }
  if (!m.contains.empty() && !(body && body->contains(index))) {
    return false;
  }
  if (m.encrypted_archive && !(body && body->encrypted_archive())) {
    return false;
  }
  if (!m.md5.empty() || !m.sha256.empty()) {
    if (!body) {
      return false;
    }
    const auto md5 = body->md5();
    const auto sha = body->sha256();
    const bool hit = std::find(m.md5.begin(), m.md5.end(), md5) != m.md5.end() ||
                     std::find(m.sha256.begin(), m.sha256.end(), sha) != m.sha256.end();
    if (!hit) {
      return false;
    }
  }
  return true;
}

namespace {

decision from_rule(const rule& r) {
  decision d;
  d.kind = r.verdict.kind;
  d.source = decision_source::rule;
  d.matched = &r;
  d.rule_name = r.name;
  d.threat = r.verdict.threat;
  d.reason = r.verdict.reason;
  d.page = r.verdict.page;
  d.http_status = r.verdict.http_status;
  d.rewrites = r.verdict.rewrites;
  d.by_hash = !r.match.md5.empty() || !r.match.sha256.empty();
  return d;
}

decision builtin(decision_source source, verdict_kind kind, std::string name, std::string reason) {
  decision d;
  d.kind = kind;
  d.source = source;
  d.rule_name = std::move(name);
  d.reason = std::move(reason);
  return d;
}

} // namespace

std::optional<decision> detector::decide_early(const request_facts& facts) const {
  const bool multipart = !facts.multipart_boundary.empty();
  for (const auto& r : scenario_.rules) {
    const bool names = !r.match.file_names.empty() || !r.match.extensions.empty();
    if (r.match.needs_body() || (names && multipart)) {
      return std::nullopt;
    }
    if (header_match(r, facts, false, nullptr)) {
      return from_rule(r);
    }
  }
  return std::nullopt;
}

decision detector::decide(const request_facts& facts, const body_scan* body,
                          bool sanitize_builtin) const {
  for (std::size_t i = 0; i < scenario_.rules.size(); ++i) {
    const auto& r = scenario_.rules[i];
    if (header_match(r, facts, true, body) && body_match(r, i, body)) {
      return from_rule(r);
    }
  }
  if (!body) {
    return {};
  }
  if (scenario_.builtin.eicar && body->eicar()) {
    auto d = builtin(decision_source::eicar, verdict_kind::block, "builtin:eicar", "Infected");
    d.by_hash = body->size() == eicar_string.size(); // the exact file: a known hash
    return d;
  }
  if (scenario_.builtin.encrypted_archive && body->encrypted_archive()) {
    auto d = builtin(decision_source::encrypted_archive, verdict_kind::block,
                     "builtin:encrypted_archive", "Encrypted Archive");
    d.threat = "Encrypted Archive";
    return d;
  }
  if (sanitize_builtin && scenario_.builtin.sanitize && body->script()) {
    auto d = builtin(decision_source::sanitize, verdict_kind::sanitize, "builtin:sanitize", {});
    d.rewrites.push_back(builtin_sanitize_rewrite());
    return d;
  }
  return {};
}

} // namespace icapkit::mock
