// libFuzzer target: the standalone chunked decoder (sizes, extensions, ieof, trailers).
#include "fuzz_common.hpp"
#include "icapkit/codec/chunked.hpp"

#include <algorithm>

namespace {

// Checks that every data byte belongs to an announced chunk and a chunk never delivers more
// than its size. Tracked per chunk: a sum of sizes could overflow (16 hex digits are allowed).
class checking_events final : public icapkit::codec::chunked_events {
public:
  void on_chunk_header(std::uint64_t size, const icapkit::codec::chunk_extensions&) override {
    if (remaining_ != 0) {
      std::abort(); // a new chunk before the previous one delivered all its bytes
    }
    remaining_ = size;
  }
  void on_chunk_data(std::string_view data) override {
    if (data.size() > remaining_) {
      std::abort();
    }
    remaining_ -= data.size();
  }
  bool chunk_open() const { return remaining_ != 0; }

private:
  std::uint64_t remaining_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = icapkit::fuzz::split_control(data, size);
  checking_events events;
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
      if (events.chunk_open()) {
        std::abort(); // finished with a chunk still owed bytes
      }
      decoder.reset();
      continue;
    }
    if (used < piece) {
      icapkit::fuzz::stuck();
    }
  }
  return 0;
}
