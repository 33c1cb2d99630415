#include "icapkit/config/pool.hpp"

#include "icapkit/config/json_reader.hpp"

#include <array>

namespace icapkit::config {
namespace detail {
namespace {

constexpr std::array<enum_name<lb_algorithm>, 3> algorithm_names{{
    {"LB_ALGORITHM_LEAST_CONNECTIONS", lb_algorithm::least_connections},
    {"LB_ALGORITHM_ROUND_ROBIN", lb_algorithm::round_robin},
    {"LB_ALGORITHM_CONSISTENT_HASH", lb_algorithm::consistent_hash},
}};
constexpr std::array<std::string_view, 7> unsupported_algorithms{
    "LB_ALGORITHM_FASTEST_RESPONSE", "LB_ALGORITHM_LEAST_LOAD",   "LB_ALGORITHM_FEWEST_SERVERS",
    "LB_ALGORITHM_RANDOM",           "LB_ALGORITHM_FEWEST_TASKS", "LB_ALGORITHM_CORE_AFFINITY",
    "LB_ALGORITHM_TOPOLOGY"};

// Only the client-IP hash is implemented; it is also Avi's default lb_algorithm_hash.
enum class hash_kind { source_ip };
constexpr std::array<enum_name<hash_kind>, 1> hash_names{{
    {"LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS", hash_kind::source_ip},
}};
constexpr std::array<std::string_view, 5> unsupported_hashes{
    "LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS_AND_PORT", "LB_ALGORITHM_CONSISTENT_HASH_URI",
    "LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER", "LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_STRING",
    "LB_ALGORITHM_CONSISTENT_HASH_CALLID"};

constexpr std::int64_t max_port = 65535;

pool_server read_server(const nlohmann::json& value, const std::string& path, diagnostics& diags) {
  pool_server server;
  object_reader reader(value, path, diags);
  if (const auto* ip = reader.find("ip")) {
    server.ip = read_ip_addr(*ip, reader.path_of("ip"), diags);
  }
  reader.get_string("hostname", server.hostname);
  if (!server.ip && server.hostname.empty() && reader.find("ip") == nullptr) {
    diags.error(path, "a server needs \"ip\" {\"addr\", \"type\"} or \"hostname\"");
  }
  std::uint16_t port = 0;
  if (reader.get_unsigned("port", port, 1, max_port)) {
    server.port = port;
  }
  reader.get_bool("enabled", server.enabled);
  reader.get_unsigned("ratio", server.ratio, pool_server::min_ratio, pool_server::max_ratio);
  return server;
}

void read_tls(object_reader& reader, pool_tls& tls) {
  reader.get_string("ssl_profile_ref", tls.ssl_profile_ref);
  reader.get_string("ssl_key_and_certificate_ref", tls.ssl_key_and_certificate_ref);
  reader.get_string("pki_profile_ref", tls.pki_profile_ref);
  tls.enabled = !tls.ssl_profile_ref.empty();
  tls.verify = !tls.pki_profile_ref.empty();
  const auto* block = reader.find("icapkit_tls");
  if (block == nullptr) {
    return;
  }
  object_reader ext(*block, reader.path_of("icapkit_tls"), reader.diags());
  tls.enabled = true; // a TLS block means TLS unless it says "enabled": false
  tls.verify = true;
  ext.get_bool("enabled", tls.enabled);
  ext.get_bool("verify", tls.verify);
  ext.get_string("ca_file", tls.ca_file);
  ext.get_string("cert_file", tls.cert_file);
  ext.get_string("key_file", tls.key_file);
  ext.get_string("sni", tls.sni);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    reader.diags().error(ext.path_of(tls.cert_file.empty() ? "cert_file" : "key_file"),
                         "cert_file and key_file must be given together");
  }
}

void read_servers(object_reader& reader, pool& p) {
  const auto* servers = reader.get_array("servers");
  if (servers == nullptr) {
    return;
  }
  for (std::size_t i = 0; i < servers->size(); ++i) {
    p.servers.push_back(
        read_server((*servers)[i], index_path(reader.path_of("servers"), i), reader.diags()));
  }
}

} // namespace

pool read_pool(const nlohmann::json& value, const std::string& path, diagnostics& diags) {
  pool p;
  object_reader reader(value, path, diags);
  reader.get_string("name", p.name, true);
  reader.get_string("uuid", p.uuid);
  read_servers(reader, p);
  read_tls(reader, p.tls);
  if (!reader.get_unsigned("default_server_port", p.default_server_port, 1, max_port)) {
    p.default_server_port = p.tls.enabled ? pool::icaps_port : pool::icap_port;
  }
  reader.get_enum<lb_algorithm>("lb_algorithm", p.algorithm, algorithm_names, false,
                                unsupported_algorithms);
  auto hash = hash_kind::source_ip;
  if (p.algorithm == lb_algorithm::consistent_hash) {
    reader.get_enum<hash_kind>("lb_algorithm_hash", hash, hash_names, false, unsupported_hashes);
  } else {
    reader.accept({"lb_algorithm_hash"}); // Avi exports carry it whatever the algorithm
  }
  reader.get_bool("enabled", p.enabled);
  reader.get_string_array("health_monitor_refs", p.health_monitor_refs);
  return p;
}

} // namespace detail

std::string_view to_string(lb_algorithm a) noexcept {
  return detail::enum_to_string<lb_algorithm>(detail::algorithm_names, a);
}

std::string pool_server::host() const {
  return ip ? ip->to_string() : hostname;
}

} // namespace icapkit::config
