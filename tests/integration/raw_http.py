#!/usr/bin/env python3
"""Sends raw bytes to an HTTP server and reports how it answered, for request-smuggling, limit and
slow-client checks in proxy_http.sh.

Usage: raw_http.py HOST PORT FILE [--wait SECONDS] [--then-wait-close]

Sends FILE's bytes as they are (nothing is fixed up), then reads until the server closes the
connection or --wait seconds (default 5) pass. Prints:
  status CODE        the first response's status code, or "none"
  responses N        how many response status lines came back (a smuggled second request that
                     the server answered shows up as 2)
  statuses A,B       their codes
  closed yes|no      whether the server closed the connection within --wait
  elapsed_ms MS      from the last byte sent to the close (or to the end of the wait)
Exits 0 in every case but a failed connect (1).
"""
import re
import socket
import sys
import time


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, path = argv[1], int(argv[2]), argv[3]
    wait = 5.0
    if "--wait" in argv:
        wait = float(argv[argv.index("--wait") + 1])
    with open(path, "rb") as f:
        data = f.read()
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        print(f"connect failed: {e}")
        return 1
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server may close before reading everything; what it answered still counts
    sent = time.monotonic()
    received = b""
    closed = False
    while True:
        left = wait - (time.monotonic() - sent)
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except OSError:  # a reset is a close too
            closed = True
            break
        if not chunk:
            closed = True
            break
        received += chunk
    elapsed = int((time.monotonic() - sent) * 1000)
    sock.close()
    statuses = re.findall(rb"(?:^|\n)HTTP/1\.[01] (\d{3}) ", received)
    codes = [s.decode() for s in statuses]
    print("status " + (codes[0] if codes else "none"))
    print(f"responses {len(codes)}")
    print("statuses " + ",".join(codes))
    print("closed " + ("yes" if closed else "no"))
    print(f"elapsed_ms {elapsed}")
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    print("head " + head.replace("\r\n", " | ")[:400])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
