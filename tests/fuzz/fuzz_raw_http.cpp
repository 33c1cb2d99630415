// libFuzzer target: the raw HTTP request-file reader (heads, Content-Length and chunked bodies,
// truncation, the checks that turn a head into a URL). The reader takes a path, so each input is
// written to a per-process temporary file first.
#include "icapkit/replay/capture/capture.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

// Removed when the fuzzer exits, so runs do not litter the temporary directory.
struct temp_input {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("icapkit_fuzz_raw_http_" + std::to_string(::getpid()) + ".http");
  ~temp_input() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

const std::filesystem::path& input_path() {
  static const temp_input input;
  return input.path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(input_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::uint64_t body_bytes = 0;
  bool after_truncated = false;
  auto error = icapkit::replay::read_raw_http(
      input_path(), [&](icapkit::replay::captured_exchange&& exchange) {
        // A body cut short ends the reading: nothing may follow it.
        if (after_truncated) {
          std::abort();
        }
        after_truncated = !exchange.body_captured;
        if (exchange.body_captured != exchange.body_note.empty()) {
          std::abort(); // a body that is not whole must say what is missing
        }
        if (!exchange.url.starts_with("http://") && !exchange.url.starts_with("https://")) {
          std::abort();
        }
        if (!exchange.head.target.starts_with('/') || !exchange.head.headers.contains("Host")) {
          std::abort(); // replay sends origin-form with Host
        }
        body_bytes += exchange.body.size();
        return true;
      });
  // Bodies come from the file: never more bytes than it holds.
  if (body_bytes > size || (error && error->offset && *error->offset > size)) {
    std::abort();
  }
  return 0;
}
