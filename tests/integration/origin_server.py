#!/usr/bin/env python3
"""A tiny HTTP origin server for the Squid interop test (tests/integration/squid_serve.sh).

Usage: origin_server.py DIRECTORY PORT_FILE [PARENT_PID]

Listens on 127.0.0.1, port 0 (the kernel picks one), and writes the bound port to PORT_FILE
(atomically: a temporary file renamed into place). GET/HEAD serve files from DIRECTORY (any URL
path maps to the file named by its last segment, so /slow/clean3k.txt serves clean3k.txt); POST
and PUT read the whole body (Content-Length or chunked) and answer 200 with a text/plain body
"sha256=<hex> bytes=<n>\n" and the same values in X-Body-SHA256 / X-Body-Length, so the test can
check that an upload reached the origin byte-identical. Bodies are sent at once, as a fast origin
does. Exits when PARENT_PID (default: its parent process) is gone.
"""
import hashlib
import http.server
import os
import socketserver
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "icapkit-test-origin/1"

    def log_message(self, fmt, *args):  # one line per request on stderr, for the test's log
        sys.stderr.write("origin: %s %s\n" % (self.address_string(), fmt % args))

    def _file(self):
        name = os.path.basename(self.path.split("?", 1)[0])
        path = os.path.join(self.server.root, name)
        return path if name and os.path.isfile(path) else None

    def _send(self, code, body, ctype="application/octet-stream", extra=None, head=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        self.wfile.write(body)

    def do_GET(self, head=False):
        path = self._file()
        if path is None:
            self._send(404, b"not found\n", "text/plain", head=head)
            return
        with open(path, "rb") as f:
            self._send(200, f.read(), head=head)

    def do_HEAD(self):
        self.do_GET(head=True)

    def _read_body(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                data = self.rfile.read(size)
                h.update(data)
                n += len(data)
                self.rfile.readline()  # CRLF after the chunk
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    break
                h.update(data)
                n += len(data)
                left -= len(data)
        return h.hexdigest(), n

    def do_POST(self):
        digest, n = self._read_body()
        body = ("sha256=%s bytes=%d\n" % (digest, n)).encode()
        self._send(200, body, "text/plain",
                   {"X-Body-SHA256": digest, "X-Body-Length": str(n)})

    do_PUT = do_POST


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


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
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: origin_server.py DIRECTORY PORT_FILE [PARENT_PID]\n")
        return 2
    root, port_file = sys.argv[1], sys.argv[2]
    parent = int(sys.argv[3]) if len(sys.argv) == 4 else os.getppid()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root = root
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)
    threading.Thread(target=watch_parent, args=(parent,), daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
