#include "icapkit/net/errc.hpp"

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace icapkit::net {
namespace {

class net_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "icapkit.net"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::connect_timeout:
      return "connect timeout";
    case errc::idle_timeout:
      return "I/O idle timeout";
    case errc::deadline_exceeded:
      return "response timeout (total deadline exceeded)";
    case errc::resolve_failed:
      return "host name did not resolve";
    case errc::connection_refused:
      return "connection refused";
    case errc::connection_reset:
      return "connection reset by peer";
    case errc::closed_by_peer:
      return "connection closed by peer";
    case errc::tls_handshake_failed:
      return "TLS handshake failed";
    case errc::tls_verify_failed:
      return "TLS certificate verify failed";
    case errc::tls_protocol_error:
      return "TLS protocol error";
    case errc::tls_bad_file:
      return "TLS file missing, unreadable or invalid";
    case errc::tls_version:
      return "unsupported TLS version (use 1.2 or 1.3)";
    case errc::bad_address:
      return "invalid address";
    case errc::bad_port:
      return "invalid port";
    case errc::bind_failed:
      return "cannot listen on address";
    }
    return "unknown network error";
  }
  // Lets callers test `ec == std::errc::timed_out` without knowing which wait timed out.
  bool equivalent(int value, const std::error_condition& condition) const noexcept override {
    if (condition == std::errc::timed_out) {
      return is_timeout(make_error_code(static_cast<errc>(value)));
    }
    return default_error_condition(value) == condition;
  }
};

// "PEER" phrases read better with a preposition: "connection refused by X", "timeout talking to X".
std::string with_peer(std::string text, std::string_view preposition, const std::string& peer) {
  if (!peer.empty()) {
    text.append(" ").append(preposition).append(" ").append(peer);
  }
  return text;
}

std::string with_detail(std::string text, const std::string& detail) {
  if (!detail.empty()) {
    text.append(": ").append(detail);
  }
  return text;
}

std::string describe_net(errc e, const error_info& info) {
  const std::string& peer = info.peer;
  switch (e) {
  case errc::connect_timeout:
    if (!info.detail.empty()) {
      return with_detail(with_peer("connect timeout", "to", peer), info.detail);
    }
    return with_peer("connect timeout: no connection", "to", peer) + " within the connect timeout";
  case errc::idle_timeout:
    return with_peer("I/O idle timeout: no data moved", "to or from", peer) +
           " within the idle timeout";
  case errc::deadline_exceeded:
    return with_peer("response timeout: total deadline exceeded", "talking to", peer);
  case errc::resolve_failed:
    return with_detail(peer.empty() ? std::string("cannot resolve host") : "cannot resolve " + peer,
                       info.cause ? info.cause.message() : info.detail);
  case errc::connection_refused:
    return with_peer("connection refused", "by", peer);
  case errc::connection_reset:
    return with_peer("connection reset", "by", peer);
  case errc::closed_by_peer:
    return with_detail(with_peer("connection closed", "by", peer), info.detail);
  case errc::tls_handshake_failed:
    return with_detail(with_peer("TLS handshake failed", "with", peer), info.detail);
  case errc::tls_verify_failed:
    return with_detail(with_peer("TLS certificate verify failed", "for", peer), info.detail);
  case errc::tls_protocol_error:
    return with_detail(with_peer("TLS error", "with", peer), info.detail);
  case errc::tls_bad_file:
  case errc::tls_version:
  case errc::bad_address:
  case errc::bad_port:
  case errc::bind_failed:
    break;
  }
  return with_detail(info.code.message(), info.detail);
}

} // namespace

const std::error_category& net_category() noexcept {
  static const net_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

bool is_timeout(const std::error_code& ec) noexcept {
  return ec == errc::connect_timeout || ec == errc::idle_timeout || ec == errc::deadline_exceeded;
}

std::string format_peer(std::string_view host, std::uint16_t port) {
  std::string text;
  const bool ipv6 = host.find(':') != std::string_view::npos;
  if (ipv6 && port != 0) {
    text.append("[").append(host).append("]");
  } else {
    text.append(host);
  }
  if (port != 0) {
    text.append(":").append(std::to_string(port));
  }
  return text;
}

std::string describe(const error_info& info) {
  if (!info.code) {
    return "success";
  }
  if (info.code.category() == net_category()) {
    return describe_net(static_cast<errc>(info.code.value()), info);
  }
  // Not one of ours (an unmapped system or OpenSSL error): say where and keep the system's words.
  std::string text = info.peer.empty() ? std::string() : info.peer + ": ";
  return with_detail(text + info.code.message(), info.detail);
}

std::string describe(const std::error_code& ec, std::string_view host, std::uint16_t port) {
  return describe(error_info{ec, {}, {}, format_peer(host, port)});
}

namespace detail {
namespace {

// Which net code a non-TLS error stands for; errc{} when none fits.
errc classify_system(const std::error_code& cause) {
  if (cause == asio::error::eof) {
    return errc::closed_by_peer;
  }
  if (cause == asio::error::connection_refused) {
    return errc::connection_refused;
  }
  if (cause == asio::error::connection_reset || cause == asio::error::broken_pipe ||
      cause == asio::error::connection_aborted) {
    return errc::connection_reset;
  }
  if (cause == asio::error::host_not_found || cause == asio::error::host_not_found_try_again ||
      cause == asio::error::no_data || cause == asio::error::no_recovery ||
      cause == asio::error::service_not_found) {
    return errc::resolve_failed;
  }
  return errc{};
}

error_info classify_tls(const std::error_code& cause, std::string peer) {
  if (cause == asio::ssl::error::stream_truncated) {
    return {make_error_code(errc::closed_by_peer), cause, "without TLS close_notify",
            std::move(peer)};
  }
  const auto packed = static_cast<unsigned long>(cause.value());
  const char* reason = ERR_reason_error_string(packed);
  std::string detail = reason != nullptr ? reason : cause.message();
  // OpenSSL numbers the reasons for alerts received from the peer from SSL_AD_REASON_OFFSET on.
  const bool alert =
      ERR_GET_LIB(packed) == ERR_LIB_SSL && ERR_GET_REASON(packed) >= SSL_AD_REASON_OFFSET;
  return {make_error_code(alert ? errc::tls_handshake_failed : errc::tls_protocol_error), cause,
          std::move(detail), std::move(peer)};
}

} // namespace

error_info classify(const std::error_code& cause, std::string peer) {
  if (!cause || cause.category() == net_category()) {
    return {cause, {}, {}, std::move(peer)};
  }
  if (cause.category() == asio::error::get_ssl_category() ||
      cause.category() == asio::ssl::error::get_stream_category()) {
    return classify_tls(cause, std::move(peer));
  }
  const errc code = classify_system(cause);
  if (code == errc{}) {
    return {cause, cause, {}, std::move(peer)};
  }
  return {make_error_code(code), cause, {}, std::move(peer)};
}

} // namespace detail
} // namespace icapkit::net
