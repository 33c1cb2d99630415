#pragma once
// Loading a virtual service config for a subcommand (proxy, replay): warnings and errors go to
// stderr prefixed with "icapkit <command>: FILE: "; an invalid file ends the command with exit 2.
#include "icapkit/config/loader.hpp"

#include <string>

namespace icapkit::app {

config::virtual_service_config load_config_or_exit(const std::string& command,
                                                   const std::string& file, bool quiet);

} // namespace icapkit::app
