#include "icapkit/proxy/upstream.hpp"

#include "icapkit/net/connect.hpp"
#include "icapkit/proxy/errc.hpp"

#include <algorithm>
#include <utility>

namespace icapkit::proxy {

namespace {

constexpr std::size_t piece_size = 64 * 1024;
constexpr std::uint32_t max_attempts = 2;

// The connection went away under the request (closed or reset) before the first response byte:
// the failures a retry may cure. Timeouts and unusable answers are not among them.
bool connection_lost(const std::error_code& ec, const http_reader& reader) noexcept {
  return (ec == net::errc::closed_by_peer || ec == net::errc::connection_reset ||
          ec == errc::truncated_body) &&
         reader.head_bytes() == 0;
}

// "upstream 127.0.0.1:8080 closed the connection after the request was sent"
std::string describe_lost(const upstream_target& target, const std::error_code& ec, bool reused,
                          bool sent_nothing, bool write_failed) {
  std::string text = "upstream " + net::format_peer(target.host, target.port);
  text += ec == net::errc::connection_reset ? " reset " : " closed ";
  text += reused ? "a reused connection " : "the connection ";
  text += sent_nothing   ? "before any of the request was written"
          : write_failed ? "while the request was being sent"
                         : "after the request was sent";
  return text;
}

// Head and body; a failure of the body (the client) sets failure.body_failed, one of the
// stream sets ec.
asio::awaitable<void> write_request(net::stream& stream, const codec::http_request_head& head,
                                    bool chunked, outgoing_body* body, send_failure& failure,
                                    std::error_code& ec) {
  http_writer writer(stream);
  co_await writer.write_head(head, ec);
  while (!ec && body != nullptr) {
    std::error_code body_ec;
    const auto piece = co_await body->next(body_ec);
    if (body_ec) {
      failure.code = body_ec;
      failure.body_failed = true;
      failure.message = "the request body could not be read: " + body_ec.message();
      co_return;
    }
    if (piece.empty()) {
      co_await writer.finish_body(chunked, ec);
      break;
    }
    co_await writer.write_body(piece, chunked, ec);
  }
}

// What a failed exchange comes to for the client: 504 for a timeout, else 502.
void describe_failure(const upstream_target& target, const std::error_code& ec,
                      send_failure& failure) {
  const auto peer = net::format_peer(target.host, target.port);
  if (ec == errc::upstream_timeout || net::is_timeout(ec)) {
    failure.code = errc::upstream_timeout;
    failure.message = "upstream " + peer + " did not answer in time";
  } else if (ec == errc::header_too_large || ec == errc::bad_upstream_response) {
    failure.code = errc::bad_upstream_response;
    failure.message = "upstream " + peer + " sent an unusable response head: " + ec.message();
  } else {
    failure.code = errc::upstream_unreachable;
    failure.message = "upstream " + peer + " failed: " + ec.message();
  }
}

// The response head is in: its framing checked, the body ready to read.
std::optional<upstream_response> finish_response(upstream_response response,
                                                 std::unique_ptr<net::stream> stream,
                                                 const codec::http_request_head& head,
                                                 send_failure& failure) {
  const auto& target = response.target;
  if (auto fe = response_framing(head.method, response.head, response.body)) {
    stream->close();
    failure.code = errc::bad_upstream_response;
    failure.message = "upstream " + net::format_peer(target.host, target.port) +
                      " sent an unusable response: " + fe.message();
    return std::nullopt;
  }
  response.upstream_wants_close =
      strip_hop_by_hop(response.head.headers, response.head.http_version);
  response.reader->start_body(response.body);
  response.stream = std::move(stream);
  return response;
}

} // namespace

bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

asio::awaitable<std::string_view> source_body::next(std::error_code& ec) {
  const auto n = source_->read(std::span<char>(buffer_.data(), buffer_.size()), ec);
  if (ec) {
    co_return std::string_view{};
  }
  co_return std::string_view(buffer_.data(), n);
}

client_body::client_body(http_reader& reader, std::unique_ptr<codec::body_source> prefix)
    : reader_(reader), prefix_(std::move(prefix)) {
  if (prefix_) {
    buffer_.resize(piece_size);
  }
}

asio::awaitable<std::string_view> client_body::next(std::error_code& ec) {
  if (prefix_) {
    const auto n = prefix_->read(std::span<char>(buffer_.data(), buffer_.size()), ec);
    if (ec) {
      co_return std::string_view{};
    }
    if (n > 0) {
      co_return std::string_view(buffer_.data(), n);
    }
    prefix_.reset();
  }
  auto piece = co_await reader_.read_body(ec);
  if (ec) {
    client_failed_ = true;
  }
  co_return piece;
}

upstream_client::upstream_client(asio::any_io_executor executor, upstream_settings settings)
    : executor_(std::move(executor)), settings_(std::move(settings)) {}

upstream_client::~upstream_client() = default;

asio::awaitable<std::unique_ptr<net::stream>>
upstream_client::connect(const upstream_target& target, bool allow_idle, send_failure& failure,
                         bool& reused, send_report& report) {
  reused = false;
  auto& idle = idle_[target];
  const auto now = std::chrono::steady_clock::now();
  while (allow_idle && !idle.empty()) {
    auto entry = std::move(idle.back());
    idle.pop_back();
    if (now - entry.since >= settings_.keep_idle) {
      entry.stream->close();
      continue;
    }
    // Closed by the origin while idle (or speaking unasked): a request written on it would be
    // lost, and whether the origin saw it could not be known. Found before writing, it costs
    // nothing but a new connection.
    if (entry.stream->peer_closed_or_readable()) {
      entry.stream->close();
      ++report.stale_closed;
      continue;
    }
    reused = true;
    co_return std::move(entry.stream);
  }
  auto tls = settings_.tls;
  tls.enabled = target.tls;
  if (target.tls && !tls_context_) {
    net::error_info error;
    tls_context_ = net::make_client_context(tls, error);
    if (!tls_context_) {
      failure.code = errc::upstream_unreachable;
      failure.message = "upstream TLS settings: " + net::describe(error);
      co_return nullptr;
    }
  }
  net::error_info error;
  // A named copy, not a temporary in the co_await expression: g++ 12 destroyed that temporary
  // twice (the context was freed while the client still held it; seen under ASan).
  std::shared_ptr<asio::ssl::context> context = target.tls ? tls_context_ : nullptr;
  auto stream = co_await net::connect(executor_, target.host, target.port, tls,
                                      settings_.connect_timeout, error, std::move(context));
  if (!stream) {
    failure.code = net::is_timeout(error.code) ? make_error_code(errc::upstream_timeout)
                                               : make_error_code(errc::upstream_unreachable);
    failure.message = "upstream " + net::describe(error);
  }
  co_return stream;
}

asio::awaitable<std::optional<upstream_response>>
upstream_client::send(const upstream_target& target, const codec::http_request_head& head,
                      bool chunked,
                      const std::function<std::unique_ptr<outgoing_body>()>& make_body,
                      send_failure& failure, send_report& report) {
  report = send_report{};
  auto body = make_body ? make_body() : nullptr;
  for (;;) {
    failure = send_failure{};
    ++report.attempts;
    bool reused = false;
    // A retry never takes an idle connection: it would be as old as the one that just failed.
    const bool allow_idle =
        report.attempts == 1 && (settings_.reuse_for_unsafe_methods || is_idempotent(head.method));
    auto stream = co_await connect(target, allow_idle, failure, reused, report);
    if (!stream) {
      co_return std::nullopt;
    }
    stream->set_idle_timeout(settings_.io_timeout);
    stream->clear_deadline();
    const auto written_before = stream->bytes_written();
    std::error_code ec;
    co_await write_request(*stream, head, chunked, body.get(), failure, ec);
    if (failure.body_failed) {
      stream->close();
      co_return std::nullopt;
    }
    const bool write_failed = static_cast<bool>(ec);
    upstream_response response;
    response.target = target;
    response.reader = std::make_unique<http_reader>(*stream, settings_.limits);
    std::optional<codec::http_response_head> received;
    if (!ec) {
      stream->set_deadline(std::chrono::steady_clock::now() + settings_.response_timeout);
      received = co_await response.reader->read_response_head(ec);
      stream->clear_deadline();
    }
    if (!ec && !received) {
      ec = errc::truncated_body;
    }
    if (!ec) {
      response.head = std::move(*received);
      co_return finish_response(std::move(response), std::move(stream), head, failure);
    }
    stream->close();
    describe_failure(target, ec, failure);
    if (!connection_lost(ec, *response.reader)) {
      co_return std::nullopt; // a timeout or a bad answer: the same would happen again
    }
    const bool sent_nothing = stream->bytes_written() == written_before;
    const auto what = describe_lost(target, ec, reused, sent_nothing, write_failed);
    failure.message = what;
    if (report.attempts >= max_attempts) {
      failure.message += " (" + std::to_string(report.attempts) + " attempts)";
      co_return std::nullopt;
    }
    if (sent_nothing) {
      // The origin cannot have seen it, whatever the method; the body was not touched.
      report.retries.push_back(what);
      continue;
    }
    if (!is_idempotent(head.method)) {
      failure.message += "; a " + head.method + " is not sent twice";
      co_return std::nullopt;
    }
    if (make_body) {
      body = make_body();
      if (!body) {
        failure.message +=
            "; the " + head.method + " is not sent again because its body was streamed and is gone";
        co_return std::nullopt;
      }
    }
    report.retries.push_back(what + "; the " + head.method + " is idempotent");
  }
}

void upstream_client::release(upstream_response response, bool reusable) {
  if (!reusable || !response.stream || !response.stream->is_open() ||
      response.upstream_wants_close || response.body.kind == body_framing::until_close ||
      response.reader->has_buffered_bytes()) {
    if (response.stream) {
      response.stream->close();
    }
    return;
  }
  response.reader.reset();
  auto& idle = idle_[response.target];
  while (!idle.empty() && idle.size() >= std::max<std::size_t>(settings_.max_idle_per_target, 1)) {
    idle.front().stream->close(); // the oldest: connect() takes the newest first
    idle.pop_front();
  }
  idle.push_back(idle_connection{std::move(response.stream), std::chrono::steady_clock::now()});
}

} // namespace icapkit::proxy
