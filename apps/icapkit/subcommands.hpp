#pragma once
// The subcommands main() registers. Each lives in its own file with its options struct; setup_*
// adds the subcommand and its flags, and its callback runs the command. A non-zero exit status
// leaves CLI11 as CLI::RuntimeError(status), which main() returns.
#include <CLI/CLI.hpp>

namespace icapkit::app {

void setup_options(CLI::App& app); // icapkit options URL
void setup_scan(CLI::App& app);    // icapkit scan [PATH|-]...
void setup_proxy(CLI::App& app);   // icapkit proxy --config FILE
void setup_replay(CLI::App& app);  // icapkit replay CAPTURE...
void setup_report(CLI::App& app);  // icapkit report FILE...
void setup_load(CLI::App& app);    // icapkit load --server URL ...

} // namespace icapkit::app
