#pragma once
// Where a proxied request goes: the upstream target and origin-form path of an absolute-form
// request target, or of the configured upstream. Pure functions, no I/O. Internal to the proxy.
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/proxy/upstream.hpp"

#include <string>
#include <string_view>

namespace icapkit::proxy::detail {

// Where an absolute-form target ("http://host:port/path?query", "https://[::1]/") points, its
// origin-form rest ("/path?query", "/" when empty) and, when authority_out is given, its authority
// without userinfo ("host:port" as written: the Host a proxy must send, RFC 9112 3.2.2). False,
// with `out` unspecified, for anything else (origin-form, other schemes, a bad port or host).
bool split_absolute(std::string_view target, upstream_target& out, std::string& origin_form,
                    std::string* authority_out = nullptr);

// The configured upstream URL as a target (port 80/443 by scheme when absent).
upstream_target target_of(const codec::uri& u);

// The request as the upstream (and the ICAP server) gets it: `origin_form` as its target,
// HTTP/1.1, and the forwarding fields (Via, X-Forwarded-For with `client_ip`).
codec::http_request_head upstream_head(const codec::http_request_head& from,
                                       const std::string& origin_form,
                                       const std::string& client_ip);

} // namespace icapkit::proxy::detail
