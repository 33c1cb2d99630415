#include "icapkit/replay/capture/capture.hpp"

#include <array>
#include <cstring>
#include <fstream>

namespace icapkit::replay {

std::string capture_error::message() const {
  std::string text = file.string();
  if (!entry.empty()) {
    text += ": " + entry;
  }
  if (offset) {
    text += (entry.empty() ? ": byte " : " (byte ") + std::to_string(*offset);
    if (!entry.empty()) {
      text += ")";
    }
  }
  text += ": " + detail;
  return text;
}

std::optional<capture_format> detect_format(const std::filesystem::path& file,
                                            capture_error& error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = capture_error{file, "", std::nullopt,
                          "cannot be opened: " + std::string(std::strerror(errno))};
    return std::nullopt;
  }
  std::array<unsigned char, 4> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), magic.size());
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got == 4) {
    static constexpr std::array<std::array<unsigned char, 4>, 5> pcap_magics{{
        {0xd4, 0xc3, 0xb2, 0xa1}, // pcap, microseconds, little-endian
        {0xa1, 0xb2, 0xc3, 0xd4}, // big-endian
        {0x4d, 0x3c, 0xb2, 0xa1}, // pcap, nanoseconds, little-endian
        {0xa1, 0xb2, 0x3c, 0x4d}, // big-endian
        {0x0a, 0x0d, 0x0d, 0x0a}, // pcapng section header block
    }};
    for (const auto& m : pcap_magics) {
      if (magic == m) {
        return capture_format::pcap;
      }
    }
  }
  // HAR is JSON: its first significant byte is '{' (after a UTF-8 BOM and whitespace).
  in.clear();
  in.seekg(0);
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t i = head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) {
    ++i;
  }
  if (i < head.size() && head[i] == '{') {
    return capture_format::har;
  }
  return capture_format::raw_http;
}

std::optional<capture_error> read_capture(const std::filesystem::path& file,
                                          const exchange_sink& sink, const warning_sink& warn) {
  capture_error error;
  const auto format = detect_format(file, error);
  if (!format) {
    return error;
  }
  switch (*format) {
  case capture_format::har:
    return read_har(file, sink, warn);
  case capture_format::pcap:
    return read_pcap(file, sink, warn);
  case capture_format::raw_http:
    break;
  }
  return read_raw_http(file, sink, warn);
}

} // namespace icapkit::replay
