// icapkit replay: flags -> replay options; run the captures through the proxy, then the summary,
// the expectation check, JUnit and the recorded expectations. The replay lives in
// lib/icapkit/replay.
#include "common_flags.hpp"
#include "config_file.hpp"
#include "subcommands.hpp"

#include "icapkit/config/loader.hpp"
#include "icapkit/log/ndjson_writer.hpp"
#include "icapkit/net/listener.hpp"
#include "icapkit/replay/driver.hpp"
#include "icapkit/replay/expectations.hpp"
#include "icapkit/replay/junit.hpp"
#include "icapkit/replay/summary.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace icapkit::app {

namespace {

struct replay_cli {
  std::vector<std::string> captures;
  std::string config_file;
  std::string target;
  std::string upstream = "recorded";
  std::string upstream_listen;
  unsigned concurrency = 4;
  std::string speed = "max";
  std::vector<std::string> filters;
  std::size_t limit = 0;
  unsigned timeout_ms = 60000;
  std::string log_file;
  std::string log_layout = "current";
  std::string output = "human";
  std::string expect_file;
  std::string record_file;
  std::string junit_file;
  bool quiet = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "icapkit replay: " << message << "\n";
  throw CLI::RuntimeError(exit_error);
}

double parse_speed(const std::string& text) {
  if (text == "max") {
    return 0;
  }
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used + 1 != text.size() || text.back() != 'x' || !(value > 0)) {
    fail("--speed " + text + ": expected max or a factor such as 1x, 2x or 0.5x");
  }
  return value;
}

codec::uri parse_url(const std::string& flag, const std::string& text) {
  codec::uri u;
  if (const auto ec = codec::parse_uri(text, u);
      ec || (u.scheme != "http" && u.scheme != "https")) {
    fail(flag + " " + text + ": " + (ec ? ec.message() : "expected an http:// or https:// URL"));
  }
  return u;
}

replay::replay_options options_from(const replay_cli& o) {
  if (o.config_file.empty() == o.target.empty()) {
    fail("give either --config FILE (an in-process proxy) or --target URL (a running proxy)");
  }
  replay::replay_options r;
  for (const auto& c : o.captures) {
    r.captures.emplace_back(c);
  }
  if (!o.target.empty()) {
    r.target = parse_url("--target", o.target);
    if (r.target->tls()) {
      fail("--target " + o.target + ": https targets are not supported yet; use http://");
    }
    if (o.upstream != "recorded" && o.upstream != "stub") {
      fail("--upstream " + o.upstream +
           ": with --target the upstream is the target's own; "
           "use --upstream-listen to serve recorded or stub responses to it");
    }
    if (!o.upstream_listen.empty()) {
      net::error_info error;
      net::parse_endpoint(o.upstream_listen, error);
      if (error.code) {
        fail("--upstream-listen " + o.upstream_listen + ": " + net::describe(error) +
             " (expected ADDR:PORT)");
      }
    }
  } else {
    if (!o.upstream_listen.empty()) {
      fail("--upstream-listen goes with --target (the in-process proxy has its own upstream)");
    }
    r.config = load_config_or_exit("replay", o.config_file, o.quiet);
  }
  r.upstream_listen = o.upstream_listen;
  if (o.upstream == "stub") {
    r.upstream = replay::upstream_mode::stub;
  } else if (o.upstream != "recorded") {
    r.upstream = replay::upstream_mode::url;
    r.upstream_url = parse_url("--upstream", o.upstream);
  }
  r.concurrency = o.concurrency;
  r.speed = parse_speed(o.speed);
  for (const auto& text : o.filters) {
    std::string error;
    auto f = replay::parse_filter(text, error);
    if (!f) {
      fail("--filter " + text + ": " + error);
    }
    r.filters.push_back(std::move(*f));
  }
  if (o.limit > 0) {
    r.limit = o.limit;
  }
  r.timeout = std::chrono::milliseconds{o.timeout_ms};
  return r;
}

std::unique_ptr<log::ndjson_writer> open_log(const replay_cli& o) {
  log::write_options write;
  write.layout = o.log_layout == "legacy" ? log::log_layout::legacy : log::log_layout::current;
  if (o.log_file.empty() || o.log_file == "-") {
    return o.output == "ndjson" || o.log_file == "-"
               ? std::make_unique<log::ndjson_writer>(std::cout, write)
               : nullptr;
  }
  auto opened = log::ndjson_writer::open(o.log_file, write);
  if (!opened) {
    fail("--log " + o.log_file + ": " + opened.error().message());
  }
  return std::move(*opened);
}

template <class Write>
void write_file(const std::string& flag, const std::string& path, Write write) {
  std::ofstream out(path, std::ios::trunc);
  if (out) {
    write(out);
  }
  if (!out) {
    fail(flag + " " + path + ": cannot be written");
  }
}

int run_replay(const replay_cli& o) {
  std::optional<replay::expectation_set> expectations;
  if (!o.expect_file.empty()) {
    std::string error;
    expectations = replay::expectation_set::load(o.expect_file, error);
    if (!expectations) {
      fail(error);
    }
  }
  auto options = options_from(o);
  auto writer = open_log(o);
  if (writer) {
    options.on_record = [w = writer.get()](const log::app_log_record& r) { w->write(r); };
  }
  if (!o.quiet) {
    options.on_warning = [](const std::string& m) {
      std::cerr << "icapkit replay: warning: " << m << "\n";
    };
  }
  const auto report = replay::run_replay(options);
  std::vector<std::pair<replay::outcome, replay::check_result>> results;
  results.reserve(report.outcomes.size());
  for (const auto& outcome : report.outcomes) {
    results.emplace_back(outcome, replay::check(expectations ? &*expectations : nullptr, outcome));
  }
  const int status = replay::exit_status(results);
  if (!o.quiet || status != 0 || !report.error.empty()) {
    replay::summary_options summary;
    summary.expectations_given = expectations.has_value();
    replay::print_summary(std::cerr, results, report.seconds, summary);
  }
  if (report.unmatched_upstream_requests > 0) {
    std::cerr << "icapkit replay: warning: " << report.unmatched_upstream_requests
              << " request(s) reached the upstream but matched no captured request (404)\n";
  }
  if (!o.junit_file.empty()) {
    write_file("--junit", o.junit_file, [&](std::ostream& out) {
      replay::write_junit(out, "icapkit replay", results, report.seconds);
    });
  }
  if (!o.record_file.empty()) {
    write_file("--record-expectations", o.record_file,
               [&](std::ostream& out) { replay::write_expectations(out, report.outcomes); });
  }
  if (!report.error.empty()) {
    std::cerr << "icapkit replay: " << report.error << "\n";
    return exit_error;
  }
  return status;
}

} // namespace

void setup_replay(CLI::App& app) {
  auto o = std::make_shared<replay_cli>();
  auto* cmd = app.add_subcommand(
      "replay", "replay captured HTTP requests (HAR, raw HTTP, pcap/pcapng) through the "
                "enforcing proxy and check the verdicts");
  cmd->add_option("capture", o->captures, "HAR, raw HTTP request or pcap/pcapng files")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--config", o->config_file,
                  "virtual service config (JSON) for an in-process proxy, as icapkit proxy reads")
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", o->target,
                  "send the requests to a running proxy or load balancer at http://HOST:PORT");
  cmd->add_option("--upstream", o->upstream,
                  "the proxy's origin: recorded (default: each request's recorded response), "
                  "stub (200, empty) or an http[s]:// URL");
  cmd->add_option("--upstream-listen", o->upstream_listen,
                  "with --target: serve recorded (or stub) responses at ADDR:PORT, the target's "
                  "origin, and read verdicts from what reaches it");
  cmd->add_option("--concurrency", o->concurrency, "requests in flight at once (default 4)")
      ->check(whole_number(1, 1024))
      ->type_name("N");
  cmd->add_option("--speed", o->speed,
                  "max (default: as fast as possible) or a factor of the recorded timing: 1x, 2x");
  cmd->add_option("--filter", o->filters,
                  "replay only matching requests: \"METHOD\", \"URL-REGEX\" or \"METHOD "
                  "URL-REGEX\" (METHOD may be POST|PUT); repeatable, any may match");
  cmd->add_option("--limit", o->limit, "replay at most N requests (after --filter)")
      ->check(whole_number(1, std::uint64_t{1} << 40))
      ->type_name("N");
  cmd->add_option("--timeout", o->timeout_ms,
                  "per request, for the whole response, e.g. 30s, 1m30s; a bare number is ms "
                  "(default 60s)")
      ->transform(duration_ms(std::chrono::milliseconds{1}, std::chrono::hours{1}))
      ->type_name("DURATION");
  cmd->add_option("--log", o->log_file,
                  "write one NDJSON record per replayed request to FILE (- = stdout)");
  cmd->add_option("--log-layout", o->log_layout, "current (default) or legacy (Avi 20.1 layout)")
      ->check(CLI::IsMember({"current", "legacy"}));
  cmd->add_option("--output", o->output,
                  "human (default: summary on stderr) or ndjson (records on stdout too)")
      ->check(CLI::IsMember({"human", "ndjson"}));
  cmd->add_option("--expect", o->expect_file,
                  "expected outcomes (JSON); exit 1 when one does not match")
      ->check(CLI::ExistingFile);
  cmd->add_option("--record-expectations", o->record_file,
                  "write the outcomes as an expectation file to start from");
  cmd->add_option("--junit", o->junit_file, "write JUnit XML (one test case per request)");
  cmd->add_flag("-q,--quiet", o->quiet,
                "no warnings; the summary only when something mismatched or failed");
  cmd->callback([o] {
    if (const int status = run_replay(*o); status != 0) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
