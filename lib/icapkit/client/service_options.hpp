#pragma once
// What an ICAP service says about itself in its OPTIONS response (RFC 3507 4.10.2 plus the
// extensions real servers send), and a per-service cache of it honouring Options-TTL. Pure: no
// I/O, no clock of its own (the cache takes `now` from the caller).
#include "icapkit/codec/message.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace icapkit::client {

// How a body with a given file extension is to be sent (RFC 3507 Transfer-* headers).
enum class transfer_decision {
  preview,  // send a preview first
  ignore,   // the service does not want it: do not send it to the service at all
  complete, // send it whole, without a preview
};
std::string_view to_string(transfer_decision d) noexcept; // "preview", "ignore", "complete"

struct service_options {
  int status = 200;
  std::vector<std::string> methods; // tokens as listed ("RESPMOD", "REQMOD"); several allowed
  std::string istag;                // without the quotes; empty when the server sent none
  bool istag_quoted = false;        // older c-icap sends it unquoted
  std::optional<std::string> service;
  std::optional<std::string> service_id; // Service-ID (RFC) or ServiceId (what Squid reads)
  std::optional<std::uint64_t> preview;  // bytes; unset = the server asked for no preview
  std::vector<std::string> transfer_preview;
  std::vector<std::string> transfer_ignore;
  std::vector<std::string> transfer_complete;
  bool allow_204 = false;
  bool allow_206 = false;
  bool allow_trailers = false;
  std::optional<std::uint32_t> max_connections;
  std::optional<std::chrono::seconds> options_ttl; // unset = never expires
  std::optional<std::string> date;
  std::vector<std::string> x_include;
  std::optional<std::string> opt_body_type;
  codec::header_list extra;          // every other header, in order (`icapkit options` shows them)
  std::vector<std::string> warnings; // what was missing or unreadable, one sentence each

  // Transfer-* for a file extension (with or without the leading '.', case-insensitive; empty =
  // no extension). As Squid: an extension named in Transfer-Preview, -Complete or -Ignore wins,
  // then the list holding '*', and Transfer-Complete when lists were sent but none holds '*'.
  // When the server sent NO Transfer-* list the RFC (and Squid) mean "complete, no preview"; a
  // user-driven scanner instead previews when the server advertised Preview, since that server
  // evidently wants previews and a 204 after a preview saves sending the whole file. Without a
  // Preview header it stays complete.
  transfer_decision for_extension(std::string_view extension) const;

  // The preview size to send for a body with this extension: min(server Preview, profile
  // preview_size) when enable_preview is set, the server advertised Preview and for_extension()
  // says preview; nullopt = send without preview (or, for `ignore`, not at all — check
  // for_extension()).
  std::optional<std::uint64_t> preview_size_for(std::string_view extension,
                                                std::uint64_t profile_preview,
                                                bool enable_preview) const;

  // Whether Methods lists `method`. True when the server sent no Methods at all (RFC: MUST send
  // it; we would rather try than refuse).
  bool supports(codec::icap_method method) const;

  friend bool operator==(const service_options&, const service_options&) = default;
};

// Why an OPTIONS response could not be used.
struct options_error {
  int status = 0;      // the ICAP status the server answered
  std::string message; // "OPTIONS answered 404 Service not found"
  friend bool operator==(const options_error&, const options_error&) = default;
};

// Either the parsed options or why there are none.
class options_result {
public:
  options_result(service_options options) : state_(std::move(options)) {}
  options_result(options_error error) : state_(std::move(error)) {}
  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  // Precondition: has_value().
  const service_options& value() const& { return *std::get_if<0>(&state_); }
  service_options&& value() && { return std::move(*std::get_if<0>(&state_)); }
  const service_options* operator->() const { return &value(); }
  // Precondition: !has_value().
  const options_error& error() const& { return *std::get_if<1>(&state_); }

private:
  std::variant<service_options, options_error> state_;
};

// Reads an OPTIONS response head. Any status but 200 is an error (Squid likewise marks the service
// down). A 200 missing Methods or ISTag, or with unreadable numbers, still parses: the problem
// goes to `warnings` and the field stays unset. Never throws on peer input.
options_result parse_service_options(const codec::icap_response_head& response);

// Options per service URI ("icap://host:1344/avscan"), each valid for its Options-TTL. Not
// thread-safe: one cache per worker, or the caller locks.
class options_cache {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct store_result {
    bool istag_changed = false; // an earlier entry for this URI (even expired) had another ISTag
  };

  // Stores the options fetched at `now`, replacing any earlier entry.
  store_result store(std::string uri, service_options options, time_point now);

  // The options for `uri` if present and not expired at `now` (expires at fetch + Options-TTL;
  // never without Options-TTL). The pointer is valid until the next store/invalidate/clear.
  const service_options* find(std::string_view uri, time_point now) const;

  // Forgets the options (next exchange fetches OPTIONS again), but keeps the ISTag so that a
  // later change is still detected.
  void invalidate(std::string_view uri);

  // True when `istag` differs from the last ISTag seen for `uri` (a response's ISTag header or a
  // new OPTIONS). False when nothing is known about `uri`. Quotes around `istag` are ignored.
  bool istag_changed(std::string_view uri, std::string_view istag) const;

  void clear() noexcept { entries_.clear(); }

private:
  struct entry {
    std::optional<service_options> options; // unset after invalidate()
    std::string istag;
    std::optional<time_point> expires;
  };
  std::map<std::string, entry, std::less<>> entries_;
};

// "\"CI0001-abc\"" -> "CI0001-abc"; unquoted values unchanged (trimmed).
std::string_view unquote_istag(std::string_view istag) noexcept;

} // namespace icapkit::client
