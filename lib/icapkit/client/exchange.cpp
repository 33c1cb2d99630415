#include "icapkit/client/exchange.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/net/sha256.hpp"

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>
#include <memory>

namespace icapkit::client::detail {

namespace {

using clock = std::chrono::steady_clock;

// Collects the final response's heads and streams its body to the sink and the hash.
class response_collector final : public codec::parser_events {
public:
  response_collector(transaction_report& report, body_sink* sink) : report_(report), sink_(sink) {}

  // Forgets a 100 Continue so the next message starts clean.
  void reset_message() {
    head_ = {};
    head_complete_ = false;
  }
  bool head_complete() const noexcept { return head_complete_; }
  int status() const noexcept { return head_.status; }
  std::error_code sink_error() const noexcept { return sink_error_; }
  bool body_started() const noexcept { return body_started_; }
  std::array<unsigned char, 32> digest() const { return hash_.digest(); }
  codec::icap_response_head take_head() { return std::move(head_); }

  void on_icap_status_line(codec::version v, int status, std::string_view reason) override {
    head_.icap_version = v;
    head_.status = status;
    head_.reason = std::string(reason);
  }
  void on_icap_header(std::string_view name, std::string_view value) override {
    head_.headers.add(std::string(name), std::string(value));
  }
  void on_icap_headers_complete() override { head_complete_ = true; }
  void on_section(codec::section s) override {
    if (codec::is_body(s) && s != codec::section::null_body) {
      report_.returned_body_section = true;
      body_started_ = true;
    }
  }
  void on_http_request_line(std::string_view method, std::string_view target,
                            codec::version v) override {
    auto& head = report_.returned_request.emplace();
    head.method = std::string(method);
    head.target = std::string(target);
    head.http_version = v;
    current_ = &head.headers;
  }
  void on_http_status_line(codec::version v, int status, std::string_view reason) override {
    auto& head = report_.returned_response.emplace();
    head.http_version = v;
    head.status = status;
    head.reason = std::string(reason);
    current_ = &head.headers;
  }
  void on_http_header(std::string_view name, std::string_view value) override {
    if (current_ != nullptr) {
      current_->add(std::string(name), std::string(value));
    }
  }
  void on_chunk_header(std::uint64_t size, const codec::chunk_extensions& ext) override {
    if (size == 0 && ext.use_original_body) {
      report_.use_original_body = ext.use_original_body;
    }
  }
  void on_body(std::string_view data) override {
    hash_.update(data);
    report_.returned_body_bytes += data.size();
    if (sink_ != nullptr && !sink_error_) {
      sink_error_ = sink_->write(data);
    }
  }

private:
  transaction_report& report_;
  body_sink* sink_;
  codec::icap_response_head head_;
  bool head_complete_ = false;
  bool body_started_ = false;
  codec::header_list* current_ = nullptr;
  net::sha256 hash_;
  std::error_code sink_error_;
};

// What the writer, the reader and the idle watchdog share; lives in run_transaction's frame
// until every helper has ended (running == 0).
struct shared_state {
  shared_state(net::stream& c, codec::serializer& r,
               const std::function<asio::awaitable<void>()>& ready)
      : connection(c), request(r), body_ready(ready), decision(c.get_executor()),
        watchdog(c.get_executor()), joined(c.get_executor()) {}

  net::stream& connection;
  codec::serializer& request;
  const std::function<asio::awaitable<void>()>& body_ready; // may be empty
  asio::steady_timer decision; // the writer waits here for the preview decision
  asio::steady_timer watchdog;
  asio::steady_timer joined; // cancelled whenever a helper coroutine ends
  std::size_t running = 0;
  clock::time_point last_progress = clock::now();
  bool continue_received = false;
  // A final response head arrived. It ends a pending preview, but mid-body the server may be
  // streaming its answer (an echo) and still need the rest: keep sending (ERRATA e7).
  bool final_answer = false;
  bool stop_sending = false; // the response is over: anything unsent is not wanted
  bool finished = false;     // the reader is done: helpers wind down
  bool idle_fired = false;
  bool first_byte_sent = false;
  clock::time_point first_byte_time{};
  clock::time_point preview_ended{};   // the preview's last chunk went out
  clock::time_point preview_decided{}; // then a 100 or a final head arrived
  net::error_info write_error;
  std::error_code source_error; // the body source failed: the request cannot be finished
};

void wake(asio::steady_timer& timer) {
  timer.cancel();
}

asio::awaitable<void> wait_for_decision(shared_state& state) {
  state.decision.expires_at(clock::time_point::max());
  std::error_code ignored;
  co_await state.decision.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Pulls pieces from the serializer and writes them, pausing at the preview decision.
asio::awaitable<void> write_request(shared_state& state) {
  auto& request = state.request;
  while (!state.finished || request.awaiting_preview_decision()) {
    if (request.awaiting_preview_decision()) {
      if (state.final_answer || state.stop_sending || state.finished) {
        request.stop_after_preview(); // the preview ended properly: the message is complete
        break;
      }
      if (state.continue_received) {
        request.continue_after_preview();
        continue;
      }
      co_await wait_for_decision(state);
      continue;
    }
    if (state.stop_sending) {
      break; // an early final response: the rest of the body is not wanted
    }
    std::error_code ec;
    const auto piece = request.next(ec);
    if (!ec && piece.empty() && request.waiting_for_body() && !state.body_ready) {
      ec = std::make_error_code(std::errc::operation_would_block); // nobody to wait with
    }
    if (ec) {
      state.source_error = request.source_error() ? request.source_error() : ec;
      state.connection.close(); // the message cannot be ended: the server must not wait for it
      break;
    }
    if (piece.empty()) {
      if (request.done()) {
        break;
      }
      if (request.waiting_for_body()) {
        // Bounded by the callback's contract (it returns within ~100 ms); an early answer is
        // seen at the top of the loop once it returns.
        co_await state.body_ready();
        state.last_progress = clock::now();
      }
      continue; // awaiting the preview decision or more body now
    }
    if (!state.first_byte_sent) {
      state.first_byte_sent = true;
      state.first_byte_time = clock::now();
    }
    if (state.preview_ended == clock::time_point{} &&
        (request.awaiting_preview_decision() || request.ieof_sent())) {
      // Marked before the write: the answer may be read before this coroutine resumes.
      state.preview_ended = clock::now();
    }
    co_await state.connection.write_all(asio::buffer(piece.data(), piece.size()), ec);
    if (ec) {
      state.write_error = state.connection.last_error();
      if (!state.write_error.code) {
        state.write_error.code = ec;
      }
      break;
    }
    state.last_progress = clock::now();
  }
}

// Closes the connection when neither direction moved for io_timeout. A timer handler that
// re-arms itself while there is progress (cheaper than a coroutine per transaction); counted
// in state.running until it stops, so the state outlives it.
void watch_idle(shared_state& state, std::chrono::milliseconds io_timeout) {
  if (state.finished || io_timeout.count() <= 0) {
    return;
  }
  const auto expiry = state.last_progress + io_timeout;
  if (clock::now() >= expiry) {
    state.idle_fired = true;
    state.connection.close();
    return;
  }
  ++state.running;
  state.watchdog.expires_at(expiry);
  state.watchdog.async_wait([&state, io_timeout](std::error_code) {
    --state.running;
    watch_idle(state, io_timeout);
    wake(state.joined);
  });
}

void spawn_helper(shared_state& state, asio::awaitable<void> task) {
  ++state.running;
  asio::co_spawn(state.connection.get_executor(), std::move(task),
                 [&state](std::exception_ptr failure) {
                   --state.running;
                   wake(state.joined);
                   if (failure) {
                     std::rethrow_exception(failure); // a programming error, not peer input
                   }
                 });
}

net::error_info error_with_peer(std::error_code code, const net::stream& connection,
                                std::string detail = {}) {
  return net::error_info{code, {}, std::move(detail), connection.peer()};
}

// The error a failed read stands for, given what the other coroutines saw.
net::error_info read_failure(shared_state& state, codec::parser& parser, std::error_code ec) {
  if (state.idle_fired) {
    return error_with_peer(net::errc::idle_timeout, state.connection);
  }
  if (state.source_error) {
    return net::error_info{state.source_error, {}, "reading the body to send", {}};
  }
  if (ec == net::errc::closed_by_peer) {
    std::error_code eof;
    parser.put_eof(eof);
    return error_with_peer(net::errc::closed_by_peer, state.connection,
                           parser.at_message_start() ? "before answering"
                                                     : "in the middle of the response");
  }
  auto info = state.connection.last_error();
  if (!info.code) {
    info = error_with_peer(ec, state.connection);
  }
  return info;
}

struct reader_context {
  shared_state& state;
  transaction_report& report;
  const transaction_settings& settings;
  response_collector& collector;
  codec::parser& parser;
};

// The first answer after the preview ended decides it.
void note_decision(shared_state& state) {
  if (state.preview_ended != clock::time_point{} && state.preview_decided == clock::time_point{}) {
    state.preview_decided = clock::now();
  }
}

// A 100 Continue: honoured only while the writer has a preview pending (EID 5893).
void on_continue(reader_context& ctx) {
  auto& state = ctx.state;
  if (state.request.ieof_sent() || state.continue_received || state.request.done()) {
    ctx.report.ignored_100 = true;
    return;
  }
  ctx.report.got_100 = true;
  state.continue_received = true;
  note_decision(state);
  wake(state.decision);
}

// Feeds one read's bytes; true when the response is complete or failed.
bool feed(reader_context& ctx, std::string_view data) {
  auto& report = ctx.report;
  while (!data.empty()) {
    std::error_code ec;
    data.remove_prefix(ctx.parser.put(data, ec));
    if (ec) {
      report.error = error_with_peer(ec, ctx.state.connection);
      return true;
    }
    if (auto sink_ec = ctx.collector.sink_error()) {
      report.error = net::error_info{sink_ec, {}, "writing the returned content", {}};
      return true;
    }
    if (ctx.collector.head_complete() && ctx.collector.status() != 100 && !ctx.state.final_answer) {
      ctx.state.final_answer = true; // answers a pending preview (pitfall 5)
      note_decision(ctx.state);
      wake(ctx.state.decision);
    }
    if (ctx.parser.is_done()) {
      if (ctx.collector.status() == 100) {
        on_continue(ctx);
        ctx.parser.reset();
        ctx.collector.reset_message();
        continue;
      }
      report.response = ctx.collector.take_head();
      report.response_complete = true;
      if (!data.empty()) {
        // One request, one response: what follows (a body after null-body, a second answer)
        // belongs to no message, and would be read as the next request's answer.
        report.error = error_with_peer(codec::errc::data_after_response, ctx.state.connection);
      }
      return true;
    }
  }
  return false;
}

// One read of the response: its bytes, or the failure. True when the response is complete or
// failed.
bool take_read(reader_context& ctx, std::string_view data, std::error_code ec) {
  if (ec) {
    ctx.report.error = read_failure(ctx.state, ctx.parser, ec);
    return true;
  }
  const auto now = clock::now();
  ctx.state.last_progress = now;
  ctx.report.last_byte_received = now;
  ctx.report.any_response_bytes = true;
  return feed(ctx, data);
}

// The caller's read buffer, or one of piece_size in `own`.
std::span<char> read_space(const transaction_settings& settings, std::unique_ptr<char[]>& own) {
  if (!settings.read_buffer.empty()) {
    return settings.read_buffer;
  }
  own = std::make_unique_for_overwrite<char[]>(settings.piece_size);
  return {own.get(), settings.piece_size};
}

bool wants_close(const codec::icap_response_head& head) {
  for (const auto& field : head.headers) {
    if (codec::iequals(field.name, "Connection") &&
        field.value.find("close") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// After the reader: decide whether the writer must be cut off, and tell the helpers to end.
void stop_helpers(shared_state& state, reader_context& ctx) {
  auto& report = ctx.report;
  const bool request_can_end = state.request.done() || state.request.awaiting_preview_decision();
  if (report.error.code || !request_can_end) {
    // A failure, or an early response while the body was still going out: the request was not
    // finished, so the connection cannot carry another one (ERRATA e7).
    state.connection.close();
  }
  state.finished = true;
  state.stop_sending = true;
  // The watchdog stops now; a last write still in flight falls back on the stream's own timer.
  state.connection.set_idle_timeout(ctx.settings.io_timeout);
  wake(state.decision);
  wake(state.watchdog);
}

// What the reader saw and the writer did, once both have ended.
void complete_report(shared_state& state, reader_context& ctx) {
  auto& report = ctx.report;
  auto& connection = state.connection;
  if (!report.error.code && state.source_error) {
    report.error = net::error_info{state.source_error, {}, "reading the body to send", {}};
  }
  if (report.error.code && !report.response &&
      (ctx.collector.head_complete() || ctx.parser.icap_head_read()) &&
      ctx.collector.status() != 100) {
    // The exchange failed after the server's ICAP head (reset mid-body, a head whose framing is
    // wrong): the record still says what the server answered.
    report.response = ctx.collector.take_head();
  }
  report.first_byte_sent = state.first_byte_time;
  report.preview_ended = state.preview_ended;
  report.preview_decided = state.preview_decided;
  if (report.returned_body_section) {
    report.returned_body_digest = ctx.collector.digest();
  }
  report.request_complete = state.request.done() && !state.write_error.code && !state.source_error;
  report.source_failed = static_cast<bool>(state.source_error);
  report.reusable = !report.error.code && report.response_complete && report.request_complete &&
                    connection.is_open() && !wants_close(*report.response);
  if (!report.reusable) {
    connection.close();
  }
  report.timed_out = net::is_timeout(report.error.code);
  if (report.error.code) {
    report.error_message = describe_failure(report.error);
  }
}

} // namespace

asio::awaitable<transaction_report> run_transaction(net::stream& connection,
                                                    codec::serializer& request,
                                                    const transaction_settings& settings) {
  transaction_report report;
  shared_state state(connection, request, settings.body_ready);
  response_collector collector(report, settings.sink);
  codec::parser parser(codec::parse_mode::icap_response, collector);
  parser.set_request_method(settings.method);
  reader_context ctx{state, report, settings, collector, parser};
  std::unique_ptr<char[]> own_buffer;
  const auto buffer = read_space(settings, own_buffer);

  // Reads may legitimately wait while a large body goes out, so the stream's per-operation idle
  // timer is off and the watchdog measures progress in either direction instead.
  connection.set_idle_timeout(std::chrono::milliseconds{0});
  spawn_helper(state, write_request(state));
  watch_idle(state, settings.io_timeout);
  // The reader is this coroutine (the loops are here, not in coroutines of their own: a
  // coroutine frame per step costs an allocation per exchange).
  for (bool done = false; !done;) {
    std::error_code ec;
    const std::size_t n =
        co_await connection.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    done = take_read(ctx, std::string_view(buffer.data(), n), ec);
  }
  stop_helpers(state, ctx);
  while (state.running > 0) { // the helpers use `state`: it must outlive them
    state.joined.expires_at(clock::time_point::max());
    std::error_code ignored;
    co_await state.joined.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  complete_report(state, ctx);
  co_return report;
}

std::string_view codec_errc_name(const std::error_code& ec) noexcept {
  return codec::errc_name(ec);
}

std::string describe_failure(const net::error_info& error) {
  if (!error.code) {
    return {};
  }
  if (error.code.category() == net::net_category()) {
    return net::describe(error);
  }
  const auto name = codec_errc_name(error.code);
  if (!name.empty()) {
    std::string text = "protocol error";
    if (!error.peer.empty()) {
      text += " from " + error.peer;
    }
    text += ": " + std::string(name) + " (" + error.code.message() + ")";
    if (!error.detail.empty()) {
      text += ": " + error.detail;
    }
    return text;
  }
  std::string text = error.detail.empty() ? std::string() : error.detail + ": ";
  return text + error.code.message();
}

} // namespace icapkit::client::detail
