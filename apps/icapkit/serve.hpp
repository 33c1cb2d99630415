#pragma once
// icapkit serve: the mock ICAP server (OPSWAT MetaDefender, NSX Defender, generic c-icap AV).
#include <CLI/CLI.hpp>

namespace icapkit::app {

void setup_serve(CLI::App& app);

} // namespace icapkit::app
