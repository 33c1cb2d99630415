#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit load` against `icapkit serve` with a scenario that answers every request after 50 ms
# (EICAR uploads blocked): a closed-model run counts exactly the requests asked for and blocks
# exactly the EICAR share, its median latency shows the delay; thresholds set the exit status and
# the summary names the failed one; slow counts follow --slow-threshold; --json parses, two --shard summaries merged by
# `icapkit report --merge` add up; --prom has histogram lines; a sweep writes one file per
# --preview value; bad flags and an unreachable server exit 2; every --help flag is in the man
# page. Phases: --no-keepalive connects per request, timeouts are counted by phase; the
# merged summary renders as HTML.
# Usage: load_serve.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_serve "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

cat >"$WORK/delay.json" <<'JSON'
{"name": "delay-50ms", "rules": [
  {"name": "eicar", "match": {"contains": "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"},
   "verdict": {"type": "block", "threat": "EICAR-Test-File"}, "delay": {"ms": 50}},
  {"name": "all", "verdict": "clean", "delay": {"ms": 50}}]}
JSON
start_serve icap --vendor opswat --scenario "$WORK/delay.json"
url=icap://127.0.0.1:$icap_port/OMSScanReq-AV
note "icapkit serve :$icap_port"
json() { # json FILE EXPR: prints EXPR evaluated on the parsed FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# --- closed model: 300 requests over 20 connections, 10% EICAR; p99 cannot be under 10 ms
icapkit closed load --server "$url" --connections 20 --requests 300 --eicar-ratio 0.1 \
  --size 4k,16KiB --threshold 'p99<10ms' --json "$WORK/closed.json" --prom "$WORK/closed.prom"
expect_rc closed 1 "a threshold below the server's 50 ms delay fails"
expect_output closed "threshold p99<10ms: FAILED" "the summary names the failed threshold"
expect_output closed "requests 300 in" "the summary counts the requests"
expect_output closed "blocked 30 " "10% of 300 blocked"
[ "$(json "$WORK/closed.json" "j['counts']['requests']")" = 300 ] || fail "closed.json: requests != 300"
[ "$(json "$WORK/closed.json" "j['counts']['blocked']")" = 30 ] || fail "closed.json: blocked != 30"
[ "$(json "$WORK/closed.json" "j['counts']['failed']")" = 0 ] || fail "closed.json: failed requests"
p50_ms=$(grep -oE '^  corrected: +p50 [0-9.]+ ms' "$WORK/closed.err" | grep -oE '[0-9.]+ ms' | cut -d' ' -f1)
"$PY" -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 50 <= v <= 100 else 1)" "${p50_ms:-0}" ||
  fail "closed: p50 ${p50_ms:-?} ms, want 50-100 ms (the scenario delays every answer by 50 ms; the rest is a loaded machine)"
grep -q '^icapkit_load_latency_seconds_bucket{latency="corrected",le="+Inf"} 300$' "$WORK/closed.prom" ||
  fail "closed.prom: no +Inf bucket with the 300 requests"
grep -q '^icapkit_load_latency_seconds_count{latency="corrected"} 300$' "$WORK/closed.prom" ||
  fail "closed.prom: no _count line"

icapkit loose load --server "$url" --connections 10 --requests 50 --threshold 'p99<5s' -q
expect_rc loose 0 "a 5 s threshold holds"

# --- the slow threshold: every answer takes 50 ms, so above 30 ms all are slow, above 1 s none
icapkit slow load --server "$url" --connections 5 --requests 20 --slow-threshold 30 \
  --threshold 'slow<50%' --json "$WORK/slow.json"
expect_rc slow 1 "every request is slow: 'slow<50%' fails"
expect_output slow "slow 20" "the summary counts 20 slow requests"
[ "$(json "$WORK/slow.json" "j['counts']['slow']")" = 20 ] || fail "slow.json: slow != 20"
icapkit fast load --server "$url" --connections 5 --requests 20 --slow-threshold 1000 \
  --threshold 'slow<=0' -q
expect_rc fast 0 "no request is above a 1 s slow threshold"

# --- two shards of one run, merged
for i in 1 2; do
  icapkit "shard$i" load --server "$url" --connections 10 --requests 101 --eicar-ratio 0.5 \
    --shard "$i/2" --threshold 'p99<5s' --json "$WORK/shard$i.json" -q
  expect_rc "shard$i" 0 "shard $i/2"
done
icapkit merge report --merge "$WORK/shard1.json" "$WORK/shard2.json" -o "$WORK/total.json"
expect_rc merge 0 "the merged thresholds hold"
expect_output merge "requests 101 in .*2 shards" "the merged summary counts both shards"
[ "$(json "$WORK/total.json" "j['counts']['requests'], j['shards'], j['histograms']['total']['count']")" = "101 2 101" ] ||
  fail "total.json: requests/shards/samples are not 101/2/101"
[ "$(json "$WORK/total.json" "j['counts']['blocked'] == json.load(open('$WORK/shard1.json'))['counts']['blocked'] + json.load(open('$WORK/shard2.json'))['counts']['blocked']")" = True ] ||
  fail "total.json: blocked is not the shards' sum"

icapkit mergehtml report --merge "$WORK/shard1.json" "$WORK/shard2.json" --output html -o "$WORK/total.html"
expect_rc mergehtml 0 "the merged summary as HTML"
grep -q '<svg' "$WORK/total.html" && ! grep -q '<script' "$WORK/total.html" ||
  fail "total.html: no SVG plot, or a script"

# --- phases: without keep-alive every request connects; a server that does not send its
# final answer in time (after its 100 Continue) counts timeouts in the response phase
icapkit nokeep load --server "$url" --connections 4 --requests 40 --no-keepalive --preview 1024 \
  --threshold 'connect.p99<1s' --threshold 'preview.p99<1s' --json "$WORK/nokeep.json"
expect_rc nokeep 0 "connect and preview thresholds hold"
expect_output nokeep "^  connect: +p50" "the summary has the connect phase"
[ "$(json "$WORK/nokeep.json" "j['histograms']['connect']['count'], j['histograms']['preview_decision']['count'], j['settings']['keep_alive']")" = "40 40 False" ] ||
  fail "nokeep.json: want 40 connects and 40 preview decisions without keep-alive"
icapkit phase load --server "$url" --connections 2 --requests 6 --preview 1024 --timeout 20 --json "$WORK/phase.json"
expect_rc phase 0 "timeouts are results, not a failure without a threshold"
expect_output phase "timeouts by phase: response 6" "the summary says where the requests timed out (after the 100 Continue)"
[ "$(json "$WORK/phase.json" "j['counts']['timeouts'], j['counts']['timeouts_by_phase']['response'], j['counts']['errors']['timeout']")" = "6 6 6" ] ||
  fail "phase.json: want 6 timeouts, all in the response phase"

# --- open model with a --preview sweep: one summary per value
icapkit sweep load --server "$url" --rate 50 --duration 1s --preview 0,off --json "$WORK/sweep.json"
expect_rc sweep 0 "an open-model sweep"
for v in 0 off; do
  [ "$(json "$WORK/sweep-preview-$v.json" "j['model'], j['settings']['preview']")" = "open $v" ] ||
    fail "sweep-preview-$v.json missing or not an open-model run with preview $v"
done

# --- answers that cannot be framed (200 without Encapsulated, then an HTTP message; issue 13):
# each one a protocol error, none a verdict
"$PY" "$itest_dir/fake_servers.py" no-encapsulated "$WORK/noenc.port" 2>"$WORK/noenc.log" </dev/null &
background_pids+=($!)
wait_for 5 test -s "$WORK/noenc.port" || die "fake_servers.py no-encapsulated did not start"
icapkit noenc load --server "icap://127.0.0.1:$(cat "$WORK/noenc.port")/x" --connections 2 \
  --requests 10 --json "$WORK/noenc.json"
expect_output noenc "errors: protocol 10" "the summary counts them as protocol errors"
[ "$(json "$WORK/noenc.json" "j['counts']['errors']['protocol'], j['counts']['failed'], j['counts']['modified'], j['counts']['passed']")" = "10 10 0 0" ] ||
  fail "noenc.json: want 10 protocol errors and no verdicts, got $(json "$WORK/noenc.json" "j['counts']")"

# --- usage errors and an unreachable server
icapkit badsize load --server "$url" --size 4x
expect_rc badsize 2 "a bad --size" && expect_output badsize "--size: '4x'" "the bad size"
icapkit badthreshold load --server "$url" --threshold 'p99<>1s'
expect_rc badthreshold 2 "a bad --threshold" && expect_output badthreshold "p99<>1s" "the bad threshold"
icapkit badshard load --server "$url" --shard 3/2
expect_rc badshard 2 "a bad --shard" && expect_output badshard "--shard: '3/2'" "the bad shard"
icapkit refused load --server "icap://127.0.0.1:$(free_port)/x" --requests 5
expect_rc refused 2 "nothing listens" && expect_output refused "cannot be reached" "says it cannot reach the server"

# --- every flag of --help is in the man page
icapkit help load --help
for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' "$WORK/help.out" | sort -u); do
  [ "$flag" = --help ] && continue
  grep -q -- "Fl ${flag#-}" "$src/man/icapkit-load.1" || fail "icapkit-load.1 does not document $flag"
done
finish
