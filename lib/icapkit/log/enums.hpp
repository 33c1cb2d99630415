#pragma once
// The Avi enums of the icap_log model (alb-sdk go/models/icap_*.go, application_log.go), with
// their exact strings. from_string is case-sensitive, as Avi's API is.
#include <array>
#include <optional>
#include <string_view>

namespace icapkit::log {

// IcapLog.action and IcapRequestLog.action.
enum class icap_action { disabled, passed, modified, blocked, failed };

// IcapRequestLog.http_method, all 16 values in Avi order.
enum class avi_http_method {
  get,
  head,
  put,
  del, // HTTP_METHOD_DELETE
  post,
  options,
  trace,
  connect,
  patch,
  propfind,
  proppatch,
  mkcol,
  copy,
  move,
  lock,
  unlock,
};

// IcapRequestLog.icap_method.
enum class avi_icap_method { reqmod, respmod };

// IcapRequestLog.vendor (and IcapProfile.vendor).
enum class icap_vendor { generic, opswat, lastline };

// IcapViolation.resolution.
enum class violation_resolution { file_not_repaired, file_repaired, violating_section_removed };

// The nine ICAP members of Avi's ADF enum (ApplicationLog.significant_log), in Avi order.
enum class significance_code {
  server_high_response_time,
  blocked,
  modified,
  out_of_memory,
  timedout,
  body_size_bigger_than_configured,
  connection_error,
  server_error,
  failed,
};

// Which icapkit subcommand produced an application-log record (the record's `source`).
enum class record_source { scan, proxy, replay, load };

std::string_view to_string(icap_action v) noexcept;
std::string_view to_string(avi_http_method v) noexcept;
std::string_view to_string(avi_icap_method v) noexcept;
std::string_view to_string(icap_vendor v) noexcept;
std::string_view to_string(violation_resolution v) noexcept;
std::string_view to_string(significance_code v) noexcept;
std::string_view to_string(record_source v) noexcept;

// Parse the exact Avi string; nullopt for anything else. The template argument selects the enum:
// from_string<icap_action>("ICAP_BLOCKED").
template <class Enum>
std::optional<Enum> from_string(std::string_view text) noexcept;

template <>
std::optional<icap_action> from_string<icap_action>(std::string_view text) noexcept;
template <>
std::optional<avi_http_method> from_string<avi_http_method>(std::string_view text) noexcept;
template <>
std::optional<avi_icap_method> from_string<avi_icap_method>(std::string_view text) noexcept;
template <>
std::optional<icap_vendor> from_string<icap_vendor>(std::string_view text) noexcept;
template <>
std::optional<violation_resolution>
from_string<violation_resolution>(std::string_view text) noexcept;
template <>
std::optional<significance_code> from_string<significance_code>(std::string_view text) noexcept;
template <>
std::optional<record_source> from_string<record_source>(std::string_view text) noexcept;

// Every value of an enum in Avi order, for tests, schema checks and --help texts.
template <class Enum>
constexpr auto all_values() noexcept;

template <>
constexpr auto all_values<icap_action>() noexcept {
  using enum icap_action;
  return std::array{disabled, passed, modified, blocked, failed};
}
template <>
constexpr auto all_values<avi_http_method>() noexcept {
  using enum avi_http_method;
  return std::array{get,   head,     put,       del,   post, options, trace, connect,
                    patch, propfind, proppatch, mkcol, copy, move,    lock,  unlock};
}
template <>
constexpr auto all_values<avi_icap_method>() noexcept {
  return std::array{avi_icap_method::reqmod, avi_icap_method::respmod};
}
template <>
constexpr auto all_values<icap_vendor>() noexcept {
  return std::array{icap_vendor::generic, icap_vendor::opswat, icap_vendor::lastline};
}
template <>
constexpr auto all_values<violation_resolution>() noexcept {
  using enum violation_resolution;
  return std::array{file_not_repaired, file_repaired, violating_section_removed};
}
template <>
constexpr auto all_values<significance_code>() noexcept {
  using enum significance_code;
  return std::array{
      server_high_response_time,        blocked,          modified,     out_of_memory, timedout,
      body_size_bigger_than_configured, connection_error, server_error, failed};
}
template <>
constexpr auto all_values<record_source>() noexcept {
  using enum record_source;
  return std::array{scan, proxy, replay, load};
}

// The Avi enum value for an HTTP method token ("POST" -> post); nullopt for methods Avi's enum
// does not list (the field is then omitted).
std::optional<avi_http_method> avi_http_method_from_token(std::string_view token) noexcept;

} // namespace icapkit::log
