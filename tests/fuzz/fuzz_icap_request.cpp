// libFuzzer target: the ICAP request parser (as a server sees client bytes).
#include "fuzz_icap_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  icapkit::fuzz::drive_icap_parser(data, size, icapkit::codec::parse_mode::icap_request);
  return 0;
}
