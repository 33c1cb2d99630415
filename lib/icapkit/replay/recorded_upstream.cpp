#include "icapkit/replay/recorded_upstream.hpp"

#include "icapkit/net/listener.hpp"
#include "icapkit/net/sha256.hpp"
#include "icapkit/proxy/http_framing.hpp"
#include "icapkit/proxy/http_reader.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <charconv>
#include <map>
#include <mutex>

namespace icapkit::replay {

namespace {

struct registered {
  std::string method;
  std::string target;
  std::optional<recorded_response> response;
  std::optional<upstream_observation> seen;
};

std::optional<std::size_t> tagged_index(const codec::http_request_head& head) {
  const auto value = head.headers.get(replay_header);
  std::size_t index = 0;
  if (!value || value->empty() ||
      std::from_chars(value->data(), value->data() + value->size(), index).ptr !=
          value->data() + value->size()) {
    return std::nullopt;
  }
  return index;
}

bool has_body(int status, std::string_view method) {
  return method != "HEAD" && status >= 200 && status != 204 && status != 304;
}

} // namespace

struct recorded_upstream::state {
  asio::any_io_executor executor;
  upstream_answer answer = upstream_answer::recorded;
  std::unique_ptr<net::listener> listener;
  std::mutex mutex;
  std::map<std::size_t, registered> entries;
  std::uint64_t unmatched = 0;

  // The exchange a request belongs to (records what arrived), or nullopt: unknown request.
  std::optional<std::size_t> match(const codec::http_request_head& head,
                                   const upstream_observation& seen) {
    const std::lock_guard lock(mutex);
    auto found = entries.end();
    if (const auto index = tagged_index(head)) {
      found = entries.find(*index);
    }
    if (found == entries.end() || found->second.seen) {
      found = std::find_if(entries.begin(), entries.end(), [&](const auto& e) {
        return !e.second.seen && e.second.method == head.method && e.second.target == head.target;
      });
    }
    if (found == entries.end()) {
      ++unmatched;
      return std::nullopt;
    }
    found->second.seen = seen;
    return found->first;
  }

  codec::http_response_head response_for(std::optional<std::size_t> index, std::string& body) {
    codec::http_response_head head;
    if (!index) {
      head.status = 404;
      head.reason = "Not Found";
      head.headers.add("Content-Type", "text/plain");
      body = "icapkit replay: no captured request matches this one\n";
      return head;
    }
    const std::lock_guard lock(mutex);
    const auto& entry = entries.at(*index);
    if (answer == upstream_answer::recorded && entry.response &&
        entry.response->head.status >= 200) {
      head = entry.response->head;
      body = entry.response->body;
      proxy::strip_hop_by_hop(head.headers, head.http_version);
      head.headers.remove("Content-Length");
      head.http_version = {1, 1};
    } else {
      body.clear();
    }
    return head;
  }
};

namespace {

asio::awaitable<void> serve_connection(std::shared_ptr<recorded_upstream::state> state,
                                       std::unique_ptr<net::stream> stream) {
  stream->set_idle_timeout(std::chrono::seconds{60});
  proxy::http_reader reader(*stream, {});
  proxy::http_writer writer(*stream);
  for (;;) {
    std::error_code ec;
    auto head = co_await reader.read_request_head(ec);
    if (!head) {
      break;
    }
    proxy::framing framing;
    if (proxy::request_framing(*head, framing)) {
      break;
    }
    reader.start_body(framing);
    net::sha256 digest;
    upstream_observation seen;
    for (;;) {
      const auto piece = co_await reader.read_body(ec);
      if (ec || piece.empty()) {
        break;
      }
      digest.update(piece);
      seen.body_size += piece.size();
    }
    if (ec) {
      break;
    }
    seen.body_sha256 = digest.hex();
    std::string body;
    auto response = state->response_for(state->match(*head, seen), body);
    const bool close = proxy::strip_hop_by_hop(head->headers, head->http_version);
    if (has_body(response.status, head->method)) {
      response.headers.set("Content-Length", std::to_string(body.size()));
    } else {
      body.clear();
    }
    response.headers.set("Connection", close ? "close" : "keep-alive");
    co_await writer.write_head(response, ec);
    if (!ec && !body.empty()) {
      co_await writer.write_body(body, false, ec);
    }
    if (ec || close) {
      break;
    }
  }
  if (stream->is_open()) {
    co_await stream->shutdown();
    stream->close();
  }
}

// Holds the state (and so the listener) for as long as the accept loop's frame exists.
asio::awaitable<void> accept_all(std::shared_ptr<recorded_upstream::state> state,
                                 net::listener::handler handle) {
  co_await state->listener->run(std::move(handle));
}

} // namespace

recorded_upstream::recorded_upstream(asio::any_io_executor executor, upstream_answer answer)
    : state_(std::make_shared<state>()) {
  state_->executor = std::move(executor);
  state_->answer = answer;
}

recorded_upstream::~recorded_upstream() {
  stop();
}

std::error_code recorded_upstream::start(const std::string& address, std::string& detail) {
  net::error_info error;
  state_->listener = net::listener::open(state_->executor, address, error);
  if (!state_->listener) {
    detail = "upstream " + address + ": " + net::describe(error);
    return error.code;
  }
  auto handler = [s = state_](std::unique_ptr<net::stream> stream) {
    return serve_connection(s, std::move(stream));
  };
  asio::co_spawn(state_->executor, accept_all(state_, std::move(handler)), asio::detached);
  return {};
}

std::string recorded_upstream::address() const {
  if (!state_->listener) {
    return {};
  }
  const auto& e = state_->listener->local_endpoint();
  const auto ip = e.address().to_string();
  return (e.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(e.port());
}

void recorded_upstream::stop() {
  if (state_->listener) {
    state_->listener->stop();
  }
}

void recorded_upstream::expect(std::size_t index, const captured_exchange& exchange) {
  const std::lock_guard lock(state_->mutex);
  state_->entries[index] =
      registered{exchange.head.method, exchange.head.target, exchange.response, std::nullopt};
}

std::optional<upstream_observation> recorded_upstream::take(std::size_t index) {
  const std::lock_guard lock(state_->mutex);
  const auto found = state_->entries.find(index);
  if (found == state_->entries.end()) {
    return std::nullopt;
  }
  auto seen = std::move(found->second.seen);
  state_->entries.erase(found);
  return seen;
}

std::uint64_t recorded_upstream::unmatched() const {
  const std::lock_guard lock(state_->mutex);
  return state_->unmatched;
}

} // namespace icapkit::replay
