// icapkit proxy: flags + config file -> proxy options; start, report the listeners, drain on
// SIGINT/SIGTERM. The proxy itself lives in lib/icapkit/proxy.
#include "common_flags.hpp"
#include "config_file.hpp"
#include "subcommands.hpp"

#include "icapkit/config/loader.hpp"
#include "icapkit/log/ndjson_writer.hpp"
#include "icapkit/net/listener.hpp"
#include "icapkit/proxy/proxy.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace icapkit::app {

namespace {

struct proxy_cli {
  std::string config_file;
  std::vector<std::string> listen;
  std::vector<std::string> tls_listen;
  std::string cert_file;
  std::string key_file;
  std::string upstream;
  std::string upstream_cacert;
  bool upstream_insecure = false;
  std::string log_file;
  std::string log_layout = "current";
  std::string admin;
  std::string port_file;
  unsigned threads = 0;
  std::size_t spool_memory = 1024 * 1024;
  std::string temp_dir;
  unsigned header_timeout_ms = 10000;
  unsigned idle_timeout_ms = 60000;
  unsigned body_timeout_ms = 30000;
  unsigned upstream_timeout_ms = 60000;
  std::size_t max_header_bytes = 65536;
  std::size_t max_header_count = 100;
  unsigned drain_timeout_ms = 10000;
  bool quiet = false;
};

[[noreturn]] void fail(int status, const std::string& message) {
  std::cerr << "icapkit proxy: " << message << "\n";
  throw CLI::RuntimeError(status);
}

void write_port_file(const std::string& path, const proxy::proxy& p) {
  const auto temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const auto& a : p.listen_addresses()) {
      out << "listen " << a << "\n";
    }
    for (const auto& a : p.tls_listen_addresses()) {
      out << "tls_listen " << a << "\n";
    }
    if (const auto a = p.admin_address(); !a.empty()) {
      out << "admin " << a << "\n";
    }
    if (!out) {
      fail(exit_error, "--port-file " + path + ": cannot be written");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    fail(exit_error, "--port-file " + path + ": cannot be written");
  }
}

int run_proxy(const proxy_cli& o) {
  if (o.cert_file.empty() != o.key_file.empty()) {
    fail(exit_error, "--cert and --key go together");
  }
  const auto check_address = [](const std::string& flag, const std::string& text) {
    net::error_info error;
    net::parse_endpoint(text, error);
    if (error.code) {
      fail(exit_error, flag + " " + text + ": " + net::describe(error) +
                           " (expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:0)");
    }
  };
  for (const auto& a : o.listen) {
    check_address("--listen", a);
  }
  for (const auto& a : o.tls_listen) {
    check_address("--tls-listen", a);
  }
  if (!o.admin.empty()) {
    check_address("--admin", o.admin);
  }
  proxy::proxy_options options;
  options.config = load_config_or_exit("proxy", o.config_file, o.quiet);
  options.listen = o.listen;
  options.tls_listen = o.tls_listen;
  options.tls.cert_file = o.cert_file;
  options.tls.key_file = o.key_file;
  if (!o.upstream.empty()) {
    std::string error;
    auto u = config::parse_upstream(o.upstream, error);
    if (!u) {
      fail(exit_error, "--upstream " + o.upstream + ": " + error);
    }
    options.upstream = std::move(*u);
  }
  options.upstream_tls.ca_file = o.upstream_cacert;
  options.upstream_tls.insecure = o.upstream_insecure;
  options.admin = o.admin;
  options.threads = o.threads;
  options.spool_memory = o.spool_memory;
  options.temp_dir = o.temp_dir;
  options.header_timeout = std::chrono::milliseconds{o.header_timeout_ms};
  options.idle_timeout = std::chrono::milliseconds{o.idle_timeout_ms};
  options.body_timeout = std::chrono::milliseconds{o.body_timeout_ms};
  options.upstream_timeout = std::chrono::milliseconds{o.upstream_timeout_ms};
  options.drain_timeout = std::chrono::milliseconds{o.drain_timeout_ms};
  options.limits.max_header_bytes = o.max_header_bytes;
  options.limits.max_start_line = std::min<std::size_t>(o.max_header_bytes, 8192);
  options.limits.max_header_count = o.max_header_count;

  log::write_options write;
  write.layout = o.log_layout == "legacy" ? log::log_layout::legacy : log::log_layout::current;
  std::unique_ptr<log::ndjson_writer> writer;
  if (o.log_file == "-") {
    writer = std::make_unique<log::ndjson_writer>(std::cout, write);
  } else if (!o.log_file.empty()) {
    auto opened = log::ndjson_writer::open(o.log_file, write);
    if (!opened) {
      fail(exit_error, "--log " + o.log_file + ": " + opened.error().message());
    }
    writer = std::move(*opened);
  }
  if (writer) {
    options.on_record = [w = writer.get()](const log::app_log_record& r) { w->write(r); };
  }
  if (!o.quiet) {
    options.on_event = [](const std::string& message) {
      std::cerr << "icapkit proxy: " << message << "\n";
    };
  }
  proxy::proxy p(std::move(options));
  std::string detail;
  if (const auto ec = p.start(detail)) {
    fail(exit_error, detail.empty() ? ec.message() : detail);
  }
  if (!o.port_file.empty()) {
    write_port_file(o.port_file, p);
  }
  if (!o.quiet) {
    for (const auto& a : p.listen_addresses()) {
      std::cerr << "icapkit proxy: listening on http://" << a << "\n";
    }
    for (const auto& a : p.tls_listen_addresses()) {
      std::cerr << "icapkit proxy: listening on https://" << a << "\n";
    }
    if (const auto a = p.admin_address(); !a.empty()) {
      std::cerr << "icapkit proxy: stats on http://" << a << "/stats\n";
    }
  }
  const int signal = proxy::stop_on_signal(p);
  if (!o.quiet) {
    std::cerr << "icapkit proxy: stopped after signal " << signal << "\n";
  }
  return 0;
}

} // namespace

void setup_proxy(CLI::App& app) {
  auto o = std::make_shared<proxy_cli>();
  auto* cmd = app.add_subcommand(
      "proxy", "enforcing HTTP/1.1 proxy: security-policy rules send requests to ICAP (REQMOD) as "
               "the load balancer's virtual service does");
  cmd->add_option("--config", o->config_file,
                  "virtual service config (JSON): icap_profile, pools, policy, listen, upstream")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", o->listen,
                  "HTTP listener ADDR:PORT (repeatable; overrides \"listen\")");
  cmd->add_option("--tls-listen", o->tls_listen, "HTTPS listener ADDR:PORT (repeatable)");
  cmd->add_option("--cert", o->cert_file,
                  "certificate chain (PEM) for --tls-listen; default: self-signed")
      ->check(CLI::ExistingFile);
  cmd->add_option("--key", o->key_file, "private key (PEM) for --cert")->check(CLI::ExistingFile);
  cmd->add_option("--upstream", o->upstream,
                  "origin URL http[s]://HOST[:PORT] (overrides \"upstream\")");
  cmd->add_option("--upstream-cacert", o->upstream_cacert,
                  "CA file (PEM) to verify an https upstream")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--upstream-insecure", o->upstream_insecure,
                "do not verify an https upstream's certificate");
  cmd->add_option("--log", o->log_file,
                  "append one NDJSON record per request to FILE (- = stdout)");
  cmd->add_option("--log-layout", o->log_layout, "current (default) or legacy (Avi 20.1 layout)")
      ->check(CLI::IsMember({"current", "legacy"}));
  cmd->add_option("--admin", o->admin, "stats endpoint ADDR:PORT (GET /stats, JSON)");
  cmd->add_option("--port-file", o->port_file,
                  "write \"listen|tls_listen|admin ADDR:PORT\" lines once listening");
  cmd->add_option("--threads", o->threads, "worker threads (default 0: the core count)")
      ->check(whole_number(0, 1024))
      ->type_name("N");
  cmd->add_option("--spool-memory", o->spool_memory,
                  "bytes of a held body kept in memory before a temporary file (default 1048576)")
      ->check(whole_number(0, std::uint64_t{1} << 40))
      ->type_name("BYTES");
  cmd->add_option("--temp-dir", o->temp_dir,
                  "directory for spilled bodies (default $TMPDIR or /tmp)");
  // Times take a unit (500ms, 10s, 1m30s); a bare number is ms, as before units.
  const auto time = duration_ms(std::chrono::milliseconds{1}, std::chrono::hours{1});
  cmd->add_option("--header-timeout", o->header_timeout_ms,
                  "time to receive a whole request head once it starts (default 10s)")
      ->transform(time)
      ->type_name("DURATION");
  cmd->add_option("--idle-timeout", o->idle_timeout_ms,
                  "time a keep-alive connection may wait for its next request (default 60s)")
      ->transform(time)
      ->type_name("DURATION");
  cmd->add_option("--body-timeout", o->body_timeout_ms,
                  "time without progress reading or writing a body (default 30s)")
      ->transform(time)
      ->type_name("DURATION");
  cmd->add_option("--upstream-timeout", o->upstream_timeout_ms,
                  "time for the upstream's response head after the request (default 60s)")
      ->transform(time)
      ->type_name("DURATION");
  cmd->add_option("--max-header-bytes", o->max_header_bytes,
                  "largest request head in bytes; larger gets 431 (default 65536)")
      ->check(whole_number(1024, std::uint64_t{1} << 20))
      ->type_name("BYTES");
  cmd->add_option("--max-header-count", o->max_header_count,
                  "most header fields in a request; more gets 431 (default 100)")
      ->check(whole_number(1, 10000))
      ->type_name("N");
  cmd->add_option("--drain-timeout", o->drain_timeout_ms,
                  "time in-flight requests may take after SIGTERM/SIGINT (default 10s)")
      ->transform(time)
      ->type_name("DURATION");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([o] {
    if (const int status = run_proxy(*o); status != 0) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
