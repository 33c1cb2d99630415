#pragma once
// What icapkit says about a command line it cannot run, and `icapkit help [SUBCOMMAND]`. CLI11
// checks required arguments before it looks at unknown ones, so `report --bogus` would say "file
// is required"; main() asks describe_usage_error() instead, which names an unknown flag or
// subcommand first and suggests the closest known name.
#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace icapkit::app {

// One line without the "icapkit: " prefix: "report: unknown flag '--bogus'",
// "unknown subcommand 'scna'; did you mean 'scan'?", else CLI11's own message for `error`
// ("--rate: a number > 0, got 'abc'"). `app` is the top-level app after the failed parse.
std::string describe_usage_error(const CLI::App& app, const CLI::ParseError& error);

// The candidate closest to `typed` by edit distance (a swap of two neighbours counts one), if
// it is close enough to be a likely typo; empty otherwise.
std::string closest_name(std::string_view typed, const std::vector<std::string>& candidates);

// Adds `icapkit help [SUBCOMMAND]`: prints what `icapkit [SUBCOMMAND] --help` prints; an unknown
// SUBCOMMAND is a usage error (exit 2) with a suggestion. Call after every other subcommand.
void setup_help(CLI::App& app);

} // namespace icapkit::app
