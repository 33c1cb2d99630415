#!/usr/bin/env bash
# Benchmark (not a test; never registered in CTest): `icapkit proxy` beside Squid 5.7 on the same
# cores, both in front of the same origin and the same ICAP service, under the same load in one
# run: POSTs of BODY_KB KiB at CONCURRENCY keep-alive clients from ApacheBench (`ab -k`, Debian
# package apache2-utils). icapkit is addressed as the reverse proxy it is configured as; Squid as a
# forward proxy (ab -X), the way Squid is set up in tests/integration/squid_serve.sh. Both send
# every POST to REQMOD at the ICAP service `icapkit serve --vendor opswat` (service
# /OMSScanReq-AV) with a PREVIEW-byte preview, 204 allowed.
#
# Same cores: `icapkit proxy --threads THREADS` beside Squid with `workers THREADS` (one worker:
# `squid -N`, one process; more: `squid --foreground`, a master, a coordinator and THREADS worker
# processes, because Squid runs no SMP under -N). Nothing is pinned: on a 2-core machine ab, the
# ICAP server and the origin need the cores too, and pinning a proxy to one core would only make it
# wait for whatever else runs there. The shared parts are not meant to be the bottleneck: icapkit
# serve gets SERVE_THREADS threads (default: the core count) and the origin is a small asyncio
# server written here; the table shows what each of them spent per request under each side.
#
# Prints the machine, the source tree's commit, what each side ran (command lines, the proxy's
# ICAP profile, Squid's workers and icap_* lines), then for each side requests/s and p99 (best of
# REPEAT interleaved runs) and the CPU time per request of the proxy (icapkit proxy's process;
# Squid: the sum over all its processes) read from /proc/PID/stat before and after the run, beside
# the CPU per request of icapkit serve and of the origin and how busy ab was (CPU / wall time, %
# of one core: near 100 % ab, not the proxy, set the pace), the new TCP connections the origin
# accepted, the ICAP connections that carried the REQMODs and serve's median time per REQMOD (from
# its log). CPU per request depends much less on what else runs on the machine than requests/s does. Ratios: icapkit / Squid for requests/s,
# Squid / icapkit for p99 and CPU per request (above 1 = icapkit better). A side whose run failed,
# had non-2xx answers, or whose requests did not all reach the ICAP server prints FAILED and why
# (exit 1).
# Usage: bench/proxy_vs_squid.sh [ICAPKIT_BINARY]   (default build/bin/icapkit)
# Env: REQUESTS=20000 CONCURRENCY=50 BODY_KB=4 PREVIEW=1024 REPEAT=2 THREADS=1 (icapkit proxy
#      threads = Squid workers) SERVE_THREADS=(cores) SQUID_NEW_CONNECTION_PER_POST=0 (1: Squid's
#      default, a new origin connection for every POST)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/bin/icapkit}
requests=${REQUESTS:-20000}
concurrency=${CONCURRENCY:-50}
body_kb=${BODY_KB:-4}
preview=${PREVIEW:-1024}
repeat=${REPEAT:-2}
threads=${THREADS:-1}
serve_threads=${SERVE_THREADS:-$(nproc)}
squid_new_connection_per_post=${SQUID_NEW_CONNECTION_PER_POST:-0}
for setting in "REQUESTS $requests" "CONCURRENCY $concurrency" "BODY_KB $body_kb" "PREVIEW $preview" \
  "REPEAT $repeat" "THREADS $threads" "SERVE_THREADS $serve_threads"; do
  [[ ${setting#* } =~ ^[1-9][0-9]*$ ]] ||
    { echo "bench: ${setting%% *} must be a whole number > 0, got '${setting#* }'" >&2; exit 2; }
done
[[ $squid_new_connection_per_post =~ ^[01]$ ]] ||
  { echo "bench: SQUID_NEW_CONNECTION_PER_POST must be 0 or 1, got '$squid_new_connection_per_post'" >&2; exit 2; }
[ -x "$bin" ] || { echo "bench: icapkit binary '$bin' not found (build it, or pass its path)" >&2; exit 2; }
command -v ab >/dev/null || { echo "bench: ab missing (run scripts/deps: package apache2-utils)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (run scripts/deps)" >&2; exit 2; }
squid_bin=$(command -v squid || echo /usr/sbin/squid)
[ -x "$squid_bin" ] || { echo "bench: squid missing (run scripts/deps)" >&2; exit 2; }
"$bin" proxy --help >/dev/null 2>&1 || { echo "bench: this icapkit has no proxy subcommand" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-bench-proxy.XXXXXX")
S=$work/squid
pids=() squid_pid=''
squid_name=icapkitbench$$ # Squid's service name: names its SMP sockets (in /run/squid) and shared memory
# descendants PID: every process below PID (Squid's kids and their helpers)
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
stop_squid() { # TERM to the master (it stops its kids); KILL what is left of this Squid after 10 s
  [ -n "$squid_pid" ] || return 0
  local kids pid
  kids=$(descendants "$squid_pid")
  kill -TERM "$squid_pid" 2>/dev/null
  for _ in $(seq 1 200); do
    kill -0 "$squid_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$squid_pid" 2>/dev/null
  wait "$squid_pid" 2>/dev/null
  for pid in $kids; do # only processes still running this bench's squid.conf
    grep -qF "$S/squid.conf" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  rm -f /run/squid/"$squid_name"-*.ipc /var/run/squid/"$squid_name"-*.ipc 2>/dev/null # SMP leaves them
  squid_pid=''
}
cleanup() {
  local pid
  stop_squid
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# cpu_ticks PID...: CPU clock ticks (user + system, all threads) the processes used so far
cpu_ticks() {
  local pid
  for pid in "$@"; do
    # /proc/PID/stat: fields 14 and 15; cut after the command name, which may hold spaces
    sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null
  done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
ticks_per_s=$(getconf CLK_TCK)
# shown PATH...: the words as a shell would quote them, the temporary directory as $WORK and paths
# below the source tree relative to it (so that the output can go into RESULTS.md as it is)
shown() { printf '%q ' "$@" | sed -e "s|$work|\$WORK|g" -e "s|$root/||g" -e 's/ $//'; }

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "source tree: $commit; $("$bin" --version 2>/dev/null) ($(shown "$bin"));" \
  "squid $("$squid_bin" -v 2>/dev/null | head -n 1 | sed 's/.*Version //');" \
  "$(ab -V | head -n 1 | sed 's/^This is //; s/, Version/ version/; s/ <.*//')"

# --- origin: HTTP/1.0 and 1.1 keep-alive, Content-Length or chunked bodies, answers 200 "ok\n"
cat >"$work/origin.py" <<'PY'
import asyncio, os, signal, sys
connections = 0
def write_count(path): # SIGUSR1: the number of connections accepted so far, into path
    open(path + ".tmp", "w").write(str(connections))
    os.rename(path + ".tmp", path)
async def handle(reader, writer):
    global connections
    connections += 1
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
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, write_count, sys.argv[2])
    tmp = sys.argv[1] + ".tmp"
    open(tmp, "w").write(str(server.sockets[0].getsockname()[1]))
    os.rename(tmp, sys.argv[1])
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
python3 "$work/origin.py" "$work/origin.port" "$work/origin.connections" 2>"$work/origin.err" &
origin_pid=$!
pids+=("$origin_pid")
wait_file "$work/origin.port" || { echo "bench: the origin did not start: $(tail -n 2 "$work/origin.err")" >&2; exit 2; }
origin_port=$(cat "$work/origin.port")
# origin_connections: TCP connections the origin has accepted so far
origin_connections() {
  rm -f "$work/origin.connections"
  kill -USR1 "$origin_pid" 2>/dev/null
  wait_file "$work/origin.connections" && cat "$work/origin.connections" || echo '?'
}

# --- the ICAP service both proxies use
serve_cmd=("$bin" serve --vendor opswat --listen 127.0.0.1:0 --port-file "$work/serve.ports"
  --threads "$serve_threads" -q --log "$work/serve.ndjson")
"${serve_cmd[@]}" </dev/null >"$work/serve.err" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_file "$work/serve.ports" || { echo "bench: icapkit serve did not start: $(tail -n 2 "$work/serve.err")" >&2; exit 2; }
icap_port=$(sed -n 1p "$work/serve.ports" | sed 's/.*://')

# --- icapkit proxy: every POST goes to REQMOD, preview $preview, 204 allowed
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
proxy_cmd=("$bin" proxy --config "$work/proxy.json" --listen 127.0.0.1:0 --port-file "$work/proxy.ports"
  --threads "$threads" -q)
"${proxy_cmd[@]}" </dev/null >"$work/proxy.err" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_file "$work/proxy.ports" || { echo "bench: icapkit proxy did not start: $(tail -n 2 "$work/proxy.err")" >&2; exit 2; }
proxy_port=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$work/proxy.ports" | head -n 1)

# --- Squid 5.7: the same service, REQMOD only, preview $preview, persistent ICAP connections,
# THREADS workers. By default Squid opens a new origin connection for every request it cannot
# retry (a POST with a body) rather than reuse an idle one; icapkit proxy reuses its pooled
# upstream connections, so server_pconn_for_nonretriable lets Squid do the same work (set
# SQUID_NEW_CONNECTION_PER_POST=1 for Squid's default). Its own service name (-n) keeps its SMP
# shared memory and IPC sockets apart from any other Squid on the machine.
squid_port=$(free_port)
mkdir -p "$S/log" "$S/run" "$S/cache"
cat >"$S/squid.conf" <<EOF
http_port 127.0.0.1:$squid_port
visible_hostname bench-squid
workers $threads
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
[ "$squid_new_connection_per_post" = 1 ] || echo "server_pconn_for_nonretriable allow all" >>"$S/squid.conf"
[ "$(id -u)" -ne 0 ] || chown -R proxy:proxy "$S"
squid_mode=-N # one process, the master is the worker
[ "$threads" -eq 1 ] || squid_mode=--foreground # -N runs no SMP; here the master stays in the foreground
squid_cmd=("$squid_bin" "$squid_mode" -n "$squid_name" -f "$S/squid.conf")
"${squid_cmd[@]}" </dev/null >"$S/stdout.log" 2>&1 &
squid_pid=$!
# Ready when every worker accepts HTTP connections (one such cache.log line per worker).
squid_ready=0
for _ in $(seq 1 300); do
  kill -0 "$squid_pid" 2>/dev/null || break
  accepting=$(grep -c 'Accepting HTTP Socket connections' "$S/log/cache.log" 2>/dev/null)
  if [ "${accepting:-0}" -ge "$threads" ] && port_answers "$squid_port"; then squid_ready=1; break; fi
  sleep 0.1
done
[ $squid_ready -eq 1 ] || {
  echo "bench: Squid did not start: $(tail -n 3 "$S/log/cache.log" "$S/stdout.log" 2>/dev/null)" >&2
  exit 2
}
# squid_pids: the master and every process below it, sorted
squid_pids() { { echo "$squid_pid"; descendants "$squid_pid"; } | sort -n | paste -sd' '; }

echo "bench: $requests POSTs of $body_kb KiB per run, $concurrency keep-alive clients (ab -k), preview $preview," \
  "best requests/s of $repeat interleaved runs after a 500-request warm-up each; icapkit proxy with" \
  "$threads thread(s), Squid with $threads worker(s); no CPU pinning"
echo "icapkit proxy: $(shown "${proxy_cmd[@]}")   (\$WORK: the bench's temporary directory)"
python3 - "$work/proxy.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
p = c["icap_profile"]
rules = ", ".join(f'{r["name"]}: {"/".join(r["match"]["method"]["methods"])} -> {r["action"]["action"]}'
                  for r in c["http_security_policy"]["rules"])
print(f'  config: vendor {p["vendor"]}, service {p["service_uri"]}, enable_preview {str(p["enable_preview"]).lower()}, '
      f'preview_size {p["preview_size"]}, allow_204 {str(p["allow_204"]).lower()}, fail_action {p["fail_action"]}; '
      f'rules: {rules}; upstream {c["upstream"]}')
PY
echo "squid: $(shown "${squid_cmd[@]}")"
echo "  squid.conf: $(grep -E '^(workers|icap_|adaptation_access|cache |server_pconn)' "$S/squid.conf" | paste -sd';' | sed 's/;/; /g')"
echo "shared ICAP server: $(shown "${serve_cmd[@]}")"
echo "shared origin: python3 origin.py (asyncio, one process, 200 \"ok\" to every request)"
# what each side runs: icapkit proxy's OS threads (the workers, the main thread waiting for signals,
# the ICAP health monitor); Squid's processes by the name each gives itself (the master: its path)
squid_roles=$(for pid in $(squid_pids); do tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1; done | paste -sd, |
  sed 's/,/, /g')
echo "processes: icapkit proxy: 1 process, $(find "/proc/$proxy_pid/task" -mindepth 1 -maxdepth 1 | wc -l) OS threads;" \
  "squid: $(wc -w <<<"$(squid_pids)") processes: $squid_roles"

head -c $((body_kb * 1024)) /dev/urandom >"$work/body.bin"

# icap_seen LINES: from the ICAP server's log after its first LINES lines, "CONNECTIONS P50_MS": how
# many ICAP connections carried the REQMODs, and the median time serve took per REQMOD (head
# received to answer sent, waiting for the body after 100 Continue included)
icap_seen() {
  tail -n +$(($1 + 1)) "$work/serve.ndjson" | python3 -c '
import json, sys
clients, totals = set(), []
for line in sys.stdin:
    r = json.loads(line)
    if r.get("method") == "REQMOD":
        clients.add(r["client"])
        totals.append(r["timings_us"]["total"])
totals.sort()
print(len(clients), f"{totals[(len(totals) - 1) // 2] / 1000:.2f}" if totals else "?")' 2>/dev/null || echo '? ?'
}

# run_ab SIDE N: one ab run; prints "RPS P99_MS PROXY_US SERVE_US ORIGIN_US AB_PCT ORIGIN_CONNECTIONS
# ICAP_CONNECTIONS ICAP_P50_MS" or "FAILED reason"
run_ab() {
  local side=$1 n=$2 out=$work/ab-$1.out
  local target=(-X "127.0.0.1:$squid_port" "http://127.0.0.1:$origin_port/upload/bench")
  [ "$side" = squid ] || target=("http://127.0.0.1:$proxy_port/upload/bench")
  local side_pids scans_before lines_before proxy_before serve_before origin_before connections_before
  side_pids=$proxy_pid
  [ "$side" = icapkit ] || side_pids=$(squid_pids)
  scans_before=$(grep -c '"method":"REQMOD"' "$work/serve.ndjson" 2>/dev/null)
  lines_before=$(wc -l <"$work/serve.ndjson")
  # shellcheck disable=SC2086 # side_pids: a list of process ids
  proxy_before=$(cpu_ticks $side_pids)
  serve_before=$(cpu_ticks "$serve_pid")
  origin_before=$(cpu_ticks "$origin_pid")
  connections_before=$(origin_connections)
  /usr/bin/time -f '%e %U %S' -o "$work/ab.time" timeout 600 ab -q -k -n "$n" -c "$concurrency" \
    -p "$work/body.bin" -T application/octet-stream "${target[@]}" >"$out" 2>&1
  local rc=$?
  # shellcheck disable=SC2086
  local proxy_ticks=$(($(cpu_ticks $side_pids) - proxy_before))
  local serve_ticks=$(($(cpu_ticks "$serve_pid") - serve_before))
  local origin_ticks=$(($(cpu_ticks "$origin_pid") - origin_before))
  local connections
  connections=$(awk -v a="$(origin_connections)" -v b="$connections_before" \
    'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) print a - b; else print "?" }')
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
  elif [ "$side" = squid ] && [ "$side_pids" != "$(squid_pids)" ]; then
    echo "FAILED (a Squid process exited or was restarted during the run: $side_pids -> $(squid_pids))"
  else
    echo "$rps $p99 $(awk -v p="$proxy_ticks" -v s="$serve_ticks" -v o="$origin_ticks" -v hz="$ticks_per_s" \
      -v n="$n" 'BEGIN { printf "%.1f %.1f %.1f", p / hz * 1e6 / n, s / hz * 1e6 / n, o / hz * 1e6 / n }')" \
      "$(awk '{ if ($1 > 0) printf "%.0f", ($2 + $3) / $1 * 100; else print "n/a" }' "$work/ab.time")" "$connections" "$(icap_seen "$lines_before")"
  fi
}

for side in icapkit squid; do # warm-up: connections, OPTIONS caches; a side that cannot serve stops here
  warm=$(run_ab "$side" 500)
  [[ $warm != FAILED* ]] || { echo "bench: $side failed its warm-up run: $warm" >&2; exit 1; }
done
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

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); CPU times from /proc/PID/stat in" \
  "ticks of 1/$ticks_per_s s, over each best run's $requests requests"
printf '%-8s %11s %7s %13s %13s %14s %7s %13s %11s %13s\n' side "requests/s" "p99 ms" "proxy us/req" \
  "serve us/req" "origin us/req" "ab CPU" "origin conns" "ICAP conns" "ICAP p50 ms"
for side in icapkit squid; do
  result=$best_icapkit
  [ $side = squid ] && result=$best_squid
  if [[ $result == FAILED* ]]; then
    printf '%-8s %s\n' "$side" "$result"
  else
    read -r rps p99 proxy_us serve_us origin_us ab_pct origin_conns icap_conns icap_p50 <<<"$result"
    printf '%-8s %11s %7s %13s %13s %14s %6s%% %13s %11s %13s\n' "$side" "$rps" "$p99" "$proxy_us" "$serve_us" \
      "$origin_us" "$ab_pct" "$origin_conns" "$icap_conns" "$icap_p50"
  fi
done
[[ $best_icapkit != FAILED* ]] && [[ $best_squid != FAILED* ]] || exit 1
field() { cut -d' ' -f"$1" <<<"$2"; }
echo "ratio requests/s icapkit / squid:      $(ratio "$(field 1 "$best_icapkit")" "$(field 1 "$best_squid")") (above 1 = icapkit faster)"
echo "ratio p99 squid / icapkit:             $(ratio "$(field 2 "$best_squid")" "$(field 2 "$best_icapkit")") (above 1 = icapkit lower latency)"
echo "ratio CPU per request squid / icapkit: $(ratio "$(field 3 "$best_squid")" "$(field 3 "$best_icapkit")") (above 1 = icapkit cheaper)"
