#!/usr/bin/env bash
# Benchmark (not a test; never registered in CTest): the ceiling of the load generator itself.
# `icapkit load --threads 1` against `icapkit serve` answering 204 at once to a REQMOD of BODY_KB
# KiB (a scenario whose only rule passes everything decides from the headers; the body goes whole
# in the preview, ieof, so one write and one answer), beside wrk -t1 against nginx answering 204
# to a POST of the same size (`return 204;`), with the same connection count and duration, in one
# run. Both servers get one thread/worker and write no log. Prints requests/s of each, the ratio
# icapkit load / wrk, each client's CPU time per request and how busy it was (CPU / wall time,
# % of one core: near 100 % the client, not the server, set the pace), and each server's CPU time
# per request. A side with failed requests or non-2xx answers prints FAILED and why.
# Target (issue 7): icapkit load reaches at least half of wrk's requests/s.
# Usage: bench/load_generator.sh [ICAPKIT_BINARY]   (default build/bin/icapkit)
# Env: CONNECTIONS=32 DURATION=10s BODY_KB=4 REPEAT=2 (interleaved runs, the best requests/s of
#      each side kept) SERVER_THREADS=1 (icapkit serve threads and nginx workers)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/bin/icapkit}
connections=${CONNECTIONS:-32}
duration=${DURATION:-10s}
body_kb=${BODY_KB:-4}
repeat=${REPEAT:-2}
server_threads=${SERVER_THREADS:-1}
[ -x "$bin" ] || { echo "bench: icapkit binary '$bin' not found (build it, or pass its path)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench: wrk missing (run scripts/deps)" >&2; exit 2; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "bench: nginx missing (run scripts/deps)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (run scripts/deps)" >&2; exit 2; }
"$bin" load --help >/dev/null 2>&1 || { echo "bench: this icapkit has no load subcommand" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-bench-loadgen.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_file() { local _; for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "icapkit: $("$bin" --version 2>/dev/null), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)," \
  "nginx: $("$nginx_bin" -v 2>&1 | sed 's|.*nginx/||')"

# --- icapkit serve: every request passes, decided from the headers (a rule with no criteria)
cat >"$work/pass.json" <<'JSON'
{"name": "pass-at-once", "rules": [{"name": "all", "verdict": "clean"}]}
JSON
"$bin" serve --vendor opswat --scenario "$work/pass.json" --listen 127.0.0.1:0 --port-file "$work/serve.ports" \
  --threads "$server_threads" -q </dev/null >"$work/serve.err" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_file "$work/serve.ports" || { echo "bench: icapkit serve did not start: $(tail -n 2 "$work/serve.err")" >&2; exit 2; }
serve_port=$(sed -n 1p "$work/serve.ports" | sed 's/.*://')

# --- nginx as the current user, everything under the temp dir; retried with a fresh port if the
# probed one was taken meanwhile
N=$work/nginx
mkdir -p "$N/tmp"
nginx_user=''
[ "$(id -u)" -ne 0 ] || nginx_user="user $(id -un) $(id -gn);" # else workers would drop to nobody
nginx_port='' nginx_pid=''
for _ in 1 2 3; do
  port=$(free_port)
  cat >"$N/nginx.conf" <<EOF
$nginx_user
worker_processes $server_threads;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port;
    location / { return 204; }
  }
}
EOF
  "$nginx_bin" -p "$N/" -e "$N/error.log" -c "$N/nginx.conf" >"$N/stdout.log" 2>&1 &
  nginx_pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$nginx_pid" 2>/dev/null || break
    if port_answers "$port"; then nginx_port=$port; break; fi
    sleep 0.05
  done
  if [ -n "$nginx_port" ]; then pids+=("$nginx_pid"); break; fi
  kill "$nginx_pid" 2>/dev/null
  wait "$nginx_pid" 2>/dev/null
done
[ -n "$nginx_port" ] || { echo "bench: nginx did not start: $(tail -n 2 "$N/error.log" "$N/stdout.log")" >&2; exit 2; }

# wrk sends a GET unless a Lua script sets the method and body.
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = string.rep("x", $((body_kb * 1024)))
wrk.headers["Content-Type"] = "application/octet-stream"
EOF

# cpu_ticks PID: CPU clock ticks (user + system) of PID and its children so far
cpu_ticks() {
  local pid
  for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    # /proc/PID/stat: fields 14 and 15; cut after the command name, which may hold spaces
    sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null
  done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
ticks_per_s=$(getconf CLK_TCK)
# per_request TIMEFILE TICKS N: "CLIENT_US CLIENT_PCT SERVER_US" from /usr/bin/time's "%e %U %S"
per_request() {
  awk -v t="$2" -v hz="$ticks_per_s" -v n="$3" '{
    printf "%.1f %.0f %.1f", ($2 + $3) * 1e6 / n, ($1 > 0 ? ($2 + $3) / $1 * 100 : 0), t / hz * 1e6 / n }' "$1"
}

# run_side SIDE: one timed run; prints "RPS REQUESTS CLIENT_US CLIENT_PCT SERVER_US" or "FAILED reason"
run_side() {
  local side=$1 out=$work/$1.out server_pid=$serve_pid before rc
  [ "$side" = icapkit ] || server_pid=$nginx_pid
  before=$(cpu_ticks "$server_pid")
  if [ "$side" = icapkit ]; then
    rm -f "$work/load.json"
    /usr/bin/time -f '%e %U %S' -o "$work/$side.time" timeout 300 "$bin" load \
      --server "icap://127.0.0.1:$serve_port/OMSScanReq-AV" --threads 1 --connections "$connections" \
      --duration "$duration" --size "${body_kb}KiB" --preview $((body_kb * 1024)) --timeout 20000 \
      --json "$work/load.json" -q >"$out" 2>&1
  else
    /usr/bin/time -f '%e %U %S' -o "$work/$side.time" timeout 300 wrk -t1 -c "$connections" -d "$duration" \
      -s "$work/post.lua" "http://127.0.0.1:$nginx_port/upload" >"$out" 2>&1
  fi
  rc=$?
  local ticks=$(($(cpu_ticks "$server_pid") - before)) rps requests problem=''
  if [ "$side" = icapkit ]; then
    read -r rps requests problem < <(python3 - "$work/load.json" <<'PY' 2>/dev/null
import json, sys
j = json.load(open(sys.argv[1]))
c = j["counts"]
problem = ""
if c["failed"] or any(c["errors"].values()):
    problem = f'{c["failed"]}-failed'
elif c["decided_in_preview"] != c["requests"]:
    problem = f'only-{c["decided_in_preview"]}-of-{c["requests"]}-answered-in-the-preview'
print(f'{j["achieved_rps"]:.0f} {c["requests"]} {problem}')
PY
    )
  else
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out" | cut -d. -f1)
    requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
    grep -q -e '^ *Non-2xx' -e '^ *Socket errors' "$out" &&
      problem=$(grep -e '^ *Non-2xx' -e '^ *Socket errors' "$out" | tr -s ' ' | tr ' ' '-')
  fi
  if [ $rc -ne 0 ] || [ -z "$rps" ] || [ -z "$requests" ] || [ "$requests" = 0 ]; then
    echo "FAILED (exit $rc: $(tail -n 1 "$out"))"
  elif [ -n "$problem" ]; then
    echo "FAILED (${problem//-/ })"
  else
    echo "$rps $requests $(per_request "$work/$side.time" "$ticks" "$requests")"
  fi
}

better() { # better OLD NEW: the run with more requests/s (a failure sticks)
  if [[ $1 == FAILED* ]]; then echo "$1"; return; fi
  if [[ $2 == FAILED* ]] || [ -z "$1" ]; then echo "$2"; return; fi
  if awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { exit !(b > a) }'; then echo "$2"; else echo "$1"; fi
}

echo "bench: one client thread, $connections connections, $duration per run, ${body_kb} KiB bodies," \
  "answered 204 at once; best of $repeat interleaved runs; servers with $server_threads thread(s)"
best_icapkit='' best_wrk=''
for _ in $(seq 1 "$repeat"); do
  best_icapkit=$(better "$best_icapkit" "$(run_side icapkit)")
  best_wrk=$(better "$best_wrk" "$(run_side wrk)")
done

echo
printf '%-34s %11s %9s %15s %11s %15s\n' side "requests/s" requests "client us/req" "client CPU" "server us/req"
for side in icapkit wrk; do
  result=$best_icapkit name="icapkit load -> icapkit serve"
  [ $side = wrk ] && result=$best_wrk name="wrk -> nginx"
  if [[ $result == FAILED* ]]; then
    printf '%-34s %s\n' "$name" "$result"
  else
    read -r rps requests client_us client_pct server_us <<<"$result"
    printf '%-34s %11s %9s %15s %10s%% %15s\n' "$name" "$rps" "$requests" "$client_us" "$client_pct" "$server_us"
  fi
done
if [[ $best_icapkit != FAILED* ]] && [[ $best_wrk != FAILED* ]]; then
  r=$(ratio "${best_icapkit%% *}" "${best_wrk%% *}")
  if awk -v r="$r" 'BEGIN { exit !(r >= 0.5) }'; then met=met; else met="NOT met"; fi
  echo "ratio requests/s icapkit load / wrk: ${r} (target >= 0.5: $met)"
  echo "icapkit load CPU time per request: $(cut -d' ' -f3 <<<"$best_icapkit") us" \
    "(wrk: $(cut -d' ' -f3 <<<"$best_wrk") us)"
fi
