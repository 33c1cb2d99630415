#include "config_file.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace icapkit::app {

config::virtual_service_config load_config_or_exit(const std::string& command,
                                                   const std::string& file, bool quiet) {
  auto loaded = config::load_config_file(file);
  if (!quiet) {
    for (const auto& w : loaded.warnings) {
      std::cerr << "icapkit " << command << ": " << file << ": warning: " << w.text() << "\n";
    }
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) {
      std::cerr << "icapkit " << command << ": " << file << ": " << e.text() << "\n";
    }
    throw CLI::RuntimeError(2);
  }
  return std::move(*loaded.config);
}

} // namespace icapkit::app
