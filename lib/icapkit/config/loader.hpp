#pragma once
// Loads the one JSON file that describes what a virtual service would have (DESIGN.md section 5):
// icap_profile, pool_groups, pools, health_monitors, http_security_policy, and the proxy's
// listen/upstream, plus icapkit's icap_response_profile.
// Refs between objects are resolved after loading; nothing here throws or prints.
#include "icapkit/codec/uri.hpp"
#include "icapkit/config/diagnostics.hpp"
#include "icapkit/config/endpoint.hpp"
#include "icapkit/config/health_monitor.hpp"
#include "icapkit/config/icap_profile.hpp"
#include "icapkit/config/pool.hpp"
#include "icapkit/config/pool_group.hpp"
#include "icapkit/config/security_policy.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::config {

struct virtual_service_config {
  icap_profile profile;
  std::vector<pool_group> pool_groups;
  std::vector<pool> pools;
  // As defined in the file, then the System-* monitors that pools refer to without defining.
  std::vector<health_monitor> health_monitors;
  // icapkit's extension, not Avi's (Avi checks requests only): when set, the proxy also sends
  // upstream responses (downloads) to ICAP by RESPMOD with this profile and its pool group.
  std::optional<icap_profile> response_profile;
  std::optional<http_security_policy> security_policy; // absent: no request goes to ICAP
  std::optional<listen_address> listen;
  std::optional<codec::uri> upstream;

  // Valid after a successful load: every ref has been resolved to an index.
  const pool_group& profile_pool_group() const { return pool_group_of(profile); }
  const pool_group& pool_group_of(const icap_profile& p) const {
    return pool_groups.at(p.pool_group_index);
  }
  const pool& pool_of(const pool_group_member& member) const { return pools.at(member.pool_index); }
  // The monitors of `p`, in the order of its health_monitor_refs.
  std::vector<const health_monitor*> monitors_of(const pool& p) const {
    std::vector<const health_monitor*> out;
    for (const auto index : p.health_monitor_indices) {
      out.push_back(&health_monitors.at(index));
    }
    return out;
  }
};

struct load_result {
  std::optional<virtual_service_config> config; // set only when there is no error
  std::vector<diagnostic> errors;
  std::vector<diagnostic> warnings;        // includes one "unknown fields ignored" warning
  std::vector<std::string> unknown_fields; // the JSON paths that warning lists
  bool ok() const noexcept { return config.has_value(); }
};

// Loads from JSON text. Malformed JSON is one error with its line and column; every invalid field
// is an error naming its JSON path, the value and what is allowed; dangling refs name the field
// and the missing object.
load_result load_config(std::string_view json_text);

// Loads a file; relative icapkit_tls file names are taken relative to the file's directory.
load_result load_config_file(const std::filesystem::path& path);

} // namespace icapkit::config
