#!/usr/bin/env bash
# Benchmark (not a test; never registered in CTest): `icapkit load` beside c-icap-stretch (the
# stress client in Debian's c-icap package), both sending the same number of requests with the
# same bodies to the same c-icap 0.5.10 service (tests/integration/lab/cicap_lab.sh: c-icap +
# clamd, loopback ports chosen at run time), in one run. c-icap-stretch can only send files as
# RESPMOD with a 512-byte preview and 204 allowed, so icapkit load does the same (--mode respmod
# --preview 512 --files ...), with as many connections as c-icap-stretch has threads. The bodies:
# FILES files of BODY_KB KiB, one of them ending with the EICAR string, cycled by both tools.
# Prints what each tool reports (c-icap-stretch reports counters and whole seconds, no latency),
# the wall time of each, and what c-icap's own access log saw of each run (RESPMODs, answered 200
# = blocked, 204 = clean).
# Note: c-icap-stretch paces itself. Each thread sleeps 0.5 s between two requests on a
# connection, closes the connection after 30 % of requests (at random) and then sleeps 1 s; it
# checks its -m limit once a second and lets every thread finish its request, so it sends more
# than asked. Its wall time is that pacing, not c-icap's speed; the ratio is not a speed-up of
# the same work, only what a user of either tool waits for the same request count.
# Usage: bench/load_vs_c-icap-stretch.sh [ICAPKIT_BINARY]   (default build/bin/icapkit)
# Env: REQUESTS=300 THREADS=10 (c-icap-stretch threads = icapkit load connections; the lab's
#      c-icap serves 20 connections at once) SERVICE=avscan FILES=10 BODY_KB=4
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/bin/icapkit}
requests=${REQUESTS:-300}
threads=${THREADS:-10}
service=${SERVICE:-avscan}
file_count=${FILES:-10}
body_kb=${BODY_KB:-4}
[ -x "$bin" ] || { echo "bench: icapkit binary '$bin' not found (build it, or pass its path)" >&2; exit 2; }
command -v c-icap-stretch >/dev/null || { echo "bench: c-icap-stretch missing (run scripts/deps)" >&2; exit 2; }
"$bin" load --help >/dev/null 2>&1 || { echo "bench: this icapkit has no load subcommand" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-bench-stretch.XXXXXX")
lab_started=0
cleanup() {
  [ $lab_started -eq 0 ] || "$root/tests/integration/lab/cicap_lab.sh" stop "$work/lab"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "icapkit: $("$bin" --version 2>/dev/null), c-icap-stretch: $(c-icap-stretch -V 2>/dev/null | head -n 1)"

"$root/tests/integration/lab/cicap_lab.sh" start "$work/lab" >/dev/null || { echo "bench: lab did not start" >&2; exit 2; }
lab_started=1
# shellcheck disable=SC1091
. "$work/lab/env"
access_log=$LAB/log/access.log

# The bodies: distinct, incompressible (AES-CTR keystream), the last one ending with EICAR.
mkdir -p "$work/files"
openssl enc -aes-128-ctr -nosalt -pass pass:icapkit-bench-stretch -in /dev/zero 2>/dev/null |
  head -c $((file_count * body_kb * 1024)) | split -a 3 -d -b $((body_kb * 1024)) - "$work/files/f"
files=("$work"/files/f*)
last=${files[${#files[@]} - 1]}
head -c $((body_kb * 1024 - $(wc -c <"$EICAR"))) "$last" >"$last.tmp" && cat "$EICAR" >>"$last.tmp" && mv "$last.tmp" "$last"

# cicap_counts: "RESPMOD 200 204" lines of c-icap's access log so far
cicap_counts() {
  awk '$0 ~ / RESPMOD / { n++; if ($NF == 200) b++; else if ($NF == 204) p++ }
       END { printf "%d %d %d\n", n, b, p }' "$access_log" 2>/dev/null
}
# cicap_delta BEFORE: what c-icap logged since BEFORE ("N B P"), once its log stops growing
cicap_delta() {
  local now prev='' _
  for _ in $(seq 1 20); do
    now=$(cicap_counts)
    [ "$now" != "$prev" ] || break
    prev=$now
    sleep 0.25
  done
  read -r n b p <<<"$now"
  read -r n0 b0 p0 <<<"$1"
  echo "$((n - n0)) $((b - b0)) $((p - p0))"
}

echo "bench: $requests RESPMODs of $body_kb KiB ($file_count files cycled, 1 with EICAR) to c-icap $service," \
  "$threads threads / connections, preview 512"
# Warm-up: c-icap starts its threads and connects to clamd on the first requests.
"$bin" load --server "icap://127.0.0.1:$ICAP_PORT/$service" --mode respmod --connections "$threads" \
  --requests 50 --files "$work/files/f*" -q >/dev/null 2>&1

# --- icapkit load
before=$(cicap_counts)
start=$(now_ms)
timeout 600 "$bin" load --server "icap://127.0.0.1:$ICAP_PORT/$service" --mode respmod --preview 512 \
  --connections "$threads" --requests "$requests" --files "$work/files/f*" --timeout 30000 \
  --json "$work/load.json" >"$work/load.out" 2>&1
load_rc=$?
load_ms=$(($(now_ms) - start))
load_cicap=$(cicap_delta "$before")

# --- c-icap-stretch
before=$(cicap_counts)
start=$(now_ms)
timeout 600 c-icap-stretch -i 127.0.0.1 -p "$ICAP_PORT" -s "$service" -m "$requests" -t "$threads" \
  "${files[@]}" >"$work/stretch.out" 2>&1
stretch_rc=$?
stretch_ms=$(($(now_ms) - start))
stretch_cicap=$(cicap_delta "$before")

echo
echo "icapkit load reports (exit $load_rc, wall time $load_ms ms):"
sed 's/^/  | /' "$work/load.out"
echo "c-icap-stretch reports (exit $stretch_rc, wall time $stretch_ms ms), its last statistics:"
# It prints its statistics every second; the last block is the final count.
awk '/^Statistics:/ { block = "" } { block = block $0 "\n" } END { printf "%s", block }' "$work/stretch.out" |
  grep -v -e '^Thread [0-9]* exited' -e '^The end' -e '^Oops' | sed 's/^/  | /'

read -r load_sent load_blocked load_failed < <(python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))["counts"]
print(c["requests"], c["blocked"], c["failed"])' "$work/load.json" 2>/dev/null || echo '? ? ?')
stretch_sent=$(grep 'Requests served' "$work/stretch.out" | tail -n 1 | sed 's/.*://')
stretch_failed=$(grep 'Requests failed' "$work/stretch.out" | tail -n 1 | sed 's/.*://')
stretch_soft=$(grep 'Requests soft failed' "$work/stretch.out" | tail -n 1 | sed 's/.*://')

echo
printf '%-16s %9s %13s %8s %8s   %s\n' tool "wall ms" "own count" blocked failed "c-icap's access log: RESPMOD / 200 / 204"
printf '%-16s %9s %13s %8s %8s   %s\n' "icapkit load" "$load_ms" "$load_sent" "$load_blocked" "$load_failed" \
  "$(tr ' ' '/' <<<"$load_cicap" | sed 's|/| / |g')"
printf '%-16s %9s %13s %8s %8s   %s\n' "c-icap-stretch" "$stretch_ms" "${stretch_sent:-?}" "-" \
  "${stretch_failed:-?}+${stretch_soft:-?}" "$(tr ' ' '/' <<<"$stretch_cicap" | sed 's|/| / |g')"
echo "wall time c-icap-stretch / icapkit load: $(ratio "$stretch_ms" "$load_ms")x" \
  "(c-icap-stretch reports no verdicts and no latency; failed = hard+soft)"
[ $load_rc -eq 0 ] || echo "note: icapkit load exited $load_rc"
[ $stretch_rc -eq 0 ] || echo "note: c-icap-stretch exited $stretch_rc"
