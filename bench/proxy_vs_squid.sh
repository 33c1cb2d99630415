#!/usr/bin/env bash
# Benchmark (not a test; never registered in CTest): `icapkit proxy` beside Squid 5.7, both in front
# of the same origin and the same ICAP service (one `icapkit serve --vendor opswat`, REQMOD, preview
# on with the same preview size), under the same load in one run: POSTs of BODY_KB KiB at
# CONCURRENCY keep-alive clients from ApacheBench (`ab`, Debian package apache2-utils). icapkit is
# addressed as the reverse proxy it is configured as; Squid as a forward proxy (ab -X), the way
# Squid is set up in tests/integration/squid_serve.sh. The origin is a small asyncio server written
# here, so that it is never the bottleneck of either side. Prints requests/s and p99 of each (best
# of REPEAT interleaved runs), and the ratios icapkit / Squid for requests/s and Squid / icapkit
# for p99 (above 1 = icapkit better). A side whose run had failed or non-2xx answers prints FAILED.
# Usage: bench/proxy_vs_squid.sh [ICAPKIT_BINARY]   (default build/bin/icapkit)
# Env: REQUESTS=20000 CONCURRENCY=50 BODY_KB=4 PREVIEW=1024 REPEAT=2 THREADS=(cores)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/bin/icapkit}
requests=${REQUESTS:-20000}
concurrency=${CONCURRENCY:-50}
body_kb=${BODY_KB:-4}
preview=${PREVIEW:-1024}
repeat=${REPEAT:-2}
threads=${THREADS:-$(nproc)}
[ -x "$bin" ] || { echo "bench: icapkit binary '$bin' not found (build it, or pass its path)" >&2; exit 2; }
command -v ab >/dev/null || { echo "bench: ab missing: apt-get install apache2-utils (not in scripts/deps yet)" >&2; exit 2; }
squid_bin=$(command -v squid || echo /usr/sbin/squid)
[ -x "$squid_bin" ] || { echo "bench: squid missing (run scripts/deps)" >&2; exit 2; }
"$bin" proxy --help >/dev/null 2>&1 || { echo "bench: this icapkit has no proxy subcommand" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-bench-proxy.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 711 "$work" # Squid drops to user proxy; it must reach its directories below work

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_file() { local _; for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# --- origin: HTTP/1.0 and 1.1 keep-alive, Content-Length or chunked bodies, answers 200 "ok\n"
cat >"$work/origin.py" <<'PY'
import asyncio, os, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            version = lines[0].rsplit(" ", 1)[-1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip().lower()
            if "chunked" in headers.get("transfer-encoding", ""):
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    await reader.readexactly(size + 2) if size else None
                    if size == 0:
                        while (await reader.readline()) not in (b"\r\n", b""):
                            pass
                        break
            else:
                await reader.readexactly(int(headers.get("content-length", "0")))
            conn = headers.get("connection", "")
            keep = "keep-alive" in conn if version == "HTTP/1.0" else "close" not in conn
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n" +
                         (b"Connection: keep-alive\r\n" if keep else b"Connection: close\r\n") + b"\r\nok\n")
            await writer.drain()
            if not keep:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    tmp = sys.argv[1] + ".tmp"
    open(tmp, "w").write(str(server.sockets[0].getsockname()[1]))
    os.rename(tmp, sys.argv[1])
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
python3 "$work/origin.py" "$work/origin.port" 2>"$work/origin.err" &
pids+=($!)
wait_file "$work/origin.port" || { echo "bench: the origin did not start" >&2; exit 2; }
origin_port=$(cat "$work/origin.port")

# --- the ICAP service both proxies use
"$bin" serve --vendor opswat --listen 127.0.0.1:0 --port-file "$work/serve.ports" --threads "$threads" -q \
  --log "$work/serve.ndjson" >"$work/serve.err" 2>&1 &
pids+=($!)
wait_file "$work/serve.ports" || { echo "bench: icapkit serve did not start" >&2; exit 2; }
icap_port=$(sed -n 1p "$work/serve.ports" | sed 's/.*://')

# --- icapkit proxy: every POST under /upload goes to REQMOD, preview $preview, 204 allowed
cat >"$work/proxy.json" <<EOF
{
  "icap_profile": {"name": "bench", "pool_group_ref": "/api/poolgroup?name=bench-group",
    "service_uri": "/OMSScanReq-AV", "vendor": "ICAP_VENDOR_OPSWAT", "enable_preview": true,
    "preview_size": $preview, "allow_204": true, "fail_action": "ICAP_FAIL_CLOSED"},
  "pool_groups": [{"name": "bench-group", "members": [{"pool_ref": "/api/pool?name=bench-pool"}]}],
  "pools": [{"name": "bench-pool", "servers": [{"ip": {"addr": "127.0.0.1", "type": "V4"}, "port": $icap_port}]}],
  "http_security_policy": {"rules": [{"name": "scan-uploads", "index": 1, "enable": true,
    "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]},
  "upstream": "http://127.0.0.1:$origin_port"
}
EOF
"$bin" proxy --config "$work/proxy.json" --listen 127.0.0.1:0 --port-file "$work/proxy.ports" \
  --threads "$threads" -q >"$work/proxy.err" 2>&1 &
pids+=($!)
wait_file "$work/proxy.ports" || { echo "bench: icapkit proxy did not start: $(tail -n 2 "$work/proxy.err")" >&2; exit 2; }
proxy_port=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$work/proxy.ports" | head -n 1)

# --- Squid 5.7: the same service, REQMOD only, preview $preview, persistent ICAP connections
squid_port=$(free_port)
S=$work/squid
mkdir -p "$S/log" "$S/run" "$S/cache"
cat >"$S/squid.conf" <<EOF
http_port 127.0.0.1:$squid_port
visible_hostname bench-squid
pid_filename $S/run/squid.pid
cache_effective_user proxy
access_log none
cache_log $S/log/cache.log
coredump_dir $S/cache
cache deny all
shutdown_lifetime 1 seconds
max_filedescriptors 16384
acl localnet src 127.0.0.0/8
http_access allow localnet
http_access deny all
icap_enable on
icap_preview_enable on
icap_preview_size $preview
icap_persistent_connections on
icap_service_failure_limit -1
icap_service svc_req reqmod_precache icap://127.0.0.1:$icap_port/OMSScanReq-AV bypass=off
adaptation_access svc_req allow all
EOF
[ "$(id -u)" -ne 0 ] || chown -R proxy:proxy "$S"
"$squid_bin" -N -f "$S/squid.conf" >"$S/stdout.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do port_answers "$squid_port" && break; sleep 0.1; done
port_answers "$squid_port" || { echo "bench: Squid did not start: $(tail -n 3 "$S/log/cache.log")" >&2; exit 2; }

head -c $((body_kb * 1024)) /dev/urandom >"$work/body.bin"

# run_ab SIDE N: one ab run; prints "RPS P99" or "FAILED reason"
run_ab() {
  local side=$1 n=$2 out=$work/ab-$1.out
  local target=(-X "127.0.0.1:$squid_port" "http://127.0.0.1:$origin_port/upload/bench")
  [ "$side" = squid ] || target=("http://127.0.0.1:$proxy_port/upload/bench")
  local scans_before
  scans_before=$(grep -c '"method":"REQMOD"' "$work/serve.ndjson" 2>/dev/null)
  timeout 600 ab -q -k -n "$n" -c "$concurrency" -p "$work/body.bin" -T application/octet-stream \
    "${target[@]}" >"$out" 2>&1
  local rc=$?
  local rps p99 failed non2xx complete
  rps=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$out")
  p99=$(sed -n 's/^ *99% *\([0-9]*\).*/\1/p' "$out")
  failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' "$out")
  non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' "$out")
  complete=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' "$out")
  # Every POST must have been scanned: the ICAP server saw one REQMOD per request.
  local scans=$(($(grep -c '"method":"REQMOD"' "$work/serve.ndjson" 2>/dev/null) - ${scans_before:-0}))
  if [ $rc -ne 0 ] || [ -z "$rps" ] || [ "${failed:-0}" != 0 ] || [ -n "$non2xx" ] || [ "${complete:-0}" != "$n" ]; then
    echo "FAILED (ab exit $rc, complete ${complete:-?}, failed ${failed:-?}, non-2xx ${non2xx:-0}: $(tail -n 1 "$out"))"
  elif [ "$scans" -lt "$n" ]; then
    echo "FAILED (only $scans of $n requests reached the ICAP server)"
  else
    echo "$rps $p99"
  fi
}

echo "bench: $requests POSTs of $body_kb KiB, $concurrency keep-alive clients, preview $preview, best of $repeat"
run_ab icapkit 500 >/dev/null # warm-up: connections, OPTIONS caches
run_ab squid 500 >/dev/null
best_icapkit='' best_squid=''
better() { # better OLD NEW: the run with more requests/s (a failure sticks)
  if [[ $1 == FAILED* ]]; then echo "$1"; return; fi
  if [[ $2 == FAILED* ]] || [ -z "$1" ]; then echo "$2"; return; fi
  if awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { exit !(b > a) }'; then echo "$2"; else echo "$1"; fi
}
for _ in $(seq 1 "$repeat"); do
  best_icapkit=$(better "$best_icapkit" "$(run_ab icapkit "$requests")")
  best_squid=$(better "$best_squid" "$(run_ab squid "$requests")")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "machine: $(nproc) CPUs, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "icapkit: $("$bin" --version 2>/dev/null), squid: $("$squid_bin" -v 2>/dev/null | head -n 1 | sed 's/.*Version //')"
printf '%-10s %14s %10s\n' side "requests/s" "p99 ms"
for side in icapkit squid; do
  result=$best_icapkit
  [ $side = squid ] && result=$best_squid
  if [[ $result == FAILED* ]]; then
    printf '%-10s %s\n' "$side" "$result"
  else
    printf '%-10s %14s %10s\n' "$side" "${result%% *}" "${result##* }"
  fi
done
if [[ $best_icapkit != FAILED* ]] && [[ $best_squid != FAILED* ]]; then
  echo "ratio requests/s icapkit / squid: $(ratio "${best_icapkit%% *}" "${best_squid%% *}") (above 1 = icapkit faster)"
  echo "ratio p99 squid / icapkit:        $(ratio "${best_squid##* }" "${best_icapkit##* }") (above 1 = icapkit lower latency)"
fi
