// Placeholder until the reader lands (same session); replaced by the real reader.
#include "icapkit/replay/capture/capture.hpp"

namespace icapkit::replay {

std::optional<capture_error> read_har(const std::filesystem::path& file, const exchange_sink&,
                                      const warning_sink&) {
  return capture_error{file, "", std::nullopt, "this capture format is not supported yet"};
}

} // namespace icapkit::replay
