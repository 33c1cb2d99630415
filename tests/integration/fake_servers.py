#!/usr/bin/python3
"""Misbehaving and recording ICAP servers for the integration tests (scan_faults.sh,
scan_flags.sh; no-encapsulated also in proxy_enforce.sh and load_serve.sh; script in
load_failures.sh).

Usage: fake_servers.py MODE [PORT_FILE] [record options]
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
  no-encapsulated      answers OPTIONS; answers each REQMOD/RESPMOD with `200 OK` without an
                       Encapsulated header, followed by an HTTP response and a chunked body, and
                       keeps the connection open for the next request (issue 13: not a verdict)
  record               a well-behaved server that writes what it received, one JSON line per
                       REQMOD/RESPMOD, to --log FILE: method, uri, icap_headers and http_headers
                       (names lowercased, repeated fields joined by ", "), request_line,
                       response_headers (RESPMOD), body (latin-1 text of the whole body),
                       body_length, preview (the Preview header's value or null), tls ({version,
                       sni, client_subject} or null). It answers 204 when allowed, else 200 with
                       the message unchanged; 100 Continue after a preview without ieof. A failed
                       TLS handshake is logged as {"event": "tls_handshake_failed", "error": ...}.
  script               answers OPTIONS; applies the actions of --actions A,B,... to the
                       REQMOD/RESPMOD requests in the order they arrive (server-wide), then answers
                       204 once they are used up: `answer` 204 and keep the connection; `close`
                       204, then close the connection (FIN) as if idle, without "Connection: close";
                       `reset` reset (RST) without an answer; `stall` never answer; `refuse` stop
                       listening (later connects are refused), then 204. Each REQMOD/RESPMOD line
                       says whether it came on a connection used before and what was done
                       ("fake[script]: REQMOD on connection 3, reused: reset"); `close` and
                       `reset` are the only ends of a connection it causes.
Record options: --log FILE; --preview N (OPTIONS offers Preview: N); --tls-cert PEM --tls-key PEM
(ICAPS: TLS from the first byte); --client-ca PEM (require a client certificate it signed);
--tls-max 1.2|1.3 (newest version offered).
Each connection and request is logged on stderr, one line each, with the connection's number
("fake[close]: connection 2", "fake[close]: REQMOD on connection 2"). Exits when its parent does.
"""
import argparse
import itertools
import json
import os
import socket
import ssl
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


def parse_head(text):
    """Head text -> (first line, {lowercased name: value, repeats joined by ", "})."""
    lines = text.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            value = value.strip()
            fields[name] = fields[name] + ", " + value if name in fields else value
    return lines[0], fields


def read_chunked_body(peer):
    """Reads chunks up to the zero chunk; returns (bytes, ieof)."""
    body = b""
    while True:
        line = peer.read_until(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            peer.read_until(b"\r\n")
            return body, b"ieof" in line
        body += peer.read_exact(size + 2)[:-2]


def chunked(body):
    return (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"


class Recorder:
    """What `record` mode writes: one JSON line per exchange, appended under a lock."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, entry):
        if not self.path:
            return
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def serve_recorded(sock, peer, port, options, recorder, tls):
    """The record mode's request loop on one (plain or TLS) connection."""
    while True:
        head = peer.read_until(b"\r\n\r\n")
        request_line, icap_headers = parse_head(head)
        method, uri = (request_line.split(" ") + ["", ""])[:2]
        print(f"fake[record]: {method}", file=sys.stderr, flush=True)
        if method == "OPTIONS":
            preview = b"Preview: %d\r\nTransfer-Preview: *\r\n" % options.preview \
                if options.preview is not None else b""
            sock.sendall(OPTIONS_REPLY % (b"record", str(port).encode(), preview))
            continue
        offsets = {}
        for part in icap_headers.get("encapsulated", "null-body=0").split(","):
            if "=" in part:
                key, value = part.split("=", 1)
                offsets[key.strip()] = int(value.strip())
        body_key = next((k for k in ("req-body", "res-body") if k in offsets), None)
        heads = peer.read_exact(offsets[body_key] if body_key else offsets.get("null-body", 0))
        req_head = heads[offsets["req-hdr"]:offsets.get("res-hdr", len(heads))] \
            if "req-hdr" in offsets else b""
        res_head = heads[offsets["res-hdr"]:] if "res-hdr" in offsets else b""
        body, ieof, sent_continue = b"", True, False
        if body_key:
            body, ieof = read_chunked_body(peer)
            if "preview" in icap_headers and not ieof:
                sock.sendall(b"ICAP/1.0 100 Continue\r\n\r\n")
                sent_continue = True
                rest, _ = read_chunked_body(peer)
                body += rest
        request_line_http, http_headers = parse_head(req_head) if req_head else ("", {})
        _, response_headers = parse_head(res_head) if res_head else ("", {})
        recorder.write({
            "method": method, "uri": uri, "icap_headers": icap_headers,
            "request_line": request_line_http, "http_headers": http_headers,
            "response_headers": response_headers, "body": body.decode("latin-1"),
            "body_length": len(body), "preview": icap_headers.get("preview"),
            "sent_continue": sent_continue, "tls": tls})
        if "204" in icap_headers.get("allow", ""):
            sock.sendall(b"ICAP/1.0 204 No Content\r\nISTag: \"fake-record\"\r\n"
                         b"Encapsulated: null-body=0\r\n\r\n")
            continue
        # No 204 allowed: the message back unchanged.
        http_head = res_head if method == "RESPMOD" else req_head
        prefix = "res" if method == "RESPMOD" else "req"
        encapsulated = f"{prefix}-hdr=0, {prefix}-body={len(http_head)}" if body_key \
            else f"{prefix}-hdr=0, null-body={len(http_head)}"
        sock.sendall(b"ICAP/1.0 200 OK\r\nISTag: \"fake-record\"\r\nEncapsulated: "
                     + encapsulated.encode() + b"\r\n\r\n" + http_head
                     + (chunked(body) if body_key else b""))


def tls_context(options):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(options.tls_cert, options.tls_key)
    if options.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(options.client_ca)
    if options.tls_max:
        context.maximum_version = {"1.2": ssl.TLSVersion.TLSv1_2,
                                   "1.3": ssl.TLSVersion.TLSv1_3}[options.tls_max]
    names = {}

    def remember_sni(ssl_socket, server_name, _context):
        names[id(ssl_socket)] = server_name

    context.sni_callback = remember_sni
    return context, names


def record_connection(sock, port, options, recorder, tls_setup):
    tls = None
    try:
        if tls_setup:
            context, names = tls_setup
            sock.settimeout(10)
            # A connection closed before sending anything (scan's start-up reachability check) is
            # not a handshake attempt: nothing to record.
            try:
                if not sock.recv(1, socket.MSG_PEEK):
                    return
            except OSError:
                return
            try:
                sock = context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print(f"fake[record]: TLS handshake failed: {e}", file=sys.stderr, flush=True)
                recorder.write({"event": "tls_handshake_failed", "error": str(e)})
                return
            sock.settimeout(None)
            subject = dict(item for rdn in (sock.getpeercert() or {}).get("subject", ())
                           for item in rdn)
            tls = {"version": sock.version(), "sni": names.pop(id(sock), None),
                   "client_subject": subject.get("commonName")}
        serve_recorded(sock, Peer(sock), port, options, recorder, tls)
    except (EOFError, OSError, ssl.SSLError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def answer_options(peer, mode, port):
    preview = b"Preview: 1024\r\nTransfer-Preview: *\r\n" if mode == "continue-stall" else b""
    peer.sock.sendall(OPTIONS_REPLY % (mode.encode(), str(port).encode(), preview))


def reset(sock):
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Script:
    """The script mode's actions, taken one per REQMOD/RESPMOD under a lock."""

    actions = ("answer", "close", "reset", "stall", "refuse")

    def __init__(self, text, listener):
        self.steps = [a for a in (text or "").split(",") if a]
        for action in self.steps:
            if action not in self.actions:
                raise SystemExit(f"fake_servers.py: unknown action {action!r} "
                                 f"(one of {', '.join(self.actions)})")
        self.listener = listener
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            return self.steps.pop(0) if self.steps else "answer"


NO_CONTENT = b"ICAP/1.0 204 No Content\r\nISTag: \"fake-script\"\r\nEncapsulated: null-body=0\r\n\r\n"


def serve_scripted(sock, peer, port, number, script):
    """The script mode's request loop on one connection."""
    messages = 0
    while True:
        method, has_body, _ = read_request(peer)
        messages += 1
        if method == "OPTIONS":
            print(f"fake[script]: OPTIONS on connection {number}", file=sys.stderr, flush=True)
            answer_options(peer, "script", port)
            continue
        if has_body:
            peer.read_chunked()  # icapkit load sends the whole body (or ieof in the preview)
        action = script.next()
        reused = "reused" if messages > 1 else "new"
        print(f"fake[script]: {method} on connection {number}, {reused}: {action}",
              file=sys.stderr, flush=True)
        if action == "reset":
            reset(sock)
            return
        if action == "stall":
            peer.drain_forever()
        if action == "refuse":
            script.listener.shutdown(socket.SHUT_RDWR)
        sock.sendall(NO_CONTENT)
        if action == "close":
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            return


def serve_connection(sock, mode, port, number, script=None):
    peer = Peer(sock)
    try:
        if mode == "silent":
            peer.drain_forever()
        if mode == "script":
            serve_scripted(sock, peer, port, number, script)
            return
        while True:
            method, has_body, preview = read_request(peer)
            print(f"fake[{mode}]: {method} on connection {number}", file=sys.stderr, flush=True)
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
            elif mode == "no-encapsulated":
                sock.sendall(b"ICAP/1.0 200 OK\r\nISTag: \"fake-no-encapsulated\"\r\n\r\n"
                             b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                             b"12\r\nreplaced by no one\r\n0\r\n\r\n")
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
    modes = ("silent", "stall", "continue-stall", "reset", "close", "garbage", "garbage-options",
             "no-encapsulated", "record", "script")
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("mode", choices=modes)
    parser.add_argument("port_file", nargs="?")
    parser.add_argument("--log")
    parser.add_argument("--preview", type=int)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca")
    parser.add_argument("--tls-max", choices=("1.2", "1.3"))
    parser.add_argument("--actions")
    options = parser.parse_args(argv[1:])
    mode = options.mode
    threading.Thread(target=exit_with_parent, daemon=True).start()
    tls_setup = tls_context(options) if options.tls_cert else None
    recorder = Recorder(options.log)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    if options.port_file:
        with open(options.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(options.port_file + ".tmp", options.port_file)  # never half-written
    else:
        print(port, flush=True)
    script = Script(options.actions, listener) if mode == "script" else None
    for number in itertools.count(1):
        try:
            sock, _ = listener.accept()
        except OSError:
            if script is None:
                raise
            print("fake[script]: no longer listening", file=sys.stderr, flush=True)
            threading.Event().wait()  # connections in flight go on; exits with its parent
        print(f"fake[{mode}]: connection {number}", file=sys.stderr, flush=True)
        if mode == "record":
            threading.Thread(target=record_connection,
                             args=(sock, port, options, recorder, tls_setup), daemon=True).start()
        else:
            threading.Thread(target=serve_connection, args=(sock, mode, port, number, script),
                             daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)
