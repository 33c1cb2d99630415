#include "icapkit/config/health_monitor.hpp"

#include "icapkit/config/json_reader.hpp"

namespace icapkit::config::detail {

health_monitor read_health_monitor(const nlohmann::json& value, const std::string& path,
                                   diagnostics& diags) {
  using limits = health_monitor;
  health_monitor m;
  object_reader reader(value, path, diags);
  reader.get_string("name", m.name, true);
  reader.get_string("uuid", m.uuid);
  if (reader.get_string("type", m.type) &&
      (!m.type.starts_with(limits::type_prefix) || m.type.size() == limits::type_prefix.size())) {
    diags.error(reader.path_of("type"),
                "\"" + m.type + "\" is not an Avi monitor type (HEALTH_MONITOR_TCP, ...)");
  }
  const bool interval_read =
      reader.get_unsigned("send_interval", m.send_interval, limits::min_send_interval,
                          limits::max_send_interval, "seconds");
  const bool timeout_read =
      reader.get_unsigned("receive_timeout", m.receive_timeout, limits::min_receive_timeout,
                          limits::max_receive_timeout, "seconds");
  reader.get_unsigned("successful_checks", m.successful_checks, limits::min_checks,
                      limits::max_checks);
  reader.get_unsigned("failed_checks", m.failed_checks, limits::min_checks, limits::max_checks);
  reader.get_string("description", m.description);
  reader.get_string("tenant_ref", m.tenant_ref);

  // Avi refuses a check that could still be running when the next one starts. Only compared
  // when both values are valid (or defaults), so an out-of-range value gives one error.
  const bool interval_ok = interval_read || reader.find("send_interval") == nullptr;
  const bool timeout_ok = timeout_read || reader.find("receive_timeout") == nullptr;
  if (interval_ok && timeout_ok && m.receive_timeout >= m.send_interval) {
    diags.error(reader.path_of("receive_timeout"),
                std::to_string(m.receive_timeout) + " is not less than send_interval " +
                    std::to_string(m.send_interval) +
                    " (seconds); Avi requires receive_timeout < send_interval");
  }
  return m;
}

std::optional<health_monitor> system_health_monitor(std::string_view name) {
  constexpr std::string_view prefix = "System-";
  if (!name.starts_with(prefix) || name.size() == prefix.size()) {
    return std::nullopt;
  }
  health_monitor m;
  m.name = std::string(name);
  m.system_defined = true;
  // "System-HTTPS" -> HEALTH_MONITOR_HTTPS, "System-Xternal-Perl" -> HEALTH_MONITOR_XTERNAL_PERL:
  // the exact type does not change what icapkit does (an OPTIONS check), it is kept for reports.
  m.type = std::string(health_monitor::type_prefix);
  for (const char c : name.substr(prefix.size())) {
    const bool lower = c >= 'a' && c <= 'z';
    m.type += c == '-' ? '_' : (lower ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return m;
}

} // namespace icapkit::config::detail
