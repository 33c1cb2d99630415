#include "icapkit/config/pool.hpp"

#include "config_fixture.hpp"

using namespace icapkit::config;
using namespace icapkit::config::test;

TEST_CASE("pool: defaults (Avi's, except the ICAP port)") {
  const auto r = load(minimal_doc());
  REQUIRE(r.ok());
  const auto& p = r.config->pools[0];
  CHECK(p.default_server_port == 1344);
  CHECK(p.algorithm == lb_algorithm::least_connections); // Avi's Pool default
  CHECK(to_string(p.algorithm) == "LB_ALGORITHM_LEAST_CONNECTIONS");
  CHECK(p.enabled);
  CHECK_FALSE(p.tls.enabled);
  const auto& s = p.servers[0];
  CHECK(s.enabled);
  CHECK(s.ratio == 1);
  CHECK_FALSE(s.port.has_value());
  CHECK(p.port_of(s) == 1344);
  CHECK(s.host() == "127.0.0.1");
}

TEST_CASE("pool: ranges of ratio and ports") {
  const auto doc = minimal_doc();
  check_range(doc, "/pools/0/servers/0/ratio", "pools[0].servers[0].ratio", 1, 20, "");
  check_range(doc, "/pools/0/servers/0/port", "pools[0].servers[0].port", 1, 65535, "");
  check_range(doc, "/pools/0/default_server_port", "pools[0].default_server_port", 1, 65535, "");
}

TEST_CASE("pool: servers by Avi ip, by hostname, with explicit port") {
  auto doc = minimal_doc();
  doc["pools"][0]["servers"] = nlohmann::json::parse(R"([
    {"ip": {"addr": "::1", "type": "V6"}, "port": 1345, "enabled": false, "ratio": 3},
    {"hostname": "icap.example"}
  ])");
  const auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const auto& p = r.config->pools[0];
  CHECK(p.servers[0].host() == "::1");
  CHECK(p.port_of(p.servers[0]) == 1345);
  CHECK_FALSE(p.servers[0].enabled);
  CHECK(p.servers[0].ratio == 3);
  CHECK(p.servers[1].host() == "icap.example");
}

TEST_CASE("pool: server address mistakes are named") {
  auto doc = minimal_doc();
  doc["pools"][0]["servers"] = nlohmann::json::parse(R"([
    {"port": 1344},
    {"ip": {"addr": "10.0.0.1", "type": "V6"}},
    {"ip": {"addr": "not-an-ip", "type": "V4"}},
    {"ip": {"addr": "10.0.0.1", "type": "V5"}}
  ])");
  const auto r = load(doc);
  CHECK(has_error(r, "pools[0].servers[0]: a server needs \"ip\" {\"addr\", \"type\"} or "
                     "\"hostname\""));
  CHECK(has_error(r, "pools[0].servers[1].ip.type: \"10.0.0.1\" is not a V6 address"));
  CHECK(has_error(r, "pools[0].servers[2].ip.addr: \"not-an-ip\" is not an IP address"));
  CHECK(has_error(r, "pools[0].servers[3].ip.type: \"V5\" is not one of V4, V6, DNS"));
}

TEST_CASE("pool: lb_algorithm values") {
  auto doc = minimal_doc();
  doc["pools"][0]["lb_algorithm"] = "LB_ALGORITHM_ROUND_ROBIN";
  CHECK(load(doc).config->pools[0].algorithm == lb_algorithm::round_robin);
  doc["pools"][0]["lb_algorithm"] = "LB_ALGORITHM_CONSISTENT_HASH";
  doc["pools"][0]["lb_algorithm_hash"] = "LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS";
  CHECK(load(doc).config->pools[0].algorithm == lb_algorithm::consistent_hash);
  doc["pools"][0]["lb_algorithm_hash"] = "LB_ALGORITHM_CONSISTENT_HASH_URI";
  CHECK(has_error(load(doc), "pools[0].lb_algorithm_hash: LB_ALGORITHM_CONSISTENT_HASH_URI is "
                             "valid in Avi but not supported by icapkit; use one of "
                             "LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS"));
  doc["pools"][0].erase("lb_algorithm_hash");
  doc["pools"][0]["lb_algorithm"] = "LB_ALGORITHM_FASTEST_RESPONSE";
  CHECK(has_error(load(doc), "pools[0].lb_algorithm: LB_ALGORITHM_FASTEST_RESPONSE is valid in "
                             "Avi but not supported by icapkit; use one of "
                             "LB_ALGORITHM_LEAST_CONNECTIONS, LB_ALGORITHM_ROUND_ROBIN, "
                             "LB_ALGORITHM_CONSISTENT_HASH"));
  doc["pools"][0]["lb_algorithm"] = "FASTEST";
  CHECK(has_error(load(doc), "pools[0].lb_algorithm: \"FASTEST\" is not one of "
                             "LB_ALGORITHM_LEAST_CONNECTIONS, LB_ALGORITHM_ROUND_ROBIN, "
                             "LB_ALGORITHM_CONSISTENT_HASH"));
}

TEST_CASE("pool: TLS from Avi refs") {
  auto doc = minimal_doc();
  doc["pools"][0]["ssl_profile_ref"] = "/api/sslprofile?name=System-Standard";
  auto r = load(doc);
  REQUIRE(r.ok());
  CHECK(r.config->pools[0].tls.enabled);
  CHECK_FALSE(r.config->pools[0].tls.verify); // Avi verifies only with a PKI profile
  CHECK(r.config->pools[0].default_server_port == 11344);
  doc["pools"][0]["pki_profile_ref"] = "/api/pkiprofile?name=ca";
  doc["pools"][0]["ssl_key_and_certificate_ref"] = "/api/sslkeyandcertificate?name=client";
  r = load(doc);
  CHECK(r.config->pools[0].tls.verify);
  CHECK(r.config->pools[0].tls.ssl_key_and_certificate_ref ==
        "/api/sslkeyandcertificate?name=client");
  doc["pools"][0]["default_server_port"] = 2344; // an explicit port wins over the TLS default
  CHECK(load(doc).config->pools[0].default_server_port == 2344);
}

TEST_CASE("pool: TLS from the icapkit_tls block") {
  auto doc = minimal_doc();
  doc["pools"][0]["icapkit_tls"] = {
      {"ca_file", "/etc/ca.pem"}, {"cert_file", "c.pem"}, {"key_file", "k.pem"}, {"sni", "icap"}};
  auto r = load(doc);
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const auto& tls = r.config->pools[0].tls;
  CHECK(tls.enabled);
  CHECK(tls.verify);
  CHECK(tls.ca_file == "/etc/ca.pem");
  CHECK(tls.sni == "icap");
  CHECK(r.config->pools[0].default_server_port == 11344);

  doc["pools"][0]["icapkit_tls"] = {{"enabled", false}};
  CHECK_FALSE(load(doc).config->pools[0].tls.enabled);
  CHECK(load(doc).config->pools[0].default_server_port == 1344);

  doc["pools"][0]["icapkit_tls"] = {{"cert_file", "c.pem"}};
  CHECK(has_error(load(doc),
                  "pools[0].icapkit_tls.key_file: cert_file and key_file must be given together"));
}

TEST_CASE("pool: health_monitor_refs accepted") {
  auto doc = minimal_doc();
  doc["pools"][0]["health_monitor_refs"] = {"/api/healthmonitor?name=System-TCP"};
  const auto r = load(doc);
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  CHECK(r.config->pools[0].health_monitor_refs.size() == 1);
}
