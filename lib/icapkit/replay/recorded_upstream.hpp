#pragma once
// The origin behind the proxy during a replay: answers each request with the response the
// capture recorded for it (`--upstream recorded`), or 200 with an empty body (`--upstream stub`,
// and requests whose capture recorded no response), and notes what reached it, so that --target
// mode can tell a passed request from a modified or a blocked one.
//
// Requests are matched to captured exchanges by the X-Icapkit-Replay header the driver adds (its
// value is the replay index); when a proxy or ICAP server dropped it, by method, target and
// order: the oldest registered exchange with the same method and target.
#include "icapkit/replay/capture/capture.hpp"

#include <asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace icapkit::replay {

// The header that tags each replayed request with its index.
inline constexpr std::string_view replay_header = "X-Icapkit-Replay";

enum class upstream_answer { recorded, stub };

// What reached the upstream for one exchange.
struct upstream_observation {
  std::uint64_t body_size = 0;
  std::string body_sha256; // lower-case hex of the body it received
};

class recorded_upstream {
public:
  recorded_upstream(asio::any_io_executor executor, upstream_answer answer);
  ~recorded_upstream();
  recorded_upstream(const recorded_upstream&) = delete;
  recorded_upstream& operator=(const recorded_upstream&) = delete;

  // Listens on `address` ("127.0.0.1:0", "[::1]:8080"). Errors name the address in `detail`.
  std::error_code start(const std::string& address, std::string& detail);
  std::string address() const; // "127.0.0.1:40123", the real port
  // Stops accepting and closes open connections; call on the executor's thread or after the
  // io_context stopped.
  void stop();

  // Thread-safe. Registers exchange `index` before it is sent (the response is copied).
  void expect(std::size_t index, const captured_exchange& exchange);
  // Thread-safe. What reached the upstream for `index`, if anything; forgets the exchange.
  std::optional<upstream_observation> take(std::size_t index);
  // Requests that matched no registered exchange (answered 404).
  std::uint64_t unmatched() const;

  struct state; // internal; public for the connection coroutines in the .cpp

private:
  std::shared_ptr<state> state_;
};

} // namespace icapkit::replay
