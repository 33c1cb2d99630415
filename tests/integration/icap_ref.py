#!/usr/bin/python3
"""A minimal reference ICAP client, independent of icapkit, for expected results in the tests.

Usage: icap_ref.py respmod-206 PORT SERVICE FILE URL OUT

Sends FILE as an HTTP 200 response body in a RESPMOD to icap://127.0.0.1:PORT/SERVICE with
`Allow: 204, 206` and the whole body as preview ending in `0; ieof`, the way c-icap-client -206
does, and writes to OUT the body a client must deliver:
  206: the returned chunks followed by FILE from byte use-original-body=N (the merge),
  200: the returned body,
  204: FILE unchanged.
Prints the ICAP status code. Why it exists: c-icap-client 0.5.10 does not write the merged body
for a 206 to -o (it prints "use -1 from the original body data"), so it cannot be the reference
for `icapkit scan --allow-206 --save-modified` (see tests/integration/scan_cicap.sh).
"""
import socket
import sys


def read_until(sock, buffer, marker):
    while marker not in buffer:
        data = sock.recv(65536)
        if not data:
            raise SystemExit(f"icap_ref.py: connection closed before {marker!r}")
        buffer += data
    index = buffer.index(marker) + len(marker)
    return buffer[:index], buffer[index:]


def read_exact(sock, buffer, count):
    while len(buffer) < count:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("icap_ref.py: connection closed inside a chunk")
        buffer += data
    return buffer[:count], buffer[count:]


def respmod_206(port, service, path, url, out):
    with open(path, "rb") as f:
        body = f.read()
    host = url.split("/")[2]
    req_head = f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    res_head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
    icap_head = (f"RESPMOD icap://127.0.0.1:{port}/{service} ICAP/1.0\r\n"
                 f"Host: 127.0.0.1:{port}\r\n"
                 f"Allow: 204, 206\r\n"
                 f"Preview: {len(body)}\r\n"
                 f"Encapsulated: req-hdr=0, res-hdr={len(req_head)}, "
                 f"res-body={len(req_head) + len(res_head)}\r\n\r\n").encode()
    chunk = (b"%x\r\n" % len(body) + body + b"\r\n") if body else b""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(icap_head + req_head + res_head + chunk + b"0; ieof\r\n\r\n")

    head, buffer = read_until(sock, b"", b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if status == 204:
        result = body
    elif status in (200, 206):
        headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        offsets = dict((k.strip(), int(v)) for k, v in
                       (p.split("=") for p in headers["encapsulated"].split(",")))
        if "res-body" not in offsets:
            raise SystemExit(f"icap_ref.py: no res-body in {headers['encapsulated']}")
        _, buffer = read_exact(sock, buffer, offsets["res-body"])
        result = b""
        while True:
            line, buffer = read_until(sock, buffer, b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                _, buffer = read_until(sock, buffer, b"\r\n")
                extension = line.decode("latin-1")
                if "use-original-body=" in extension:
                    offset = int(extension.split("use-original-body=")[1].strip())
                    result += body[offset:]
                break
            data, buffer = read_exact(sock, buffer, size + 2)
            result += data[:-2]
    else:
        raise SystemExit(f"icap_ref.py: unexpected ICAP status {status}")
    sock.close()
    with open(out, "wb") as f:
        f.write(result)
    print(status)


def main(argv):
    if len(argv) != 7 or argv[1] != "respmod-206":
        print(__doc__, file=sys.stderr)
        return 2
    respmod_206(int(argv[2]), argv[3], argv[4], argv[5], argv[6])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
