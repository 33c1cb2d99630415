#!/usr/bin/env python3
"""Many concurrent keep-alive HTTP/1.1 clients against one server, checking every answer, for
proxy_http.sh (and usable as a load generator).

Usage: http_clients.py HOST PORT --clients N --requests R [--body-bytes B] [--deadline S]
                       [--path PATH] [--get-every K]

Opens N connections at once; each sends R requests one after another on the same connection
(keep-alive): POST PATH with a body of B bytes unique to that client and request (default 1024),
except every K-th request, which is a GET of /get/... (default: every 2nd). A POST answer must be
200 with X-Body-SHA256 equal to the body's SHA-256 (what the upstream_recorder.py origin received);
a GET answer must be 200 with body "ok\\n"; no connection may be closed early. Prints one summary
line and up to 10 problems; exits 0 when every answer was right, 1 otherwise. --deadline bounds
the whole run (default 60 s).
"""
import argparse
import asyncio
import hashlib
import sys
import time


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                break
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def client(index, args, problems, latencies):
    try:
        reader, writer = await asyncio.open_connection(args.host, args.port, limit=1 << 20)
    except OSError as e:
        problems.append(f"client {index}: connect failed: {e}")
        return 0
    ok = 0
    try:
        for r in range(args.requests):
            start = time.monotonic()
            if args.get_every and r % args.get_every == args.get_every - 1:
                writer.write(f"GET /get/{index}/{r} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
                status, headers, body = await read_response(reader)
                if status != 200 or body != b"ok\n":
                    problems.append(f"client {index} request {r}: GET got {status} {body[:60]!r}")
                    return ok
            else:
                seed = f"client {index} request {r} ".encode()
                payload = (seed * (args.body_bytes // len(seed) + 1))[:args.body_bytes]
                writer.write(f"POST {args.path} HTTP/1.1\r\nHost: test\r\n"
                             f"Content-Type: application/octet-stream\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                status, headers, body = await read_response(reader)
                want = hashlib.sha256(payload).hexdigest()
                if status != 200 or headers.get("x-body-sha256") != want:
                    problems.append(f"client {index} request {r}: POST got {status}, "
                                    f"X-Body-SHA256 {headers.get('x-body-sha256')}, want {want}")
                    return ok
            latencies.append(time.monotonic() - start)
            ok += 1
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
        problems.append(f"client {index}: after {ok} answers: {type(e).__name__}: {e}")
    finally:
        writer.close()
    return ok


async def run(args):
    problems = []
    latencies = []
    start = time.monotonic()
    tasks = [asyncio.create_task(client(i, args, problems, latencies)) for i in range(args.clients)]
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for task in pending:
        task.cancel()
    elapsed = time.monotonic() - start
    answered = sum(t.result() for t in done if not t.cancelled() and t.exception() is None)
    want = args.clients * args.requests
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0
    print(f"clients {args.clients} requests {want} answered_ok {answered} "
          f"unfinished_clients {len(pending)} seconds {elapsed:.2f} "
          f"rps {answered / elapsed if elapsed else 0:.0f} p99_ms {p99:.1f}")
    for p in problems[:10]:
        print("problem: " + p)
    if pending:
        print(f"problem: {len(pending)} clients had not finished after {args.deadline} s")
    return 0 if answered == want and not problems and not pending else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2)
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--path", default="/upload/concurrent")
    parser.add_argument("--get-every", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=60)
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
