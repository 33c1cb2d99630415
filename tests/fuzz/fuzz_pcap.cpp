// libFuzzer target: the pcap/pcapng reader (libpcap's file parsing, link/IP/TCP decoding, TCP
// reassembly, HTTP message splitting). The input is written to a file because read_pcap takes a
// path, as the replay command does.
#include "icapkit/replay/capture/capture.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

const std::filesystem::path& input_path() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("icapkit_fuzz_pcap_" + std::to_string(getpid()));
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(input_path().c_str(), "wb");
  if (file == nullptr) {
    std::abort(); // a fuzz run that cannot write its input tests nothing
  }
  if (size > 0 && std::fwrite(data, 1, size, file) != size) {
    std::abort();
  }
  std::fclose(file);
  std::size_t body_bytes = 0;
  const auto error = icapkit::replay::read_pcap(
      input_path(),
      [&](icapkit::replay::captured_exchange&& exchange) {
        // A body is never marked captured while its note says something is missing.
        if (exchange.body_captured && !exchange.body_note.empty()) {
          std::abort();
        }
        body_bytes += exchange.body.size();
        return true;
      },
      [](const icapkit::replay::capture_error& warning) {
        if (warning.detail.empty()) {
          std::abort(); // a warning must say what is wrong
        }
      });
  if (error && error->detail.empty()) {
    std::abort();
  }
  return 0;
}
