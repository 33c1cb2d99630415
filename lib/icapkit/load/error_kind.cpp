#include "icapkit/load/error_kind.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/codec/errc.hpp"
#include "icapkit/net/errc.hpp"

#include <algorithm>

namespace icapkit::load {

namespace {

constexpr std::array<std::string_view, error_kind_count> names = {
    "refused", "reset_new_connection", "reset_reused_connection", "timeout", "overload", "protocol",
    "other"};

static_assert(static_cast<std::size_t>(error_kind::other) + 1 == error_kind_count);

} // namespace

std::string_view to_string(error_kind kind) noexcept {
  const auto index = static_cast<std::size_t>(kind);
  return index < names.size() ? names[index] : names.back();
}

std::optional<error_kind> error_kind_from_string(std::string_view name) noexcept {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    return std::nullopt;
  }
  return static_cast<error_kind>(found - names.begin());
}

std::string_view error_kind_names() noexcept {
  return "refused, reset_new_connection, reset_reused_connection, timeout, overload, protocol, "
         "other";
}

error_kind classify_error(const client::exchange_result& r) noexcept {
  const auto& ec = r.error.code;
  if (r.icap_response && r.icap_response->status == 503) {
    return error_kind::overload;
  }
  if (r.timed_out || net::is_timeout(ec)) {
    return error_kind::timeout;
  }
  if (ec == net::errc::connection_refused) {
    return error_kind::refused;
  }
  if (ec == net::errc::connection_reset || ec == net::errc::closed_by_peer) {
    return r.connection_reused ? error_kind::reset_reused_connection
                               : error_kind::reset_new_connection;
  }
  if (ec && ec.category() == codec::codec_category()) {
    return error_kind::protocol;
  }
  return error_kind::other;
}

} // namespace icapkit::load
