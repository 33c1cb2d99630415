#!/usr/bin/python3
"""The origin, the load and the verdict of the proxy chaos test (tests/integration/proxy_chaos.sh).

Usage:
  proxy_chaos.py origin LOG PORT_FILE EVENTS --parent PID [--idle S] [--delay-ms MIN-MAX]
  proxy_chaos.py load HOST PORT RESULTS --stop-file FILE --deadline S [--clients N]
                 [--max-seconds S] [--post-percent P] [--body-bytes B] [--parent PID]
  proxy_chaos.py check --results F --origin-log F --origin-events F --events F --records F
                 --stats F --icap NAME=PORT... --bring-back S --kill-slack S --deadline S

origin: an HTTP/1.1 keep-alive origin. This process (the supervisor) owns the listening socket
(127.0.0.1, port 0, written to PORT_FILE) and runs one worker process on it (the socket passed by
pass_fds, so there is never a refused window); SIGUSR1 starts a new worker, waits until it serves,
then SIGKILLs the old one, whose connections (idle or mid-request) die with it, and appends
{"event": "origin-kill", "t0", "t1", "old", "new"} to EVENTS (t0/t1: just before/after the kill,
epoch seconds). A worker answers each request with JSON {"id", "method", "sha256", "length",
"pid"} (the id from X-Chaos-Id, the sha256/length of the body it received), after appending one
line {"id", "method", "sha256", "length", "pid", "t"} to LOG (O_APPEND, one write per line, so two
workers never mix lines) once the request is whole and before a short processing delay (so that a
kill finds requests in flight). It closes a kept-alive connection that stays idle for --idle
seconds (default 0.3) on its own. Everything exits when PID is gone.

load: N client threads (default 8) on keep-alive connections to the proxy, each sending until
--stop-file exists (or --max-seconds passed): POST /upload/ID with a random body (default 4096
bytes) or GET /get/ID, each with X-Chaos-Id: ID, a socket timeout of --deadline, and now and then
a pause longer than the origin's idle time so that the proxy's upstream connections go idle. One
JSON line per request to RESULTS: id, method, start, end (epoch s), status, sha256/length sent,
the origin's answer (parsed), error (no HTTP answer), reused (the client connection was reused).

check: the assertions; prints the counts and one line per problem; exit 1 when any.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time


def watch_parent(parent):
    """Exit at once when `parent` is gone (a test killed outright must not leave us behind)."""
    def loop():
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass
            time.sleep(0.3)
    threading.Thread(target=loop, daemon=True).start()


# --- origin worker -----------------------------------------------------------------------------

class Conn:
    def __init__(self, sock, idle):
        self.sock = sock
        self.idle = idle
        self.buf = b""

    def fill(self, timeout):
        """Reads more bytes within `timeout`; False on EOF or timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, OSError):
            return False
        if not data:
            return False
        self.buf += data
        return True

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536 or not self.fill(5):
                raise EOFError
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            if not self.fill(5):
                raise EOFError
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def serve_connection(sock, args, log_fd):
    conn = Conn(sock, args.idle)
    lo, hi = args.delay
    try:
        while True:
            # The idle close: no byte of a next request within --idle seconds -> close, as
            # origins with a short keep-alive timeout do.
            if not conn.buf and not conn.fill(args.idle):
                break
            head = conn.line().decode("latin-1")
            while head == "":  # stray CRLF
                head = conn.line().decode("latin-1")
            method, target, version = head.split(" ", 2)
            headers = {}
            while True:
                line = conn.line().decode("latin-1")
                if not line:
                    break
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
            digest = hashlib.sha256()
            length = 0
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while True:
                    size = int(conn.line().split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while conn.line():
                            pass
                        break
                    data = conn.exactly(size)
                    digest.update(data)
                    length += size
                    conn.exactly(2)
            else:
                n = int(headers.get("content-length", "0"))
                data = conn.exactly(n)
                digest.update(data)
                length = n
            rid = headers.get("x-chaos-id", target.rsplit("/", 1)[-1])
            entry = {"id": rid, "method": method, "sha256": digest.hexdigest(), "length": length,
                     "pid": os.getpid(), "t": time.time()}
            os.write(log_fd, (json.dumps(entry) + "\n").encode())
            time.sleep(random.uniform(lo, hi))
            body = json.dumps({"id": rid, "method": method, "sha256": entry["sha256"],
                               "length": length, "pid": entry["pid"]}).encode()
            close = "close" in headers.get("connection", "").lower()
            extra = b"Connection: close\r\n" if close else b""
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n%s\r\n" % (len(body), extra) + body)
            if close:
                break
    except (EOFError, OSError, ValueError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def origin_worker(args):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT})
    watch_parent(os.getppid())
    listener = socket.socket(fileno=args.fd)
    log_fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=serve_connection, args=(sock, args, log_fd), daemon=True).start()


# --- origin supervisor -------------------------------------------------------------------------

def origin(args):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT})

    def start_worker():
        cmd = [sys.executable, os.path.abspath(__file__), "origin-worker", args.log,
               "--fd", str(listener.fileno()), "--idle", str(args.idle),
               "--delay-ms", "%d-%d" % (args.delay[0] * 1000, args.delay[1] * 1000)]
        worker = subprocess.Popen(cmd, pass_fds=(listener.fileno(),), stdout=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([worker.stdout], [], [], 15)
        if not ready or not worker.stdout.readline().startswith(b"ready"):
            worker.kill()
            worker.wait()
            raise SystemExit("origin: a worker did not start within 15 s")
        return worker

    def event(doc):
        with open(args.events, "a") as f:
            f.write(json.dumps(doc) + "\n")

    worker = start_worker()
    event({"event": "origin-start", "t": time.time(), "pid": worker.pid})
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(tmp, args.port_file)
    try:
        while True:
            try:
                os.kill(args.parent, 0)
            except ProcessLookupError:
                break
            sig = signal.sigtimedwait({signal.SIGUSR1, signal.SIGTERM, signal.SIGINT}, 0.3)
            if sig is None:
                continue
            if sig.si_signo != signal.SIGUSR1:
                break
            new = start_worker()
            t0 = time.time()
            worker.kill()
            t1 = time.time()
            worker.wait()
            event({"event": "origin-kill", "t0": t0, "t1": t1, "old": worker.pid, "new": new.pid})
            worker = new
    finally:
        worker.kill()
        worker.wait()
    return 0


# --- load --------------------------------------------------------------------------------------

def load(args):
    if args.parent:
        watch_parent(args.parent)
    results = []
    lock = threading.Lock()
    t_end = time.time() + args.max_seconds

    def stopped():
        return os.path.exists(args.stop_file) or time.time() > t_end

    def client(index):
        rng = random.Random(index * 7919 + int(time.time()))
        conn = None
        used = 0
        seq = 0
        while not stopped():
            seq += 1
            rid = "c%d-%d" % (index, seq)
            post = rng.randrange(100) < args.post_percent
            body = os.urandom(args.body_bytes) if post else b""
            result = {"id": rid, "method": "POST" if post else "GET", "client": index,
                      "sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                      "reused": used > 0}
            if conn is None:
                conn = http.client.HTTPConnection(args.host, args.port, timeout=args.deadline)
                used = 0
                result["reused"] = False
            headers = {"X-Chaos-Id": rid, "Host": "chaos.test"}
            if post:
                headers["Content-Type"] = "application/octet-stream"
            result["start"] = time.time()
            try:
                conn.request(result["method"], ("/upload/" if post else "/get/") + rid,
                             body=body if post else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                result["status"] = resp.status
                result["close"] = resp.will_close
                try:
                    result["answer"] = json.loads(data)
                except ValueError:
                    result["body"] = data[:300].decode("latin-1")
                used += 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                result["error"] = "%s: %s" % (type(e).__name__, e)
                conn.close()
                conn = None
            result["end"] = time.time()
            with lock:
                results.append(result)
            # Mostly back to back; now and then a pause past the origin's idle close, so that
            # the proxy's pooled upstream connections age and get closed under it.
            pause = rng.uniform(0.35, 0.6) if rng.randrange(100) < 8 else rng.uniform(0, 0.01)
            end = time.time() + pause
            while not stopped() and time.time() < end:
                time.sleep(min(0.05, end - time.time()))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(args.clients)]
    for t in threads:
        t.start()
    while not stopped():
        time.sleep(0.05)
    # Bounded: every request has a socket timeout of --deadline; a thread still running a
    # deadline + 1 s after the stop is hung (reported, not waited for).
    stop = time.time()
    hung = 0
    for t in threads:
        t.join(max(0.1, stop + args.deadline + 1 - time.time()))
        hung += t.is_alive()
    with lock:  # written whole, then renamed: the harness waits for the file to appear
        with open(args.results + ".tmp", "w") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
            if hung:
                f.write(json.dumps({"hung_threads": hung}) + "\n")
        os.rename(args.results + ".tmp", args.results)
    return 0


# --- check -------------------------------------------------------------------------------------

def read_ndjson(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(args):
    problems = []

    def problem(text):
        problems.append(text)

    results = read_ndjson(args.results)
    hung = sum(r.get("hung_threads", 0) for r in results)
    results = [r for r in results if "id" in r]
    origin_log = read_ndjson(args.origin_log)
    origin_events = read_ndjson(args.origin_events)
    records = read_ndjson(args.records)
    try:
        with open(args.stats, encoding="utf-8") as f:
            stats = json.load(f)
    except (OSError, ValueError) as e:
        problem("no /stats document to compare with: %s" % e)
        stats = {}
    icap = {}  # name -> port
    for spec in args.icap:
        name, port = spec.split("=")
        icap[name] = int(port)
    # Harness events: "EPOCH EVENT NAME" lines (kill-icap a, restart-icap a, ...).
    events = []
    with open(args.events, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                events.append((float(parts[0]), parts[1], parts[2]))
    kills = [e for e in origin_events if e["event"] == "origin-kill"]

    # --- windows where no ICAP server may have been up: for each server, from its kill to its
    # restart + the monitor's time to bring it back (--bring-back), or to the instant the harness
    # saw it up in /stats, whichever is first; no server up = every server in such a span.
    down = {name: [] for name in icap}
    killed, restarted = {}, {}
    for t, what, name in events:
        if what == "kill-icap":
            killed[name] = t
        elif what == "restart-icap" and name in killed:
            restarted[name] = t
        elif what == "up-icap" and name in restarted:
            down[name].append((killed.pop(name), min(t, restarted.pop(name) + args.bring_back)))
    for name, t in killed.items():
        down[name].append((t, restarted.get(name, float("inf")) + args.bring_back))
    windows = []
    names = list(icap)
    for span in down[names[0]]:
        cur = [span]
        for other in names[1:]:
            cur = [(max(a, c), min(b, d)) for a, b in cur for c, d in down[other]
                   if max(a, c) < min(b, d)]
        windows += cur

    def overlaps(r, lo, hi):
        return r["start"] <= hi and r["end"] >= lo

    def in_fail_window(r):
        return any(overlaps(r, lo, hi) for lo, hi in windows)

    def at_origin_kill(r):
        return any(overlaps(r, k["t0"], k["t1"] + args.kill_slack) for k in kills)

    # --- the proxy's records, by the request id in the path
    by_id = {}
    for rec in records:
        rid = str(rec.get("uri_path", "")).rsplit("/", 1)[-1]
        by_id.setdefault(rid, []).append(rec)
    seen_at_origin = {}
    for line in origin_log:
        seen_at_origin.setdefault(line["id"], []).append(line)

    def failovers_of(rec):
        logs = rec.get("icap_log", {}).get("request_logs") or []
        return max(0, len(logs) - 1)

    def upstream_of(rec):
        up = rec.get("upstream")
        return up if isinstance(up, dict) else {}

    counts = {"requests": len(results), "POST": 0, "GET": 0, "200": 0, "503": 0, "502": 0,
              "504": 0, "other": 0, "errors": 0}
    shown = {}

    def limited(kind, text):  # at most 5 lines per kind of problem, then a count
        shown[kind] = shown.get(kind, 0) + 1
        if shown[kind] <= 5:
            problem(text)

    for r in results:
        counts[r["method"]] += 1
        status = r.get("status")
        took = r["end"] - r["start"]
        recs = by_id.get(r["id"], [])
        at_origin = seen_at_origin.get(r["id"], [])
        t_rel = "t=%.2fs" % (r["start"] - args.t0) if args.t0 else ""
        if "error" in r:
            counts["errors"] += 1
            limited("error", "%s %s (%s, %.2fs): no HTTP answer: %s%s" % (
                r["method"], r["id"], t_rel, took, r["error"],
                " (a client timeout: it hung past its deadline)" if "timed out" in r["error"]
                else " on a reused client connection" if r["reused"] else ""))
            continue
        if took > args.deadline:
            limited("slow", "%s %s (%s): answered after %.2fs, past the %.1fs deadline" % (
                r["method"], r["id"], t_rel, took, args.deadline))
        if len(recs) != 1:
            limited("records", "%s %s: %d proxy records for it, want 1" % (
                r["method"], r["id"], len(recs)))
        rec = recs[0] if recs else {}
        if recs and rec.get("response_code") != status:
            limited("rcode", "%s %s: the record says response_code %s, the client got %s" % (
                r["method"], r["id"], rec.get("response_code"), status))
        key = str(status) if str(status) in counts else "other"
        counts[key] += 1
        if r["method"] == "POST" and len(at_origin) > 1:
            limited("twice", "POST %s (%s): reached the origin %d times (pids %s): a POST was "
                    "sent twice" % (r["id"], t_rel, len(at_origin),
                                    [x["pid"] for x in at_origin]))
        if r["method"] == "GET" and len(at_origin) > 2:
            limited("twice", "GET %s: reached the origin %d times, want at most 2 (one retry)" % (
                r["id"], len(at_origin)))
        if status == 200:
            a = r.get("answer") or {}
            if (a.get("id"), a.get("sha256"), a.get("length")) != (r["id"], r["sha256"],
                                                                     r["length"]):
                limited("answer", "%s %s: 200 but not the origin's answer for it: %s" % (
                    r["method"], r["id"], a or r.get("body")))
            elif not any(x["sha256"] == r["sha256"] for x in at_origin):
                limited("answer", "%s %s: 200 but the origin's log has no line for it with its "
                        "sha256" % (r["method"], r["id"]))
        elif status == 503:
            icap_action = rec.get("icap_log", {}).get("action")
            if r["method"] != "POST":
                limited("503", "GET %s (%s): 503, but GETs are not scanned (record: %s)" % (
                    r["id"], t_rel, str(rec.get("significance", ""))[:200]))
            elif not in_fail_window(r):
                limited("503", "%s %s (%s, until t=%.2fs): 503 while an ICAP server was up "
                        "(record: action %s, %d attempt(s), %s)" % (
                            r["method"], r["id"], t_rel, r["end"] - args.t0, icap_action,
                            failovers_of(rec) + 1, rec.get("significance", "")[:200]))
            elif icap_action != "ICAP_FAILED":
                limited("503", "POST %s: 503 but its record's icap_log.action is %s, want "
                        "ICAP_FAILED (the fail action)" % (r["id"], icap_action))
            if at_origin:
                limited("503", "%s %s: 503 (fail closed) but it reached the origin" % (
                    r["method"], r["id"]))
        elif status == 502 and r["method"] == "POST" and at_origin_kill(r):
            why = upstream_of(rec).get("error")
            if not why:
                limited("502", "POST %s (%s): 502 at an origin kill, but its record has no "
                        "upstream.error saying why (upstream: %s)" % (
                            r["id"], t_rel, rec.get("upstream")))
        else:
            limited("status", "%s %s (%s, %.2fs): HTTP %s: neither the origin's answer nor an "
                    "allowed failure (%s; record significance: %s)" % (
                        r["method"], r["id"], t_rel, took, status,
                        r.get("body", r.get("answer")),
                        str(rec.get("significance", ""))[:200]))
    if hung:
        problem("%d client thread(s) still in a request a deadline after the stop: something "
                "hangs" % hung)
    post_ids = [x["id"] for x in origin_log if x["method"] == "POST"]
    dup = sorted({i for i in post_ids if post_ids.count(i) > 1}) if len(post_ids) != len(
        set(post_ids)) else []
    if dup:
        problem("the origin received %d POST id(s) more than once (never send a POST twice): %s"
                % (len(dup), dup[:10]))

    # --- the records' upstream object (present when attempts > 1 or the upstream step failed)
    for rec in records:
        up = rec.get("upstream")
        if up is None:
            continue
        attempts = up.get("attempts", 1) if isinstance(up, dict) else None
        if not isinstance(attempts, int) or len(up.get("retries") or []) != attempts - 1:
            limited("upstream", "record of %s: upstream %s: want retries with attempts - 1 "
                    "reasons" % (rec.get("uri_path"), up))
        elif up.get("error") and rec.get("response_code") not in (502, 504):
            limited("upstream", "record of %s: upstream.error %r but response_code %s, want "
                    "502/504" % (rec.get("uri_path"), up["error"], rec.get("response_code")))
        elif not up.get("error") and attempts < 2:
            limited("upstream", "record of %s: an upstream object without retries or error: %s"
                    % (rec.get("uri_path"), up))

    # --- counts: records vs /stats vs the client
    rec_failovers = sum(failovers_of(r) for r in records)
    rec_closed = sum(1 for r in records if r.get("icap_log", {}).get("action") == "ICAP_FAILED"
                     and r.get("response_code") == 503)
    rec_open = sum(1 for r in records if r.get("icap_log", {}).get("action") == "ICAP_FAILED"
                   and r.get("response_code") != 503)
    rec_retries = sum(max(0, int(upstream_of(r).get("attempts", 1)) - 1) for r in records)
    rec_up_errors = sum(1 for r in records if upstream_of(r).get("error"))
    rec_502 = sum(1 for r in records if r.get("response_code") == 502)
    client_upstream_failures = counts["502"] + counts["504"]
    rows = [
        ("ICAP failovers", "icap_failovers", rec_failovers, None),
        ("fail actions closed (503)", "icap_fail_closed", rec_closed, counts["503"]),
        ("fail actions open", "icap_fail_open", rec_open, 0),
        ("upstream retries", "upstream_retries", rec_retries, None),
        ("upstream errors (502/504)", "upstream_errors", rec_up_errors, client_upstream_failures),
        ("requests", "http_requests", len(records), len(results)),
    ]
    print("-- %-28s %8s %8s %8s" % ("count", "records", "/stats", "client"))
    for label, field, from_records, from_client in rows:
        from_stats = stats.get(field)
        print("-- %-28s %8s %8s %8s" % (label, from_records, from_stats,
                                         "-" if from_client is None else from_client))
        if from_stats != from_records:
            problem("%s: the records count %s, /stats %s says %s" % (
                label, from_records, field, from_stats))
        if from_client is not None and from_client != from_records:
            problem("%s: the records count %s, the client saw %s" % (
                label, from_records, from_client))
    print("-- 502s: client %d, records %d; upstream_stale_closed (/stats): %s" % (
        counts["502"], rec_502, stats.get("upstream_stale_closed")))
    print("-- client: %(requests)d requests (%(POST)d POST, %(GET)d GET): %(200)d x 200, "
          "%(503)d x 503, %(502)d x 502, %(504)d x 504, %(other)d other, %(errors)d without "
          "an answer" % counts)
    print("-- origin: %d request lines, %d worker replacement(s); fail-closed window(s): %s" % (
        len(origin_log), len(kills),
        ", ".join("t=%.2f..%.2fs" % (lo - args.t0, hi - args.t0) for lo, hi in windows) or "none"))
    if rec_failovers == 0:
        problem("no ICAP failover in the records: killing an ICAP server mid-run was not seen")

    # --- the servers came back: after each restart, a request answered through that server
    def last_port(rec):
        logs = rec.get("icap_log", {}).get("request_logs") or [{}]
        return logs[-1].get("icap_server_port")

    status_of = {r["id"]: r for r in results}
    for t, what, name in events:
        if what != "restart-icap":
            continue
        served = [rid for rid, recs in by_id.items()
                  if rid in status_of and status_of[rid].get("status") == 200
                  and status_of[rid]["start"] > t and last_port(recs[0]) == icap[name]]
        if not served:
            problem("ICAP server %s (port %d) restarted at t=%.2fs: no request was answered "
                    "through it afterwards (it did not come back)" % (
                        name, icap[name], t - args.t0))
        else:
            print("-- ICAP %s restarted at t=%.2fs: %d later request(s) answered through it" % (
                name, t - args.t0, len(served)))
    for k in kills:
        served = [r for r in results if r.get("status") == 200
                  and (r.get("answer") or {}).get("pid") == k["new"] and r["start"] > k["t1"]]
        if not served:
            problem("origin worker %d replaced at t=%.2fs: no request was answered by the new "
                    "worker %d afterwards" % (k["old"], k["t0"] - args.t0, k["new"]))
        else:
            print("-- origin worker replaced at t=%.2fs: %d later request(s) answered by the "
                  "new one" % (k["t0"] - args.t0, len(served)))

    for kind, n in shown.items():
        if n > 5:
            problem("... and %d more problem(s) of the kind '%s'" % (n - 5, kind))
    for text in problems:
        print("FAIL: " + text, file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def delay(text):
        lo, hi = text.split("-")
        return float(lo) / 1000, float(hi) / 1000

    p = sub.add_parser("origin")
    p.add_argument("log")
    p.add_argument("port_file")
    p.add_argument("events")
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--idle", type=float, default=0.3)
    p.add_argument("--delay-ms", dest="delay", type=delay, default=(0.005, 0.03))
    p = sub.add_parser("origin-worker")
    p.add_argument("log")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--idle", type=float, default=0.3)
    p.add_argument("--delay-ms", dest="delay", type=delay, default=(0.005, 0.03))
    p = sub.add_parser("load")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("results")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--max-seconds", type=float, default=40)
    p.add_argument("--post-percent", type=int, default=60)
    p.add_argument("--body-bytes", type=int, default=4096)
    p.add_argument("--parent", type=int, default=0)
    p = sub.add_parser("check")
    for name in ("results", "origin-log", "origin-events", "events", "records", "stats"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--icap", nargs="+", required=True)
    p.add_argument("--bring-back", type=float, required=True)
    p.add_argument("--kill-slack", type=float, required=True)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--t0", type=float, default=0)
    args = parser.parse_args(argv[1:])
    return {"origin": origin, "origin-worker": origin_worker, "load": load,
            "check": check}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
