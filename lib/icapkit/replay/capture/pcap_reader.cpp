// pcap/pcapng reader: libpcap reads the file, the link/IP/TCP headers are decoded here, each
// connection's two directions go through tcp_direction (reassembly) and http_stream (HTTP/1.x
// messages), and a connection's exchanges are emitted as soon as it is over.
#include "icapkit/replay/capture/capture.hpp"
#include "icapkit/replay/capture/http_stream.hpp"
#include "icapkit/replay/capture/tcp_reassembly.hpp"

#include <pcap/pcap.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <variant>
#include <vector>

namespace icapkit::replay {

namespace {

using detail::packet_time;
using bytes = std::span<const std::uint8_t>;

constexpr std::uint8_t tcp_fin = 0x01;
constexpr std::uint8_t tcp_syn = 0x02;
constexpr std::uint8_t tcp_rst = 0x04;
constexpr std::uint8_t tcp_ack = 0x10;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86DD;

std::uint16_t read_be16(bytes data, std::size_t at) {
  std::array<std::uint8_t, 2> raw{};
  std::memcpy(raw.data(), data.data() + at, raw.size());
  return static_cast<std::uint16_t>((raw[0] << 8) | raw[1]);
}

std::uint32_t read_be32(bytes data, std::size_t at) {
  return (std::uint32_t{read_be16(data, at)} << 16) | read_be16(data, at + 2);
}

struct endpoint {
  std::array<std::uint8_t, 16> address{};
  bool v6 = false;
  std::uint16_t port = 0;
  auto operator<=>(const endpoint&) const = default;

  // "127.0.0.1:8080", "[::1]:8080"
  std::string to_string() const {
    std::array<char, INET6_ADDRSTRLEN> text{};
    inet_ntop(v6 ? AF_INET6 : AF_INET, address.data(), text.data(),
              static_cast<socklen_t>(text.size()));
    const std::string host(text.data());
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

struct tcp_segment {
  endpoint source;
  endpoint destination;
  std::uint32_t seq = 0;
  std::uint8_t flags = 0;
  std::string_view payload;
};

// A packet is a TCP segment, something else (ARP, UDP: skipped silently), or malformed /
// unsupported (skipped with this warning).
struct not_tcp {};
using decoded = std::variant<tcp_segment, not_tcp, std::string>;

decoded decode_tcp(bytes data, endpoint source, endpoint destination) {
  if (data.size() < 20) {
    return "truncated TCP header (" + std::to_string(data.size()) + " bytes)";
  }
  const std::size_t header = static_cast<std::size_t>(data[12] >> 4) * 4;
  if (header < 20 || header > data.size()) {
    return "TCP data offset " + std::to_string(header) + " outside the segment (" +
           std::to_string(data.size()) + " bytes)";
  }
  source.port = read_be16(data, 0);
  destination.port = read_be16(data, 2);
  const auto payload = data.subspan(header);
  return tcp_segment{
      source, destination, read_be32(data, 4), data[13],
      std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size())};
}

decoded decode_ipv4(bytes data) {
  if (data.size() < 20 || data[0] >> 4 != 4) {
    return std::string("truncated or invalid IPv4 header");
  }
  const std::size_t header = std::size_t{data[0] & 0x0Fu} * 4;
  const std::size_t total = read_be16(data, 2);
  if (header < 20 || header > data.size()) {
    return "IPv4 header length " + std::to_string(header) + " outside the packet (" +
           std::to_string(data.size()) + " bytes)";
  }
  if (total != 0 && total < header) { // 0: segmentation offload left it unset
    return "IPv4 total length " + std::to_string(total) + " below its header length " +
           std::to_string(header);
  }
  if (data[9] != 6) {
    return not_tcp{};
  }
  const std::uint16_t fragment = read_be16(data, 6);
  if ((fragment & 0x3FFFu) != 0) { // more-fragments flag or a fragment offset
    return std::string("fragmented IPv4 packet skipped (fragments are not reassembled)");
  }
  endpoint source;
  endpoint destination;
  std::memcpy(source.address.data(), data.data() + 12, 4);
  std::memcpy(destination.address.data(), data.data() + 16, 4);
  // Ethernet pads short frames: the IP total length says where the packet ends.
  const std::size_t end = total == 0 ? data.size() : std::min(total, data.size());
  return decode_tcp(data.subspan(header, end - header), source, destination);
}

decoded decode_ipv6(bytes data) {
  if (data.size() < 40 || data[0] >> 4 != 6) {
    return std::string("truncated or invalid IPv6 header");
  }
  const std::size_t payload_length = read_be16(data, 4);
  const std::size_t end =
      payload_length == 0 ? data.size() : std::min(40 + payload_length, data.size());
  std::uint8_t next = data[6];
  std::size_t at = 40;
  // Extension headers before TCP; a bounded walk so a loop of headers cannot spin.
  for (int hops = 0; hops < 16 && next != 6; ++hops) {
    if (next == 44) {
      return std::string("fragmented IPv6 packet skipped (fragments are not reassembled)");
    }
    if (next != 0 && next != 43 && next != 60 && next != 51) {
      return not_tcp{};
    }
    if (at + 2 > end) {
      return std::string("IPv6 extension header outside the packet");
    }
    const std::size_t length =
        next == 51 ? (std::size_t{data[at + 1]} + 2) * 4 : (std::size_t{data[at + 1]} + 1) * 8;
    next = data[at];
    at += length;
    if (at > end) {
      return std::string("IPv6 extension header outside the packet");
    }
  }
  if (next != 6) {
    return not_tcp{};
  }
  endpoint source{{}, true, 0};
  endpoint destination{{}, true, 0};
  std::memcpy(source.address.data(), data.data() + 8, 16);
  std::memcpy(destination.address.data(), data.data() + 24, 16);
  return decode_tcp(data.subspan(at, end - at), source, destination);
}

decoded decode_ip(std::uint16_t ethertype, bytes data) {
  if (ethertype == ethertype_ipv4) {
    return decode_ipv4(data);
  }
  if (ethertype == ethertype_ipv6) {
    return decode_ipv6(data);
  }
  return not_tcp{};
}

// IP version from the first nibble, for link types that carry no protocol field we trust.
decoded decode_by_version(bytes data) {
  if (data.empty()) {
    return not_tcp{};
  }
  const int version = data[0] >> 4;
  return version == 4 ? decode_ipv4(data) : version == 6 ? decode_ipv6(data) : decoded{not_tcp{}};
}

decoded decode_ethernet(bytes data) {
  std::size_t at = 12;
  if (data.size() < at + 2) {
    return std::string("truncated Ethernet header");
  }
  std::uint16_t ethertype = read_be16(data, at);
  // 802.1Q / 802.1ad VLAN tags (possibly stacked) sit before the real ethertype.
  while (ethertype == 0x8100 || ethertype == 0x88A8 || ethertype == 0x9100) {
    at += 4;
    if (data.size() < at + 2) {
      return std::string("truncated VLAN tag");
    }
    ethertype = read_be16(data, at);
  }
  return decode_ip(ethertype, data.subspan(at + 2));
}

bool supported_link(int link) {
  switch (link) {
  case DLT_EN10MB:
  case DLT_NULL:
  case DLT_LOOP:
  case DLT_LINUX_SLL:
  case DLT_LINUX_SLL2:
  case DLT_RAW:
  case DLT_IPV4:
  case DLT_IPV6:
    return true;
  default:
    return false;
  }
}

decoded decode_packet(int link, bytes data) {
  switch (link) {
  case DLT_EN10MB:
    return decode_ethernet(data);
  case DLT_NULL: // 4-byte address family in the capturing host's byte order
  case DLT_LOOP: // the same in network byte order; the IP version nibble is unambiguous
    return data.size() < 4 ? decoded{std::string("truncated loopback header")}
                           : decode_by_version(data.subspan(4));
  case DLT_LINUX_SLL:
    return data.size() < 16 ? decoded{std::string("truncated Linux cooked header")}
                            : decode_ip(read_be16(data, 14), data.subspan(16));
  case DLT_LINUX_SLL2:
    return data.size() < 20 ? decoded{std::string("truncated Linux cooked v2 header")}
                            : decode_ip(read_be16(data, 0), data.subspan(20));
  default: // DLT_RAW, DLT_IPV4, DLT_IPV6
    return decode_by_version(data);
  }
}

// One TCP connection seen in the capture. Side 0 is the endpoint that sent the first packet
// seen; `client` says which side opened the connection (SYN) or sent the first request.
struct connection {
  std::array<endpoint, 2> ends;
  std::array<detail::tcp_direction, 2> directions;
  std::array<std::optional<std::uint32_t>, 2> syn_seq;
  std::array<bool, 2> fin{false, false};
  std::array<bool, 2> classified{false, false};
  bool reset = false;
  bool ignored = false;
  bool warned_start = false;
  std::optional<int> client;
  std::unique_ptr<detail::http_stream> requests;
  std::unique_ptr<detail::http_stream> responses;
  std::vector<detail::http_message> request_messages;
  std::vector<detail::http_message> response_messages; // final responses only

  int side_of(const endpoint& e) const { return e == ends[0] ? 0 : 1; }
  bool finished() const { return reset || (fin[0] && fin[1]); }
  std::string label() const {
    const int c = client.value_or(0);
    return ends[static_cast<std::size_t>(c)].to_string() + "->" +
           ends[static_cast<std::size_t>(1 - c)].to_string();
  }
};

using connection_key = std::pair<endpoint, endpoint>;

connection_key key_of(const tcp_segment& segment) {
  return segment.source < segment.destination ? connection_key{segment.source, segment.destination}
                                              : connection_key{segment.destination, segment.source};
}

class pcap_session {
public:
  pcap_session(const std::filesystem::path& file, int link, const exchange_sink& sink,
               const warning_sink& warn)
      : file_(file), name_(file.filename().string()), link_(link), sink_(sink), warn_(warn) {}

  void on_packet(std::uint64_t number, bytes data, packet_time time);
  // The end of the file: every open connection is over.
  void finish_all();
  bool stopped() const { return stopped_; }

private:
  void on_segment(const tcp_segment& segment, packet_time time);
  connection* find_or_open(const tcp_segment& segment);
  void start_direction(connection& conn, int side, const tcp_segment& segment);
  void pump(connection& conn);
  void pump_side(connection& conn, int side);
  bool classify(connection& conn, int side, const detail::stream_piece& piece);
  void ignore(connection& conn, const std::string& why);
  void close(connection& conn);
  void emit(connection& conn);
  captured_exchange make_exchange(const connection& conn, detail::http_message& request,
                                  std::size_t number) const;
  void warn(const std::string& entry, const std::string& detail) const {
    if (warn_) {
      warn_(capture_error{file_, entry, std::nullopt, detail});
    }
  }

  std::filesystem::path file_;
  std::string name_;
  int link_;
  const exchange_sink& sink_;
  const warning_sink& warn_;
  std::map<connection_key, std::unique_ptr<connection>> connections_;
  std::vector<connection*> open_order_; // for the end of the file: oldest first
  bool stopped_ = false;
};

void pcap_session::on_packet(std::uint64_t number, bytes data, packet_time time) {
  const auto result = decode_packet(link_, data);
  if (const auto* problem = std::get_if<std::string>(&result)) {
    warn("packet " + std::to_string(number), *problem + ": skipped");
    return;
  }
  if (const auto* segment = std::get_if<tcp_segment>(&result)) {
    on_segment(*segment, time);
  }
}

connection* pcap_session::find_or_open(const tcp_segment& segment) {
  const auto key = key_of(segment);
  auto found = connections_.find(key);
  const bool syn = (segment.flags & (tcp_syn | tcp_ack)) == tcp_syn;
  if (found != connections_.end()) {
    auto& conn = *found->second;
    const auto side = static_cast<std::size_t>(conn.side_of(segment.source));
    // A new SYN on a known 4-tuple: the port was reused, the old connection is over.
    if (!syn || !conn.syn_seq[side] || *conn.syn_seq[side] == segment.seq) {
      return &conn;
    }
    close(conn);
  }
  // Pure ACKs and FINs of connections already released must not open new ones.
  if (!syn && segment.payload.empty() && (segment.flags & tcp_syn) == 0) {
    return nullptr;
  }
  auto conn = std::make_unique<connection>();
  conn->ends = {segment.source, segment.destination};
  auto* raw = conn.get();
  connections_.emplace(key, std::move(conn));
  open_order_.push_back(raw);
  return raw;
}

void pcap_session::on_segment(const tcp_segment& segment, packet_time time) {
  connection* conn = find_or_open(segment);
  if (conn == nullptr) {
    return;
  }
  const int side = conn->side_of(segment.source);
  const auto index = static_cast<std::size_t>(side);
  auto& direction = conn->directions[index];
  const bool syn = (segment.flags & tcp_syn) != 0;
  if (syn) {
    if (!conn->client) { // SYN: this side opens; SYN-ACK: the other side did
      conn->client = (segment.flags & tcp_ack) != 0 ? 1 - side : side;
    }
    if (!direction.started()) {
      conn->syn_seq[index] = segment.seq;
      direction.start(segment.seq + 1);
    }
  }
  if (!direction.started() && (!segment.payload.empty() || (segment.flags & tcp_fin) != 0)) {
    start_direction(*conn, side, segment);
  }
  const std::uint32_t data_seq = segment.seq + (syn ? 1u : 0u);
  if (!conn->ignored) {
    direction.add(data_seq, segment.payload, time);
  }
  if ((segment.flags & tcp_fin) != 0) {
    conn->fin[index] = true;
    direction.finish_at(data_seq + static_cast<std::uint32_t>(segment.payload.size()));
  }
  if ((segment.flags & tcp_rst) != 0) {
    conn->reset = true;
  }
  pump(*conn);
  if (conn->finished()) {
    close(*conn);
  }
}

void pcap_session::start_direction(connection& conn, int side, const tcp_segment& segment) {
  conn.directions[static_cast<std::size_t>(side)].start(segment.seq);
  if (!conn.client) {
    // No handshake captured: the side whose data starts like a request is the client.
    switch (detail::classify_start(segment.payload)) {
    case detail::stream_start::request:
      conn.client = side;
      break;
    case detail::stream_start::response:
      conn.client = 1 - side;
      break;
    case detail::stream_start::other:
      conn.client = side;
      ignore(conn, "no handshake captured and the data does not start like HTTP/1.x "
                   "(the capture began mid-message, or another protocol): connection ignored");
      return;
    }
  }
  if (!conn.warned_start && !conn.ignored) {
    conn.warned_start = true;
    warn(conn.label(), "the connection's start was not captured (no SYN): reading from the first "
                       "segment seen, earlier requests may be missing");
  }
}

void pcap_session::ignore(connection& conn, const std::string& why) {
  if (!conn.ignored) {
    conn.ignored = true;
    warn(conn.label(), why);
  }
  // Keep only what is needed to notice the connection's end (small), drop the data.
  for (auto& direction : conn.directions) {
    direction.flush();
    while (direction.next()) {
    }
  }
  conn.requests.reset();
  conn.responses.reset();
  conn.request_messages.clear();
  conn.response_messages.clear();
}

bool pcap_session::classify(connection& conn, int side, const detail::stream_piece& piece) {
  const bool client_side = side == *conn.client;
  conn.classified[static_cast<std::size_t>(side)] = true;
  if (piece.type == detail::stream_piece::kind::gap) {
    return true; // the stream reports the head lost in the gap
  }
  const auto start = detail::classify_start(piece.data);
  if (start == (client_side ? detail::stream_start::request : detail::stream_start::response)) {
    return true;
  }
  const bool tls = !piece.data.empty() && piece.data[0] == '\x16';
  ignore(conn, std::string("the ") + (client_side ? "client" : "server") + " data does not start " +
                   (client_side ? "with an HTTP/1.x request" : "with an HTTP/1.x response") +
                   (tls ? " (TLS)" : "") + ": connection ignored");
  return false;
}

void pcap_session::pump(connection& conn) {
  if (conn.ignored || !conn.client) {
    return;
  }
  const int client = *conn.client;
  if (!conn.requests) {
    const std::string label = conn.label();
    auto stream_warn = [this, label](const std::string& text) { warn(label, text); };
    conn.requests = std::make_unique<detail::http_stream>(detail::http_side::client, stream_warn);
    conn.responses = std::make_unique<detail::http_stream>(
        detail::http_side::server, stream_warn, [&conn](std::size_t index) {
          return index < conn.request_messages.size() &&
                 conn.request_messages[index].request.method == "HEAD";
        });
  }
  // Requests first, so a response can see whether it answers a HEAD request.
  pump_side(conn, client);
  if (!conn.ignored) {
    pump_side(conn, 1 - client);
  }
}

void pcap_session::pump_side(connection& conn, int side) {
  const bool client_side = side == *conn.client;
  auto& stream = client_side ? *conn.requests : *conn.responses;
  auto& direction = conn.directions[static_cast<std::size_t>(side)];
  while (auto piece = direction.next()) {
    if (!conn.classified[static_cast<std::size_t>(side)] && !classify(conn, side, *piece)) {
      return;
    }
    stream.put(*piece);
  }
  for (auto& message : stream.take()) {
    if (client_side) {
      conn.request_messages.push_back(std::move(message));
    } else if (message.response.status >= 200) { // 100 Continue and other interim responses
      conn.response_messages.push_back(std::move(message));
    }
  }
  auto& other = client_side ? *conn.responses : *conn.requests;
  if (stream.switched_protocol()) {
    other.stop(); // a tunnel or an upgrade: the other direction is not HTTP either
  }
}

void pcap_session::close(connection& conn) {
  if (!conn.ignored && conn.client) {
    for (std::size_t side = 0; side < 2; ++side) {
      conn.directions[side].flush();
    }
    pump(conn);
  }
  if (!conn.ignored && conn.requests) {
    const auto client = static_cast<std::size_t>(*conn.client);
    conn.requests->finish(conn.fin[client] && !conn.reset);
    conn.responses->finish(conn.fin[1 - client] && !conn.reset);
    pump(conn); // collects what finish() completed
    emit(conn);
  }
  const connection_key key = conn.ends[0] < conn.ends[1]
                                 ? connection_key{conn.ends[0], conn.ends[1]}
                                 : connection_key{conn.ends[1], conn.ends[0]};
  std::erase(open_order_, &conn);
  connections_.erase(key); // `conn` is gone from here on
}

void pcap_session::emit(connection& conn) {
  // Responses pair with requests in stream order (HTTP/1.x answers in order); 100 Continue and
  // other interim responses were left out when they were collected.
  std::vector<captured_exchange> exchanges;
  for (std::size_t i = 0; i < conn.request_messages.size(); ++i) {
    auto exchange = make_exchange(conn, conn.request_messages[i], i + 1);
    if (i < conn.response_messages.size()) {
      auto& response = conn.response_messages[i];
      exchange.response = recorded_response{std::move(response.response), std::move(response.body),
                                            response.body_complete};
    }
    exchanges.push_back(std::move(exchange));
  }
  std::stable_sort(exchanges.begin(), exchanges.end(),
                   [](const auto& a, const auto& b) { return a.started < b.started; });
  for (auto& exchange : exchanges) {
    if (!sink_(std::move(exchange))) {
      stopped_ = true;
      return;
    }
  }
}

captured_exchange pcap_session::make_exchange(const connection& conn, detail::http_message& request,
                                              std::size_t number) const {
  const auto client = static_cast<std::size_t>(*conn.client);
  captured_exchange exchange;
  exchange.origin = name_ + " " + conn.label() + " request " + std::to_string(number);
  const auto& target = request.request.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    exchange.url = target; // absolute-form: a request to a proxy
  } else {
    const auto host = request.request.headers.get("Host");
    exchange.url = "http://" + (host ? std::string(*host) : conn.ends[1 - client].to_string()) +
                   (target.starts_with("/") ? "" : "/") + target;
  }
  exchange.head = std::move(request.request);
  exchange.body = std::move(request.body);
  exchange.body_captured = request.body_complete;
  exchange.body_note = std::move(request.body_note);
  exchange.started = request.started;
  return exchange;
}

void pcap_session::finish_all() {
  while (!open_order_.empty() && !stopped_) {
    close(*open_order_.front());
  }
}

packet_time time_of(const pcap_pkthdr& header) {
  // The handle was opened with nanosecond precision: tv_usec holds nanoseconds.
  const auto since_epoch =
      std::chrono::seconds(header.ts.tv_sec) + std::chrono::nanoseconds(header.ts.tv_usec);
  return packet_time(std::chrono::duration_cast<packet_time::duration>(since_epoch));
}

} // namespace

std::optional<capture_error> read_pcap(const std::filesystem::path& file, const exchange_sink& sink,
                                       const warning_sink& warn) {
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> handle(
      pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                              errbuf.data()),
      &pcap_close);
  if (!handle) {
    return capture_error{file, "", std::nullopt, errbuf.data()};
  }
  const int link = pcap_datalink(handle.get());
  if (!supported_link(link)) {
    const char* name = pcap_datalink_val_to_name(link);
    return capture_error{file, "", std::nullopt,
                         "unsupported link type " + std::string(name ? name : "unknown") + " (" +
                             std::to_string(link) +
                             "): Ethernet, loopback, Linux cooked and raw IP are read"};
  }
  pcap_session session(file, link, sink, warn);
  for (std::uint64_t number = 1;; ++number) {
    pcap_pkthdr* header = nullptr;
    const std::uint8_t* data = nullptr;
    const int status = pcap_next_ex(handle.get(), &header, &data);
    if (status == PCAP_ERROR_BREAK) {
      session.finish_all();
      return std::nullopt;
    }
    if (status != 1) {
      return capture_error{file, "packet " + std::to_string(number), std::nullopt,
                           pcap_geterr(handle.get())};
    }
    session.on_packet(number, bytes(data, header->caplen), time_of(*header));
    if (session.stopped()) {
      return std::nullopt;
    }
  }
}

} // namespace icapkit::replay
