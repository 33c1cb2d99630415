#include "icapkit/log/enums.hpp"

#include <cstddef>

namespace icapkit::log {
namespace detail {

// Names are indexed by the enum's underlying value; all_values<> lists them in the same order.
constexpr std::array<std::string_view, 5> action_names{
    "ICAP_DISABLED", "ICAP_PASSED", "ICAP_MODIFIED", "ICAP_BLOCKED", "ICAP_FAILED"};
constexpr std::array<std::string_view, 16> http_method_names{
    "HTTP_METHOD_GET",   "HTTP_METHOD_HEAD",     "HTTP_METHOD_PUT",       "HTTP_METHOD_DELETE",
    "HTTP_METHOD_POST",  "HTTP_METHOD_OPTIONS",  "HTTP_METHOD_TRACE",     "HTTP_METHOD_CONNECT",
    "HTTP_METHOD_PATCH", "HTTP_METHOD_PROPFIND", "HTTP_METHOD_PROPPATCH", "HTTP_METHOD_MKCOL",
    "HTTP_METHOD_COPY",  "HTTP_METHOD_MOVE",     "HTTP_METHOD_LOCK",      "HTTP_METHOD_UNLOCK"};
constexpr std::array<std::string_view, 16> http_method_tokens{
    "GET",   "HEAD",     "PUT",       "DELETE", "POST", "OPTIONS", "TRACE", "CONNECT",
    "PATCH", "PROPFIND", "PROPPATCH", "MKCOL",  "COPY", "MOVE",    "LOCK",  "UNLOCK"};
constexpr std::array<std::string_view, 2> icap_method_names{"ICAP_METHOD_REQMOD",
                                                            "ICAP_METHOD_RESPMOD"};
constexpr std::array<std::string_view, 3> vendor_names{"ICAP_VENDOR_GENERIC", "ICAP_VENDOR_OPSWAT",
                                                       "ICAP_VENDOR_LASTLINE"};
constexpr std::array<std::string_view, 3> resolution_names{
    "ICAP_FILE_NOT_REPAIRED", "ICAP_FILE_REPAIRED", "ICAP_VIOLATING_SECTION_REMOVED"};
constexpr std::array<std::string_view, 9> significance_names{
    "ADF_ICAP_SERVER_HIGH_RESPONSE_TIME",
    "ADF_ICAP_BLOCKED",
    "ADF_ICAP_MODIFIED",
    "ADF_ICAP_OUT_OF_MEMORY",
    "ADF_ICAP_TIMEDOUT",
    "ADF_ICAP_BODY_SIZE_BIGGER_THAN_CONFIGURED",
    "ADF_ICAP_CONNECTION_ERROR",
    "ADF_ICAP_SERVER_ERROR",
    "ADF_ICAP_FAILED"};
constexpr std::array<std::string_view, 4> source_names{"scan", "proxy", "replay", "load"};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum v) noexcept {
  const auto index = static_cast<std::size_t>(v);
  return index < N ? names[index] : std::string_view{};
}

template <class Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::string_view, N>& names,
                           std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

} // namespace detail

std::string_view to_string(icap_action v) noexcept {
  return detail::name_of(detail::action_names, v);
}
std::string_view to_string(avi_http_method v) noexcept {
  return detail::name_of(detail::http_method_names, v);
}
std::string_view to_string(avi_icap_method v) noexcept {
  return detail::name_of(detail::icap_method_names, v);
}
std::string_view to_string(icap_vendor v) noexcept {
  return detail::name_of(detail::vendor_names, v);
}
std::string_view to_string(violation_resolution v) noexcept {
  return detail::name_of(detail::resolution_names, v);
}
std::string_view to_string(significance_code v) noexcept {
  return detail::name_of(detail::significance_names, v);
}
std::string_view to_string(record_source v) noexcept {
  return detail::name_of(detail::source_names, v);
}

template <>
std::optional<icap_action> from_string<icap_action>(std::string_view text) noexcept {
  return detail::lookup<icap_action>(detail::action_names, text);
}
template <>
std::optional<avi_http_method> from_string<avi_http_method>(std::string_view text) noexcept {
  return detail::lookup<avi_http_method>(detail::http_method_names, text);
}
template <>
std::optional<avi_icap_method> from_string<avi_icap_method>(std::string_view text) noexcept {
  return detail::lookup<avi_icap_method>(detail::icap_method_names, text);
}
template <>
std::optional<icap_vendor> from_string<icap_vendor>(std::string_view text) noexcept {
  return detail::lookup<icap_vendor>(detail::vendor_names, text);
}
template <>
std::optional<violation_resolution>
from_string<violation_resolution>(std::string_view text) noexcept {
  return detail::lookup<violation_resolution>(detail::resolution_names, text);
}
template <>
std::optional<significance_code> from_string<significance_code>(std::string_view text) noexcept {
  return detail::lookup<significance_code>(detail::significance_names, text);
}
template <>
std::optional<record_source> from_string<record_source>(std::string_view text) noexcept {
  return detail::lookup<record_source>(detail::source_names, text);
}

std::optional<avi_http_method> avi_http_method_from_token(std::string_view token) noexcept {
  return detail::lookup<avi_http_method>(detail::http_method_tokens, token);
}

} // namespace icapkit::log
