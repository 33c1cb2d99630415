#!/usr/bin/env python3
"""An HTTP/1.1 origin that records what reached it, for the `icapkit proxy` tests (proxy_*.sh).

Usage: upstream_recorder.py LOG PORT_FILE [--dir DIRECTORY] [--save-bodies DIR] [--tls CERT KEY]
                           [--parent PID]

Listens on 127.0.0.1, port 0 (the kernel picks one), and writes the bound port to PORT_FILE
atomically (a temporary file renamed into place). Keep-alive (HTTP/1.1). For every request it
appends one JSON line to LOG before answering, so a test that has the answer can read the line:
  {"method", "path" (the request target as sent), "headers": {lowercased name: value, repeated
   fields joined with ", "}, "length" (body bytes), "sha256" (of the body), and with
   --save-bodies "body_file" (DIR/N.body, N counting from 0: the body as received)}
Request bodies: Content-Length or chunked (trailers skipped). Answers:
  GET|HEAD /download/NAME  the file NAME from DIRECTORY (404 when absent), as
                           application/octet-stream, with X-Body-SHA256 of the file
  anything else            200 "ok\\n"; for POST and PUT also X-Body-SHA256 and X-Body-Length of
                           the received body
A request header X-Delay-Ms: N delays the answer N ms (a slow origin). Faults, by request header
(the request is read whole and logged first): X-Drop: always closes the connection without
answering; X-Drop: first does so the first time its path is seen; X-Drop: idle answers (keep-alive
announced), then closes the connection and prints "closed idle connection" on stderr. --tls serves
HTTPS with that certificate and key. Exits when PID (default: its parent process) is gone.
"""
import argparse
import hashlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "icapkit-test-upstream/1"

    def log_message(self, fmt, *args):  # the JSON log is the record; keep stderr quiet
        pass

    def _read_body(self):
        digest = hashlib.sha256()
        length = 0
        self.body = bytearray() if self.server.save_dir else None
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                left = size
                while left > 0:
                    data = self.rfile.read(min(left, 65536))
                    if not data:
                        break
                    digest.update(data)
                    self._keep(data)
                    length += len(data)
                    left -= len(data)
                self.rfile.readline()  # the CRLF after the chunk data
        else:
            left = int(self.headers.get("Content-Length", "0") or "0")
            while left > 0:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    break
                digest.update(data)
                self._keep(data)
                length += len(data)
                left -= len(data)
        return length, digest.hexdigest()

    def _keep(self, data):
        if self.body is not None:
            self.body += data

    def _record(self, length, sha):
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        record = {"method": self.command, "path": self.path, "headers": headers,
                  "length": length, "sha256": sha}
        with self.server.log_lock:
            if self.server.save_dir:
                record["body_file"] = os.path.join(self.server.save_dir,
                                                   "%d.body" % self.server.saved)
                self.server.saved += 1
                with open(record["body_file"], "wb") as f:
                    f.write(self.body)
            line = json.dumps(record, separators=(",", ":"))
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(line + "\n")

    def _send(self, code, body, extra=None, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _close(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self):
        length, sha = self._read_body()
        self._record(length, sha)
        drop = self.headers.get("X-Drop", "")
        if drop == "first":
            with self.server.log_lock:
                drop = "always" if self.path not in self.server.dropped else ""
                self.server.dropped.add(self.path)
        if drop == "always":
            self._close()
            return
        delay = self.headers.get("X-Delay-Ms", "")
        if delay.isdigit():
            time.sleep(int(delay) / 1000.0)
        path = self.path.split("?", 1)[0]
        if "://" in path:  # absolute-form (a forward proxy may pass it on): keep the path part
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        if self.command in ("GET", "HEAD") and path.startswith("/download/"):
            name = os.path.basename(path)
            file = os.path.join(self.server.root or "", name)
            if not name or not self.server.root or not os.path.isfile(file):
                self._send(404, b"not found\n")
                return
            with open(file, "rb") as f:
                data = f.read()
            self._send(200, data, {"X-Body-SHA256": hashlib.sha256(data).hexdigest()},
                       "application/octet-stream")
            return
        extra = {}
        if self.command in ("POST", "PUT"):
            extra = {"X-Body-SHA256": sha, "X-Body-Length": str(length)}
        self._send(200, b"ok\n", extra)
        if drop == "idle":
            self._close()
            print("closed idle connection", file=sys.stderr, flush=True)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 2048  # the 1,000-client test may open that many upstream connections


def watch_parent(parent):
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description="HTTP origin that records requests")
    parser.add_argument("log")
    parser.add_argument("port_file")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--save-bodies", default=None)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--parent", type=int, default=os.getppid())
    args = parser.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root = args.dir
    srv.log_path = args.log
    srv.log_lock = threading.Lock()
    srv.save_dir = args.save_bodies
    srv.saved = 0
    srv.dropped = set()
    if srv.save_dir:
        os.makedirs(srv.save_dir, exist_ok=True)
    open(args.log, "a").close()
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    threading.Thread(target=watch_parent, args=(args.parent,), daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
