#include "icapkit/replay/capture/capture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace icapkit::replay;

namespace {

const std::filesystem::path captures =
    std::filesystem::path(ICAPKIT_TESTDATA_DIR) / "captures/pcap";
const std::string eicar = R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

// SHA-256 (FIPS 180-4): the capture server answers every upload with the sha256 of the body it
// received, so a reassembled body can be checked against what really went over the wire.
std::string sha256(const std::string& message) {
  static constexpr std::array<std::uint32_t, 64> k{
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  std::array<std::uint32_t, 8> h{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::string data = message + '\x80';
  while (data.size() % 64 != 56) {
    data += '\0';
  }
  const std::uint64_t bits = std::uint64_t{message.size()} * 8;
  for (int shift = 56; shift >= 0; shift -= 8) {
    data += static_cast<char>((bits >> shift) & 0xFF);
  }
  for (std::size_t block = 0; block < data.size(); block += 64) {
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t b = 0; b < 4; ++b) {
        w[i] = (w[i] << 8) | static_cast<unsigned char>(data[block + i * 4 + b]);
      }
    }
    for (std::size_t i = 16; i < 64; ++i) {
      const auto s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const auto s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto v = h;
    for (std::size_t i = 0; i < 64; ++i) {
      const auto s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      const auto choice = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const auto t1 = v[7] + s1 + choice + k[i] + w[i];
      const auto s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      const auto majority = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      v = {t1 + s0 + majority, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (std::size_t i = 0; i < 8; ++i) {
      h[i] += v[i];
    }
  }
  std::string hex;
  for (auto word : h) {
    for (int shift = 28; shift >= 0; shift -= 4) {
      hex += "0123456789abcdef"[(word >> shift) & 0xF];
    }
  }
  return hex;
}

struct read_result {
  std::vector<captured_exchange> exchanges;
  std::vector<std::string> warnings;
  std::optional<capture_error> error;
};

read_result read(const std::filesystem::path& file) {
  read_result result;
  result.error = read_pcap(
      file,
      [&](captured_exchange&& exchange) {
        result.exchanges.push_back(std::move(exchange));
        return true;
      },
      [&](const capture_error& warning) { result.warnings.push_back(warning.message()); });
  return result;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The method and path of each upload scripts/make-captures sends, in order.
const std::vector<std::pair<std::string, std::string>> expected_uploads{
    {"POST", "/upload/form"},     {"POST", "/api/items"},        {"POST", "/upload/chunked.txt"},
    {"GET", "/keepalive/1"},      {"POST", "/keepalive/2"},      {"POST", "/upload/eicar.com"},
    {"POST", "/upload/ipv6.txt"}, {"POST", "/upload/large.bin"},
};

// Every upload's body is what the server received: its size and sha256 are in the response.
void check_uploads(const read_result& result) {
  CHECK_FALSE(result.error);
  CHECK(result.warnings.empty());
  REQUIRE(result.exchanges.size() == expected_uploads.size());
  for (std::size_t i = 0; i < expected_uploads.size(); ++i) {
    const auto& exchange = result.exchanges[i];
    CAPTURE(exchange.origin);
    CHECK(exchange.head.method == expected_uploads[i].first);
    CHECK(ends_with(exchange.url, expected_uploads[i].second));
    CHECK(exchange.body_captured);
    REQUIRE(exchange.started);
    if (i > 0) {
      CHECK(*result.exchanges[i - 1].started <= *exchange.started);
    }
    REQUIRE(exchange.response);
    CHECK(exchange.response->head.status == 200);
    CHECK(exchange.response->body_complete);
    const auto answer = nlohmann::json::parse(exchange.response->body);
    CHECK(answer["path"] == expected_uploads[i].second);
    CHECK(answer["received"] == exchange.body.size());
    CHECK(answer["sha256"] == sha256(exchange.body));
  }
}

} // namespace

TEST_CASE("sha256 of the test helper matches the standard vectors") {
  CHECK(sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("uploads.pcap: every upload, in order, with the bytes the server received") {
  const auto result = read(captures / "uploads.pcap");
  check_uploads(result);
  REQUIRE(result.exchanges.size() == expected_uploads.size());
  const auto& form = result.exchanges[0];
  CHECK(form.url.starts_with("http://127.0.0.1:"));
  CHECK(form.origin.starts_with("uploads.pcap 127.0.0.1:"));
  CHECK(ends_with(form.origin, " request 1"));
  CHECK(form.body.find("quarterly report") != std::string::npos);
  CHECK(result.exchanges[1].body == R"({"name":"icapkit","items":[1,2,3]})");
  // The chunked upload: decoded body, head as recorded; the chunked response decoded.
  const auto& chunked = result.exchanges[2];
  CHECK(chunked.head.headers.get("Transfer-Encoding") == "chunked");
  CHECK(chunked.body.size() == 200 * 16);
  CHECK_FALSE(chunked.response->head.headers.contains("Transfer-Encoding"));
  // Two requests on one keep-alive connection.
  const auto& keepalive = result.exchanges[4].origin;
  CHECK(ends_with(keepalive, " request 2"));
  CHECK(keepalive.substr(0, keepalive.size() - 1) ==
        result.exchanges[3].origin.substr(0, keepalive.size() - 1));
  CHECK(result.exchanges[5].body == eicar);
  // IPv6: [addr]:port in the URL and the origin.
  const auto& ipv6 = result.exchanges[6];
  CHECK(ipv6.url.starts_with("http://[::1]:"));
  CHECK(ipv6.origin.find("[::1]:") != std::string::npos);
  CHECK(ipv6.origin.find("->[::1]:") != std::string::npos);
  // The large upload waited for 100 Continue: the final response is the one recorded.
  const auto& large = result.exchanges[7];
  CHECK(large.head.headers.get("Expect") == "100-continue");
  CHECK(large.body.size() == 200000);
}

TEST_CASE("uploads.pcapng holds the same exchanges as uploads.pcap") {
  const auto pcap = read(captures / "uploads.pcap");
  const auto pcapng = read(captures / "uploads.pcapng");
  check_uploads(pcapng);
  REQUIRE(pcap.exchanges.size() == pcapng.exchanges.size());
  for (std::size_t i = 0; i < pcap.exchanges.size(); ++i) {
    CHECK(pcap.exchanges[i].url == pcapng.exchanges[i].url);
    CHECK(pcap.exchanges[i].head == pcapng.exchanges[i].head);
    CHECK(pcap.exchanges[i].body == pcapng.exchanges[i].body);
    CHECK(pcapng.exchanges[i].origin.starts_with("uploads.pcapng "));
  }
}

TEST_CASE("reordered.pcap: shuffled, retransmitted and overlapping segments give the same body") {
  const auto in_order = read(captures / "uploads.pcap");
  const auto reordered = read(captures / "reordered.pcap");
  CHECK_FALSE(reordered.error);
  CHECK(reordered.warnings.empty());
  REQUIRE(reordered.exchanges.size() == 1);
  REQUIRE(in_order.exchanges.size() == expected_uploads.size());
  const auto& large = reordered.exchanges[0];
  CHECK(large.body_captured);
  CHECK(large.body == in_order.exchanges.back().body);
  REQUIRE(large.response);
  CHECK(nlohmann::json::parse(large.response->body)["sha256"] == sha256(large.body));
}

TEST_CASE("lossy.pcap: only the request whose body lost a segment is flagged, and delivered") {
  const auto result = read(captures / "lossy.pcap");
  CHECK_FALSE(result.error);
  REQUIRE(result.exchanges.size() == expected_uploads.size());
  for (std::size_t i = 0; i + 1 < result.exchanges.size(); ++i) {
    CHECK(result.exchanges[i].body_captured);
  }
  const auto& large = result.exchanges.back();
  CHECK_FALSE(large.body_captured);
  CHECK(large.body_note.starts_with("capture lost "));
  CHECK(ends_with(large.body_note, " of the client stream"));
  const auto lost = std::stoul(large.body_note.substr(std::string("capture lost ").size()));
  CHECK(large.body.size() + lost == 200000);
  REQUIRE(large.response);
  CHECK(large.response->head.status == 200);
}

TEST_CASE("truncated.pcap: a clear error naming the packet, after the complete connections") {
  const auto result = read(captures / "truncated.pcap");
  REQUIRE(result.error);
  CHECK(result.error->entry.starts_with("packet "));
  CHECK(result.error->message().find("truncated") != std::string::npos);
  // Everything before the large upload was complete when the file broke off.
  REQUIRE(result.exchanges.size() == expected_uploads.size() - 1);
  CHECK(result.exchanges.back().body == "uploaded over IPv6\n");
}

TEST_CASE("a file that is not a capture is an error with libpcap's reason") {
  const auto missing = read("/nonexistent/icapkit/capture.pcap");
  REQUIRE(missing.error);
  CHECK(missing.error->file == "/nonexistent/icapkit/capture.pcap");
  CHECK_FALSE(missing.error->detail.empty());
  const auto path = std::filesystem::temp_directory_path() / "icapkit_pcap_test_not_a_pcap";
  std::ofstream(path, std::ios::binary) << "GET / HTTP/1.1\r\n\r\n";
  const auto text = read(path);
  REQUIRE(text.error);
  CHECK_FALSE(text.error->detail.empty());
}

TEST_CASE("the sink can stop reading after any exchange") {
  int delivered = 0;
  const auto error = read_pcap(captures / "uploads.pcap", [&](captured_exchange&&) {
    ++delivered;
    return delivered < 2;
  });
  CHECK_FALSE(error);
  CHECK(delivered == 2);
}

// Synthetic captures: every link type, malformed packets, handshakes that were not captured.
namespace {

std::string be16(unsigned value) {
  return {static_cast<char>((value >> 8) & 0xFF), static_cast<char>(value & 0xFF)};
}

std::string be32(std::uint32_t value) {
  return be16(value >> 16) + be16(value & 0xFFFF);
}

std::string le32(std::uint32_t value) {
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  return out;
}

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;

std::string tcp(std::uint16_t source, std::uint16_t destination, std::uint32_t seq,
                std::uint8_t flags, const std::string& payload, unsigned data_offset_words = 5) {
  std::string header = be16(source) + be16(destination) + be32(seq) + be32(0);
  header += static_cast<char>(data_offset_words << 4);
  header += static_cast<char>(flags);
  header += be16(65535) + be16(0) + be16(0);
  return header + payload;
}

std::string ipv4(bool from_client, const std::string& segment, unsigned ihl_words = 5,
                 unsigned fragment = 0) {
  const std::string client("\x0a\x00\x00\x01", 4), server("\x0a\x00\x00\x02", 4);
  std::string header;
  header += static_cast<char>(0x40 | ihl_words);
  header += '\0';
  header += be16(static_cast<unsigned>(20 + segment.size())) + be16(0) + be16(fragment);
  header += std::string("\x40\x06\x00\x00", 4);
  header += from_client ? client + server : server + client;
  return header + segment;
}

// `extensions`: next-header chain before TCP, e.g. hop-by-hop then destination options.
std::string ipv6(bool from_client, const std::string& segment, std::string extensions = {},
                 std::uint8_t first_next = 6) {
  std::string client(16, '\0'), server(16, '\0');
  client[0] = server[0] = '\x20';
  client[15] = '\x01';
  server[15] = '\x02';
  std::string header("\x60\x00\x00\x00", 4);
  header += be16(static_cast<unsigned>(extensions.size() + segment.size()));
  header += static_cast<char>(first_next);
  header += '\x40';
  header += from_client ? client + server : server + client;
  return header + extensions + segment;
}

// One HTTP exchange over a handshake whose client ISN makes the request cross 2^32.
std::vector<std::string> conversation(bool v6, const std::string& request,
                                      const std::string& response, bool handshake = true) {
  const std::uint32_t client_isn = 0xFFFFFFF0u, server_isn = 5000;
  auto ip = [v6](bool from_client, const std::string& segment) {
    return v6 ? ipv6(from_client, segment) : ipv4(from_client, segment);
  };
  std::vector<std::string> packets;
  if (handshake) {
    packets.push_back(ip(true, tcp(40000, 80, client_isn, syn, "")));
    packets.push_back(ip(false, tcp(80, 40000, server_isn, syn | ack, "")));
  }
  const auto half = request.size() / 2;
  const std::uint32_t c = client_isn + 1, s = server_isn + 1;
  // The second half first: reassembly puts it back in order.
  packets.push_back(
      ip(true, tcp(40000, 80, c + static_cast<std::uint32_t>(half), ack, request.substr(half))));
  packets.push_back(ip(true, tcp(40000, 80, c, ack, request.substr(0, half))));
  packets.push_back(ip(false, tcp(80, 40000, s, ack, response)));
  const auto c_end = c + static_cast<std::uint32_t>(request.size());
  const auto s_end = s + static_cast<std::uint32_t>(response.size());
  packets.push_back(ip(true, tcp(40000, 80, c_end, fin | ack, "")));
  packets.push_back(ip(false, tcp(80, 40000, s_end, fin | ack, "")));
  return packets;
}

const std::string simple_request =
    "POST /x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2\r\n\r\nhi";
const std::string simple_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// A classic pcap file with these link-layer frames.
std::filesystem::path write_pcap(const std::string& name, std::uint32_t linktype,
                                 const std::vector<std::string>& frames) {
  std::string file = le32(0xa1b2c3d4) + std::string("\x02\x00\x04\x00", 4) + le32(0) + le32(0) +
                     le32(65535) + le32(linktype);
  std::uint32_t second = 1000;
  for (const auto& frame : frames) {
    const auto size = static_cast<std::uint32_t>(frame.size());
    file += le32(second++) + le32(0) + le32(size) + le32(size) + frame;
  }
  const auto path = std::filesystem::temp_directory_path() / ("icapkit_pcap_test_" + name);
  std::ofstream(path, std::ios::binary) << file;
  return path;
}

std::string ethertype_of(const std::string& packet) {
  return (static_cast<unsigned char>(packet[0]) >> 4) == 4 ? be16(0x0800) : be16(0x86DD);
}

std::string frame(std::uint32_t linktype, const std::string& packet) {
  const bool v4 = (static_cast<unsigned char>(packet[0]) >> 4) == 4;
  switch (linktype) {
  case 1: // Ethernet with an 802.1Q tag
    return std::string(12, '\x02') + be16(0x8100) + be16(42) + ethertype_of(packet) + packet;
  case 0: // BSD loopback, host byte order
    return le32(v4 ? 2 : 30) + packet;
  case 108: // OpenBSD loopback, network byte order
    return be32(v4 ? 2 : 24) + packet;
  case 113: // Linux cooked v1
    return be16(0) + be16(772) + be16(6) + std::string(8, '\0') + ethertype_of(packet) + packet;
  case 276: // Linux cooked v2
    return ethertype_of(packet) + be16(0) + be32(1) + be16(772) + std::string(10, '\0') + packet;
  default: // raw IP, IPv4, IPv6
    return packet;
  }
}

std::vector<std::string> frames(std::uint32_t linktype, const std::vector<std::string>& packets) {
  std::vector<std::string> out;
  for (const auto& packet : packets) {
    out.push_back(frame(linktype, packet));
  }
  return out;
}

} // namespace

TEST_CASE("every supported link type, IPv4 and IPv6, sequence numbers across 2^32") {
  const std::vector<std::pair<std::uint32_t, bool>> cases{
      {1, false},   {1, true},    {0, false},   {0, true},    {108, false},
      {108, true},  {113, false}, {113, true},  {276, false}, {276, true},
      {101, false}, {101, true},  {228, false}, {229, true}};
  for (const auto& [linktype, v6] : cases) {
    CAPTURE(linktype);
    CAPTURE(v6);
    const auto path = write_pcap(
        "link.pcap", linktype, frames(linktype, conversation(v6, simple_request, simple_response)));
    const auto result = read(path);
    CHECK_FALSE(result.error);
    CHECK(result.warnings.empty());
    REQUIRE(result.exchanges.size() == 1);
    const auto& exchange = result.exchanges[0];
    CHECK(exchange.url == "http://example.test/x");
    CHECK(exchange.body == "hi");
    CHECK(exchange.origin == (v6 ? "icapkit_pcap_test_link.pcap [2000::1]:40000->[2000::2]:80 "
                                   "request 1"
                                 : "icapkit_pcap_test_link.pcap 10.0.0.1:40000->10.0.0.2:80 "
                                   "request 1"));
    REQUIRE(exchange.response);
    CHECK(exchange.response->body == "ok");
  }
}

TEST_CASE("an unsupported link type is an error naming it") {
  const auto result = read(write_pcap("wifi.pcap", 105, {std::string(30, '\0')}));
  REQUIRE(result.error);
  CHECK(result.error->detail.find("IEEE802_11") != std::string::npos);
  CHECK(result.exchanges.empty());
}

TEST_CASE("malformed packets are skipped with a warning naming the packet, never a crash") {
  std::vector<std::string> packets{
      ipv4(true, tcp(1, 2, 0, syn, ""), 3),                               // header length 12
      ipv4(true, tcp(1, 2, 0, syn, ""), 15),                              // header past the packet
      ipv4(true, tcp(1, 2, 0, ack, "data", 15)),                          // data offset past it
      ipv4(true, std::string(10, '\0')),                                  // truncated TCP header
      ipv4(true, tcp(1, 2, 0, ack, "GET / HTTP/1.1\r\n\r\n"), 5, 0x2000), // a fragment
      ipv6(true, tcp(1, 2, 0, ack, ""), std::string("\x06\x20", 2), 0),   // extension too long
      ipv6(true, tcp(1, 2, 0, ack, ""), std::string(8, '\0'), 44),        // IPv6 fragment
      std::string("\x45\x00", 2),                                         // truncated IPv4
  };
  for (const auto& good : conversation(false, simple_request, simple_response)) {
    packets.push_back(good);
  }
  const auto result = read(write_pcap("malformed.pcap", 101, packets));
  CHECK_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 1);
  CHECK(result.exchanges[0].body == "hi");
  REQUIRE(result.warnings.size() == 8);
  for (std::size_t i = 0; i < result.warnings.size(); ++i) {
    CHECK(result.warnings[i].find("packet " + std::to_string(i + 1) + ": ") != std::string::npos);
  }
  CHECK(result.warnings[0].find("IPv4 header length 12") != std::string::npos);
  CHECK(result.warnings[2].find("TCP data offset 60") != std::string::npos);
  CHECK(result.warnings[4].find("fragmented IPv4") != std::string::npos);
  CHECK(result.warnings[6].find("fragmented IPv6") != std::string::npos);
}

TEST_CASE("IPv6 extension headers before TCP are walked") {
  // Hop-by-hop (8 bytes, next: destination options), destination options (16 bytes, next: TCP).
  std::string extensions("\x3c\x00", 2);
  extensions += std::string(6, '\0');
  extensions += std::string("\x06\x01", 2) + std::string(14, '\0');
  std::vector<std::string> packets;
  packets.push_back(ipv6(true, tcp(40000, 80, 100, syn, ""), extensions, 0));
  packets.push_back(ipv6(false, tcp(80, 40000, 6, syn | ack, "")));
  packets.push_back(ipv6(true, tcp(40000, 80, 101, ack, simple_request), extensions, 0));
  packets.push_back(ipv6(false, tcp(80, 40000, 7, ack, simple_response)));
  const auto result = read(write_pcap("ipv6ext.pcap", 229, packets));
  CHECK(result.warnings.empty());
  REQUIRE(result.exchanges.size() == 1); // delivered at the end of the file
  CHECK(result.exchanges[0].body == "hi");
  CHECK(result.exchanges[0].response->body == "ok");
}

TEST_CASE("without the handshake the request side is found by its data, with a warning") {
  auto packets = conversation(false, simple_request, simple_response, false);
  // The response is seen first, then the request in order.
  packets = {packets[2], packets[1], packets[0], packets[3], packets[4]};
  const auto result = read(write_pcap("nosyn.pcap", 101, packets));
  REQUIRE(result.warnings.size() == 1);
  CHECK(result.warnings[0].find("start was not captured") != std::string::npos);
  CHECK(result.warnings[0].find("10.0.0.1:40000->10.0.0.2:80") != std::string::npos);
  REQUIRE(result.exchanges.size() == 1);
  CHECK(result.exchanges[0].body == "hi");
  CHECK(result.exchanges[0].body_captured);
  CHECK(result.exchanges[0].response->body == "ok");
}

TEST_CASE("non-HTTP and TLS connections are ignored with one warning each") {
  std::vector<std::string> packets;
  packets.push_back(ipv4(true, tcp(40000, 22, 1, syn, "")));
  packets.push_back(ipv4(false, tcp(22, 40000, 9, syn | ack, "")));
  packets.push_back(ipv4(false, tcp(22, 40000, 10, ack, "SSH-2.0-OpenSSH_9.2\r\n")));
  packets.push_back(ipv4(true, tcp(40000, 22, 2, ack, "SSH-2.0-curl\r\n")));
  packets.push_back(ipv4(true, tcp(40001, 443, 1, syn, "")));
  packets.push_back(ipv4(true, tcp(40001, 443, 2, ack, std::string("\x16\x03\x01\x00\x10", 5))));
  packets.push_back(ipv4(true, tcp(40001, 443, 7, ack, std::string(16, 'x'))));
  packets.push_back(ipv4(true, tcp(40001, 443, 23, rst, "")));
  const auto result = read(write_pcap("nothttp.pcap", 101, packets));
  CHECK(result.exchanges.empty());
  REQUIRE(result.warnings.size() == 2);
  CHECK(result.warnings[0].find("10.0.0.1:40000->10.0.0.2:22") != std::string::npos);
  CHECK(result.warnings[1].find("(TLS)") != std::string::npos);
}

TEST_CASE("without a Host header the URL names the server address; RST ends a connection") {
  std::vector<std::string> packets;
  packets.push_back(ipv4(true, tcp(40000, 8080, 1, syn, "")));
  packets.push_back(ipv4(true, tcp(40000, 8080, 2, ack, "GET /nohost HTTP/1.0\r\n\r\n")));
  packets.push_back(ipv4(false, tcp(8080, 40000, 50, ack, "HTTP/1.0 200 OK\r\n\r\npartial")));
  packets.push_back(ipv4(false, tcp(8080, 40000, 72, rst, "")));
  // The same 4-tuple again: a new connection after the reset.
  packets.push_back(ipv4(true, tcp(40000, 8080, 900, syn, "")));
  packets.push_back(ipv4(true, tcp(40000, 8080, 901, ack, "GET /again HTTP/1.0\r\n\r\n")));
  int delivered_before_end = 0;
  std::vector<captured_exchange> exchanges;
  const auto error = read_pcap(write_pcap("rst.pcap", 101, packets), [&](captured_exchange&& e) {
    exchanges.push_back(std::move(e));
    ++delivered_before_end;
    return true;
  });
  CHECK_FALSE(error);
  REQUIRE(exchanges.size() == 2);
  CHECK(exchanges[0].url == "http://10.0.0.2:8080/nohost");
  REQUIRE(exchanges[0].response);
  CHECK(exchanges[0].response->body == "partial");
  CHECK_FALSE(exchanges[0].response->body_complete); // delimited by a reset, not a FIN
  CHECK(exchanges[1].url == "http://10.0.0.2:8080/again");
  CHECK_FALSE(exchanges[1].response);
}

TEST_CASE("the fuzz seeds are valid captures of one JSON POST, as pcap and as pcapng") {
  const auto seeds = std::filesystem::path(ICAPKIT_SOURCE_DIR) / "tests/fuzz/seeds/fuzz_pcap";
  for (const char* name : {"json_post.pcap", "json_post.pcapng"}) {
    CAPTURE(name);
    const auto result = read(seeds / name);
    CHECK_FALSE(result.error);
    CHECK(result.warnings.empty());
    REQUIRE(result.exchanges.size() == 1);
    CHECK(result.exchanges[0].body == R"({"name":"icapkit","items":[1,2,3]})");
    REQUIRE(result.exchanges[0].response);
    CHECK(result.exchanges[0].response->head.status == 200);
  }
}
