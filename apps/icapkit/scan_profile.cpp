#include "scan_profile.hpp"

#include "icapkit/client/profile_settings.hpp"
#include "icapkit/config/loader.hpp"

#include <algorithm>

namespace icapkit::app {

namespace {

codec::uri server_uri(const config::pool& pool, const config::pool_server& server,
                      const std::string& service_uri) {
  codec::uri u;
  u.scheme = pool.tls.enabled ? "icaps" : "icap";
  u.host = server.host();
  u.ipv6_literal = u.host.find(':') != std::string::npos;
  u.port = pool.port_of(server);
  u.port_explicit = true;
  std::string path =
      service_uri.empty() || service_uri.front() != '/' ? "/" + service_uri : service_uri;
  if (const auto q = path.find('?'); q != std::string::npos) {
    u.query = path.substr(q + 1);
    path.resize(q);
  }
  u.path = path;
  return u;
}

void apply_pool_tls(const config::pool& pool, client::client_settings& settings) {
  settings.tls.ca_file = pool.tls.ca_file;
  settings.tls.cert_file = pool.tls.cert_file;
  settings.tls.key_file = pool.tls.key_file;
  settings.tls.sni = pool.tls.sni;
  settings.tls.insecure = !pool.tls.verify;
}

} // namespace

profile_scan_setup apply_profile(const std::string& file, client::client_settings& settings) {
  profile_scan_setup out;
  auto loaded = config::load_config_file(file);
  for (const auto& warning : loaded.warnings) {
    out.warnings.push_back(file + ": " + warning.text());
  }
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) {
      out.errors.push_back(file + ": " + error.text());
    }
    if (out.errors.empty()) {
      out.errors.push_back(file + ": cannot be loaded");
    }
    return out;
  }
  const auto& config = *loaded.config;
  const auto& profile = config.profile;
  client::apply_profile(profile, settings);

  auto members = config.profile_pool_group().members;
  std::stable_sort(members.begin(), members.end(),
                   [](const auto& a, const auto& b) { return a.priority > b.priority; });
  bool first_pool = true;
  for (const auto& member : members) {
    const auto& pool = config.pool_of(member);
    if (!pool.enabled) {
      continue;
    }
    for (const auto& server : pool.servers) {
      if (server.enabled) {
        out.servers.push_back(server_uri(pool, server, profile.service_uri));
      }
    }
    if (first_pool) {
      // One client serves the whole scan: the first pool names the records and sets TLS.
      settings.pool_name = pool.name;
      if (!pool.uuid.empty()) {
        settings.pool_uuid = pool.uuid;
      }
      if (pool.tls.enabled) {
        apply_pool_tls(pool, settings);
      }
      first_pool = false;
    }
  }
  if (out.servers.empty()) {
    out.errors.push_back(file + ": the profile's pool group has no enabled server");
  }
  return out;
}

} // namespace icapkit::app
