// libFuzzer target: the HAR reader on arbitrary files. read_har takes a path, so each input is
// written to a per-process temp file. The reader must never throw, crash or hand the driver an
// exchange it could not send (no origin-form target, a header name with a pseudo-header colon).
#include "icapkit/replay/capture/capture.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

const std::filesystem::path& input_path() {
  // Never destroyed, so the exit handler can still use it.
  static const auto* path =
      new std::filesystem::path(std::filesystem::temp_directory_path() /
                                ("icapkit_fuzz_har_" + std::to_string(getpid()) + ".har"));
  return *path;
}

void check(const icapkit::replay::captured_exchange& exchange) {
  if (exchange.origin.empty() || !exchange.head.target.starts_with('/') ||
      !exchange.head.headers.contains("Host") ||
      (!exchange.url.starts_with("http://") && !exchange.url.starts_with("https://"))) {
    std::abort();
  }
  for (const auto& field : exchange.head.headers) {
    if (field.name.empty() || field.name.starts_with(':') ||
        field.value.find_first_of("\r\n") != std::string::npos) {
      std::abort();
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove(input_path(), ignored);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(input_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Also exercise the early stop: the input size picks after how many exchanges (0: never).
  const std::size_t stop_after = size % 4;
  std::size_t delivered = 0;
  const auto error = icapkit::replay::read_har(
      input_path(),
      [&](icapkit::replay::captured_exchange&& exchange) {
        check(exchange);
        return ++delivered != stop_after;
      },
      [](const icapkit::replay::capture_error& warning) {
        if (warning.detail.empty()) {
          std::abort();
        }
      });
  if (error && error->message().empty()) {
    std::abort();
  }
  return 0;
}
