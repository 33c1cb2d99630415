// libFuzzer target: the head parser on encapsulated HTTP request and response heads.
#include "fuzz_common.hpp"
#include "icapkit/codec/head_parser.hpp"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = icapkit::fuzz::split_control(data, size);
  auto kind = (size & 1) != 0 ? icapkit::codec::head_kind::http_request
                              : icapkit::codec::head_kind::http_response;
  icapkit::codec::head_events events;
  icapkit::codec::head_parser parser(kind, events, icapkit::codec::limits{}, in.len);
  std::string_view rest = in.data;
  while (!rest.empty()) {
    std::size_t piece =
        in.stride == 0 ? rest.size() : std::min<std::size_t>(in.stride, rest.size());
    std::error_code ec;
    std::size_t used = parser.put(rest.substr(0, piece), ec);
    rest.remove_prefix(used);
    if (ec) {
      return 0;
    }
    if (parser.is_done()) {
      if (parser.head_bytes() > icapkit::codec::limits{}.max_header_bytes) {
        std::abort();
      }
      parser.reset();
      continue;
    }
    if (used < piece) {
      icapkit::fuzz::stuck();
    }
  }
  return 0;
}
