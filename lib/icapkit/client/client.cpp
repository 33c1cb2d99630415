#include "icapkit/client/client.hpp"

#include "icapkit/client/connection_pool.hpp"
#include "icapkit/client/exchange.hpp"
#include "icapkit/client/record.hpp"
#include "icapkit/codec/serializer.hpp"
#include "icapkit/net/connect.hpp"
#include "icapkit/net/sha256.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <span>
#include <vector>

namespace icapkit::client {
namespace detail {

using clock = std::chrono::steady_clock;

// A connection taken from the pool (or newly opened) for one transaction; its slot goes back
// with give_back().
struct connection_slot {
  pool_key key;
  std::unique_ptr<net::stream> stream;
  bool reused = false;
  bool held = false; // a pool slot is taken
};

// The memory one transaction works in, kept for the next: the request's serializer (with its
// piece buffers) and the buffer the response is read into. Allocating them for every exchange
// cost more than the rest of a small exchange.
struct transaction_buffers {
  codec::serializer request;
  std::unique_ptr<char[]> response;
  std::size_t response_size = 0;

  std::span<char> response_space(std::size_t size) {
    if (response_size < size) {
      response = std::make_unique_for_overwrite<char[]>(size);
      response_size = size;
    }
    return {response.get(), size};
  }
};

class client_core {
public:
  client_core(asio::any_io_executor executor, client_settings settings)
      : executor_(std::move(executor)), settings_(std::move(settings)), pool_(executor_) {}

  // `cap`: an earlier end than settings.response_timeout gives (an exchange's own deadline).
  asio::awaitable<options_reply> options(const codec::uri& service, bool use_cache,
                                         std::optional<clock::time_point> cap = std::nullopt);
  asio::awaitable<exchange_result> exchange(exchange_request request);
  void close_idle() { pool_.close_idle(); }
  const client_settings& settings() const noexcept { return settings_; }

private:
  struct attempt {
    connection_slot slot;
    transaction_report report;
    std::string icap_head;
    std::string server_address;
    std::optional<std::uint16_t> server_port;
    std::optional<std::uint16_t> source_port;
    net::connect_timing connecting;               // a new connection's TCP and TLS times
    bool connected = false;                       // a new connection was opened (not reused)
    std::optional<exchange_phase> open_failed_in; // pool, connect or tls
  };
  struct exchange_plan;

  std::size_t cap_for(std::string_view service_key) const;
  std::shared_ptr<asio::ssl::context> tls_context(net::error_info& error);
  bool take_free_slot(const codec::uri& service, std::string_view service_key, attempt& out);
  asio::awaitable<void> open(const codec::uri& service, std::string_view service_key,
                             clock::time_point deadline, attempt& out);
  void give_back(connection_slot& slot, bool reusable);
  std::unique_ptr<transaction_buffers> take_buffers();
  void keep_buffers(std::unique_ptr<transaction_buffers> buffers);
  const codec::icap_request_head& request_head(codec::icap_method method,
                                               std::string_view service_key);
  codec::icap_request_head make_request_head(codec::icap_method method,
                                             std::string_view service_key) const;
  asio::awaitable<void> run_once(const codec::uri& service, std::string_view service_key,
                                 codec::serializer& request, const transaction_settings& ts,
                                 clock::time_point deadline, attempt& out);
  asio::awaitable<void> send_exchange(exchange_plan& plan, exchange_result& result);
  asio::awaitable<void> merge_original(exchange_plan& plan, exchange_result& result);
  void conclude(exchange_plan& plan, exchange_result& result);
  void record_of(const exchange_plan& plan, exchange_result& result) const;

  asio::any_io_executor executor_;
  client_settings settings_;
  connection_pool pool_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  options_cache cache_;
  std::vector<std::unique_ptr<transaction_buffers>> spare_buffers_;
  // By codec::icap_method (options, reqmod, respmod, other).
  using heads_by_method = std::array<std::optional<codec::icap_request_head>, 4>;
  std::map<std::string, heads_by_method, std::less<>> request_heads_; // by service URI
};

// service_key: the service URI in normal form (codec::uri::to_string), the options cache's key.
std::size_t client_core::cap_for(std::string_view service_key) const {
  std::size_t cap = std::max<std::size_t>(settings_.max_connections_per_server, 1);
  if (const auto* known = cache_.find(service_key, clock::now())) {
    if (known->max_connections && *known->max_connections > 0) {
      cap = std::min<std::size_t>(cap, *known->max_connections);
    }
  }
  return cap;
}

std::shared_ptr<asio::ssl::context> client_core::tls_context(net::error_info& error) {
  if (!tls_context_) {
    net::tls_options tls = settings_.tls;
    tls.enabled = true;
    tls_context_ = net::make_client_context(tls, error);
  }
  return tls_context_;
}

// Takes a free pool slot without waiting, with an idle connection when there is one (the usual
// case of a busy client, which then needs no coroutine to open); false when every slot is in use.
bool client_core::take_free_slot(const codec::uri& service, std::string_view service_key,
                                 attempt& out) {
  auto& slot = out.slot;
  slot.key = pool_key{service.host, service.port, service.tls()};
  auto lease = pool_.try_acquire(slot.key, cap_for(service_key));
  if (!lease) {
    return false;
  }
  slot.held = true;
  if (lease->stream) {
    slot.stream = std::move(lease->stream);
    slot.reused = true;
  }
  return true;
}

// Waits for a pool slot (bounded by the deadline) unless one is held already, then reuses an
// idle connection or opens one.
asio::awaitable<void> client_core::open(const codec::uri& service, std::string_view service_key,
                                        clock::time_point deadline, attempt& out) {
  auto& slot = out.slot;
  auto& error = out.report.error;
  if (!slot.held) {
    slot.key = pool_key{service.host, service.port, service.tls()};
    std::error_code ec;
    auto lease = co_await pool_.acquire(slot.key, cap_for(service_key), deadline, ec);
    if (ec) {
      error = net::error_info{ec, {}, "waiting for a free connection", service.authority()};
      out.open_failed_in = exchange_phase::pool;
      co_return;
    }
    slot.held = true;
    if (lease.stream) {
      slot.stream = std::move(lease.stream);
      slot.reused = true;
      co_return;
    }
  }
  std::shared_ptr<asio::ssl::context> context;
  if (service.tls() && !(context = tls_context(error))) {
    out.open_failed_in = exchange_phase::tls;
    co_return;
  }
  const auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  auto timeout = settings_.connect_timeout;
  if (timeout.count() <= 0 || remaining < timeout) {
    timeout = std::max(remaining, std::chrono::milliseconds{1});
  }
  net::tls_options tls = settings_.tls;
  tls.enabled = service.tls();
  std::string host = service.host;
  const std::uint16_t port = service.port;
  out.connected = true;
  slot.stream =
      co_await net::connect(executor_, host, port, tls, timeout, error, context, &out.connecting);
  if (!slot.stream) {
    out.open_failed_in =
        out.connecting.tcp_connected ? exchange_phase::tls : exchange_phase::connect;
  }
}

void client_core::give_back(connection_slot& slot, bool reusable) {
  if (!slot.held) {
    return;
  }
  slot.held = false;
  pool_.release(slot.key, reusable && settings_.keep_alive ? std::move(slot.stream) : nullptr);
  if (slot.stream) {
    slot.stream->close();
  }
}

std::unique_ptr<transaction_buffers> client_core::take_buffers() {
  if (spare_buffers_.empty()) {
    return std::make_unique<transaction_buffers>();
  }
  auto buffers = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return buffers;
}

// Keeps as many spares as exchanges usually run at once; a burst beyond that frees its own.
void client_core::keep_buffers(std::unique_ptr<transaction_buffers> buffers) {
  const auto most = std::max<std::size_t>(settings_.max_connections_per_server, 16);
  if (spare_buffers_.size() < most) {
    spare_buffers_.push_back(std::move(buffers));
  }
}

// The ICAP head of every `method` request to the service: built at the first one, then reused.
// The reference stays valid for the client's life.
const codec::icap_request_head& client_core::request_head(codec::icap_method method,
                                                          std::string_view service_key) {
  auto found = request_heads_.find(service_key);
  if (found == request_heads_.end()) {
    found = request_heads_.emplace(std::string(service_key), heads_by_method{}).first;
  }
  auto& head = found->second[static_cast<std::size_t>(method)];
  if (!head) {
    head = make_request_head(method, service_key);
  }
  return *head;
}

codec::icap_request_head client_core::make_request_head(codec::icap_method method,
                                                        std::string_view service_key) const {
  codec::icap_request_head head;
  head.method = std::string(codec::to_string(method));
  head.uri = std::string(service_key);
  if (!settings_.user_agent.empty()) {
    head.headers.add("User-Agent", settings_.user_agent);
  }
  if (settings_.x_client_ip) {
    head.headers.add("X-Client-IP", *settings_.x_client_ip);
  }
  for (const auto& field : settings_.icap_headers) {
    head.headers.add(field.name, field.value);
  }
  if (!settings_.keep_alive) {
    head.headers.add("Connection", "close");
  }
  return head;
}

// One connection and one transaction; the slot is given back before returning.
asio::awaitable<void> client_core::run_once(const codec::uri& service, std::string_view service_key,
                                            codec::serializer& request,
                                            const transaction_settings& ts,
                                            clock::time_point deadline, attempt& out) {
  out.icap_head = std::string(request.icap_head());
  if (!take_free_slot(service, service_key, out) || !out.slot.stream) {
    co_await open(service, service_key, deadline, out);
  }
  if (!out.slot.stream) {
    if (!out.report.error.code) {
      out.report.error.code = net::errc::connection_refused;
    }
    out.report.timed_out = net::is_timeout(out.report.error.code);
    out.report.error_message = describe_failure(out.report.error);
    give_back(out.slot, false);
    co_return;
  }
  auto& stream = *out.slot.stream;
  out.server_address = stream.remote_address();
  out.server_port = stream.remote_endpoint().port();
  out.source_port = stream.local_endpoint().port();
  stream.set_deadline(deadline);
  out.report = co_await run_transaction(stream, request, ts);
  give_back(out.slot, out.report.reusable);
}

asio::awaitable<options_reply> client_core::options(const codec::uri& service, bool use_cache,
                                                    std::optional<clock::time_point> cap) {
  options_reply reply;
  const auto key = service.to_string();
  const auto start = clock::now();
  if (use_cache) {
    if (const auto* known = cache_.find(key, start)) {
      reply.options = *known;
      reply.from_cache = true;
      co_return reply;
    }
  }
  codec::request_options opt;
  opt.options_null_body = true; // as c-icap-client: "Encapsulated: null-body=0"
  opt.piece_size = settings_.piece_size;
  transaction_settings ts;
  ts.method = codec::icap_method::options;
  ts.io_timeout = settings_.io_timeout;
  ts.piece_size = settings_.piece_size;
  const auto deadline =
      cap ? std::min(*cap, start + settings_.response_timeout) : start + settings_.response_timeout;
  auto buffers = take_buffers();
  ts.read_buffer = buffers->response_space(settings_.piece_size);
  attempt run;
  for (int tries = 0; tries < 2; ++tries) {
    auto& request = buffers->request;
    if (auto ec = request.start_request(request_head(codec::icap_method::options, key), {}, opt)) {
      run.report.error = net::error_info{ec, {}, "building the OPTIONS request", {}};
      run.report.error_message = describe_failure(run.report.error);
      break;
    }
    run = attempt{};
    co_await run_once(service, key, request, ts, deadline, run);
    // An idle connection the server had closed meanwhile: once more on a fresh one (the other
    // idle ones to that server went the same way: a restarted server drops them all).
    if (!(run.report.error.code && run.slot.reused && !run.report.any_response_bytes)) {
      break;
    }
    pool_.close_idle(run.slot.key);
    if (!settings_.retry_dead_idle) {
      break;
    }
  }
  keep_buffers(std::move(buffers));
  reply.latency = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  reply.response = run.report.response;
  reply.connection_reused = run.slot.reused;
  if (run.report.error.code) {
    reply.error = run.report.error;
    reply.error_message = run.report.error_message;
    co_return reply;
  }
  auto parsed = parse_service_options(*run.report.response);
  if (!parsed) {
    reply.error_message = parsed.error().message;
    co_return reply;
  }
  cache_.store(key, parsed.value(), clock::now());
  reply.options = std::move(parsed).value();
  co_return reply;
}

struct client_core::exchange_plan {
  exchange_request request;
  std::string service_key; // request.service in normal form: the options cache's key
  codec::request_options opt;
  clock::time_point start;
  clock::time_point deadline;
  std::unique_ptr<codec::body_source> reopened;   // the body again, for a retry
  std::unique_ptr<net::hashing_body_source> sent; // what the serializer pulled, hashed
  attempt run;
  std::uint64_t merged_bytes = 0; // original bytes appended after a 206
  net::error_info late_error;     // a failure after the response (206 merge, sink finish)
  bool options_failed = false;
};

namespace {

std::chrono::microseconds to_us(clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

// Where a failed transaction stopped: the preview decision it waited for, the request it was
// still sending, or the response.
exchange_phase failed_phase(const transaction_report& report) {
  if (report.preview_ended != clock::time_point{} &&
      report.preview_decided == clock::time_point{}) {
    return exchange_phase::preview;
  }
  if (!report.request_complete && !report.any_response_bytes) {
    return exchange_phase::send;
  }
  return exchange_phase::response;
}

std::optional<std::uint64_t> preview_for(const client_settings& settings,
                                         const service_options* options,
                                         std::string_view extension) {
  if (!settings.enable_preview) {
    return std::nullopt;
  }
  if (settings.preview_override) {
    // An explicit size from the user, still never above what the server asked for.
    if (options && options->preview) {
      return std::min(*settings.preview_override, *options->preview);
    }
    return settings.preview_override;
  }
  if (!options) {
    return settings.preview_size;
  }
  return options->preview_size_for(extension, settings.preview_size, settings.enable_preview);
}

bool same_digest(const std::array<unsigned char, 32>& a, const std::array<unsigned char, 32>& b) {
  return std::equal(a.begin(), a.end(), b.begin());
}

} // namespace

// Sends the request (once more on a fresh connection when a reused one turned out dead before
// any answer, the body can be produced again and settings.retry_dead_idle).
asio::awaitable<void> client_core::send_exchange(exchange_plan& plan, exchange_result& result) {
  auto& request = plan.request;
  transaction_settings ts;
  ts.method = request.method;
  ts.io_timeout = settings_.io_timeout;
  ts.piece_size = settings_.piece_size;
  ts.sink = request.content_sink;
  ts.body_ready = request.body_ready;
  auto buffers = take_buffers();
  ts.read_buffer = buffers->response_space(settings_.piece_size);
  codec::body_source* body = request.body;
  for (int tries = 0; tries < 2; ++tries) {
    plan.sent = body != nullptr ? std::make_unique<net::hashing_body_source>(*body) : nullptr;
    codec::encapsulated_parts parts;
    parts.request_head = request.http_request ? &*request.http_request : nullptr;
    parts.response_head = request.http_response ? &*request.http_response : nullptr;
    parts.body = plan.sent.get();
    auto& serializer = buffers->request;
    const auto& head = request_head(request.method, plan.service_key);
    plan.run = attempt{};
    if (auto ec = serializer.start_request(head, parts, plan.opt)) {
      plan.run.report.error = net::error_info{ec, {}, "building the ICAP request", {}};
      plan.run.report.error_message = describe_failure(plan.run.report.error);
      break;
    }
    co_await run_once(request.service, plan.service_key, serializer, ts, plan.deadline, plan.run);
    result.body_bytes_sent = serializer.body_bytes_sent();
    const auto& report = plan.run.report;
    const bool dead_idle = report.error.code && plan.run.slot.reused && !report.any_response_bytes;
    const bool replayable = body == nullptr || plan.sent->bytes_read() == 0 || request.reopen_body;
    if (dead_idle) {
      // The other idle connections to that server went the same way (a restarted server drops
      // them all): the next exchange, and a retry here, connect anew.
      pool_.close_idle(plan.run.slot.key);
    }
    if (!dead_idle || !replayable || tries > 0 || !settings_.retry_dead_idle) {
      break;
    }
    if (body != nullptr && plan.sent->bytes_read() > 0) {
      plan.reopened = request.reopen_body();
      body = plan.reopened.get();
      if (body == nullptr) {
        break;
      }
    }
  }
  keep_buffers(std::move(buffers));
}

// 206 "use-original-body=N": the original body from byte N follows the returned chunks. A body
// still arriving (a 206 answered in preview) is waited for with body_ready, until the deadline.
asio::awaitable<void> client_core::merge_original(exchange_plan& plan, exchange_result& result) {
  auto& report = plan.run.report;
  auto* sink = plan.request.content_sink;
  if (report.error.code || !report.use_original_body || sink == nullptr ||
      plan.request.body == nullptr) {
    co_return;
  }
  auto fail = [&](std::error_code ec, std::string detail) {
    plan.late_error = net::error_info{ec, {}, std::move(detail), {}};
  };
  if (!plan.request.reopen_body) {
    fail(std::make_error_code(std::errc::operation_not_supported),
         "206 use-original-body needs the original body again");
    co_return;
  }
  auto original = plan.request.reopen_body();
  if (!original) {
    fail(std::make_error_code(std::errc::no_such_file_or_directory), "reopening the original body");
    co_return;
  }
  std::vector<char> buffer(settings_.piece_size);
  std::uint64_t skip = *report.use_original_body;
  for (;;) {
    std::error_code ec;
    const std::size_t n = original->read(buffer, ec);
    if (ec == std::errc::operation_would_block && plan.request.body_ready &&
        clock::now() < plan.deadline) {
      co_await plan.request.body_ready();
      continue;
    }
    if (ec == std::errc::operation_would_block && plan.request.body_ready) {
      fail(net::errc::deadline_exceeded, "waiting for the original body for the 206 merge");
      co_return;
    }
    if (ec) {
      fail(ec, "reading the original body for the 206 merge");
      co_return;
    }
    if (n == 0) {
      break;
    }
    std::string_view piece(buffer.data(), n);
    const auto skipped = static_cast<std::size_t>(std::min<std::uint64_t>(skip, n));
    piece.remove_prefix(skipped);
    skip -= skipped;
    if (auto write_ec = sink->write(piece)) {
      fail(write_ec, "writing the returned content");
      co_return;
    }
    plan.merged_bytes += piece.size();
  }
  result.returned_body_bytes = report.returned_body_bytes + plan.merged_bytes;
}

namespace {

// Whether the server returned something else than what was sent. Header fields are not compared:
// servers add Via and may rewrite Content-Length or Date on an unchanged copy; the start lines and
// the body bytes (SHA-256) decide.
bool content_changed(const exchange_request& request, const transaction_report& report,
                     const net::hashing_body_source* sent) {
  if (!report.response || report.response->status == 204) {
    return false;
  }
  if (request.method == codec::icap_method::reqmod) {
    if (report.returned_response) {
      return true; // the request was replaced by an answer (a block page)
    }
    if (report.returned_request && request.http_request &&
        (report.returned_request->method != request.http_request->method ||
         report.returned_request->target != request.http_request->target)) {
      return true;
    }
  } else if (report.returned_response && request.http_response &&
             report.returned_response->status != request.http_response->status) {
    return true;
  }
  if (report.use_original_body) {
    return report.returned_body_bytes > 0 || *report.use_original_body > 0;
  }
  const std::uint64_t sent_bytes = sent != nullptr ? sent->bytes_read() : 0;
  if (!report.returned_body_section) {
    return sent_bytes > 0;
  }
  if (sent == nullptr) {
    return report.returned_body_bytes > 0;
  }
  return sent_bytes != report.returned_body_bytes ||
         !same_digest(sent->digest(), report.returned_body_digest);
}

} // namespace

asio::awaitable<exchange_result> client_core::exchange(exchange_request request) {
  exchange_result result;
  exchange_plan plan;
  plan.request = std::move(request);
  plan.service_key = plan.request.service.to_string();
  plan.start = clock::now();
  // The cached options are read in place (valid until the next co_await); a miss fetches them.
  const service_options* options = nullptr;
  std::optional<service_options> fetched;
  if (settings_.fetch_options && (options = cache_.find(plan.service_key, plan.start)) == nullptr) {
    const auto asked = clock::now();
    auto reply = co_await this->options(plan.request.service, false, plan.request.deadline);
    result.timings.options = to_us(clock::now() - asked);
    if (!reply.ok()) {
      plan.options_failed = true;
      plan.run.report.error = reply.error;
      plan.run.report.error_message = reply.error_message;
      plan.run.report.response = reply.response;
      plan.run.report.timed_out = net::is_timeout(reply.error.code);
      plan.run.slot.reused = reply.connection_reused;
      conclude(plan, result);
      co_return result;
    }
    fetched = std::move(reply.options);
    options = &*fetched;
  }
  if (options != nullptr &&
      options->for_extension(plan.request.file_extension) == transfer_decision::ignore) {
    result.not_sent = true;
    conclude(plan, result);
    co_return result;
  }
  plan.opt.preview = preview_for(settings_, options, plan.request.file_extension);
  plan.opt.allow_204 = settings_.allow_204;
  plan.opt.allow_206 = settings_.allow_206 && (options == nullptr || options->allow_206);
  plan.opt.piece_size = settings_.piece_size;
  result.preview_sent = plan.opt.preview;
  plan.start = clock::now();
  plan.deadline = plan.start + settings_.response_timeout;
  if (plan.request.deadline && *plan.request.deadline < plan.deadline) {
    plan.deadline = *plan.request.deadline;
  }
  co_await send_exchange(plan, result);
  if (plan.run.report.use_original_body) {
    co_await merge_original(plan, result);
  }
  conclude(plan, result);
  co_return result;
}

void client_core::conclude(exchange_plan& plan, exchange_result& result) {
  auto& report = plan.run.report;
  auto& request = plan.request;
  if (!report.error.code && plan.late_error.code) {
    report.error = plan.late_error;
    report.error_message = describe_failure(plan.late_error);
  }
  if (!report.error.code && report.returned_body_section && request.content_sink != nullptr) {
    if (auto ec = request.content_sink->finish()) {
      report.error = net::error_info{ec, {}, "writing the returned content", {}};
      report.error_message = describe_failure(report.error);
    }
  }
  if (result.returned_body_bytes == 0) {
    result.returned_body_bytes = report.returned_body_bytes;
  }
  result.content_changed = !report.error.code && content_changed(request, report, plan.sent.get());
  result.got_100 = report.got_100;
  result.decided_in_preview =
      !report.error.code && plan.opt.preview && !report.got_100 && report.response.has_value();
  result.timed_out = report.timed_out;
  if (plan.run.connected) {
    result.timings.connect = to_us(plan.run.connecting.tcp);
    if (plan.run.connecting.tcp_connected && request.service.tls()) {
      result.timings.tls = to_us(plan.run.connecting.handshake);
    }
  }
  if (report.preview_decided != clock::time_point{}) {
    result.timings.preview_decision = to_us(report.preview_decided - report.preview_ended);
  }
  if (report.error.code) {
    result.failed_in = plan.options_failed       ? exchange_phase::options
                       : plan.run.open_failed_in ? *plan.run.open_failed_in
                                                 : failed_phase(report);
  }
  // Avi's latency runs from the first byte sent to the last byte received; an exchange that
  // failed has no last byte, so it counts until the failure (a timeout shows its full wait).
  const bool sent = report.first_byte_sent != clock::time_point{};
  const bool transferred = sent && report.last_byte_received >= report.first_byte_sent;
  const auto begin = sent ? report.first_byte_sent : plan.start;
  result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      !report.error.code && transferred ? report.last_byte_received - begin : clock::now() - begin);
  result.slow = result.latency > settings_.slow_threshold;
  result.connection_reused = plan.run.slot.reused;
  result.body_failed = report.source_failed;
  result.error = report.error;
  result.error_message = report.error_message;
  result.icap_response = std::move(report.response);
  result.returned_request = std::move(report.returned_request);
  result.returned_response = std::move(report.returned_response);

  classify_input in;
  in.method = request.method;
  in.response = result.icap_response ? &*result.icap_response : nullptr;
  in.http_request = result.returned_request ? &*result.returned_request : nullptr;
  in.http_response = result.returned_response ? &*result.returned_response : nullptr;
  if (request.http_response) {
    in.sent_http_status = request.http_response->status;
  }
  in.content_changed = result.content_changed;
  if (report.returned_body_section || report.use_original_body) {
    in.returned_body_length = result.returned_body_bytes;
  }
  in.use_original_body = report.use_original_body;
  in.error = report.error.code;
  in.error_message = report.error_message;
  if (result.not_sent) {
    result.result.outcome = verdict_outcome::passed;
    result.result.rule = "Transfer-Ignore: not sent to the service";
  } else {
    result.result = classify(in, settings_.policy);
  }
  fill_significance(result.result, result.significance);
  result.significance.slow = result.slow;
  result.significance.timed_out = result.significance.timed_out || result.timed_out;

  if (request.want_record) {
    record_of(plan, result);
  }
}

void client_core::record_of(const exchange_plan& plan, exchange_result& result) const {
  const auto& request = plan.request;
  record_inputs rec;
  rec.service = &request.service;
  rec.method = request.method;
  rec.http_request = request.http_request ? &*request.http_request : nullptr;
  rec.icap_head_sent = plan.run.icap_head;
  rec.response = result.icap_response ? &*result.icap_response : nullptr;
  rec.server_address = plan.run.server_address;
  rec.server_port = plan.run.server_port;
  rec.source_port = plan.run.source_port;
  rec.latency = result.latency;
  rec.complete_body_sent =
      result.not_sent ? std::optional<bool>{} : plan.run.report.request_complete;
  rec.vendor = settings_.vendor;
  rec.nsx_status_url = settings_.nsx_status_url;
  rec.pool_name = settings_.pool_name;
  rec.pool_uuid = settings_.pool_uuid;
  build_record(rec, result.result, result.record);
}

} // namespace detail

std::string_view to_string(exchange_phase phase) noexcept {
  switch (phase) {
  case exchange_phase::options:
    return "options";
  case exchange_phase::pool:
    return "pool";
  case exchange_phase::connect:
    return "connect";
  case exchange_phase::tls:
    return "tls";
  case exchange_phase::send:
    return "send";
  case exchange_phase::preview:
    return "preview";
  case exchange_phase::response:
    return "response";
  }
  return "response";
}

client::client(asio::any_io_executor executor, client_settings settings)
    : core_(std::make_unique<detail::client_core>(std::move(executor), std::move(settings))) {}

client::~client() = default;

asio::awaitable<options_reply> client::options(const codec::uri& service, bool use_cache) {
  return core_->options(service, use_cache);
}

asio::awaitable<exchange_result> client::exchange(exchange_request request) {
  return core_->exchange(std::move(request));
}

void client::close_idle() {
  core_->close_idle();
}

const client_settings& client::settings() const noexcept {
  return core_->settings();
}

} // namespace icapkit::client
