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

const std::filesystem::path captures = std::filesystem::path(ICAPKIT_TESTDATA_DIR) / "captures/pcap";
const std::string eicar =
    R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

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
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(),
                                                      suffix) == 0;
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
