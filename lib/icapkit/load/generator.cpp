#include "icapkit/load/generator.hpp"

#include "icapkit/codec/body_source.hpp"
#include "icapkit/load/error_kind.hpp"
#include "icapkit/net/errc.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace icapkit::load {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view eicar_text =
    R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";
constexpr auto late_after = 1ms;
constexpr auto default_duration = 10s;
constexpr auto start_delay = 20ms; // lets every thread fetch OPTIONS before t0
constexpr auto refused_backoff = 10ms;
constexpr auto max_refused_backoff = 1s;
constexpr auto stop_check = 50ms; // how often a sleeping scheduler looks for run_control::stop

// One body of the workload, clean and with EICAR, built once and shared read-only.
struct body_template {
  std::string name; // file name for the HTTP URL
  std::string extension;
  std::string clean;
  std::string infected;
};

std::string synthetic_bytes(std::uint64_t size) {
  static constexpr std::string_view pattern = "icapkit load test body 0123456789\n";
  std::string out;
  out.reserve(static_cast<std::size_t>(size));
  while (out.size() < size) {
    out.append(pattern.substr(
        0, std::min<std::size_t>(pattern.size(), static_cast<std::size_t>(size) - out.size())));
  }
  return out;
}

// The workload's bodies; on a file that cannot be read, `error` names it with the OS's reason.
std::vector<body_template> build_bodies(const generator_settings& s, std::string& error) {
  std::vector<body_template> bodies;
  for (const auto& path : s.files) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot read '" + path + "': " +
              (errno != 0 ? std::generic_category().message(errno) : std::string("open failed"));
      return {};
    }
    body_template b;
    b.clean.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    b.name = std::filesystem::path(path).filename().string();
    b.extension = std::filesystem::path(path).extension().string();
    b.infected = std::string(eicar_text) + b.clean;
    bodies.push_back(std::move(b));
  }
  if (!bodies.empty()) {
    return bodies;
  }
  for (const auto size : s.sizes) {
    body_template b;
    b.name = "load-" + std::to_string(size) + ".bin";
    b.extension = ".bin";
    b.clean = synthetic_bytes(size);
    b.infected = std::string(eicar_text) +
                 synthetic_bytes(size > eicar_text.size() ? size - eicar_text.size() : 0);
    bodies.push_back(std::move(b));
  }
  return bodies;
}

std::uint64_t to_us(steady::duration d) {
  const auto count = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return count < 0 ? 0 : static_cast<std::uint64_t>(count);
}

// A request slot: counted (measured phase) with its index, or a warm-up request.
struct slot {
  bool counted = false;
  std::uint64_t index = 0;
};

// What every thread shares: the workload, the clock marks and the counted-request index.
struct shared_run {
  const generator_settings* settings = nullptr;
  std::vector<body_template> bodies;
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::uint64_t> next_warmup{0};
  std::optional<std::uint64_t> request_limit; // this shard's
  steady::time_point t0;
  steady::time_point measure_start;
  steady::time_point end;      // of the measured phase; max() when only a request limit ends it
  steady::time_point ramp_end; // t0 + every ramp stage: the rate is constant after it

  bool stopped() const noexcept {
    return settings->control != nullptr && settings->control->stop_requested();
  }

  // The slot for a request due at `when`, or nullopt when the run is over.
  std::optional<slot> take(steady::time_point when) {
    if (when >= end || stopped()) {
      return std::nullopt;
    }
    if (when < measure_start) {
      return slot{false, next_warmup++};
    }
    const auto index = next_index++;
    if (request_limit && index >= *request_limit) {
      return std::nullopt;
    }
    return slot{true, index};
  }

  // The whole-run rate (this shard's share) at `when`, per the ramp stages.
  double rate_at(steady::time_point when) const {
    const auto& s = *settings;
    double from = s.rate;
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(when - t0);
    for (const auto& stage : s.ramp) {
      if (elapsed < stage.duration) {
        const double part = static_cast<double>(elapsed.count()) /
                            static_cast<double>(std::max<std::int64_t>(1, stage.duration.count()));
        return (from + (stage.rate - from) * part) / s.shard_count;
      }
      elapsed -= stage.duration;
      from = stage.rate;
    }
    return from / s.shard_count;
  }
};

struct thread_state {
  shared_run* run = nullptr;
  client::client* icap = nullptr;
  unsigned threads = 1;
  std::size_t max_in_flight = 1;
  std::size_t in_flight = 0;
  std::uint64_t sent = 0;
  load_measurements measured;
  steady::time_point last_completion;
  bool reached = false;
  std::string first_error;
  std::mt19937_64 rng;
};

static_assert(static_cast<std::size_t>(client::exchange_phase::response) + 1 == timeout_phase_count,
              "timeouts_by_phase is indexed by client::exchange_phase");

void count_outcome(thread_state& ts, const client::exchange_result& r) {
  auto& c = ts.measured.counts;
  ++c.requests;
  switch (r.result.outcome) {
  case client::verdict_outcome::passed:
    ++c.passed;
    break;
  case client::verdict_outcome::blocked:
    ++c.blocked;
    break;
  case client::verdict_outcome::modified:
    ++c.modified;
    break;
  case client::verdict_outcome::failed:
    ++c.failed;
    ++c.errors[static_cast<std::size_t>(classify_error(r))];
    break;
  }
  if (r.timed_out) {
    ++c.timeouts;
    const auto phase =
        static_cast<std::size_t>(r.failed_in.value_or(client::exchange_phase::response));
    ++c.timeouts_by_phase[std::min(phase, timeout_phase_count - 1)];
  }
  c.slow += r.slow ? 1 : 0;
  c.got_100 += r.got_100 ? 1 : 0;
  c.decided_in_preview += r.decided_in_preview ? 1 : 0;
  if (r.decided_in_preview && r.icap_response && r.icap_response->status == 204) {
    ++c.preview_204;
  }
  c.bytes_sent += r.body_bytes_sent;
}

// Whether a counted request goes to settings.on_record (probability record_sample), drawn before
// it is sent so that the client builds the icap_log record only for those.
bool sampled(thread_state& ts, const slot& s) {
  const auto& settings = *ts.run->settings;
  return s.counted && settings.on_record &&
         std::uniform_real_distribution<double>(0.0, 1.0)(ts.rng) < settings.record_sample;
}

void record(thread_state& ts, const slot& s, const client::exchange_result& r, bool sample,
            steady::time_point intended, steady::time_point started, steady::time_point ended) {
  if (r.icap_response) {
    ts.reached = true;
  }
  const bool failed = r.result.outcome == client::verdict_outcome::failed;
  if (failed && ts.first_error.empty()) {
    ts.first_error = r.error_message.empty() ? r.result.reason.value_or("failed") : r.error_message;
  }
  if (!s.counted) {
    return;
  }
  count_outcome(ts, r);
  auto& m = ts.measured;
  m.total.record(to_us(ended - intended));
  m.total_uncorrected.record(to_us(ended - started));
  const auto& t = r.timings;
  const std::pair<const std::optional<std::chrono::microseconds>&, histogram&> phases[] = {
      {t.options, m.options},
      {t.connect, m.connect},
      {t.tls, m.tls},
      {t.preview_decision, m.preview_decision}};
  for (const auto& [value, h] : phases) {
    if (value) {
      h.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, value->count())));
    }
  }
  const auto second = static_cast<std::size_t>(to_us(ended - ts.run->measure_start) / 1'000'000);
  if (m.series.size() <= second) {
    m.series.resize(second + 1);
  }
  ++m.series[second].requests;
  m.series[second].errors += failed ? 1 : 0;
  ts.last_completion = std::max(ts.last_completion, ended);
  const auto& settings = *ts.run->settings;
  if (settings.live != nullptr) {
    ++settings.live->completed;
    settings.live->errors += failed ? 1 : 0;
  }
  if (sample) {
    settings.on_record(r);
  }
}

client::exchange_request build_request(const shared_run& run, const slot& s,
                                       const codec::uri& service, codec::body_source& body,
                                       const body_template& b) {
  const auto& settings = *run.settings;
  client::exchange_request request;
  request.method = settings.mode;
  request.service = service;
  request.file_extension = b.extension;
  request.body = &body;
  codec::http_request_head req;
  const bool reqmod = settings.mode == codec::icap_method::reqmod;
  req.method = reqmod ? "POST" : "GET";
  req.target =
      std::string(reqmod ? "/upload/" : "/download/") + std::to_string(s.index) + "-" + b.name;
  req.headers.add("Host", "icapkit.test");
  req.headers.add("User-Agent", "icapkit-load");
  const auto length = std::to_string(*body.size());
  if (reqmod) {
    req.headers.add("Content-Type", "application/octet-stream");
    req.headers.add("Content-Length", length);
  } else {
    codec::http_response_head res;
    res.headers.add("Content-Type", "application/octet-stream");
    res.headers.add("Content-Length", length);
    request.http_response = std::move(res);
  }
  request.http_request = std::move(req);
  return request;
}

// Whether a failure means there was nothing to connect to (refused, or the name did not
// resolve): a closed-model connection backs off then.
bool nothing_to_connect_to(const client::exchange_result& r) {
  return r.result.outcome == client::verdict_outcome::failed &&
         (r.error.code == net::errc::connection_refused ||
          r.error.code == net::errc::resolve_failed);
}

// Returns true when there was nothing to connect to (nothing was exchanged).
asio::awaitable<bool> one_request(thread_state& ts, slot s, steady::time_point intended) {
  auto& run = *ts.run;
  const auto& settings = *run.settings;
  const auto& b = run.bodies[s.index % run.bodies.size()];
  const bool eicar = is_eicar_request(s.index, settings.eicar_ratio);
  codec::memory_body_source body(eicar ? b.infected : b.clean);
  const auto& service = settings.services[ts.sent++ % settings.services.size()];
  auto request = build_request(run, s, service, body, b);
  const bool sample = sampled(ts, s);
  request.want_record = sample;
  ++ts.in_flight;
  if (settings.live != nullptr) {
    ++settings.live->in_flight;
  }
  const auto started = steady::now();
  auto result = co_await ts.icap->exchange(std::move(request));
  const auto ended = steady::now();
  --ts.in_flight;
  if (settings.live != nullptr) {
    --settings.live->in_flight;
  }
  // Closed model: nothing is scheduled, a request is due when it starts.
  record(ts, s, result, sample, settings.model == load_model::closed ? started : intended, started,
         ended);
  co_return nothing_to_connect_to(result);
}

asio::awaitable<void> discard(asio::awaitable<bool> task) {
  (void)co_await std::move(task);
}

// Sleeps until `when`, or until run_control::stop (looked at every stop_check).
asio::awaitable<void> sleep_until(const shared_run& run, steady::time_point when) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!run.stopped() && steady::now() < when) {
    timer.expires_at(std::min(when, steady::now() + stop_check));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> measure_options(thread_state& ts) {
  const auto& settings = *ts.run->settings;
  if (!settings.client.fetch_options) {
    co_return;
  }
  const auto started = steady::now();
  auto reply = co_await ts.icap->options(settings.services.front(), false);
  if (reply.response) {
    ts.reached = true;
  }
  if (reply.ok()) {
    ts.measured.options.record(to_us(steady::now() - started));
  }
}

// A closed-model connection. After a refused connect it waits refused_backoff, doubling up to
// max_refused_backoff while refusals continue, so a server that went away is not hammered with
// thousands of connects a second; the first answered request resets the wait.
asio::awaitable<void> connection_loop(thread_state& ts) {
  co_await sleep_until(*ts.run, ts.run->t0);
  steady::duration backoff{0};
  for (;;) {
    const auto now = steady::now();
    const auto next = ts.run->take(now);
    if (!next) {
      break;
    }
    if (!co_await one_request(ts, *next, now)) {
      backoff = steady::duration{0};
      continue;
    }
    backoff = backoff == steady::duration{0}
                  ? steady::duration{refused_backoff}
                  : std::min<steady::duration>(backoff * 2, max_refused_backoff);
    co_await sleep_until(*ts.run, std::min(steady::now() + backoff, ts.run->end));
  }
}

// The open model's next intended time after `from` for one of `threads` threads: where the
// integral of the (possibly ramping) rate reaches one more request, integrated in 1 ms steps.
// nullopt when the run ends first or the rate stays 0 for ever.
std::optional<steady::time_point> next_intended(const shared_run& run, steady::time_point from,
                                                unsigned threads, double owed) {
  constexpr auto step = std::chrono::duration<double>(1ms);
  auto t = from;
  while (t < run.end) {
    const double rate = run.rate_at(t) / threads;
    if (rate > 0 && owed / rate <= step.count()) {
      return t + std::chrono::duration_cast<steady::duration>(
                     std::chrono::duration<double>(owed / rate));
    }
    if (rate <= 0 && t >= run.ramp_end) {
      return std::nullopt;
    }
    owed -= rate * step.count();
    t += 1ms;
  }
  return std::nullopt;
}

// The open model's scheduler for one thread; requests run detached, bounded by max_in_flight.
asio::awaitable<void> scheduler(thread_state& ts) {
  auto& run = *ts.run;
  const auto executor = co_await asio::this_coro::executor;
  // The first request is due at t0 unless the rate starts at 0.
  auto intended =
      run.rate_at(run.t0) > 0 ? std::optional(run.t0) : next_intended(run, run.t0, ts.threads, 1.0);
  while (intended) {
    co_await sleep_until(run, *intended);
    const auto next = run.take(*intended);
    if (!next) {
      break;
    }
    auto& counts = ts.measured.counts;
    if (ts.in_flight >= ts.max_in_flight) {
      counts.dropped += next->counted ? 1U : 0U;
    } else {
      counts.late += next->counted && steady::now() - *intended > late_after ? 1U : 0U;
      asio::co_spawn(executor, discard(one_request(ts, *next, *intended)), asio::detached);
    }
    intended = next_intended(run, *intended, ts.threads, 1.0);
  }
}

asio::awaitable<void> thread_main(thread_state& ts, std::size_t connections) {
  co_await measure_options(ts);
  const auto executor = co_await asio::this_coro::executor;
  if (ts.run->settings->model == load_model::open) {
    asio::co_spawn(executor, scheduler(ts), asio::detached);
    co_return;
  }
  for (std::size_t i = 0; i < connections; ++i) {
    asio::co_spawn(executor, connection_loop(ts), asio::detached);
  }
}

// True when any ICAP response arrives to OPTIONS; sets `error` otherwise.
bool probe(const generator_settings& s, std::string& error) {
  asio::io_context io;
  client::client icap(io.get_executor(), s.client);
  bool reached = false;
  auto task = [&]() -> asio::awaitable<void> {
    auto reply = co_await icap.options(s.services.front(), false);
    reached = reply.response.has_value();
    error = reply.error_message;
  };
  asio::co_spawn(io, task(), asio::detached);
  io.run();
  return reached;
}

void set_clock(const generator_settings& s, shared_run& run) {
  const auto now = steady::now();
  run.t0 = now + start_delay;
  if (s.start_at) {
    const auto wait = *s.start_at - std::chrono::system_clock::now();
    run.t0 = std::max(run.t0, now + std::chrono::duration_cast<steady::duration>(wait));
  }
  run.measure_start = run.t0 + s.warmup;
  run.ramp_end = run.t0;
  for (const auto& stage : s.ramp) {
    run.ramp_end += stage.duration;
  }
  run.end = steady::time_point::max();
  if (s.duration) {
    run.end = run.measure_start + *s.duration;
  } else if (!s.requests) {
    run.end = run.measure_start + default_duration;
  }
  if (s.requests) {
    run.request_limit = share_of(*s.requests, s.shard_index, s.shard_count);
  }
}

} // namespace

bool is_eicar_request(std::uint64_t index, double ratio) noexcept {
  if (ratio <= 0) {
    return false;
  }
  if (ratio >= 1) {
    return true;
  }
  const auto at = [&](std::uint64_t i) { return std::floor(static_cast<double>(i) * ratio); };
  return at(index + 1) > at(index);
}

std::uint64_t share_of(std::uint64_t total, unsigned index, unsigned count) noexcept {
  if (count == 0) {
    return total;
  }
  return total / count + (index < total % count ? 1 : 0);
}

std::string validate(const generator_settings& s) {
  if (s.services.empty()) {
    return "no ICAP service";
  }
  if (s.model == load_model::open && s.rate <= 0 && s.ramp.empty()) {
    return "the open model needs a rate above 0 or ramp stages";
  }
  if (s.model == load_model::closed && s.connections == 0) {
    return "the closed model needs at least one connection";
  }
  if (s.shard_count == 0 || s.shard_index >= s.shard_count) {
    return "shard " + std::to_string(s.shard_index + 1) + "/" + std::to_string(s.shard_count) +
           " is out of range";
  }
  if (s.threads == 0) {
    return "at least one thread is needed";
  }
  if (s.files.empty() && s.sizes.empty()) {
    return "no workload: give files or sizes";
  }
  if (s.eicar_ratio < 0 || s.eicar_ratio > 1) {
    return "the EICAR ratio must be between 0 and 1";
  }
  for (const auto& file : s.files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return file + ": not a readable file";
    }
  }
  return {};
}

namespace {

// Everything a run's coroutines refer to, on the heap so that a run whose requests were
// abandoned can be kept alive (see run_load). Members are destroyed clients first, then the
// io_contexts (no work is left in them then), then the states.
struct run_state {
  shared_run run;
  std::vector<thread_state> states;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<client::client>> clients;
};

// Runs whose requests were abandoned after a stop's grace. Their coroutines are suspended inside
// the client, which has no cancellation: destroying the clients or the io_contexts under them
// would free what the other still uses. They stay reachable here until the process exits.
std::mutex abandoned_mutex;
std::vector<std::unique_ptr<run_state>>* abandoned_runs = nullptr;

void keep_abandoned(std::unique_ptr<run_state> state) {
  std::lock_guard lock(abandoned_mutex);
  if (abandoned_runs == nullptr) {
    abandoned_runs = new std::vector<std::unique_ptr<run_state>>(); // NOLINT: never freed
  }
  abandoned_runs->push_back(std::move(state));
}

// Runs every thread's io_context to its end, or (with a run_control) until a stop's grace runs
// out: then stops them and returns true (requests were abandoned).
bool run_threads(run_state& state, run_control* control) {
  std::atomic<std::size_t> finished{0};
  std::vector<std::thread> workers;
  for (auto& context : state.contexts) {
    workers.emplace_back([&io = *context, &finished, control] {
      io.run();
      ++finished;
      if (control != nullptr) {
        control->notify();
      }
    });
  }
  const auto count = workers.size();
  bool abandoned = false;
  if (control != nullptr && !control->wait([&] { return finished.load() == count; })) {
    abandoned = true;
    for (auto& context : state.contexts) {
      context->stop();
    }
  }
  for (auto& w : workers) {
    w.join();
  }
  return abandoned;
}

} // namespace

void run_control::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    deadline_ = deadline_ ? std::min(*deadline_, deadline) : deadline;
    stopping_ = true;
  }
  changed_.notify_all();
}

void run_control::notify() {
  { std::lock_guard lock(mutex_); }
  changed_.notify_all();
}

bool run_control::wait(const std::function<bool()>& done) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (done()) {
      return true;
    }
    if (!deadline_) {
      changed_.wait(lock);
    } else if (changed_.wait_until(lock, *deadline_) == std::cv_status::timeout) {
      return done();
    }
  }
}

generator_result run_load(const generator_settings& s) {
  generator_result out;
  if (!probe(s, out.first_error)) {
    return out;
  }
  out.reached = true;
  if (s.control != nullptr && s.control->stop_requested()) {
    out.stopped = true; // stopped while the probe ran: nothing was sent
    out.measure_start = std::chrono::system_clock::now();
    return out;
  }
  auto state = std::make_unique<run_state>();
  auto& run = state->run;
  run.settings = &s;
  run.bodies = build_bodies(s, out.file_error);
  if (!out.file_error.empty()) {
    return out;
  }
  std::size_t connections =
      s.model == load_model::closed
          ? static_cast<std::size_t>(share_of(s.connections, s.shard_index, s.shard_count))
          : 0;
  const unsigned threads =
      s.model == load_model::closed
          ? static_cast<unsigned>(std::clamp<std::size_t>(connections, 1, s.threads))
          : s.threads;
  auto& states = state->states;
  states.resize(threads);
  const std::size_t in_flight_total =
      s.connections > 0 ? share_of(s.connections, s.shard_index, s.shard_count) : 0;
  set_clock(s, run);
  for (unsigned t = 0; t < threads; ++t) {
    auto& ts = states[t];
    ts.run = &run;
    ts.threads = threads;
    ts.rng.seed(0x1CA9U + t);
    ts.max_in_flight = in_flight_total > 0
                           ? std::max<std::size_t>(1, share_of(in_flight_total, t, threads))
                           : generator_settings::default_max_in_flight;
    auto settings = s.client;
    settings.retry_dead_idle = false; // a load test counts every failure the server caused
    settings.max_connections_per_server =
        s.model == load_model::closed ? share_of(connections, t, threads) : ts.max_in_flight;
    auto& context = *state->contexts.emplace_back(std::make_unique<asio::io_context>());
    ts.icap = state->clients
                  .emplace_back(std::make_unique<client::client>(context.get_executor(), settings))
                  .get();
    asio::co_spawn(context, thread_main(ts, share_of(connections, t, threads)), asio::detached);
  }
  const bool abandoned = run_threads(*state, s.control);
  out.stopped = run.stopped();
  out.measure_start = std::chrono::system_clock::now() -
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          steady::now() - run.measure_start);
  steady::time_point last = run.measure_start;
  for (auto& ts : states) {
    out.measured.merge(ts.measured);
    last = std::max(last, ts.last_completion);
    if (out.first_error.empty()) {
      out.first_error = ts.first_error;
    }
    out.abandoned += abandoned ? ts.in_flight : 0;
  }
  out.measured.elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(last - run.measure_start);
  if (abandoned) {
    keep_abandoned(std::move(state));
  }
  return out;
}

} // namespace icapkit::load
