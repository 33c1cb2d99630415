#pragma once
// A request body the proxy is still receiving from its HTTP client, readable while it grows: the
// ICAP client streams it to the server through source(), which answers "not yet"
// (std::errc::operation_would_block) when it has caught up, and waits for more with wait(). Every
// byte stays in a body_spool (memory, then an unlinked temporary file), so the body can be read
// again from the start: for the upstream after a 204, a retry, or a 206 merge.
//
// Single-threaded: append(), finish(), fail(), the sources and wait() all run on one thread (the
// connection's executor).
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/body_spool.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace icapkit::proxy {

namespace detail {
struct streaming_state;
}

class streaming_body {
public:
  // The longest wait() lasts with nothing new: the ICAP writer checks for an early answer
  // between waits.
  static constexpr std::chrono::milliseconds max_wait{100};

  // declared_size: the body's length when the client announced it (Content-Length); the sources'
  // size() then reports it, so a preview needs no look-ahead read to choose between "0" and
  // "0; ieof", and a body that ends short is reported as such by the serializer. The spool keeps
  // memory_limit bytes in memory, the rest in temp_dir (empty: $TMPDIR, else /tmp).
  explicit streaming_body(std::optional<std::uint64_t> declared_size = std::nullopt,
                          std::size_t memory_limit = codec::body_spool::default_memory_limit,
                          std::string temp_dir = {});
  ~streaming_body();
  streaming_body(streaming_body&&) noexcept;
  streaming_body& operator=(streaming_body&&) noexcept;
  streaming_body(const streaming_body&) = delete;
  streaming_body& operator=(const streaming_body&) = delete;

  // Adds bytes from the client and wakes wait(). Errors: the spool's errno code (temporary file
  // not writable; the body then fails with it), the failure after fail(), and
  // std::errc::operation_not_permitted after finish().
  std::error_code append(std::string_view data);
  // The body is complete: sources return 0 once they have read everything.
  void finish();
  // The body will not complete (client gone, bad framing): sources report `ec` from their next
  // read on (a clear code becomes std::errc::connection_aborted). The first failure stays.
  void fail(std::error_code ec);

  bool finished() const noexcept;
  std::error_code failure() const noexcept;
  std::uint64_t size() const noexcept; // bytes appended so far

  // A new source reading from byte 0: the bytes appended so far, then operation_would_block until
  // more arrive or finish() (then 0), or the failure code after fail(). It shares the storage and
  // stays valid after this object is gone.
  std::unique_ptr<codec::body_source> source() const;

  // Returns once something was appended, finished or failed since a source last said "not yet"
  // (at once when that already happened), or after max_wait. Meant for one reading source at a
  // time; suited to exchange_request::body_ready: `[&body] { return body.wait(); }`.
  asio::awaitable<void> wait() const;

  // Everything appended so far; readers from any offset (spool().reader(n)).
  const codec::body_spool& spool() const noexcept;

private:
  std::shared_ptr<detail::streaming_state> state_;
};

// A one-shot event: wait() returns once set() was called, at once when it already was, and is
// woken by set() itself (no timer ticks in between). Single-threaded like streaming_body: set()
// and wait() run on the executor given. Whoever calls set() from a detached coroutine must keep
// the event alive (hold it through a shared_ptr) until set() returned.
class done_event {
public:
  explicit done_event(const asio::any_io_executor& executor);

  void set();
  bool is_set() const noexcept { return set_; }
  asio::awaitable<void> wait();
  // How many times wait() resumed from its timer: 1 for a wait that began before set(), 0 when
  // set() came first; never more (the tests check the wait is woken, not polled).
  std::uint64_t wakeups() const noexcept { return wakeups_; }

private:
  asio::steady_timer timer_; // never expires: set() cancels the wait on it
  bool set_ = false;
  std::uint64_t wakeups_ = 0;
};

} // namespace icapkit::proxy
