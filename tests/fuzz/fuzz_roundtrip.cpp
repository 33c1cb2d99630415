// libFuzzer target: parse -> serialize -> parse. Whatever the parser accepts and the serializer is
// willing to write must come back with the same encapsulated heads and the same body.
#include "fuzz_common.hpp"
#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/parser.hpp"
#include "icapkit/codec/serializer.hpp"

#include <charconv>

namespace codec = icapkit::codec;

namespace {

std::optional<std::uint64_t> preview_of(const codec::header_list& headers) {
  auto value = headers.get("Preview");
  std::uint64_t n = 0;
  if (!value ||
      std::from_chars(value->data(), value->data() + value->size(), n).ec != std::errc{}) {
    return std::nullopt;
  }
  return n;
}

void check_same(const codec::parsed_message& a, const codec::parsed_message& b) {
  if (a.http_request != b.http_request || a.http_response != b.http_response || a.body != b.body ||
      a.use_original_body != b.use_original_body) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = icapkit::fuzz::split_control(data, size);
  bool response = (size & 1) != 0;
  auto method = static_cast<codec::icap_method>(in.stride % 3);
  auto mode = response ? codec::parse_mode::icap_response : codec::parse_mode::icap_request;
  codec::parsed_message first;
  std::error_code ec;
  codec::parse_message(in.data, mode, first, ec, method, codec::limits{}, in.len);
  if (ec || !first.complete) {
    return 0;
  }
  codec::memory_body_source body(first.body);
  codec::encapsulated_parts parts;
  parts.request_head = first.http_request ? &*first.http_request : nullptr;
  parts.response_head = first.http_response ? &*first.http_response : nullptr;
  parts.body = first.encapsulated_header.has_chunked_body() ? &body : nullptr;
  std::string wire;
  if (response) {
    codec::response_options opt;
    opt.request_method = method;
    opt.use_original_body = first.use_original_body;
    if (codec::serialize_to_string(*first.icap_response, parts, opt, wire)) {
      return 0;
    }
  } else {
    codec::request_options opt;
    opt.preview = preview_of(first.icap_request->headers);
    if (codec::serialize_to_string(*first.icap_request, parts, opt, wire)) {
      return 0;
    }
  }
  // The serializer adds what a message needs (an Encapsulated header the first one lacked, a
  // Host), so a message at the parser's limits may come back a few fields and bytes over them.
  codec::limits roomier;
  roomier.max_header_count += 8;
  roomier.max_header_bytes += 1024;
  codec::parsed_message second;
  codec::parse_message(wire, mode, second, ec, method, roomier);
  if (ec || !second.complete) {
    std::abort(); // the serializer wrote something our own parser refuses
  }
  check_same(first, second);
  return 0;
}
