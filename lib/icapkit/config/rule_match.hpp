#pragma once
// Which HTTPSecurityPolicy rule applies to a request: pure data matching, no I/O, so the proxy,
// the replay driver and the tests all get the same answer.
#include "icapkit/codec/message.hpp"
#include "icapkit/config/ip_address.hpp"
#include "icapkit/config/security_policy.hpp"

#include <optional>
#include <string_view>

namespace icapkit::config {

// What the matcher sees of an HTTP request. Views must outlive the call.
struct http_request_view {
  std::string_view method;              // "POST" (HTTP methods are case-sensitive)
  std::string_view path;                // "/upload", without the query
  std::string_view query;               // "a=1&b=2", without the '?'; empty when none
  std::optional<std::string_view> host; // Host header value (port included as sent); absent: none
  const codec::header_list* headers = nullptr; // hdrs and cookie matches read these
  std::optional<ip_address> client_ip;

  // Splits an origin-form target ("/upload?x=1") into path and query; the other fields empty.
  static http_request_view from_target(std::string_view method, std::string_view target);
};

// The first enabled rule by index (lowest index first, as Avi evaluates) whose every match part
// holds; an empty match holds for every request. nullptr when no rule applies.
const security_rule* select_rule(const http_security_policy& policy,
                                 const http_request_view& request);

// Whether one rule's match target holds for the request (ignores `enable`).
bool matches(const match_target& target, const http_request_view& request);

// One string test, exposed for the tests: any of m.values satisfies the positive operation, then
// negated for the DOES_NOT_* operations. `subject` absent means "not present" (exists tests).
bool matches(const string_match& m, std::optional<std::string_view> subject);

} // namespace icapkit::config
