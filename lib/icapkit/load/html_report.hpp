#pragma once
// The `icapkit load --html` report: one self-contained HTML page (inline CSS and SVG, no script,
// no network) with the run's settings, counts, latency percentiles per phase, throughput and
// errors over time, the outcome mix and the threshold results.
#include "icapkit/load/load_summary.hpp"

#include <ostream>

namespace icapkit::load {

// Writes the page for `summary` (a run's or a merged one). Every text taken from the summary
// (settings, threshold texts, server URLs) is HTML-escaped.
void write_html(std::ostream& out, const load_summary& summary);

} // namespace icapkit::load
