#pragma once
// ICAP response heads the engine sends: every one carries ISTag, Date and Server (RFC 3507 4.7),
// the service's own fields, and Connection: close when the connection ends after it.
#include "icapkit/codec/message.hpp"
#include "icapkit/server/options_reply.hpp"
#include "icapkit/server/server_state.hpp"
#include "icapkit/server/service.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace icapkit::server::detail {

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate).
std::string http_date(std::chrono::system_clock::time_point when);

struct head_spec {
  int status = 200;
  std::string_view reason;                   // empty: the standard phrase
  const service* svc = nullptr;              // null: the server's ISTag, no finish_headers
  const codec::header_list* extra = nullptr; // the service's fields, replacing same-named ones
  const std::optional<std::string>* istag = nullptr; // a per-response ISTag
  bool close = false;
};

codec::icap_response_head make_head(const server_state& state, const head_spec& spec);

// The 200 answer to OPTIONS for `svc`.
codec::icap_response_head make_options_head(const server_state& state, const service& svc,
                                            const options_reply& reply, bool close);

} // namespace icapkit::server::detail
