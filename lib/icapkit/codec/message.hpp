#pragma once
// The ICAP and HTTP/1.1 message model shared by the parser, the serializer and every layer above.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::codec {

struct version {
  int major = 1;
  int minor = 0;
  friend bool operator==(const version&, const version&) = default;
};

// Case-insensitive ASCII comparison, as header field names and tokens need.
bool iequals(std::string_view a, std::string_view b) noexcept;

// `s` without leading and trailing optional whitespace (SP and HTAB, RFC 9110 5.6.3).
std::string_view trim_ows(std::string_view s) noexcept;

struct header_field {
  std::string name;
  // A value folded over several lines (obs-fold) keeps one line per element, joined with "\n"
  // and without the leading whitespace of the continuation lines (X-Violations-Found needs it).
  std::string value;
  friend bool operator==(const header_field&, const header_field&) = default;
};

// Ordered header fields; lookups are case-insensitive, order and duplicates are kept.
class header_list {
public:
  void add(std::string name, std::string value);
  // Replaces every field named `name` with one field (appended if absent).
  void set(std::string_view name, std::string value);
  // Removes every field named `name`; returns how many were removed.
  std::size_t remove(std::string_view name);
  // The first field's value, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  std::size_t count(std::string_view name) const;

  const std::vector<header_field>& fields() const noexcept { return fields_; }
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }
  friend bool operator==(const header_list&, const header_list&) = default;

private:
  std::vector<header_field> fields_;
};

enum class icap_method { options, reqmod, respmod, other };
std::string_view to_string(icap_method m) noexcept;
// REQMOD/RESPMOD/OPTIONS (case-sensitive, as RFC 3507 methods are); anything else is `other`.
icap_method parse_icap_method(std::string_view token) noexcept;

struct http_request_head {
  std::string method = "GET";
  std::string target = "/";
  version http_version{1, 1};
  header_list headers;
  friend bool operator==(const http_request_head&, const http_request_head&) = default;
};

struct http_response_head {
  version http_version{1, 1};
  int status = 200;
  std::string reason = "OK";
  header_list headers;
  friend bool operator==(const http_response_head&, const http_response_head&) = default;
};

struct icap_request_head {
  std::string method = "OPTIONS"; // the token as sent; parse_icap_method() classifies it
  std::string uri;                // absolute icap:// or icaps:// URI
  version icap_version{1, 0};
  header_list headers;
  friend bool operator==(const icap_request_head&, const icap_request_head&) = default;
};

struct icap_response_head {
  version icap_version{1, 0};
  int status = 200;
  std::string reason = "OK";
  header_list headers;
  friend bool operator==(const icap_response_head&, const icap_response_head&) = default;
};

// The standard reason phrase for an ICAP status code ("Continue", "No Content", ...).
std::string_view icap_reason_phrase(int status) noexcept;

} // namespace icapkit::codec
