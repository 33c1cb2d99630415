#pragma once
// What a service answers to OPTIONS (RFC 3507 4.10.2). The engine adds ISTag, Date, Server,
// Methods and "Encapsulated: null-body=0"; everything else comes from here.
#include "icapkit/codec/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::server {

struct options_reply {
  // Methods: empty means the service's methods() (OPTIONS itself is never listed).
  std::vector<codec::icap_method> methods;
  std::optional<std::uint64_t> preview; // Preview: N
  // Transfer-Preview / Transfer-Ignore / Transfer-Complete (comma-separated extensions, one of
  // them "*" when any is sent); empty ones are not sent.
  std::string transfer_preview;
  std::string transfer_ignore;
  std::string transfer_complete;
  bool allow_204 = true; // "Allow: 204" (with allow_206: "Allow: 204, 206")
  bool allow_206 = false;
  // Max-Connections: nullopt sends the server's max_connections when it has one.
  std::optional<std::uint64_t> max_connections;
  std::optional<std::uint64_t> options_ttl; // Options-TTL in seconds
  std::string service;                      // Service: free text; empty: not sent
  std::string service_id;                   // Service-ID; empty: not sent
  // Anything else (X-Include, X-Response-Info, a vendor's Server...), written last; a field named
  // like one the engine writes replaces the engine's.
  codec::header_list extra_headers;
};

} // namespace icapkit::server
