#!/usr/bin/env python3
"""Derives damaged copies of a capture for the pcap reader's tests (standard library only).

Used by scripts/make-captures. Reads classic pcap (either byte order, micro- or nanosecond
timestamps) with Ethernet (lo), raw IP or Linux cooked framing; TCP over IPv4/IPv6.

  pcap_tool.py reorder IN OUT     the largest upload's connection, its client data segments
                                  shuffled in blocks of 5, every 6th one sent again later and two
                                  segments overlapping their neighbours added (retransmissions)
  pcap_tool.py lossy IN OUT       IN without one client data segment of the largest upload
  pcap_tool.py truncate IN OUT    IN cut in the middle of the 3rd data packet of the largest upload
  pcap_tool.py connection IN OUT --path P   the connection whose request target is P
  pcap_tool.py pcapng IN OUT      the same packets as pcapng (SHB, IDB, EPBs)

The derivations are deterministic: the same input always gives the same output.
"""
import argparse
import random
import struct
import sys

MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
          b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}


class Packet:
    def __init__(self, ts_sec, ts_frac, orig_len, data):
        self.ts_sec, self.ts_frac, self.orig_len, self.data = ts_sec, ts_frac, orig_len, data
        self.tcp = None  # filled by decode()


class Capture:
    def __init__(self, path):
        raw = open(path, "rb").read()
        self.endian = MAGICS.get(raw[:4])
        if self.endian is None:
            sys.exit(f"{path}: not a classic pcap file")
        self.header = raw[:24]
        self.nanosecond = raw[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        self.linktype = struct.unpack(self.endian + "I", raw[20:24])[0] & 0x0FFFFFFF
        self.packets = []
        pos = 24
        while pos + 16 <= len(raw):
            sec, frac, caplen, orig = struct.unpack(self.endian + "IIII", raw[pos:pos + 16])
            self.packets.append(Packet(sec, frac, orig, raw[pos + 16:pos + 16 + caplen]))
            pos += 16 + caplen
        for packet in self.packets:
            packet.tcp = decode(self.linktype, packet.data)

    def record(self, packet):
        return struct.pack(self.endian + "IIII", packet.ts_sec, packet.ts_frac, len(packet.data),
                           len(packet.data)) + packet.data

    def write(self, path, packets):
        with open(path, "wb") as out:
            out.write(self.header)
            for packet in packets:
                out.write(self.record(packet))


class Tcp:
    """Where the TCP segment sits in the packet, and its 4-tuple, seq and flags."""

    def __init__(self, ip_offset, version, src, dst, tcp_offset, data):
        self.ip_offset, self.version, self.tcp_offset = ip_offset, version, tcp_offset
        self.sport, self.dport, self.seq = struct.unpack(">HHI", data[tcp_offset:tcp_offset + 8])
        self.flags = data[tcp_offset + 13]
        self.payload_offset = tcp_offset + (data[tcp_offset + 12] >> 4) * 4
        self.src, self.dst = (src, self.sport), (dst, self.dport)
        self.payload = data[self.payload_offset:]

    def key(self):
        return tuple(sorted([self.src, self.dst]))


def decode(linktype, data):
    if linktype == 1:  # Ethernet
        offset, ethertype = 14, struct.unpack(">H", data[12:14])[0]
    elif linktype == 113:  # Linux cooked v1
        offset, ethertype = 16, struct.unpack(">H", data[14:16])[0]
    elif linktype in (12, 101):  # raw IP
        offset, ethertype = 0, 0x0800 if data[0] >> 4 == 4 else 0x86DD
    else:
        sys.exit(f"unsupported link type {linktype}")
    if ethertype == 0x0800 and data[offset + 9] == 6:
        ihl = (data[offset] & 0x0F) * 4
        total = struct.unpack(">H", data[offset + 2:offset + 4])[0]
        data = data[:offset + total] if total else data
        return Tcp(offset, 4, data[offset + 12:offset + 16], data[offset + 16:offset + 20],
                   offset + ihl, data)
    if ethertype == 0x86DD and data[offset + 6] == 6:
        return Tcp(offset, 6, data[offset + 8:offset + 24], data[offset + 24:offset + 40],
                   offset + 40, data)
    return None


def with_payload(packet, seq, payload):
    """A copy of `packet` carrying `payload` at `seq` (IP lengths fixed; checksums not)."""
    tcp = packet.tcp
    data = bytearray(packet.data[:tcp.payload_offset] + payload)
    struct.pack_into(">I", data, tcp.tcp_offset + 4, seq)
    if tcp.version == 4:
        struct.pack_into(">H", data, tcp.ip_offset + 2, len(data) - tcp.ip_offset)
    else:
        struct.pack_into(">H", data, tcp.ip_offset + 4, len(data) - tcp.ip_offset - 40)
    copy = Packet(packet.ts_sec, packet.ts_frac, len(data), bytes(data))
    copy.tcp = Tcp(tcp.ip_offset, tcp.version, tcp.src[0], tcp.dst[0], tcp.tcp_offset,
                   copy.data)
    return copy


def largest_upload(capture):
    """The packets of the connection whose client sent the most bytes, and its client."""
    sent = {}
    for packet in capture.packets:
        if packet.tcp and packet.tcp.payload:
            key = (packet.tcp.key(), packet.tcp.src)
            sent[key] = sent.get(key, 0) + len(packet.tcp.payload)
    key, client = max(sent, key=sent.get)
    return [p for p in capture.packets if p.tcp and p.tcp.key() == key], client


def body_segments(packets, client):
    """Indices of the client's data packets after the first one (which holds the head)."""
    data = [i for i, p in enumerate(packets) if p.tcp.src == client and p.tcp.payload]
    return data[1:]


def reorder(capture, out):
    packets, client = largest_upload(capture)
    body = body_segments(packets, client)
    segments = [packets[i] for i in body]
    rng = random.Random(7)
    arranged = []
    for start in range(0, len(segments), 5):
        block = segments[start:start + 5]
        rng.shuffle(block)
        arranged.extend(block)
    # Retransmissions: every 6th segment again, three segments later.
    for position in range(len(arranged) - 4, 0, -6):
        again = arranged[position]
        arranged.insert(position + 3, with_payload(again, again.tcp.seq, again.tcp.payload))
    # Overlaps: a segment from the middle of one to the middle of the next, sent first.
    for index in (4, len(segments) // 2):
        first, second = segments[index], segments[index + 1]
        half, stream = len(first.tcp.payload) // 2, first.tcp.payload + second.tcp.payload
        length = len(first.tcp.payload)
        overlap = with_payload(first, (first.tcp.seq + half) & 0xFFFFFFFF,
                               stream[half:half + length])
        arranged.insert(arranged.index(first), overlap)
    slots = [packets[i] for i in body]
    result = []
    for i, packet in enumerate(packets):
        if i == body[0]:
            for n, segment in enumerate(arranged):
                slot = slots[min(n * len(slots) // len(arranged), len(slots) - 1)]
                segment.ts_sec, segment.ts_frac = slot.ts_sec, slot.ts_frac
                result.append(segment)
        elif i not in body:
            result.append(packet)
    capture.write(out, result)


def lossy(capture, out):
    packets, client = largest_upload(capture)
    body = body_segments(packets, client)
    dropped = packets[body[len(body) // 2]]
    capture.write(out, [p for p in capture.packets if p is not dropped])


def truncate(capture, out):
    packets, client = largest_upload(capture)
    cut = packets[body_segments(packets, client)[2]]
    index = next(i for i, p in enumerate(capture.packets) if p is cut)
    capture.write(out, capture.packets[:index])
    with open(out, "ab") as stream:
        stream.write(capture.record(cut)[:16 + len(cut.data) // 2])


def connection(capture, out, path):
    needle = b" " + path.encode() + b" HTTP/1."
    key = next(p.tcp.key() for p in capture.packets if p.tcp and needle in p.tcp.payload[:200])
    capture.write(out, [p for p in capture.packets if p.tcp and p.tcp.key() == key])


def pcapng(capture, out):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        length = len(body) + 12
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    resolution = 1_000_000_000 if capture.nanosecond else 1_000_000
    with open(out, "wb") as stream:
        stream.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        options = b""
        if capture.nanosecond:  # if_tsresol = 9
            options = struct.pack("<HHB", 9, 1, 9) + b"\0" * 3 + struct.pack("<HH", 0, 0)
        stream.write(block(1, struct.pack("<HHI", capture.linktype, 0, 262144) + options))
        for packet in capture.packets:
            ts = packet.ts_sec * resolution + packet.ts_frac
            header = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(packet.data),
                                 packet.orig_len)
            stream.write(block(6, header + packet.data))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["reorder", "lossy", "truncate", "connection", "pcapng"])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--path", help="request target (connection)")
    args = parser.parse_args()
    capture = Capture(args.input)
    if args.command == "connection":
        if not args.path:
            parser.error("connection needs --path")
        connection(capture, args.output, args.path)
    else:
        globals()[args.command](capture, args.output)


if __name__ == "__main__":
    main()
