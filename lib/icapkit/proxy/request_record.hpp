#pragma once
// The application-log record of one proxied request: started when its head was read, described
// from the head, and handed to the record callbacks at the end. Internal to the proxy.
#include "icapkit/proxy/request_flow.hpp"

namespace icapkit::proxy::detail {

// Starts the record of a request whose head was read (or failed to be read).
void begin_record(request_context& ctx);

// The record's method, host, uri_path and uri_query from what was parsed of a head (the target
// in origin or absolute form; the Host field unless the target names the host).
void describe_request(request_context& ctx, const codec::http_request_head& head);

// Writes the request's record (fills timing-independent fields first; a refused request is
// significant, its sentence saying why and what the client got).
void finish_record(request_context& ctx);

} // namespace icapkit::proxy::detail
