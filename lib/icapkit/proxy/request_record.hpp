#pragma once
// The application-log record of one proxied request: started when its head was read, described
// from the head, and handed to the record callbacks at the end. Internal to the proxy.
#include "icapkit/config/ip_address.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/proxy/enforcement.hpp"
#include "icapkit/proxy/request_flow.hpp"
#include "icapkit/proxy/upstream.hpp"

#include <optional>
#include <string>

namespace icapkit::proxy::detail {

// Starts the record of a request whose head was read (or failed to be read).
void begin_record(request_context& ctx);

// The record's method, host, uri_path and uri_query from what was parsed of a head (the target
// in origin or absolute form; the Host field unless the target names the host).
void describe_request(request_context& ctx, const codec::http_request_head& head);

// Writes the request's record (fills timing-independent fields first; a refused request is
// significant, its sentence saying why and what the client got).
void finish_record(request_context& ctx);

// The record's upstream object and /stats: stale idle connections, extra attempts (the object
// appears when there was more than one).
void note_upstream(request_context& ctx, const send_report& report);

// An upstream failure answered 502/504: in the record (with the attempts) and in /stats.
void note_upstream_error(request_context& ctx, const std::string& message);

// The client's address as the ICAP step reports it.
std::optional<config::ip_address> client_address(const request_context& ctx);

// One ICAP step (REQMOD or RESPMOD) in the record (its request logs, the summarised action) and
// in /stats (outcome, latency, failovers, fail action).
void note_enforcement(request_context& ctx, const enforcement_result& result);

// Adds one ICAP step's significance conditions to the request's: the stronger action, any flag,
// the first failure text.
void merge_significance(log::significance_conditions& into, const log::significance_conditions& c);

} // namespace icapkit::proxy::detail
