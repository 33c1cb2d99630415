#pragma once
// Misbehaviour a service asks the engine to perform instead of (or while) answering, so clients
// can be tested against broken servers. The engine executes it; the service only describes it.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace icapkit::server {

enum class fault_kind {
  none,
  // Never answer: read and discard whatever the client sends until it closes, or until
  // fault_plan::stall_for (default server_options::stall_limit) passes or the server stops; then
  // close without a response.
  stall,
  // Send "ICAP/1.0 100 Continue" (even where RFC 3507 forbids it, e.g. after ieof: it is a fault)
  // and then behave as `stall`.
  continue_then_hang,
  // Send the first fault_plan::reset_after bytes of the real response, then reset the connection
  // (SO_LINGER 0 + close: the client sees ECONNRESET, not a clean EOF).
  reset,
  // Close the connection (clean FIN) without sending anything.
  close_before_answer,
  // Write fault_plan::raw_bytes (a built-in garbage status line when empty) and close.
  malformed,
};

struct fault_plan {
  fault_kind kind = fault_kind::none;
  std::size_t reset_after = 32; // reset: bytes of the response sent before the RST
  std::string raw_bytes;        // malformed: the exact bytes written
  std::optional<std::chrono::milliseconds> stall_for; // stall/continue_then_hang limit
};

std::string_view to_string(fault_kind kind) noexcept; // "none", "stall", "continue_then_hang", ...

} // namespace icapkit::server
