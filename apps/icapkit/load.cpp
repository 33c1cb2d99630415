// `icapkit load`: sends REQMOD/RESPMOD exchanges at a rate (open model) or over N connections
// (closed model), prints a summary and checks --threshold expressions (DESIGN.md section 9).
// The generator and the summary live in lib/icapkit/load.
#include "common_flags.hpp"
#include "load_guard.hpp"
#include "scan_profile.hpp"
#include "subcommands.hpp"

#include "icapkit/load/duration.hpp"
#include "icapkit/load/generator.hpp"
#include "icapkit/load/html_report.hpp"
#include "icapkit/load/load_summary.hpp"
#include "icapkit/load/thresholds.hpp"
#include "icapkit/log/app_log_record.hpp"
#include "icapkit/log/ndjson_writer.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

namespace icapkit::app {

namespace {

struct load_command {
  std::vector<std::string> servers;
  std::string profile;
  double rate = 0;
  std::string ramp;
  std::size_t connections = 0;
  std::string duration;
  std::uint64_t requests = 0;
  std::string warmup;
  std::vector<std::string> files;
  std::string sizes = "4KiB";
  double eicar_ratio = 0;
  std::string mode = "reqmod";
  std::string preview;
  bool no_204 = false;
  bool no_keepalive = false;
  std::uint32_t slow_threshold_ms = 10000;
  unsigned threads = 1;
  std::string start_at;
  std::string shard;
  std::vector<std::string> thresholds;
  std::string json_file;
  std::string ndjson_file;
  double sample = 1.0;
  std::string prom_file;
  std::string html_file;
  common_options common;
};

// One run of a --preview sweep: its value ("" = not given) and where its outputs go.
struct run_plan {
  std::string preview;
  std::string json_file;
  std::string ndjson_file;
  std::string prom_file;
  std::string html_file;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) {
      return parts;
    }
    start = end + 1;
  }
}

// "4096", "4k", "64KiB", "1M", "2GB": binary units (k = 1024).
std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || rest == text.data()) {
    return std::nullopt;
  }
  std::string unit(rest, end);
  for (auto& c : unit) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  int shift = 0;
  if (unit == "k" || unit == "kb" || unit == "kib") {
    shift = 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    shift = 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    shift = 30;
  } else if (!unit.empty() && unit != "b") {
    return std::nullopt;
  }
  if (value > (std::uint64_t{1} << 40) >> shift) {
    return std::nullopt; // over 1 TiB: surely a typo
  }
  return value << shift;
}

// RFC 3339 ("2026-11-25T10:00:00Z", "...T10:00:00.5+01:00") or unix seconds ("1764064800").
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  using namespace std::chrono;
  double seconds = 0;
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) {
    const auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || rest != text.data() + text.size()) {
      return std::nullopt;
    }
    return system_clock::time_point{
        duration_cast<system_clock::duration>(duration<double>(seconds))};
  }
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  double fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    const auto digits = rest.find_first_not_of("0123456789", 1);
    fraction = std::stod("0" + rest.substr(0, digits));
    rest = digits == std::string::npos ? std::string() : rest.substr(digits);
  }
  int offset_minutes = 0;
  int hours = 0;
  int minutes = 0;
  if ((rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
       std::sscanf(rest.c_str() + 1, "%2d:%2d", &hours, &minutes) == 2)) {
    offset_minutes = (rest[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
  } else if (rest != "Z" && rest != "z") {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const auto epoch = timegm(&tm);
  if (epoch == -1) {
    return std::nullopt;
  }
  seconds = static_cast<double>(epoch) + fraction - offset_minutes * 60.0;
  return system_clock::time_point{duration_cast<system_clock::duration>(duration<double>(seconds))};
}

bool parse_duration_flag(const std::string& flag, const std::string& text,
                         std::optional<std::chrono::microseconds>& out) {
  if (text.empty()) {
    return true;
  }
  std::string error;
  out = load::parse_duration(text, error);
  if (!out) {
    print_error(flag + ": " + error);
  }
  return out.has_value();
}

// "R1:D1,R2:D2" -> stages; prints the problem and returns false on a bad one.
bool parse_ramp(const std::string& text, std::vector<load::ramp_stage>& stages) {
  for (const auto& part : split(text, ',')) {
    const auto colon = part.find(':');
    load::ramp_stage stage;
    std::string error;
    const auto duration = colon == std::string::npos
                              ? std::nullopt
                              : load::parse_duration(part.substr(colon + 1), error);
    const auto rate_text = part.substr(0, colon);
    const auto [rest, ec] =
        std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), stage.rate);
    if (!duration || ec != std::errc{} || rest != rate_text.data() + rate_text.size() ||
        stage.rate < 0) {
      print_error("--ramp: '" + part + "' is not RATE:DURATION (e.g. 500:30s)" +
                  (error.empty() ? "" : ": " + error));
      return false;
    }
    stage.duration = *duration;
    stages.push_back(stage);
  }
  return true;
}

bool parse_shard(const std::string& text, load::generator_settings& s) {
  unsigned index = 0;
  unsigned count = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u/%u%c", &index, &count, &extra) != 2 || index == 0 ||
      count == 0 || index > count) {
    print_error("--shard: '" + text + "' is not i/N with 1 <= i <= N (e.g. 1/2)");
    return false;
  }
  s.shard_index = index - 1;
  s.shard_count = count;
  return true;
}

bool build_servers(const load_command& cmd, load::generator_settings& s) {
  if (!cmd.profile.empty()) {
    auto setup = apply_profile(cmd.profile, s.client);
    for (const auto& warning : setup.warnings) {
      print_error("warning: " + warning);
    }
    for (const auto& error : setup.errors) {
      print_error(error);
    }
    if (!setup.errors.empty()) {
      return false;
    }
    s.services = std::move(setup.servers);
  }
  if (!cmd.servers.empty()) {
    s.services.clear(); // --server wins over the profile's pool
  }
  for (const auto& text : cmd.servers) {
    codec::uri service;
    if (codec::parse_uri(text, service) || service.scheme.rfind("icap", 0) != 0) {
      print_error("--server: '" + text + "' is not an icap:// or icaps:// URL");
      return false;
    }
    s.services.push_back(service);
  }
  if (s.services.empty()) {
    print_error("no ICAP server: use --server URL or --profile FILE");
    return false;
  }
  return true;
}

bool build_workload(const load_command& cmd, load::generator_settings& s) {
  s.mode = cmd.mode == "respmod" ? codec::icap_method::respmod : codec::icap_method::reqmod;
  s.eicar_ratio = cmd.eicar_ratio;
  if (!expand_load_files(cmd.files, s.files)) {
    return false;
  }
  s.sizes.clear();
  for (const auto& text : split(cmd.sizes, ',')) {
    const auto size = parse_size(text);
    if (!size) {
      print_error("--size: '" + text + "' is not a size (e.g. 4096, 4k, 64KiB, 1M)");
      return false;
    }
    s.sizes.push_back(*size);
  }
  return true;
}

// The load model, limits, threads, shard and start time.
bool build_schedule(const load_command& cmd, load::generator_settings& s) {
  const bool open = cmd.common.given("--rate") || !cmd.ramp.empty();
  s.model = open ? load::load_model::open : load::load_model::closed;
  s.rate = cmd.rate;
  s.connections = cmd.connections > 0 ? cmd.connections : (open ? 0 : 10);
  if (!cmd.ramp.empty() && !parse_ramp(cmd.ramp, s.ramp)) {
    return false;
  }
  std::optional<std::chrono::microseconds> warmup;
  if (!parse_duration_flag("--duration", cmd.duration, s.duration) ||
      !parse_duration_flag("--warmup", cmd.warmup, warmup)) {
    return false;
  }
  s.warmup = warmup.value_or(std::chrono::microseconds{0});
  if (cmd.common.given("--requests")) {
    s.requests = cmd.requests;
  }
  if (!s.duration && !s.requests && !s.ramp.empty()) {
    std::chrono::microseconds total{0};
    for (const auto& stage : s.ramp) {
      total += stage.duration;
    }
    s.duration = total > s.warmup ? total - s.warmup : total;
  }
  s.threads = cmd.threads;
  if (!cmd.shard.empty() && !parse_shard(cmd.shard, s)) {
    return false;
  }
  if (!cmd.start_at.empty()) {
    s.start_at = parse_time(cmd.start_at);
    if (!s.start_at) {
      print_error("--start-at: '" + cmd.start_at +
                  "' is neither RFC 3339 (2026-11-25T10:00:00Z) nor unix seconds");
      return false;
    }
  }
  return true;
}

bool build_settings(const load_command& cmd, load::generator_settings& s) {
  s.client.vendor = log::icap_vendor::generic;
  if (!build_servers(cmd, s) || !build_workload(cmd, s) || !build_schedule(cmd, s)) {
    return false;
  }
  if (cmd.no_204) {
    s.client.allow_204 = false;
  }
  s.client.keep_alive = !cmd.no_keepalive;
  if (cmd.common.given("--slow-threshold")) {
    s.client.slow_threshold = std::chrono::milliseconds{cmd.slow_threshold_ms};
  }
  apply_common(cmd.common, s.client);
  if (!check_tls_files(s.client)) {
    return false;
  }
  if (const auto problem = load::validate(s); !problem.empty()) {
    print_error(problem);
    return false;
  }
  return true;
}

// "out.json" -> "out-preview-1024.json" when a sweep has several runs.
std::string sweep_name(const std::string& file, const std::string& preview, bool sweep) {
  if (file.empty() || !sweep) {
    return file;
  }
  const std::filesystem::path path(file);
  const auto name = path.stem().string() + "-preview-" + preview + path.extension().string();
  return (path.parent_path() / name).string();
}

bool plan_runs(const load_command& cmd, std::vector<run_plan>& plans) {
  const auto values = cmd.preview.empty() ? std::vector<std::string>{""} : split(cmd.preview, ',');
  for (const auto& value : values) {
    if (!value.empty() && value != "off" &&
        (value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos)) {
      print_error("--preview: '" + value + "' is neither a byte count nor 'off'");
      return false;
    }
    const bool sweep = values.size() > 1;
    plans.push_back(
        {value, sweep_name(cmd.json_file, value, sweep), sweep_name(cmd.ndjson_file, value, sweep),
         sweep_name(cmd.prom_file, value, sweep), sweep_name(cmd.html_file, value, sweep)});
  }
  return true;
}

void apply_preview(const std::string& preview, bool no_204, client::client_settings& settings) {
  if (preview == "off") {
    settings.enable_preview = false;
  } else if (!preview.empty()) {
    settings.enable_preview = true;
    settings.preview_override = std::stoull(preview);
  } else if (no_204) {
    settings.enable_preview = false; // as scan: no 204 in preview unless a preview was asked for
  }
}

nlohmann::json settings_echo(const load_command& cmd, const load::generator_settings& s,
                             const std::string& preview) {
  nlohmann::json j;
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& service : s.services) {
    servers.push_back(service.scheme + "://" + service.host + ":" + std::to_string(service.port) +
                      service.path);
  }
  j["servers"] = std::move(servers);
  j["mode"] = cmd.mode;
  j["model"] = s.model == load::load_model::open ? "open" : "closed";
  j["rate"] = s.rate;
  j["ramp"] = cmd.ramp;
  j["connections"] = s.connections;
  j["duration_us"] = s.duration ? s.duration->count() : 0;
  j["requests"] = s.requests.value_or(0);
  j["warmup_us"] = s.warmup.count();
  j["sizes"] = s.sizes;
  j["files"] = s.files.size();
  j["eicar_ratio"] = s.eicar_ratio;
  j["preview"] = preview.empty() ? "default" : preview;
  j["allow_204"] = s.client.allow_204;
  j["keep_alive"] = s.client.keep_alive;
  j["threads"] = s.threads;
  j["shard"] = std::to_string(s.shard_index + 1) + "/" + std::to_string(s.shard_count);
  j["start_at"] = cmd.start_at;
  return j;
}

// The live line on stderr, at most every 250 ms, until stop() (only for a TTY).
class status_line {
public:
  status_line(const load::live_counters& live, bool enabled) : live_(live) {
    if (enabled) {
      thread_ = std::thread([this] { loop(); });
    }
  }
  ~status_line() { stop(); }
  status_line(const status_line&) = delete;
  status_line& operator=(const status_line&) = delete;
  void stop() {
    if (!thread_.joinable()) {
      return;
    }
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::cerr << "\r\033[K" << std::flush;
  }

private:
  void loop() {
    const auto started = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds{250}, [this] { return done_; })) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      char line[160];
      std::snprintf(line, sizeof line,
                    "\r\033[Kicapkit load: %.0f s, %llu requests, %llu errors, %llu in flight",
                    seconds, static_cast<unsigned long long>(live_.completed.load()),
                    static_cast<unsigned long long>(live_.errors.load()),
                    static_cast<unsigned long long>(live_.in_flight.load()));
      std::cerr << line << std::flush;
    }
  }

  const load::live_counters& live_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

bool write_file(const std::string& flag, const std::string& file,
                const std::function<void(std::ostream&)>& write) {
  std::ofstream out(file, std::ios::trunc | std::ios::binary);
  if (out) {
    write(out);
    out.flush();
  }
  if (!out) {
    print_error(flag + " " + file + ": cannot be written");
  }
  return static_cast<bool>(out);
}

// Every output file of every run, checked before any load is sent.
bool check_outputs(const std::vector<run_plan>& plans) {
  for (const auto& plan : plans) {
    const std::pair<const char*, const std::string&> outputs[] = {{"--json", plan.json_file},
                                                                  {"--ndjson", plan.ndjson_file},
                                                                  {"--prom", plan.prom_file},
                                                                  {"--html", plan.html_file}};
    for (const auto& [flag, file] : outputs) {
      if (!file.empty() && !check_output_path(flag, file)) {
        return false;
      }
    }
  }
  return true;
}

bool write_outputs(const run_plan& plan, const load::load_summary& summary) {
  bool ok = true;
  if (!plan.json_file.empty()) {
    ok = write_file("--json", plan.json_file,
                    [&](std::ostream& out) { out << summary.to_json().dump(2) << "\n"; }) &&
         ok;
  }
  if (!plan.prom_file.empty()) {
    ok = write_file("--prom", plan.prom_file,
                    [&](std::ostream& out) { load::write_prometheus(out, summary); }) &&
         ok;
  }
  if (!plan.html_file.empty()) {
    ok = write_file("--html", plan.html_file,
                    [&](std::ostream& out) { load::write_html(out, summary); }) &&
         ok;
  }
  return ok;
}

// Sampled per-request records (--ndjson), as icap_log records with source "load".
std::function<void(const client::exchange_result&)> record_writer(log::ndjson_writer& writer) {
  auto next_id = std::make_shared<std::atomic<std::uint64_t>>(0);
  return [&writer, next_id](const client::exchange_result& result) {
    auto record =
        log::make_record(log::record_source::load, ++*next_id, std::chrono::system_clock::now());
    record.icap_log.request_logs.push_back(result.record);
    record.icap_log.action = log::summarise_actions(record.icap_log.request_logs);
    (void)writer.write(record);
  };
}

// Requests in flight when SIGINT/SIGTERM stops a run get this long to finish (at most the
// request --timeout), then are abandoned; a second signal ends the run at once.
constexpr std::chrono::milliseconds interrupt_grace{2000};

// One run of the sweep: 0 passed, 1 a threshold failed, 2 could not run, 128 + N a signal N
// stopped it (its summary and outputs are still written).
int run_one(const load_command& cmd, const run_plan& plan, load::generator_settings settings) {
  apply_preview(plan.preview, cmd.no_204, settings.client);
  std::unique_ptr<log::ndjson_writer> records;
  if (!plan.ndjson_file.empty()) {
    auto opened = log::ndjson_writer::open(plan.ndjson_file);
    if (!opened) {
      print_error("--ndjson: " + opened.error().message());
      return exit_error;
    }
    records = std::move(opened.value());
    settings.on_record = record_writer(*records);
    settings.record_sample = cmd.sample;
  }
  load::live_counters live;
  settings.live = &live;
  load::run_control control;
  settings.control = &control;
  const interrupt_watch signals(control,
                                std::min(interrupt_grace, settings.client.response_timeout));
  status_line status(live, !cmd.common.quiet && isatty(2) != 0);
  const auto result = load::run_load(settings);
  status.stop();
  if (!result.file_error.empty()) {
    print_error("--files: " + result.file_error);
    return exit_error;
  }
  if (!result.reached) {
    print_error("the ICAP server cannot be reached: " + result.first_error);
    return exit_error;
  }
  load::load_summary summary;
  summary.tool_version = ICAPKIT_VERSION;
  summary.started_at = log::format_report_timestamp(result.measure_start);
  summary.model = settings.model == load::load_model::open ? "open" : "closed";
  summary.target_rps = settings.model == load::load_model::open
                           ? (settings.ramp.empty() ? settings.rate : settings.ramp.back().rate) /
                                 settings.shard_count
                           : 0;
  summary.settings = settings_echo(cmd, settings, plan.preview);
  summary.measured = result.measured;
  summary.thresholds = cmd.thresholds;
  if (result.stopped) {
    summary.interrupted_by = signal_name(signals.received());
    summary.abandoned = result.abandoned;
  }
  const bool passed = load::evaluate_thresholds(summary);
  if (!cmd.common.quiet || !passed || summary.interrupted()) {
    if (!plan.preview.empty() && cmd.preview.find(',') != std::string::npos) {
      std::cerr << "preview " << plan.preview << ":\n";
    }
    load::write_human(std::cerr, summary);
  }
  if (!write_outputs(plan, summary)) {
    return exit_error;
  }
  if (const int signal = signals.received(); signal != 0) {
    return exit_signal_base + signal; // as a shell reports a command a signal ended
  }
  return passed ? exit_ok : exit_found;
}

int run_load_command(const load_command& cmd) {
  load::generator_settings settings;
  std::vector<run_plan> plans;
  if (!build_settings(cmd, settings) || !plan_runs(cmd, plans) || !check_outputs(plans)) {
    return exit_error;
  }
  for (const auto& text : cmd.thresholds) {
    std::string error;
    if (!load::parse_threshold(text, error)) {
      print_error(error);
      return exit_error;
    }
  }
  int status = exit_ok;
  for (const auto& plan : plans) {
    const int one = run_one(cmd, plan, settings);
    status = std::max(status, one);
    if (one == exit_error || one > 128) {
      break; // an interrupted sweep does not go on with the next preview value
    }
  }
  return status;
}

void add_model_flags(CLI::App& sub, load_command& cmd) {
  sub.add_option("--rate", cmd.rate,
                 "open model: requests per second, sent on schedule whatever the latency "
                 "(default: closed model)")
      ->check(positive_number())
      ->type_name("R");
  sub.add_option("--ramp", cmd.ramp,
                 "open model: stages RATE:DURATION,..., each ramping linearly from the previous "
                 "rate (the first from --rate, else 0); DURATION as for --duration (default: "
                 "none)")
      ->type_name("'R1:D1,R2:D2'");
  sub.add_option("--connections", cmd.connections,
                 "closed model: connections sending back to back (default 10); open model: cap on "
                 "requests in flight, above which a due request is dropped (default 256 per "
                 "thread)")
      ->check(whole_number(1, 100000))
      ->type_name("N");
  sub.add_option("--duration", cmd.duration,
                 "measured time, e.g. 30s, 2m, 1m30s (default 10s, or the sum of the --ramp "
                 "stages)")
      ->check(duration_with_unit())
      ->type_name("D");
  sub.add_option("--requests", cmd.requests, "stop after N counted requests (default: no limit)")
      ->check(whole_number(1, std::uint64_t{1} << 40))
      ->type_name("N");
  sub.add_option("--warmup", cmd.warmup, "load sent first and not counted, e.g. 5s (default 0s)")
      ->check(duration_with_unit())
      ->type_name("D");
  sub.add_option("--threads", cmd.threads, "threads, each with its own connections (default 1)")
      ->check(whole_number(1, 256))
      ->type_name("N");
  sub.add_option("--start-at", cmd.start_at,
                 "wait until TIME to start (RFC 3339 or unix seconds), to start shards together "
                 "(default: now)")
      ->type_name("TIME");
  sub.add_option("--shard", cmd.shard,
                 "this host's share i of N: rate, connections and requests divided by N "
                 "(default 1/1)")
      ->type_name("i/N");
}

void add_workload_flags(CLI::App& sub, load_command& cmd) {
  sub.add_option("--server", cmd.servers,
                 "ICAP service URL, repeatable: requests go round robin (default: from --profile)")
      ->type_name("URL")
      ->allow_extra_args(false);
  sub.add_option("--profile", cmd.profile,
                 "Avi-compatible JSON file: icap_profile settings and its pool's servers "
                 "(default: none)")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->type_name("FILE");
  sub.add_option("--files", cmd.files,
                 "bodies to send: files, directories (their regular files, recursively) or "
                 "glob patterns, read once and cycled; a match that cannot be read is an error "
                 "(default: synthetic bodies of --size)")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  sub.add_option("--size", cmd.sizes,
                 "synthetic body sizes, cycled: 4096, 4k, 64KiB, 1M (binary units; default 4KiB)")
      ->type_name("SIZE[,SIZE...]");
  sub.add_option("--eicar-ratio", cmd.eicar_ratio,
                 "share of requests carrying the EICAR test string, spread evenly (default 0)")
      ->check(number_between(0.0, 1.0))
      ->type_name("F");
  sub.add_option("--mode", cmd.mode, "reqmod: uploads; respmod: downloads (default reqmod)")
      ->check(CLI::IsMember({"reqmod", "respmod"}).description(""))
      ->type_name("reqmod|respmod");
  sub.add_option("--preview", cmd.preview,
                 "preview size in bytes or off; a comma list runs once per value (default: the "
                 "server's Preview)")
      ->type_name("N[,N...]");
  sub.add_flag("--no-204", cmd.no_204, "do not send Allow: 204 (default: send it)");
  sub.add_flag("--no-keepalive", cmd.no_keepalive,
               "one connection per request, closed after it (Connection: close), so every "
               "request pays connect and TLS (default: connections are reused)");
  sub.add_option("--slow-threshold", cmd.slow_threshold_ms,
                 "latency above which a request counts as slow, e.g. 10s; a bare number is ms "
                 "(default 10s)")
      ->transform(duration_ms(std::chrono::milliseconds{1}, std::chrono::hours{1}))
      ->type_name("DURATION");
}

void add_report_flags(CLI::App& sub, load_command& cmd) {
  sub.add_option("--threshold", cmd.thresholds,
                 "pass/fail check, repeatable, e.g. 'p99<200ms', 'errors<0.1%', "
                 "'errors.reset_reused_connection<1', 'rps>500'; exit 1 when one fails (default: "
                 "none)")
      ->type_name("EXPR")
      ->allow_extra_args(false);
  sub.add_option("--json", cmd.json_file,
                 "write the summary with its histograms as JSON, for icapkit report --merge "
                 "(default: none)")
      ->type_name("FILE");
  sub.add_option("--ndjson", cmd.ndjson_file,
                 "write icap_log records of sampled requests, one per line (default: none)")
      ->type_name("FILE");
  sub.add_option("--sample", cmd.sample,
                 "probability that a request's record goes to --ndjson (default 1)")
      ->check(number_between(0.0, 1.0))
      ->type_name("P");
  sub.add_option("--prom", cmd.prom_file,
                 "write Prometheus text (histograms and counters) to FILE (default: none)")
      ->type_name("FILE");
  sub.add_option("--html", cmd.html_file,
                 "write a self-contained HTML report with SVG plots to FILE (default: none)")
      ->type_name("FILE");
  sub.add_flag("-q,--quiet", cmd.common.quiet,
               "no live line and no summary unless a threshold fails");
}

} // namespace

void setup_load(CLI::App& app) {
  auto cmd = std::make_shared<load_command>();
  auto* sub = app.add_subcommand(
      "load", "Load-test an ICAP service: an arrival rate (--rate, open model) or N connections "
              "(closed model); latency histograms, outcome counts, failures by kind (refused, "
              "reset on a new or a reused connection, timeout, ...: nothing is retried), "
              "thresholds. SIGINT/SIGTERM stop "
              "the run: requests in flight get 2 s (at most --timeout) to finish, a second "
              "signal ends at once, and the summary and outputs are written, marked "
              "interrupted.\nExit status: 0 done and every --threshold held, 1 a threshold "
              "failed, 2 usage error or the server cannot be reached, 130 SIGINT, 143 SIGTERM.");
  add_workload_flags(*sub, *cmd);
  add_model_flags(*sub, *cmd);
  add_timeout_flags(*sub, cmd->common);
  add_icap_header_flags(*sub, cmd->common);
  add_tls_flags(*sub, cmd->common);
  add_report_flags(*sub, *cmd);
  cmd->common.command = sub;
  sub->footer("See icapkit-load(1).");
  sub->callback([cmd] {
    if (const int status = run_load_command(*cmd); status != exit_ok) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
