// libFuzzer target: the ICAP response parser (as a client sees server bytes).
#include "fuzz_icap_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  icapkit::fuzz::drive_icap_parser(data, size, icapkit::codec::parse_mode::icap_response);
  return 0;
}
