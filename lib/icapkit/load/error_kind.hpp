#pragma once
// Why a load-test request failed: the kinds `icapkit load` counts failures by, in the order every
// output lists them (the --json summary, the human summary, HTML, Prometheus, --threshold
// errors.KIND), and the one rule that sorts an exchange's failure into them.
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace icapkit::client {
struct exchange_result;
}

namespace icapkit::load {

enum class error_kind {
  refused,                 // the TCP connect was refused (nothing listening)
  reset_new_connection,    // reset or closed by the server on a connection opened for it
  reset_reused_connection, // reset or closed by the server on a connection kept from before
  timeout,                 // a deadline fired (timeouts_by_phase says where)
  overload,                // ICAP 503
  protocol,                // a response that does not parse
  other,                   // other ICAP error statuses, unresolved names, TLS and local failures
};
inline constexpr std::size_t error_kind_count = 7;
inline constexpr std::array<error_kind, error_kind_count> all_error_kinds = {
    error_kind::refused,
    error_kind::reset_new_connection,
    error_kind::reset_reused_connection,
    error_kind::timeout,
    error_kind::overload,
    error_kind::protocol,
    error_kind::other};

// The name in every output: "refused", "reset_new_connection", ...
std::string_view to_string(error_kind kind) noexcept;
std::optional<error_kind> error_kind_from_string(std::string_view name) noexcept;
// "refused, reset_new_connection, ..., other": for messages that list the choices.
std::string_view error_kind_names() noexcept;

// The kind of a failed exchange (verdict failed), in this order: an ICAP 503 is overload; a
// deadline is timeout; a refused connect is refused; a reset or a close by the server is
// reset_reused_connection when the exchange (or the OPTIONS before it) went out on a pooled
// connection, else reset_new_connection; a response that does not parse is protocol; the rest
// is other.
error_kind classify_error(const client::exchange_result& result) noexcept;

} // namespace icapkit::load
