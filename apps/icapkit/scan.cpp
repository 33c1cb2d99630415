// `icapkit scan [PATH|-]...`: sends files to an ICAP service as a browser upload (REQMOD) or a
// download (RESPMOD), several at a time, and reports a verdict, a record and an exit status per
// run.
#include "common_flags.hpp"
#include "file_walk.hpp"
#include "mock_setup.hpp"
#include "output.hpp"
#include "scan_job.hpp"
#include "scan_profile.hpp"
#include "subcommands.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/log/ndjson_writer.hpp"
#include "icapkit/net/connect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

namespace icapkit::app {

namespace {

struct scan_command {
  std::vector<std::string> paths;
  bool recursive = false;
  std::vector<std::string> servers;
  std::string profile;
  std::string mode = "reqmod";
  std::string url;
  std::string method;
  std::string content_type;
  bool multipart = false;
  std::string preview;
  bool no_204 = false;
  bool allow_206 = false;
  std::uint32_t slow_threshold_ms = 10000;
  unsigned jobs = 4;
  std::vector<std::string> http_headers;
  std::string vendor;
  std::string scenario; // built-in test engine only
  std::string save_modified;
  std::string log_file;
  std::string log_layout = "current";
  common_options common;
};

constexpr std::size_t progress_min_files = 20;
// After this many files in a row could not connect to any server, the servers are taken to be
// gone: no new file is started and the rest are counted as failed, said once.
constexpr std::size_t stop_after_connect_failures = 5;
constexpr std::uintmax_t progress_min_bytes = 64U << 20;

CLI::Validator preview_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text == "off") {
          return {};
        }
        if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != text.npos) {
          return "'" + text + "' is neither a byte count (0-999999999) nor 'off'";
        }
        return {};
      },
      "");
}

// The run's settings: profile first (when given), then every flag that was given. `builtin_url`
// is the built-in test engine's service when neither --server nor --profile was given.
bool build_settings(const scan_command& cmd, const std::string& builtin_url,
                    client::client_settings& settings, std::vector<codec::uri>& servers) {
  settings.vendor = log::icap_vendor::generic;
  if (!cmd.profile.empty()) {
    auto setup = apply_profile(cmd.profile, settings);
    for (const auto& warning : setup.warnings) {
      print_error("warning: " + warning);
    }
    if (!setup.errors.empty()) {
      for (const auto& error : setup.errors) {
        print_error(error);
      }
      return false;
    }
    servers = std::move(setup.servers);
  }
  if (!cmd.servers.empty()) {
    servers.clear(); // --server wins over the profile's pool
    for (const auto& text : cmd.servers) {
      codec::uri service;
      if (codec::parse_uri(text, service) || service.scheme.rfind("icap", 0) != 0) {
        print_error("--server: '" + text + "' is not an icap:// or icaps:// URL");
        return false;
      }
      servers.push_back(service);
    }
  }
  if (servers.empty() && !builtin_url.empty()) {
    codec::uri service;
    if (codec::parse_uri(builtin_url, service)) {
      print_error("the built-in test engine's URL '" + builtin_url + "' does not parse");
      return false;
    }
    servers.push_back(service);
  }
  if (servers.empty()) {
    print_error("no ICAP server: use --server URL or --profile FILE");
    return false;
  }
  // The built-in engine answers as opswat unless --vendor says otherwise: records say the same.
  const std::string vendor = cmd.vendor.empty() && !builtin_url.empty() ? "opswat" : cmd.vendor;
  if (!vendor.empty()) {
    settings.vendor =
        *log::from_string<log::icap_vendor>(vendor == "opswat"     ? "ICAP_VENDOR_OPSWAT"
                                            : vendor == "lastline" ? "ICAP_VENDOR_LASTLINE"
                                                                   : "ICAP_VENDOR_GENERIC");
  }
  if (cmd.preview == "off") {
    settings.enable_preview = false;
  } else if (!cmd.preview.empty()) {
    settings.enable_preview = true;
    settings.preview_override = std::stoull(cmd.preview);
  }
  if (cmd.no_204) {
    settings.allow_204 = false;
    // A server may answer a preview with 204 even without "Allow: 204" (RFC 3507 4.5, c-icap
    // does): the user asked for the content back, so no preview unless they asked for one.
    if (cmd.preview.empty()) {
      settings.enable_preview = false;
    }
  }
  settings.allow_206 = cmd.allow_206;
  if (cmd.common.given("--slow-threshold")) {
    settings.slow_threshold = std::chrono::milliseconds{cmd.slow_threshold_ms};
  }
  settings.max_connections_per_server = cmd.jobs;
  apply_common(cmd.common, settings);
  return check_tls_files(settings);
}

// Checks what the flags cannot check alone; prints one line and returns false on a problem.
bool build_context(const scan_command& cmd, scan_context& context) {
  auto& http = context.http;
  http.mode = cmd.mode == "respmod" ? codec::icap_method::respmod : codec::icap_method::reqmod;
  if (cmd.multipart && http.mode != codec::icap_method::reqmod) {
    print_error("--multipart: a form upload is a request; use it with --mode reqmod");
    return false;
  }
  http.url = !cmd.url.empty()                          ? cmd.url
             : http.mode == codec::icap_method::reqmod ? "http://icapkit.test/upload/{name}"
                                                       : "http://icapkit.test/download/{name}";
  codec::uri sample;
  if (codec::parse_uri(expand_url(http.url, "sample.bin"), sample) ||
      (sample.scheme != "http" && sample.scheme != "https")) {
    print_error("--url: '" + cmd.url + "' is not an http:// or https:// URL");
    return false;
  }
  http.method = cmd.method;
  http.content_type = cmd.content_type;
  http.multipart = cmd.multipart;
  for (const auto& line : cmd.http_headers) {
    if (auto field = parse_header_line(line)) {
      http.http_headers.add(std::move(field->name), std::move(field->value));
    }
  }
  if (!cmd.save_modified.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cmd.save_modified, ec);
    if (!std::filesystem::is_directory(cmd.save_modified)) {
      print_error("--save-modified: " + cmd.save_modified + ": not a directory" +
                  (ec ? " (" + ec.message() + ")" : std::string()));
      return false;
    }
    context.save_dir = cmd.save_modified;
  }
  context.spool_stdin = cmd.allow_206;
  if (!cmd.common.x_client_ip.empty()) {
    context.client_ip = cmd.common.x_client_ip;
  }
  context.server_down.assign(context.servers.size(), false);
  return true;
}

// The state of a run: inputs handed out in order, results emitted in input order as they finish.
struct run_state {
  scan_context context;
  std::vector<scan_input> inputs;
  std::vector<std::optional<scan_job_result>> results;
  std::size_t next_input = 0;
  std::size_t next_output = 0;
  std::size_t active_workers = 0;
  scan_counts counts;
  scan_output* output = nullptr;
  log::ndjson_writer* log = nullptr;
  bool log_failed = false;
  asio::steady_timer* ticker = nullptr;      // woken when the last worker ends
  std::size_t connect_failures_in_a_row = 0; // in the order files finish
  bool stopped = false;                      // the servers went away: start no more files
  std::size_t connect_errors_unsaid = 0;     // connection failures after the first, not printed
  std::string last_connect_error;
};

void emit_ready(run_state& state) {
  while (state.next_output < state.results.size() && state.results[state.next_output]) {
    auto& done = *state.results[state.next_output];
    state.counts.add(done.report.verdict);
    if (done.report.verdict == file_verdict::failed) {
      // One line for the first file that could not connect; the others are counted and said
      // once at the end (their result lines and records still come).
      if (done.connect_failed && !state.last_connect_error.empty()) {
        ++state.connect_errors_unsaid;
      } else {
        state.output->error("scan: " + done.report.path + ": " + done.report.detail);
      }
      if (done.connect_failed) {
        state.last_connect_error = done.report.detail;
      }
    }
    const auto* record = done.record ? &*done.record : nullptr;
    state.output->file_done(done.report, record);
    if (record != nullptr && state.log != nullptr && !state.log_failed &&
        state.log->write(*record)) {
      state.output->error("--log: cannot write the record");
      state.log_failed = true;
    }
    state.results[state.next_output].reset(); // free it: runs may have many files
    ++state.next_output;
  }
}

asio::awaitable<void> worker(run_state& state) {
  while (!state.stopped && state.next_input < state.inputs.size()) {
    const std::size_t index = state.next_input++;
    scan_job_result result;
    co_await scan_file(state.context, state.inputs[index], index, result);
    state.connect_failures_in_a_row =
        result.connect_failed ? state.connect_failures_in_a_row + 1 : 0;
    state.stopped = state.stopped || state.connect_failures_in_a_row >= stop_after_connect_failures;
    state.results[index] = std::move(result);
    emit_ready(state);
  }
  if (--state.active_workers == 0 && state.ticker != nullptr) {
    state.ticker->cancel();
  }
}

asio::awaitable<void> progress_ticker(run_state& state) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  state.ticker = &timer;
  while (state.active_workers > 0) {
    state.output->progress(state.next_output, state.inputs.size(), state.context.bytes_read);
    timer.expires_after(std::chrono::milliseconds{250});
    std::error_code ec; // cancelled when the scan ends
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  state.ticker = nullptr;
}

// The connection failures emit_ready() did not print, and why the run stopped early, if it did.
void say_connect_failures(run_state& state, scan_output& output) {
  if (state.stopped) {
    const auto not_started = state.inputs.size() - state.next_input;
    for (std::size_t i = 0; i < not_started; ++i) {
      state.counts.add(file_verdict::failed);
    }
    output.error("scan: stopped after " + std::to_string(stop_after_connect_failures) +
                 " files in a row could not connect to any ICAP server (" +
                 state.last_connect_error + "); " + std::to_string(state.connect_errors_unsaid) +
                 " more connection failures not listed, " + std::to_string(not_started) +
                 " files not scanned");
  } else if (state.connect_errors_unsaid > 0) {
    output.error("scan: " + std::to_string(state.connect_errors_unsaid) +
                 " more files could not connect to any ICAP server (last: " +
                 state.last_connect_error + ")");
  }
}

bool wants_progress(const scan_command& cmd, const std::vector<scan_input>& inputs) {
  if (cmd.common.quiet || isatty(2) == 0) {
    return false;
  }
  if (inputs.size() >= progress_min_files) {
    return true;
  }
  for (const auto& input : inputs) {
    std::error_code ec;
    if (input.path == "-" || std::filesystem::file_size(input.path, ec) >= progress_min_bytes) {
      return !ec || input.path == "-";
    }
  }
  return false;
}

output_settings make_output_settings(const scan_command& cmd, bool progress) {
  output_settings settings;
  const auto format = cmd.common.format();
  settings.human_to_stdout = format == output_format::human;
  settings.ndjson = format == output_format::ndjson;
  settings.json = format == output_format::json;
  settings.quiet = cmd.common.quiet;
  settings.verbose = cmd.common.verbose;
  settings.color = settings.human_to_stdout && use_color(cmd.common, 1);
  settings.progress = progress;
  settings.layout.layout =
      cmd.log_layout == "legacy" ? log::log_layout::legacy : log::log_layout::current;
  return settings;
}

asio::awaitable<void> try_connect(const client::client_settings& settings, codec::uri server,
                                  net::error_info& error, bool& reached) {
  net::tls_options plain; // TCP only: TLS problems are the files' (with records), said once
  auto stream = co_await net::connect(co_await asio::this_coro::executor, server.host, server.port,
                                      plain, settings.connect_timeout, error);
  reached = reached || stream != nullptr;
}

// A TCP connect to every server at once, within the connect timeout, before any file is read:
// true when at least one connects. Otherwise `problem` says why for each, so an unreachable
// server is one line, not one per file.
bool any_server_reachable(const client::client_settings& settings,
                          const std::vector<codec::uri>& servers, std::string& problem) {
  asio::io_context io;
  std::vector<net::error_info> errors(servers.size());
  bool reached = false;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    asio::co_spawn(io, try_connect(settings, servers[i], errors[i], reached), asio::detached);
  }
  io.run();
  for (std::size_t i = 0; i < servers.size() && !reached; ++i) {
    problem += (i == 0 ? "" : "; ") + servers[i].to_string() + ": " + net::describe(errors[i]);
  }
  return reached;
}

// Without --server and --profile, scans go to the built-in test engine (the mock server of
// `icapkit serve`) on a loopback port; returns false (after saying why) when it cannot start.
bool start_builtin(const scan_command& cmd, builtin_engine& engine, std::string& url) {
  mock_setup_options options;
  options.vendor = cmd.vendor.empty() ? "opswat" : cmd.vendor;
  options.scenario_file = cmd.scenario;
  if (auto error = engine.start(options); !error.empty()) {
    print_error(error);
    return false;
  }
  url = engine.service_url(cmd.mode == "respmod" ? codec::icap_method::respmod
                                                 : codec::icap_method::reqmod);
  return true;
}

int run_scan(const scan_command& cmd) {
  const bool use_builtin = cmd.servers.empty() && cmd.profile.empty();
  if (!use_builtin && !cmd.scenario.empty()) {
    print_error("--scenario: applies only to the built-in test engine (scan without --server "
                "and --profile); give the scenario to 'icapkit serve --scenario' instead");
    return exit_error;
  }
  builtin_engine engine; // stopped when the scan returns
  std::string builtin_url;
  if (use_builtin && !start_builtin(cmd, engine, builtin_url)) {
    return exit_error;
  }
  client::client_settings settings;
  run_state state;
  if (!build_settings(cmd, builtin_url, settings, state.context.servers) ||
      !build_context(cmd, state.context)) {
    return exit_error;
  }
  if (std::string problem;
      !use_builtin && !any_server_reachable(settings, state.context.servers, problem)) {
    print_error("scan: no ICAP server can be reached, nothing was scanned: " + problem);
    return exit_error;
  }
  if (use_builtin) {
    std::cerr << "icapkit scan: no --server given: using icapkit's built-in test engine on "
              << builtin_url << " (" << engine.vendor()
              << "); it detects only EICAR and scenario rules\n"
              << std::flush;
  }
  std::unique_ptr<log::ndjson_writer> log_writer;
  const auto out_settings_layout = make_output_settings(cmd, false).layout;
  if (!cmd.log_file.empty()) {
    auto opened = log::ndjson_writer::open(cmd.log_file, out_settings_layout);
    if (!opened) {
      print_error("--log: " + opened.error().message());
      return exit_error;
    }
    log_writer = std::move(opened.value());
  }
  const auto started = std::chrono::steady_clock::now();
  auto walked =
      expand_paths(cmd.paths.empty() ? std::vector<std::string>{"-"} : cmd.paths, cmd.recursive);
  scan_output output(make_output_settings(cmd, wants_progress(cmd, walked.inputs)));
  for (const auto& error : walked.errors) {
    output.error("scan: " + error);
    state.counts.add(file_verdict::failed);
  }
  state.inputs = std::move(walked.inputs);
  state.results.resize(state.inputs.size());
  state.output = &output;
  state.log = log_writer.get();

  asio::io_context io;
  client::client icap(io.get_executor(), settings);
  state.context.icap = &icap;
  const std::size_t workers = std::min<std::size_t>(cmd.jobs, state.inputs.size());
  state.active_workers = workers;
  for (std::size_t i = 0; i < workers; ++i) {
    asio::co_spawn(io, worker(state), asio::detached);
  }
  if (workers > 0 && output.wants_progress()) {
    asio::co_spawn(io, progress_ticker(state), asio::detached);
  }
  io.run();
  engine.stop();
  say_connect_failures(state, output);
  output.finish(state.counts, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started));
  return decide_exit_code(state.counts);
}

void add_request_flags(CLI::App& sub, scan_command& cmd) {
  sub.add_option("--mode", cmd.mode,
                 "reqmod: the file as a browser upload; respmod: as a download (default reqmod)")
      ->check(CLI::IsMember({"reqmod", "respmod"}).description(""))
      ->type_name("reqmod|respmod");
  sub.add_option("--url", cmd.url,
                 "URL of the encapsulated HTTP message; {name} is the file name (default "
                 "http://icapkit.test/upload/{name}, .../download/{name} for respmod)")
      ->type_name("URL");
  sub.add_option("--method", cmd.method,
                 "HTTP method of the encapsulated request (default POST; GET for respmod)")
      ->type_name("METHOD");
  sub.add_option("--content-type", cmd.content_type,
                 "Content-Type of the file (default: guessed from the extension, else "
                 "application/octet-stream)")
      ->type_name("TYPE");
  sub.add_flag("--multipart", cmd.multipart,
               "send the file as multipart/form-data like a browser form (default: raw body)");
  sub.add_option("--http-header", cmd.http_headers,
                 "header added to the encapsulated HTTP request, repeatable (default: none)")
      ->check(header_line_validator())
      ->type_name("'NAME: VALUE'")
      ->allow_extra_args(false);
}

void add_icap_flags(CLI::App& sub, scan_command& cmd) {
  sub.add_option("--server", cmd.servers,
                 "ICAP service URL, repeatable: a pool tried in order; a file whose server "
                 "fails (refused, reset, closed, timeout) goes to the next one (default: from "
                 "--profile, else icapkit's built-in test engine on a loopback port)")
      ->type_name("URL")
      ->allow_extra_args(false);
  sub.add_option("--profile", cmd.profile,
                 "Avi-compatible JSON file: icap_profile settings and its pool's servers "
                 "(default: none)")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->type_name("FILE");
  sub.add_option("--vendor", cmd.vendor,
                 "vendor for records (and of the built-in test engine): "
                 "opswat|lastline|generic (default: the profile's; opswat for the built-in "
                 "engine; else generic)")
      ->check(CLI::IsMember({"opswat", "lastline", "generic"}).description(""))
      ->type_name("VENDOR");
  sub.add_option("--scenario", cmd.scenario,
                 "scenario file (JSON, as for icapkit serve) for the built-in test engine only: "
                 "rules, delays, faults (default: EICAR detection only)")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->type_name("FILE");
  sub.add_option("--preview", cmd.preview,
                 "preview size in bytes, or off (default: the profile's preview_size capped by "
                 "the server's Preview; 5000 without a profile)")
      ->check(preview_validator())
      ->type_name("N|off");
  sub.add_flag(
      "--no-204", cmd.no_204,
      "do not send Allow: 204, and no preview unless --preview is given (default: send it)");
  sub.add_flag("--allow-206", cmd.allow_206,
               "send Allow: 206 when the server allows it (default: not sent)");
  sub.add_option("--slow-threshold", cmd.slow_threshold_ms,
                 "latency above which a record is marked slow, e.g. 10s; a bare number is ms "
                 "(default 10s)")
      ->transform(duration_ms(std::chrono::milliseconds{1}, std::chrono::hours{1}))
      ->type_name("DURATION");
  sub.add_option("--jobs", cmd.jobs, "files scanned in parallel (default 4)")
      ->check(whole_number(1, 256))
      ->type_name("N");
}

} // namespace

void setup_scan(CLI::App& app) {
  auto cmd = std::make_shared<scan_command>();
  auto* sub = app.add_subcommand(
      "scan", "Scan files with an ICAP service (REQMOD or RESPMOD) and report a verdict per "
              "file.\nExit status: 0 all passed, 1 something was blocked or modified, 2 an "
              "error (usage, unreadable file, connection, TLS, timeout, protocol).");
  sub->add_option("PATH", cmd->paths, "files, directories (with -r), or - for stdin (default -)")
      ->type_name("");
  sub->add_flag("-r,--recursive", cmd->recursive, "scan the files under directories");
  add_icap_flags(*sub, *cmd);
  add_request_flags(*sub, *cmd);
  add_timeout_flags(*sub, cmd->common);
  add_icap_header_flags(*sub, cmd->common);
  sub->add_option("--save-modified", cmd->save_modified,
                  "write content the server returned to DIR/<file name> (never overwrites: adds "
                  "-1, -2, ...; default: not saved)")
      ->type_name("DIR");
  add_output_flags(*sub, cmd->common, {"human", "ndjson", "json"});
  sub->add_option("--log", cmd->log_file,
                  "append one NDJSON record per file to FILE (default: none)")
      ->type_name("FILE");
  sub->add_option("--log-layout", cmd->log_layout,
                  "record layout: current (Avi 21.1+) or legacy (20.1) (default current)")
      ->check(CLI::IsMember({"current", "legacy"}).description(""))
      ->type_name("current|legacy");
  add_tls_flags(*sub, cmd->common);
  cmd->common.command = sub;
  sub->footer("See icapkit-scan(1).");
  sub->callback([cmd] {
    if (const int status = run_scan(*cmd); status != exit_ok) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
