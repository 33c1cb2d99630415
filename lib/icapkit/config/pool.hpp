#pragma once
// Avi's Pool, restricted to what an ICAP client needs: servers, their port and ratio, the load
// balancing algorithm, TLS (ICAPS) and health monitor refs.
#include "icapkit/config/diagnostics.hpp"
#include "icapkit/config/ip_address.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::config {

// Avi's default is LB_ALGORITHM_LEAST_CONNECTIONS; the other Avi algorithms are refused.
enum class lb_algorithm { least_connections, round_robin, consistent_hash };
std::string_view to_string(lb_algorithm a) noexcept;

struct pool_server {
  static constexpr std::uint32_t min_ratio = 1;
  static constexpr std::uint32_t max_ratio = 20;

  std::optional<ip_address> ip;      // Avi form {"addr", "type"}; wins over hostname
  std::string hostname;              // resolved by the net layer when there is no ip
  std::optional<std::uint16_t> port; // unset: the pool's default_server_port
  bool enabled = true;
  std::uint32_t ratio = 1;

  // What to connect to: the ip text if any, else the hostname.
  std::string host() const;
};

// ICAPS. Avi turns TLS on with ssl_profile_ref and verifies the server with pki_profile_ref; the
// referenced objects live on the controller, so the files come from the icapkit_tls extension
// block, which also wins over the Avi refs for enabled/verify when present.
struct pool_tls {
  bool enabled = false;
  bool verify = true;
  std::string ca_file;   // empty: the system trust store
  std::string cert_file; // client certificate (with key_file)
  std::string key_file;
  std::string sni; // empty: the server's hostname, or none for an IP literal
  // The Avi refs as written, kept for reports.
  std::string ssl_profile_ref;
  std::string ssl_key_and_certificate_ref;
  std::string pki_profile_ref;
};

struct pool {
  static constexpr std::uint16_t icap_port = 1344;
  static constexpr std::uint16_t icaps_port = 11344; // the NSX ALB ICAP guide's ICAPS port

  std::string name;
  std::string uuid;
  std::vector<pool_server> servers;
  // Avi's Pool default is 80, but every pool here is an ICAP pool: 1344, or 11344 with TLS,
  // as the NSX ALB ICAP guide configures them.
  std::uint16_t default_server_port = icap_port;
  lb_algorithm algorithm = lb_algorithm::least_connections;
  bool enabled = true;
  pool_tls tls;
  std::vector<std::string> health_monitor_refs; // as written in the file
  // Filled by the loader: the monitors health_monitor_refs designate, as indices into
  // virtual_service_config::health_monitors, in the order of the refs.
  std::vector<std::size_t> health_monitor_indices;

  std::uint16_t port_of(const pool_server& server) const noexcept {
    return server.port.value_or(default_server_port);
  }
};

namespace detail {
pool read_pool(const nlohmann::json& value, const std::string& path, diagnostics& diags);
} // namespace detail

} // namespace icapkit::config
