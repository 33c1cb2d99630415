#!/usr/bin/python3
"""Misbehaving ICAP servers for the fault tests (tests/integration/scan_faults.sh).

Usage: fake_servers.py MODE [PORT_FILE]
Listens on 127.0.0.1, port 0 (the kernel picks a free one), writes the port to PORT_FILE (or
prints it) once listening, and serves until killed. Every connection gets its own thread.

Modes (all but `silent` and `garbage-options` answer OPTIONS correctly, so the fault hits the
REQMOD/RESPMOD exchange itself, not the OPTIONS icapkit sends first):
  silent               accepts, reads everything, never writes a byte
  stall                answers OPTIONS; reads the REQMOD/RESPMOD, never answers it
  continue-stall       answers OPTIONS (Preview: 1024); answers a preview with 100 Continue,
                       then reads the rest and never answers
  reset                answers OPTIONS; to the REQMOD/RESPMOD sends the ICAP head, the HTTP head
                       and part of a body chunk, then resets the connection (RST)
  close                answers OPTIONS; closes (FIN) without an answer once the request is read
  garbage              answers OPTIONS; answers the REQMOD/RESPMOD with bytes that are not ICAP
  garbage-options      answers OPTIONS (and everything else) with bytes that are not ICAP
Each connection and request is logged on stderr, one line each. Exits when its parent does.
"""
import os
import socket
import struct
import sys
import threading
import time

OPTIONS_REPLY = (
    b"ICAP/1.0 200 OK\r\n"
    b"Methods: REQMOD, RESPMOD\r\n"
    b"Service: icapkit fake server (%s)\r\n"
    b"ISTag: \"fake-%s\"\r\n"
    b"Allow: 204\r\n"
    b"%s"
    b"Options-TTL: 3600\r\n"
    b"Encapsulated: null-body=0\r\n"
    b"\r\n"
)

GARBAGE = b"\x00\xff\xfeHELLO? this is not ICAP at all\r\n\x01\x02\x03\r\n\r\n"


class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def read_until(self, marker):
        while marker not in self.buffer:
            self.fill()
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def read_exact(self, count):
        while len(self.buffer) < count:
            self.fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_chunked(self):
        """Reads chunks up to the zero chunk; returns True when it carried ieof."""
        while True:
            line = self.read_until(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.read_until(b"\r\n")  # no trailers from icapkit: the empty line
                return b"ieof" in line
            self.read_exact(size + 2)

    def drain_forever(self):
        while True:
            self.buffer = b""
            self.fill()


def read_request(peer):
    """Reads one ICAP head and the encapsulated heads. Returns (method, has_body, preview)."""
    head = peer.read_until(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method = lines[0].split(" ")[0]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    encapsulated = headers.get("encapsulated", "null-body=0")
    offsets = {}
    for part in encapsulated.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            offsets[key.strip()] = int(value.strip())
    body_key = next((k for k in ("req-body", "res-body", "opt-body") if k in offsets), None)
    end = offsets[body_key] if body_key else offsets.get("null-body", 0)
    peer.read_exact(end)  # the encapsulated HTTP heads
    return method, body_key is not None, "preview" in headers


def answer_options(peer, mode, port):
    preview = b"Preview: 1024\r\nTransfer-Preview: *\r\n" if mode == "continue-stall" else b""
    peer.sock.sendall(OPTIONS_REPLY % (mode.encode(), str(port).encode(), preview))


def reset(sock):
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def serve_connection(sock, mode, port):
    peer = Peer(sock)
    try:
        if mode == "silent":
            peer.drain_forever()
        while True:
            method, has_body, preview = read_request(peer)
            print(f"fake[{mode}]: {method}", file=sys.stderr, flush=True)
            if mode == "garbage-options":
                sock.sendall(GARBAGE)
                sock.close()
                return
            if method == "OPTIONS":
                answer_options(peer, mode, port)
                continue
            ieof = peer.read_chunked() if has_body else True
            if mode == "stall":
                peer.drain_forever()
            elif mode == "continue-stall":
                if preview and not ieof:
                    sock.sendall(b"ICAP/1.0 100 Continue\r\n\r\n")
                peer.drain_forever()
            elif mode == "reset":
                http_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n\r\n"
                sock.sendall(b"ICAP/1.0 200 OK\r\nISTag: \"fake-reset\"\r\n"
                             b"Encapsulated: res-hdr=0, res-body=%d\r\n\r\n" % len(http_head)
                             + http_head + b"1000\r\n" + b"partial body " * 20)
                reset(sock)
                return
            elif mode == "close":
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                return
            elif mode == "garbage":
                sock.sendall(GARBAGE)
                sock.close()
                return
    except (EOFError, OSError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def exit_with_parent():
    # The test script may be killed outright (a CTest timeout sends SIGKILL, which runs no trap):
    # then this server is re-parented, and stops instead of lingering.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv):
    modes = ("silent", "stall", "continue-stall", "reset", "close", "garbage", "garbage-options")
    if len(argv) < 2 or argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    mode = argv[1]
    threading.Thread(target=exit_with_parent, daemon=True).start()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    if len(argv) > 2:
        with open(argv[2] + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(argv[2] + ".tmp", argv[2])  # readers never see a half-written file
    else:
        print(port, flush=True)
    while True:
        sock, _ = listener.accept()
        print(f"fake[{mode}]: connection", file=sys.stderr, flush=True)
        threading.Thread(target=serve_connection, args=(sock, mode, port), daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)
