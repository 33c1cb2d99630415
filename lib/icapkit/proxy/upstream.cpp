#include "icapkit/proxy/upstream.hpp"

#include "icapkit/codec/serializer.hpp"
#include "icapkit/net/connect.hpp"
#include "icapkit/proxy/errc.hpp"

#include <utility>

namespace icapkit::proxy {

namespace {

constexpr std::size_t piece_size = 64 * 1024;

// A reused connection that the upstream had already closed fails this way before any answer.
bool stale_connection_error(const std::error_code& ec) noexcept {
  return ec == net::errc::closed_by_peer || ec == net::errc::connection_reset ||
         ec == errc::truncated_body;
}

} // namespace

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
upstream_client::connect(const upstream_target& target, send_failure& failure, bool& reused) {
  reused = false;
  auto& idle = idle_[target];
  const auto now = std::chrono::steady_clock::now();
  while (!idle.empty()) {
    auto entry = std::move(idle.back());
    idle.pop_back();
    if (entry.stream->is_open() && now - entry.since < settings_.keep_idle) {
      reused = true;
      co_return std::move(entry.stream);
    }
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

asio::awaitable<std::optional<upstream_response>> upstream_client::send(
    const upstream_target& target, const codec::http_request_head& head, bool chunked,
    const std::function<std::unique_ptr<outgoing_body>()>& make_body, send_failure& failure) {
  const auto head_text = codec::serialize_head(head);
  for (int attempt = 0; attempt < 2; ++attempt) {
    failure = send_failure{};
    bool reused = false;
    auto stream = co_await connect(target, failure, reused);
    if (!stream) {
      co_return std::nullopt;
    }
    auto body = make_body ? make_body() : nullptr;
    if (attempt > 0 && make_body && !body) {
      co_return std::nullopt; // the failure of the first attempt stands
    }
    stream->set_idle_timeout(settings_.io_timeout);
    stream->clear_deadline();
    http_writer writer(*stream);
    std::error_code ec;
    co_await writer.write_head(head, ec);
    while (!ec && body) {
      std::error_code body_ec;
      const auto piece = co_await body->next(body_ec);
      if (body_ec) {
        failure.code = body_ec;
        failure.body_failed = true;
        failure.message = "the request body could not be read: " + body_ec.message();
        stream->close();
        co_return std::nullopt;
      }
      if (piece.empty()) {
        co_await writer.finish_body(chunked, ec);
        break;
      }
      co_await writer.write_body(piece, chunked, ec);
    }
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
    if (ec) {
      stream->close();
      if (reused && attempt == 0 && stale_connection_error(ec)) {
        continue; // the idle connection had been closed by the upstream: once more, fresh
      }
      if (ec == errc::upstream_timeout || net::is_timeout(ec)) {
        failure.code = errc::upstream_timeout;
        failure.message =
            "upstream " + net::format_peer(target.host, target.port) + " did not answer in time";
      } else if (ec == errc::header_too_large || ec == errc::bad_upstream_response) {
        failure.code = errc::bad_upstream_response;
        failure.message = "upstream " + net::format_peer(target.host, target.port) +
                          " sent an unusable response head: " + ec.message();
      } else {
        failure.code = errc::upstream_unreachable;
        failure.message =
            "upstream " + net::format_peer(target.host, target.port) + " failed: " + ec.message();
      }
      co_return std::nullopt;
    }
    response.head = std::move(*received);
    if (auto fe = response_framing(head.method, response.head, response.body)) {
      stream->close();
      failure.code = errc::bad_upstream_response;
      failure.message = "upstream " + net::format_peer(target.host, target.port) +
                        " sent an unusable response: " + fe.message();
      co_return std::nullopt;
    }
    response.upstream_wants_close =
        strip_hop_by_hop(response.head.headers, response.head.http_version);
    response.reader->start_body(response.body);
    response.stream = std::move(stream);
    co_return response;
  }
  co_return std::nullopt;
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
  idle_[response.target].push_back(
      idle_connection{std::move(response.stream), std::chrono::steady_clock::now()});
}

} // namespace icapkit::proxy
