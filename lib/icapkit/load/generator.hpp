#pragma once
// The load generator behind `icapkit load` (DESIGN.md section 9): REQMOD/RESPMOD exchanges at a
// fixed concurrency (closed model) or at an arrival rate (open model), measured into
// load_measurements. One io_context and one ICAP client per thread; the threads' results are
// merged exactly at the end.
//
// Open model: each thread sends at intended times t0 + k / rate_thread (rate_thread = rate /
// threads; ramps step with the rate at the current time). Corrected latency = completion -
// intended time (what a user arriving on schedule saw, wrk2 style); uncorrected = completion -
// actual send. A request whose send starts more than 1 ms after its intended time is "late". When
// max_in_flight requests of the thread are already outstanding at an intended time, the request
// is "dropped": counted, never sent (k6's dropped_iterations).
//
// Every failure counts as it happened, by error_kind: the client does not retry a reused
// connection the server closed while idle (client_settings::retry_dead_idle is off here), so a
// server that drops keep-alive connections shows as reset_reused_connection failures.
#include "icapkit/client/client.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/load/load_summary.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::load {

enum class load_model { closed, open };

// Ramps the open model's rate linearly from the previous stage's rate (the first stage: from
// generator_settings::rate) to `rate` over `duration`.
struct ramp_stage {
  double rate = 0; // requests per second, whole run (before sharding)
  std::chrono::microseconds duration{0};
};

// Live numbers for a status line, updated by the worker threads as requests complete.
struct live_counters {
  std::atomic<std::uint64_t> completed{0}; // counted requests (warm-up excluded)
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> in_flight{0};
};

// Ends a run early from another thread (icapkit load on SIGINT/SIGTERM). Thread-safe.
class run_control {
public:
  // No new request starts (warm-up, measured, or a connection's next); requests in flight get
  // `grace` to finish, then run_load abandons them. A later call can only shorten the grace.
  void stop(std::chrono::milliseconds grace);
  // Ends the run at once: requests in flight are abandoned.
  void stop_now() { stop(std::chrono::milliseconds{0}); }
  bool stop_requested() const noexcept { return stopping_.load(); }

  // For run_load: waits until `done()` holds (checked at every notify()) or a stop's grace has
  // run out; returns true when done() held.
  bool wait(const std::function<bool()>& done);
  void notify();

private:
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

// Not an aggregate on purpose (g++ 12 bug with aggregate temporaries inside co_await): set
// fields one by one.
struct generator_settings {
  generator_settings() {} // NOLINT(modernize-use-equals-default): keeps it a non-aggregate
  std::vector<codec::uri> services; // used round robin, request by request
  // max_connections_per_server is set per thread, retry_dead_idle to false.
  client::client_settings client;
  codec::icap_method mode = codec::icap_method::reqmod;

  load_model model = load_model::closed;
  // Closed: connections looping exchange() back to back, split across threads. Open: the cap on
  // requests in flight, split across threads; 0 = default_max_in_flight per thread.
  std::size_t connections = 0;
  static constexpr std::size_t default_max_in_flight = 256;
  double rate = 0; // open model: requests per second for the whole run (before sharding)
  std::vector<ramp_stage> ramp;

  // Limits on the measured phase; the run ends at the first reached. Neither: 10 s.
  std::optional<std::chrono::microseconds> duration;
  std::optional<std::uint64_t> requests;
  std::chrono::microseconds warmup{0}; // sent before the measured phase, not counted

  // Workload: the contents of `files` (read once, cycled) or synthetic bodies of `sizes` (cycled).
  std::vector<std::string> files;
  std::vector<std::uint64_t> sizes{4096};
  // Request i (counted from 0 in the measured phase) carries the EICAR test string when
  // floor((i+1)·r) > floor(i·r): exactly floor(n·r) of the first n requests, evenly spread.
  double eicar_ratio = 0;

  unsigned threads = 1;
  unsigned shard_index = 0; // this host's share: rate, connections and requests / shard_count
  unsigned shard_count = 1;
  std::optional<std::chrono::system_clock::time_point> start_at; // sleep until then

  // Called for a sampled share of counted requests (probability record_sample), from worker
  // threads: it must be thread-safe.
  std::function<void(const client::exchange_result&)> on_record;
  double record_sample = 1.0;
  live_counters* live = nullptr;  // optional
  run_control* control = nullptr; // optional: lets another thread stop the run
};

struct generator_result {
  load_measurements measured;
  // True when at least one ICAP response (to OPTIONS or an exchange) arrived: false means the
  // server could not be reached at all.
  bool reached = false;
  std::string first_error; // the first failure's message, for the user
  std::chrono::system_clock::time_point measure_start;
  std::string file_error; // "cannot read 'x': Permission denied": nothing was sent
  bool stopped = false;   // run_control::stop ended the run before its limits
  // Requests still in flight when the grace ran out: abandoned, neither counted nor recorded.
  std::uint64_t abandoned = 0;
};

// Checks settings (non-empty services, a rate for the open model, shard bounds, readable files);
// returns an empty string or one line naming the problem.
std::string validate(const generator_settings& settings);

// Runs the load to the end or until settings.control stops it (blocking); settings must
// validate. A file that can no longer be read ends it before any load with `file_error` set.
// When requests are abandoned after a stop's grace, their connections and coroutine state are
// kept (never freed: the client cannot cancel an exchange) until the process exits, which the
// caller should do soon.
generator_result run_load(const generator_settings& settings);

// The EICAR rule of generator_settings::eicar_ratio for request `index`.
bool is_eicar_request(std::uint64_t index, double ratio) noexcept;
// This shard's part of `total` when split into `count` nearly equal parts (the first ones get
// the remainder).
std::uint64_t share_of(std::uint64_t total, unsigned index, unsigned count) noexcept;

} // namespace icapkit::load
