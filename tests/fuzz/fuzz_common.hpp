#pragma once
// Shared by the fuzz targets: the first input bytes choose leniencies and the split stride, so the
// fuzzer explores both the strict and the lenient grammar and every way input can arrive in pieces.
#include "icapkit/codec/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace icapkit::fuzz {

struct fuzz_input {
  codec::leniency len;
  std::size_t stride = 0; // 0: the whole input at once
  std::string_view data;
};

inline fuzz_input split_control(const std::uint8_t* bytes, std::size_t size) {
  fuzz_input in;
  if (size < 2) {
    return in;
  }
  std::uint8_t bits = bytes[0];
  in.len.bare_lf = (bits & 0x01) != 0;
  in.len.space_before_colon = (bits & 0x02) != 0;
  in.len.leading_empty_lines = (bits & 0x04) != 0;
  in.len.missing_encapsulated = (bits & 0x08) != 0;
  in.len.chunk_size_trailing_space = (bits & 0x10) != 0;
  in.len.ieof_outside_preview = (bits & 0x20) != 0;
  in.len.missing_host = (bits & 0x40) != 0;
  in.stride = bytes[1];
  in.data = std::string_view(reinterpret_cast<const char*>(bytes + 2), size - 2);
  return in;
}

// A parser that neither consumes input nor reaches a state that explains why is stuck: a hang in
// production. Abort so libFuzzer reports it.
[[noreturn]] inline void stuck() {
  std::abort();
}

} // namespace icapkit::fuzz
