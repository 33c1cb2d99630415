#pragma once
// Drives codec::parser over arbitrary bytes: pipelined messages, preview decisions, eof.
#include "fuzz_common.hpp"
#include "icapkit/codec/parser.hpp"

namespace icapkit::fuzz {

inline void drive_icap_parser(const std::uint8_t* bytes, std::size_t size, codec::parse_mode mode) {
  auto in = split_control(bytes, size);
  codec::parser_events events;
  codec::parser p(mode, events, codec::limits{}, in.len);
  if (mode == codec::parse_mode::icap_response) {
    p.set_request_method(static_cast<codec::icap_method>(size % 3));
  }
  std::string_view rest = in.data;
  bool continue_preview = (size & 1) != 0;
  while (!rest.empty()) {
    std::size_t piece =
        in.stride == 0 ? rest.size() : std::min<std::size_t>(in.stride, rest.size());
    std::error_code ec;
    std::size_t used = p.put(rest.substr(0, piece), ec);
    if (used > piece) {
      std::abort();
    }
    rest.remove_prefix(used);
    if (ec) {
      return;
    }
    bool paused = p.awaiting_preview_decision();
    if (paused) {
      continue_preview ? p.continue_after_preview() : p.end_after_preview();
      continue_preview = !continue_preview;
    }
    if (p.is_done()) {
      p.reset();
      continue;
    }
    if (used < piece && !paused) {
      stuck();
    }
  }
  std::error_code ec;
  p.put_eof(ec);
}

} // namespace icapkit::fuzz
