#include "icapkit/proxy/request_target.hpp"

#include "icapkit/proxy/http_framing.hpp"

namespace icapkit::proxy::detail {

// Where an absolute-form target points, its origin-form rest ("/path?query") and its authority
// without userinfo ("host:port" as written: the Host a proxy must send, RFC 9112 3.2.2).
bool split_absolute(std::string_view target, upstream_target& out, std::string& origin_form,
                    std::string* authority_out) {
  const bool https = target.starts_with("https://");
  if (!https && !target.starts_with("http://")) {
    return false;
  }
  auto rest = target.substr(https ? 8 : 7);
  const auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  origin_form = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!origin_form.empty() && origin_form.front() == '?') {
    origin_form.insert(0, "/");
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  const auto whole_authority = authority;
  out.tls = https;
  out.port = https ? 443 : 80;
  std::string_view host = authority;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return false;
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority = authority.substr(colon);
  } else {
    authority = {};
  }
  if (authority.size() > 1) {
    unsigned port = 0;
    for (const char c : authority.substr(1)) {
      if (c < '0' || c > '9' || port > 65535) {
        return false;
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return false;
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) {
    return false;
  }
  out.host = std::string(host);
  if (authority_out != nullptr) {
    authority_out->assign(whole_authority);
  }
  return true;
}

upstream_target target_of(const codec::uri& u) {
  upstream_target t;
  t.host = u.host;
  t.tls = u.scheme == "https";
  t.port = u.port != 0 ? u.port : (t.tls ? std::uint16_t{443} : std::uint16_t{80});
  return t;
}

codec::http_request_head upstream_head(const codec::http_request_head& from,
                                       const std::string& origin_form,
                                       const std::string& client_ip) {
  auto head = from;
  head.target = origin_form;
  head.http_version = codec::version{1, 1};
  add_forwarding_headers(head.headers, from.http_version, client_ip);
  return head;
}

} // namespace icapkit::proxy::detail
