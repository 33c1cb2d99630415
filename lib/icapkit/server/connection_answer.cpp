// The answering half of connection: final responses (204 or echo per RFC 3507 4.6), engine-made
// errors, 100 Continue, writes, faults and how a connection ends.
#include "icapkit/server/connection.hpp"
#include "icapkit/server/response_head.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/socket.h>

namespace icapkit::server::detail {

namespace {

constexpr std::size_t write_batch = 16 * 1024;
constexpr std::size_t lingering_close_limit = 1024 * 1024; // bytes read before a forced close
constexpr std::chrono::milliseconds lingering_close_time{1000};

const std::string default_malformed = "ICAP/1.0 2x0 Garbled\r\nISTag \"broken\r\n\x01\r\n\r\n";

std::chrono::microseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

} // namespace

asio::awaitable<bool> connection::answer(response r, const body_state& state) {
  record_.decision_time = since(started_);
  record_.rule = r.rule;
  if (r.delay.count() > 0 && !co_await sleep(r.delay)) {
    record_.decision = "none";
    co_return false;
  }
  if (trickle_) {
    co_return co_await finish_trickle(std::move(r));
  }
  std::optional<std::size_t> cut;
  if (r.fault.kind == fault_kind::reset) {
    cut = r.fault.reset_after;
  } else if (r.fault.kind != fault_kind::none) {
    record_.decision = "fault:" + std::string(to_string(r.fault.kind));
    co_await perform_fault(r.fault);
    co_return false;
  }
  const bool closing = must_close(r.close_connection);
  const auto& info = sink_.info;
  codec::response_options opt;
  opt.request_method = info.method;
  codec::encapsulated_parts parts;
  std::unique_ptr<codec::body_source> echo_body;
  head_spec spec;
  spec.svc = sink_.matched.get();
  spec.extra = &r.icap_headers;
  spec.istag = &r.istag;
  spec.close = closing;
  spec.reason = r.reason;
  const bool unmodified = r.action != response_action::respond || r.status == 204;
  record_.decision = unmodified ? "unmodified" : "respond";
  if (unmodified && state.may_send_204) {
    spec.status = 204;
    spec.reason = r.status == 204 ? r.reason : std::string_view{};
  } else if (unmodified) {
    // RFC 3507 4.6: no "Allow: 204" and not a preview answer: the whole message comes back.
    const bool spool_ok =
        !info.has_body || (sink_.spool && sink_.spool->size() == sink_.body_bytes);
    spec.status = spool_ok ? 200 : 500;
    spec.reason = {};
    if (spool_ok && info.method == codec::icap_method::respmod) {
      parts.response_head = info.http_response ? &*info.http_response : nullptr;
    } else if (spool_ok) {
      parts.request_head = info.http_request ? &*info.http_request : nullptr;
    }
    if (spool_ok && info.has_body) {
      echo_body = sink_.spool->reader();
      parts.body = echo_body.get();
    }
  } else if (r.status < 200 || r.status > 599) {
    spec.status = 500;
    spec.reason = {};
  } else {
    spec.status = r.status;
    if (r.status < 300) {
      parts.request_head = r.http_request ? &*r.http_request : nullptr;
      parts.response_head = r.http_response ? &*r.http_response : nullptr;
      parts.body = r.body.get();
      opt.use_original_body = r.use_original_body;
    }
  }
  const bool ok = co_await send(make_head(state_, spec), parts, opt, cut);
  if (cut) {
    record_.decision = "fault:reset";
    co_return false;
  }
  finish_record(closing || !ok);
  co_return ok && !closing;
}

// The 200 and part of the body are out: only "unmodified" can still be said (the rest of the
// body, then the end). Anything else cuts the connection, as c-icap does when a scan finds a
// threat after trickling began; so does a message that did not end or a copy that failed.
asio::awaitable<bool> connection::finish_trickle(response r) {
  const bool clean =
      (r.action != response_action::respond || r.status == 204) && r.fault.kind == fault_kind::none;
  const bool whole = sink_.message_complete && sink_.spool->size() == sink_.body_bytes;
  if (!clean || !whole) {
    record_.decision = "trickle-cut";
    record_.error =
        !whole ? "the body copy is incomplete after trickling began"
               : "verdict '" +
                     std::string(r.action == response_action::respond ? std::to_string(r.status)
                                                                      : to_string(r.fault.kind)) +
                     "' after trickling began: connection cut";
    reset_connection();
    co_return false;
  }
  record_.decision = "unmodified";
  trickle_->release_all();
  const bool closing = must_close(r.close_connection);
  const bool ok = co_await write_pending();
  finish_record(closing || !ok);
  co_return ok && !closing;
}

asio::awaitable<bool> connection::answer_error(int status, bool close, std::string_view decision) {
  record_.decision = decision;
  record_.decision_time = since(started_);
  head_spec spec;
  spec.status = status;
  spec.svc = sink_.matched.get();
  spec.close = close || must_close(false);
  codec::response_options opt;
  opt.request_method = sink_.info.method == codec::icap_method::other ? codec::icap_method::reqmod
                                                                      : sink_.info.method;
  const codec::encapsulated_parts none;
  const bool ok = co_await send(make_head(state_, spec), none, opt);
  finish_record(spec.close || !ok);
  if (spec.close) {
    co_await close_gracefully();
  }
  co_return ok && !spec.close;
}

asio::awaitable<bool> connection::send_continue() {
  head_spec spec;
  spec.status = 100;
  spec.svc = sink_.matched.get();
  codec::response_options opt;
  opt.request_method = sink_.info.method;
  const codec::encapsulated_parts none;
  record_.sent_continue = true;
  const bool ok = co_await send(make_head(state_, spec), none, opt);
  record_.status = 0; // 100 is not the final status
  co_return ok;
}

asio::awaitable<bool> connection::send(const codec::icap_response_head& head,
                                       const codec::encapsulated_parts& parts,
                                       const codec::response_options& opt,
                                       std::optional<std::size_t> cut_after) {
  auto ec = serializer_.start_response(head, parts, opt);
  if (ec) {
    // The service gave us something unsendable (a header with CR/LF, a bad shape): a 500 says so
    // instead of a broken message.
    record_.error = "bad response from service: " + ec.message();
    head_spec spec;
    spec.status = 500;
    spec.close = true;
    const codec::encapsulated_parts none;
    ec = serializer_.start_response(make_head(state_, spec), none, opt);
    if (ec) {
      co_return false;
    }
  }
  record_.status = head.status;
  co_return co_await write_pending(cut_after);
}

asio::awaitable<bool> connection::write_pending(std::optional<std::size_t> cut_after) {
  std::error_code ec;
  std::size_t sent = 0;
  bool done = false;
  while (!done) {
    out_.clear();
    while (out_.size() < write_batch) {
      const auto piece = serializer_.next(ec);
      if (ec) {
        // A body source failed mid-answer: the framing cannot be finished, so the client must
        // see the connection end.
        record_.error = "body source failed: " + serializer_.source_error().message();
        reset_connection();
        co_return false;
      }
      if (piece.empty()) {
        done = true;
        break;
      }
      out_.append(piece);
    }
    std::string_view chunk = out_;
    const bool cut_now = cut_after && chunk.size() >= *cut_after - sent;
    if (cut_now) {
      chunk = chunk.substr(0, *cut_after - sent);
    }
    std::error_code write_error;
    co_await stream_->write_all(asio::buffer(chunk.data(), chunk.size()), write_error);
    if (write_error) {
      record_.error = write_error.message();
      co_return false;
    }
    sent += chunk.size();
    record_.bytes_sent += chunk.size();
    if (cut_now) {
      break;
    }
  }
  if (cut_after) {
    reset_connection();
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> connection::perform_fault(const fault_plan& plan) {
  const auto limit = plan.stall_for.value_or(state_.options.stall_limit);
  switch (plan.kind) {
  case fault_kind::stall:
    co_await stall(limit);
    break;
  case fault_kind::continue_then_hang:
    if (co_await send_continue()) {
      co_await stall(limit);
    }
    break;
  case fault_kind::malformed: {
    const std::string& bytes = plan.raw_bytes.empty() ? default_malformed : plan.raw_bytes;
    std::error_code ec;
    co_await stream_->write_all(asio::buffer(bytes), ec);
    record_.bytes_sent += ec ? 0 : bytes.size();
    break;
  }
  case fault_kind::reset:
    reset_connection();
    break;
  case fault_kind::close_before_answer:
  case fault_kind::none:
    break;
  }
  finish_record(true);
  co_await close_gracefully();
}

asio::awaitable<void> connection::stall(std::chrono::milliseconds limit) {
  const auto until = clock::now() + limit;
  stream_->set_idle_timeout(std::chrono::milliseconds{0});
  while (!closed_) {
    begin_ = end_ = 0; // whatever the client sends now is dropped
    if (co_await read_more(until) != read_status::ok) {
      break;
    }
  }
}

asio::awaitable<bool> connection::sleep(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  const auto [ec] = co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  co_return !ec && !closed_;
}

asio::awaitable<void> connection::close_gracefully() {
  if (closed_ || !stream_->is_open()) {
    closed_ = true;
    co_return;
  }
  if (stream_->is_tls()) {
    stream_->set_idle_timeout(lingering_close_time);
    co_await stream_->shutdown();
  } else {
    // Lingering close: half-close, then read until the client closes, so unread request bytes
    // do not turn our close into a reset that destroys the answer in flight.
    ::shutdown(fd_, SHUT_WR);
    const auto until = clock::now() + lingering_close_time;
    std::size_t dropped = 0;
    while (!closed_ && dropped < lingering_close_limit) {
      begin_ = end_ = 0;
      if (co_await read_more(until) != read_status::ok) {
        break;
      }
      dropped += end_;
    }
  }
  closed_ = true;
  stream_->close();
}

void connection::reset_connection() noexcept {
  if (stream_->is_open()) {
    ::linger option{};
    option.l_onoff = 1;
    option.l_linger = 0; // close() now sends RST instead of FIN
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  }
  closed_ = true;
  stream_->close();
}

void connection::finish_record(bool closing) {
  if (!record_open_) {
    return;
  }
  record_open_ = false;
  record_.connection_closed = closing;
  record_.body_bytes_received = sink_.body_bytes;
  record_.ieof = sink_.ieof;
  record_.total_time = since(started_);
  if (sink_.current) {
    sink_.current->on_finished(record_);
  }
  state_.deliver(record_);
}

} // namespace icapkit::server::detail
