// libFuzzer target: the standalone chunked decoder (sizes, extensions, ieof, trailers).
#include "fuzz_common.hpp"
#include "icapkit/codec/chunked.hpp"

#include <algorithm>

namespace {

class counting_events final : public icapkit::codec::chunked_events {
public:
  std::uint64_t announced = 0;
  std::uint64_t delivered = 0;
  void on_chunk_header(std::uint64_t size, const icapkit::codec::chunk_extensions&) override {
    announced += size;
  }
  void on_chunk_data(std::string_view data) override { delivered += data.size(); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = icapkit::fuzz::split_control(data, size);
  counting_events events;
  icapkit::codec::chunked_decoder decoder(events, icapkit::codec::limits{}, in.len);
  std::string_view rest = in.data;
  while (!rest.empty()) {
    std::size_t piece =
        in.stride == 0 ? rest.size() : std::min<std::size_t>(in.stride, rest.size());
    std::error_code ec;
    std::size_t used = decoder.put(rest.substr(0, piece), ec);
    rest.remove_prefix(used);
    if (ec) {
      return 0;
    }
    if (decoder.is_done()) {
      // Every byte delivered was announced by a chunk size, and a finished body delivered it all.
      if (events.delivered != events.announced) {
        std::abort();
      }
      decoder.reset();
      events = counting_events{};
      continue;
    }
    if (used < piece) {
      icapkit::fuzz::stuck();
    }
  }
  if (events.delivered > events.announced) {
    std::abort();
  }
  return 0;
}
