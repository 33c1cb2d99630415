#include "icapkit/proxy/streaming_body.hpp"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace icapkit::proxy {

namespace detail {

// Shared by the body, its sources and its waiters, so none outlives what it reads.
struct streaming_state {
  codec::body_spool spool;
  std::optional<std::uint64_t> declared_size;
  bool finished = false;
  std::error_code failure;
  // Something was appended, finished or failed since a source last said "not yet".
  bool news = true;
  std::vector<asio::steady_timer*> waiters; // timers of wait() calls in progress

  streaming_state(std::size_t memory_limit, std::string temp_dir)
      : spool(memory_limit, std::move(temp_dir)) {}

  void notify() {
    news = true;
    for (auto* timer : waiters) {
      timer->cancel();
    }
  }
};

namespace {

class streaming_source final : public codec::body_source {
public:
  explicit streaming_source(std::shared_ptr<streaming_state> state)
      : state_(std::move(state)), reader_(state_->spool.reader(0)) {}

  std::size_t read(std::span<char> buf, std::error_code& ec) override {
    auto& state = *state_;
    if (state.failure) {
      ec = state.failure;
      return 0;
    }
    const std::size_t n = reader_->read(buf, ec);
    if (ec || n > 0 || state.finished || buf.empty()) {
      return n;
    }
    state.news = false; // caught up: wait() now waits for the next append
    ec = std::make_error_code(std::errc::operation_would_block);
    return 0;
  }

  std::optional<std::uint64_t> size() const override { return state_->declared_size; }

private:
  std::shared_ptr<streaming_state> state_;
  std::unique_ptr<codec::body_source> reader_; // the spool's reader keeps its own offset
};

asio::awaitable<void> wait_for_news(std::shared_ptr<streaming_state> state) {
  if (state->news) {
    co_return;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(streaming_body::max_wait);
  state->waiters.push_back(&timer);
  std::error_code ignored; // cancelled by notify() or expired: both mean "look again"
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  std::erase(state->waiters, &timer);
}

} // namespace
} // namespace detail

streaming_body::streaming_body(std::optional<std::uint64_t> declared_size, std::size_t memory_limit,
                               std::string temp_dir)
    : state_(std::make_shared<detail::streaming_state>(memory_limit, std::move(temp_dir))) {
  state_->declared_size = declared_size;
}

streaming_body::~streaming_body() = default;
streaming_body::streaming_body(streaming_body&&) noexcept = default;
streaming_body& streaming_body::operator=(streaming_body&&) noexcept = default;

std::error_code streaming_body::append(std::string_view data) {
  auto& state = *state_;
  if (state.failure) {
    return state.failure;
  }
  if (state.finished) {
    return std::make_error_code(std::errc::operation_not_permitted);
  }
  if (data.empty()) {
    return {};
  }
  if (auto ec = state.spool.append(data)) {
    fail(ec);
    return ec;
  }
  state.notify();
  return {};
}

void streaming_body::finish() {
  auto& state = *state_;
  if (state.finished || state.failure) {
    return;
  }
  state.finished = true;
  state.notify();
}

void streaming_body::fail(std::error_code ec) {
  auto& state = *state_;
  if (state.failure) {
    return;
  }
  state.failure = ec ? ec : std::make_error_code(std::errc::connection_aborted);
  state.notify();
}

bool streaming_body::finished() const noexcept {
  return state_->finished;
}

std::error_code streaming_body::failure() const noexcept {
  return state_->failure;
}

std::uint64_t streaming_body::size() const noexcept {
  return state_->spool.size();
}

std::unique_ptr<codec::body_source> streaming_body::source() const {
  return std::make_unique<detail::streaming_source>(state_);
}

asio::awaitable<void> streaming_body::wait() const {
  return detail::wait_for_news(state_);
}

const codec::body_spool& streaming_body::spool() const noexcept {
  return state_->spool;
}

done_event::done_event(const asio::any_io_executor& executor) : timer_(executor) {
  timer_.expires_at(asio::steady_timer::time_point::max());
}

void done_event::set() {
  set_ = true;
  timer_.cancel();
}

asio::awaitable<void> done_event::wait() {
  while (!set_) {
    std::error_code ignored; // cancelled by set(); the loop guards against anything else
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    ++wakeups_;
  }
}

} // namespace icapkit::proxy
