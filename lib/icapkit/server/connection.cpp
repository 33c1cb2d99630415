#include "icapkit/server/connection.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/net/errc.hpp"
#include "icapkit/server/response_head.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>

namespace icapkit::server::detail {

namespace {

constexpr std::size_t read_buffer_size = 16 * 1024;

request_info connection_info(const net::stream& s) {
  request_info info;
  info.client_address = s.remote_endpoint().address().to_string();
  info.client_port = s.remote_endpoint().port();
  info.tls = s.is_tls();
  return info;
}

std::string client_text(const net::stream& s) {
  const auto& ep = s.remote_endpoint();
  const auto address = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

bool asks_close(const codec::header_list& headers) {
  const auto value = headers.get("Connection");
  if (!value) {
    return false;
  }
  std::string lower(*value);
  for (auto& c : lower) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return lower.find("close") != std::string::npos;
}

} // namespace

connection::connection(server_state& state, worker& owner, std::unique_ptr<net::stream> stream,
                       int fd)
    : state_(state), owner_(owner), stream_(std::move(stream)), client_(client_text(*stream_)),
      fd_(fd), sink_(state, connection_info(*stream_)),
      parser_(codec::parse_mode::icap_request, sink_, state.options.limits, state.options.leniency),
      buffer_(read_buffer_size), timer_(stream_->get_executor()), accepted_(clock::now()) {
  sink_.attach(parser_);
  owner_.connections.insert(this);
}

connection::~connection() {
  owner_.connections.erase(this);
  stream_->close();
  state_.connection_closed();
}

void connection::close_if_idle() noexcept {
  if (idle_) {
    force_close();
  }
}

void connection::force_close() noexcept {
  closed_ = true;
  stream_->close();
  timer_.cancel();
}

asio::awaitable<void> run_connection(std::unique_ptr<connection> conn, server_state& state,
                                     bool overloaded) {
  try {
    co_await conn->run(overloaded);
  } catch (const std::exception& e) {
    // A service threw: a programming error on its side; the connection ends, the server lives.
    state.report(std::string("connection ended by an exception: ") + e.what());
  } catch (...) {
    state.report("connection ended by an unknown exception");
  }
}

asio::awaitable<void> connection::run(bool overloaded) {
  if (stream_->is_tls()) {
    stream_->set_idle_timeout(state_.options.tls_handshake_timeout);
    std::error_code ec;
    co_await stream_->handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      state_.report("TLS handshake with " + client_ + " failed: " + ec.message());
      co_return;
    }
  }
  if (overloaded) {
    co_await reject_overloaded();
    co_return;
  }
  while (!closed_) {
    const bool keep = co_await serve_one();
    if (record_open_) {
      finish_record(!keep);
    }
    if (!keep) {
      break;
    }
  }
  if (!closed_) {
    co_await close_gracefully();
  }
}

asio::awaitable<void> connection::reject_overloaded() {
  // Read nothing: the 503 goes out at once and the connection closes; the client reads it as the
  // answer to whatever it sends first.
  record_ = {};
  record_.started = std::chrono::system_clock::now();
  record_.client = client_;
  record_.tls = stream_->is_tls();
  started_ = clock::now();
  record_open_ = true;
  stream_->set_idle_timeout(state_.options.io_timeout);
  co_await answer_error(503, true, "error");
}

std::error_code connection::feed() {
  std::error_code ec;
  if (begin_ == end_) {
    return ec;
  }
  const std::string_view pending(buffer_.data() + begin_, end_ - begin_);
  const auto used = parser_.put(pending, ec);
  begin_ += used;
  record_.bytes_received += used;
  return ec;
}

asio::awaitable<connection::read_status>
connection::read_more(std::optional<clock::time_point> limit) {
  using namespace asio::experimental::awaitable_operators;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == buffer_.size()) {
    std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
              buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
    end_ -= begin_;
    begin_ = 0;
  }
  const asio::mutable_buffer space(buffer_.data() + end_, buffer_.size() - end_);
  std::error_code ec;
  std::size_t n = 0;
  if (!limit) {
    n = co_await stream_->read_some(space, ec);
  } else {
    if (*limit <= clock::now()) {
      co_return read_status::timed_out;
    }
    // Our own timer, not the stream's deadline: a stream timeout closes the socket, and a slow
    // head still deserves its 408.
    timer_.expires_at(*limit);
    auto result = co_await (stream_->read_some(space, ec) ||
                            timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
      co_return closed_ ? read_status::closed : read_status::timed_out;
    }
    n = std::get<0>(result);
  }
  if (ec || n == 0) {
    if (record_.error.empty() && ec != net::errc::closed_by_peer) {
      record_.error = ec.message();
    }
    const bool timeout = ec == net::errc::idle_timeout || ec == net::errc::deadline_exceeded;
    co_return timeout ? read_status::timed_out : read_status::closed;
  }
  end_ += n;
  co_return read_status::ok;
}

asio::awaitable<bool> connection::serve_one() {
  trickle_.reset(); // reads the spool that sink_.reset() drops
  sink_.reset();
  parser_.reset();
  record_ = {};
  record_.client = client_;
  record_.tls = stream_->is_tls();
  if (begin_ == end_) {
    idle_ = true;
    if (state_.stopping) {
      co_return false;
    }
    read_status status = read_status::ok;
    if (first_request_) {
      status = co_await read_more(accepted_ + state_.options.head_timeout);
    } else {
      stream_->set_idle_timeout(state_.options.idle_timeout);
      status = co_await read_more({});
    }
    idle_ = false;
    if (status != read_status::ok) {
      co_return false; // nothing of a request arrived: a silent close
    }
  }
  idle_ = false;
  started_ = clock::now();
  record_.started = std::chrono::system_clock::now();
  record_open_ = true;
  stream_->set_idle_timeout(state_.options.io_timeout);
  if (!co_await read_heads()) {
    co_return false;
  }
  record_.head_time =
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_);
  record_.method = sink_.method_token;
  record_.uri = sink_.info.icap.uri;
  record_.x_client_ip = sink_.info.x_client_ip;
  record_.preview = sink_.info.preview;
  record_.allow_204 = sink_.info.allow_204;
  record_.allow_206 = sink_.info.allow_206;
  if (sink_.matched) {
    record_.service =
        sink_.matched->names().empty() ? sink_.info.service_name : sink_.matched->names().front();
  }
  if (sink_.error_status != 0) {
    // 404/405 (and 500 from a service that would not begin): answer at once, then skip the rest
    // of the message so the connection stays usable.
    sink_.discard_body();
    if (!co_await answer_error(sink_.error_status, false, "error")) {
      co_return false;
    }
    co_return co_await drain_rest();
  }
  if (sink_.info.method == codec::icap_method::options) {
    co_return co_await serve_options();
  }
  co_return co_await serve_transaction();
}

asio::awaitable<bool> connection::read_heads() {
  const auto deadline = (first_request_ ? accepted_ : started_) + state_.options.head_timeout;
  first_request_ = false;
  for (;;) {
    const auto ec = feed();
    if (sink_.error_status != 0 && sink_.close_after_error) {
      co_await answer_error(sink_.error_status, true, "error");
      co_return false;
    }
    if (ec) {
      record_.error = ec.message();
      co_await answer_error(400, true, "error");
      co_return false;
    }
    if (sink_.heads_done) {
      co_return true;
    }
    const auto status = co_await read_more(deadline);
    if (status == read_status::timed_out) {
      record_.error = "head timeout";
      co_await answer_error(408, true, "error");
      co_return false;
    }
    if (status != read_status::ok) {
      record_.decision = "none";
      co_return false;
    }
  }
}

// Reads until the message ends, the preview pauses, or the service wants to answer early.
// False: the connection is finished (an error was answered or the peer left).
asio::awaitable<bool> connection::read_body() {
  for (;;) {
    const auto ec = feed();
    record_.body_bytes_received = sink_.body_bytes;
    if (ec) {
      record_.error = ec.message();
      co_await answer_error(400, true, "error");
      co_return false;
    }
    if (sink_.message_complete || sink_.answer_now || parser_.awaiting_preview_decision()) {
      co_return true;
    }
    if (!co_await trickle_more()) {
      co_return false;
    }
    const auto status = co_await read_more({});
    if (status != read_status::ok) {
      if (status == read_status::timed_out && !closed_ && stream_->is_open()) {
        co_await answer_error(408, true, "error");
      } else if (record_.decision.empty()) {
        record_.decision = "none";
      }
      co_return false;
    }
  }
}

// After an early answer: parse and drop the rest of the request so the next one can follow.
asio::awaitable<bool> connection::drain_rest() {
  sink_.discard_body();
  for (;;) {
    if (parser_.awaiting_preview_decision()) {
      parser_.end_after_preview(); // answered without 100: the client sends nothing more
    }
    const auto ec = feed();
    if (ec) {
      co_return false;
    }
    if (sink_.message_complete) {
      co_return !closed_;
    }
    if (parser_.awaiting_preview_decision()) {
      continue;
    }
    if (co_await read_more({}) != read_status::ok) {
      co_return false;
    }
  }
}

asio::awaitable<bool> connection::serve_options() {
  // An OPTIONS request has no body worth reading (ERRATA e1), but its framing must be consumed.
  if (!sink_.message_complete && !co_await drain_rest()) {
    co_return false;
  }
  const auto reply = sink_.matched->options(sink_.info);
  const bool closing = must_close(false);
  const auto head = make_options_head(state_, *sink_.matched, reply, closing);
  record_.decision = "options";
  record_.decision_time =
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_);
  codec::response_options opt;
  opt.request_method = codec::icap_method::options;
  const codec::encapsulated_parts none;
  const bool ok = co_await send(head, none, opt);
  finish_record(closing || !ok);
  co_return ok && !closing;
}

asio::awaitable<bool> connection::serve_transaction() {
  if (!co_await read_body()) {
    co_return false;
  }
  body_state state;
  if (parser_.awaiting_preview_decision() && !sink_.answer_now) {
    state.bytes_received = sink_.body_bytes;
    state.in_preview = true;
    state.may_send_204 = true;
    auto decision = co_await sink_.current->on_preview_end(state);
    if (decision.action == response_action::continue_body &&
        decision.fault.kind == fault_kind::none) {
      if (decision.delay.count() > 0 && !co_await sleep(decision.delay)) {
        co_return false;
      }
      if (!co_await send_continue()) {
        co_return false;
      }
      parser_.continue_after_preview();
      if (!co_await read_body()) {
        co_return false;
      }
    } else {
      parser_.end_after_preview(); // the message ends here for the parser: no 100 was sent
      sink_.message_complete = true;
      const bool keep = co_await answer(std::move(decision), state);
      co_return keep&& co_await drain_rest();
    }
  }
  state = {};
  state.bytes_received = sink_.body_bytes;
  state.complete = sink_.message_complete;
  state.ieof = sink_.ieof;
  state.in_preview = sink_.ieof;
  state.may_send_204 = sink_.info.allow_204 || sink_.ieof;
  record_.ieof = sink_.ieof;
  auto final_answer = co_await sink_.current->on_complete(state);
  const bool keep = co_await answer(std::move(final_answer), state);
  co_return keep&& co_await drain_rest();
}

asio::awaitable<bool> connection::trickle_more() {
  const auto& opt = state_.options.trickle;
  if (opt.start_after == 0 || !sink_.spool || !sink_.current || sink_.answer_now) {
    co_return true;
  }
  if (!trickle_) {
    const auto& info = sink_.info;
    const bool in_preview = info.preview && !sink_.preview_ended; // the preview never trickles
    const bool respmod = info.method == codec::icap_method::respmod;
    const bool has_head = respmod ? info.http_response.has_value() : info.http_request.has_value();
    if (in_preview || !has_head || sink_.body_bytes < opt.start_after) {
      co_return true;
    }
    trickle_ = std::make_unique<trickle_source>(*sink_.spool);
    head_spec spec;
    spec.status = 200;
    spec.svc = sink_.matched.get();
    spec.close = must_close(false);
    codec::response_options response_opt;
    response_opt.request_method = info.method;
    codec::encapsulated_parts parts;
    parts.response_head = respmod ? &*info.http_response : nullptr;
    parts.request_head = respmod ? nullptr : &*info.http_request;
    parts.body = trickle_.get();
    record_.trickled = true;
    if (!co_await send(make_head(state_, spec), parts, response_opt)) {
      co_return false;
    }
  }
  trickle_->allow(sink_.spool->size() * std::min(opt.percent, 100U) / 100);
  co_return co_await write_pending();
}

bool connection::must_close(bool asked) const {
  return asked || state_.stopping || asks_close(sink_.info.icap.headers);
}

} // namespace icapkit::server::detail
