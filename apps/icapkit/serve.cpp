// icapkit serve: flags -> server options, a vendor personality and a scenario; start, report the
// listeners, wait for SIGINT/SIGTERM, stop. Protocol and detection live in lib/icapkit/mock.
#include "serve.hpp"

#include "common_flags.hpp"
#include "mock_setup.hpp"

#include "icapkit/mock/mock_service.hpp"
#include "icapkit/mock/server_log.hpp"
#include "icapkit/server/server.hpp"

#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace icapkit::app {

namespace {

// DESIGN.md section 6: 2 for every error, a bad flag as much as a port that cannot be bound (as
// icapkit proxy says it).

struct serve_options {
  std::string vendor = "opswat";
  std::string blocking_mode = "MANAGER-KNOWN";
  unsigned analysis_time_ms = 2000;
  std::vector<std::string> services;
  std::string scenario_file;
  std::vector<std::string> listen;
  std::vector<std::string> tls_listen;
  std::string cert_file;
  std::string key_file;
  std::string write_cert;
  std::string port_file;
  unsigned threads = 0;
  std::size_t max_connections = 0;
  std::string log_file;
  std::uint64_t trickle_after = 0; // 0: the scenario's (off when it says nothing)
  unsigned trickle_percent = 0;    // 0: the scenario's, else 5
  bool quiet = false;
};

[[noreturn]] void fail(int status, const std::string& message) {
  std::cerr << "icapkit serve: " << message << "\n";
  throw CLI::RuntimeError(status);
}

mock_setup make_mock(const serve_options& o, std::size_t spool_memory_limit) {
  mock_setup_options m;
  m.vendor = o.vendor;
  m.blocking_mode = o.blocking_mode;
  m.analysis_time = std::chrono::milliseconds(o.analysis_time_ms);
  m.max_connections = o.max_connections;
  m.extra_services = o.services;
  m.scenario_file = o.scenario_file;
  m.spool_memory_limit = spool_memory_limit;
  mock_setup setup;
  if (auto error = build_mock(m, setup); !error.empty()) {
    fail(exit_error, error);
  }
  return setup;
}

server::server_options server_options_of(const serve_options& o) {
  server::server_options s;
  s.listen = o.listen.empty() && o.tls_listen.empty() ? std::vector<std::string>{"127.0.0.1:1344"}
                                                      : o.listen;
  s.tls_listen = o.tls_listen;
  s.tls.cert_file = o.cert_file;
  s.tls.key_file = o.key_file;
  s.write_cert = o.write_cert;
  s.threads = o.threads;
  s.max_connections = o.max_connections;
  return s;
}

void write_port_file(const std::string& path, const std::vector<std::string>& addresses) {
  const auto temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const auto& a : addresses) {
      out << a << "\n";
    }
    if (!out) {
      fail(exit_error, "--port-file " + path + ": cannot be written");
    }
  }
  // Renamed into place so a test polling for the file never reads half of it.
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    fail(exit_error, "--port-file " + path + ": cannot be written");
  }
}

void announce(const serve_options& o, const mock::mock_context& ctx,
              const std::vector<std::string>& addresses, std::size_t plain_count) {
  const auto specs = ctx.vendor().services();
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    std::string line = "icapkit serve: " + std::string(ctx.vendor().name()) + " on";
    const std::string scheme = i < plain_count ? "icap://" : "icaps://";
    for (const auto& s : specs) {
      line += " " + scheme + addresses[i] + "/" + s.name;
    }
    for (const auto& name : o.services) {
      line += " " + scheme + addresses[i] + "/" + name;
    }
    std::cerr << line << "\n";
  }
}

int run_serve(const serve_options& o) {
  if ((o.cert_file.empty()) != (o.key_file.empty())) {
    fail(exit_error, "--cert and --key go together");
  }
  auto options = server_options_of(o);
  auto mock = make_mock(o, options.spool_memory_limit);
  options.trickle = mock.trickle;
  if (o.trickle_after > 0) {
    options.trickle.start_after = o.trickle_after;
  }
  if (o.trickle_percent > 0) {
    options.trickle.percent = o.trickle_percent;
  }
  const auto& ctx = mock.context;
  auto log = std::make_shared<mock::server_log>();
  if (!o.log_file.empty()) {
    if (const auto ec = log->open(o.log_file, std::string(ctx->vendor().name()))) {
      fail(exit_error, "--log " + o.log_file + ": " + ec.message());
    }
  }
  if (!o.log_file.empty()) {
    options.on_transaction = [log](const log::transaction_record& r) { log->write(r); };
  }
  if (!o.quiet) {
    options.on_error = [](const std::string& message) {
      std::cerr << "icapkit serve: " << message << "\n";
    };
  }
  const auto plain_count = options.listen.size();
  server::server srv(std::move(options));
  try {
    for (auto& svc : mock.services) {
      srv.add_service(std::move(svc));
    }
  } catch (const std::invalid_argument& e) {
    fail(exit_error, std::string("--service: ") + e.what());
  }
  std::string detail;
  if (const auto ec = srv.start(detail)) {
    fail(exit_error, (detail.empty() ? "" : detail + ": ") + ec.message());
  }
  const auto addresses = srv.bound_addresses();
  if (!o.port_file.empty()) {
    write_port_file(o.port_file, addresses);
  }
  if (!o.quiet) {
    announce(o, *ctx, addresses, plain_count);
  }
  server::stop_on_signal(srv);
  return 0;
}

} // namespace

void setup_serve(CLI::App& app) {
  auto o = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run a mock ICAP server that answers like OPSWAT MetaDefender, NSX Defender "
      "(Lastline) or a c-icap antivirus, with scripted rules, delays and faults (for CI).");
  cmd->add_option("--vendor", o->vendor, "opswat (default), lastline or generic")
      ->check(CLI::IsMember({"opswat", "lastline", "generic"}));
  cmd->add_option("--blocking-mode", o->blocking_mode,
                  "lastline: PASSIVE, SENSOR-KNOWN, MANAGER-KNOWN (default), FULL, "
                  "FULL-WITH-FEEDBACK (\"FULL WITH FEEDBACK\" accepted)");
  cmd->add_option("--analysis-time", o->analysis_time_ms,
                  "lastline FULL modes: time an unknown file's analysis takes, e.g. 2s, 500ms; a "
                  "bare number is ms (default 2s)")
      ->transform(duration_ms(std::chrono::milliseconds{0}, std::chrono::hours{1}))
      ->type_name("DURATION");
  cmd->add_option("--service", o->services, "extra service name (REQMOD and RESPMOD); repeatable");
  cmd->add_option("--scenario", o->scenario_file, "scenario file (JSON): rules, delays, faults")
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", o->listen,
                  "plain listener ADDR:PORT (repeatable; default 127.0.0.1:1344)");
  cmd->add_option("--tls-listen", o->tls_listen, "TLS (ICAPS) listener ADDR:PORT (repeatable)");
  cmd->add_option("--cert", o->cert_file, "TLS certificate chain (PEM); default: self-signed")
      ->check(CLI::ExistingFile);
  cmd->add_option("--key", o->key_file, "TLS private key (PEM)")->check(CLI::ExistingFile);
  cmd->add_option("--write-cert", o->write_cert,
                  "write the TLS certificate (PEM) to FILE at start");
  cmd->add_option("--port-file", o->port_file,
                  "write one ADDRESS:PORT line per listener (plain first) once bound");
  cmd->add_option("--threads", o->threads, "worker threads (default 0: the core count)")
      ->check(whole_number(0, 1024))
      ->type_name("N");
  cmd->add_option("--max-connections", o->max_connections,
                  "answer 503 past N concurrent connections (default 0: no limit)")
      ->check(whole_number(0, 1000000))
      ->type_name("N");
  cmd->add_option("--log", o->log_file, "append one NDJSON line per transaction to FILE");
  cmd->add_option(
         "--trickle-after", o->trickle_after,
         "past BYTES of a body, answer 200 at once and send part of the body back while "
         "reading, as c-icap's virus_scan does (Squid 5.7 needs it for bodies over 64 KB); "
         "a later block cuts the connection. Default: the scenario's, else off")
      ->check(whole_number(0, std::uint64_t{1} << 40))
      ->type_name("BYTES");
  cmd->add_option("--trickle-percent", o->trickle_percent,
                  "with --trickle-after: the share of the bytes received that is sent back while "
                  "reading, 1-100 (default 5)")
      ->check(whole_number(1, 100))
      ->type_name("N");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing on start");
  cmd->footer("See icapkit-serve(1) for the vendors' headers and the scenario format.");
  cmd->callback([o] {
    const int status = run_serve(*o);
    if (status != 0) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
