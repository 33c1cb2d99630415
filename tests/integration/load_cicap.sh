#!/usr/bin/env bash
# `icapkit load` against the reference ICAP server: c-icap 0.5.10 avscan (virus_scan over clamd,
# custom signature DB) from tests/integration/lab. A closed-model run of 200 REQMODs over 8
# connections and 2 threads, 10% of them carrying EICAR, finishes with no failed request and no
# protocol error, blocks exactly the EICAR share; c-icap's own access log agrees: one REQMOD per
# request icapkit load counted (none lost, none sent twice), answered 200 (the block page) exactly
# as often as icapkit counted blocks and 204 for the rest, and OPTIONS sent once per thread plus
# the reachability probe, not once per connection or request.
# Usage: load_cicap.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_cicap "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

requests=200
connections=8
threads=2
eicar_share=20 # --eicar-ratio 0.1 of 200: the generator spreads the share exactly
start_lab
url=icap://127.0.0.1:$ICAP_PORT/avscan
note "c-icap :$ICAP_PORT"
CICAP_ACCESS_LOG=$LAB/log/access.log
# count REGEX: lines of c-icap's access log matching REGEX ("... REQMOD avscan?... 204").
count() { grep -cE "$1" "$CICAP_ACCESS_LOG" 2>/dev/null || true; }
reqmod_any=' REQMOD [^ ]+ [0-9]+$'
reqmods_before=$(count "$reqmod_any")
blocks_before=$(count ' REQMOD [^ ]+ 200$')
passes_before=$(count ' REQMOD [^ ]+ 204$')
options_before=$(count ' OPTIONS ')

icapkit run --limit 90 load --server "$url" --connections $connections --threads $threads \
  --requests $requests --eicar-ratio 0.1 --size 4KiB --timeout 20000 --json "$WORK/run.json"
expect_rc run 0 "a closed-model run against c-icap avscan"
expect_output run "requests $requests in" "the summary counts the requests"
[ -s "$WORK/run.json" ] || die "run: no --json summary written"
"$PY" - "$WORK/run.json" $requests $eicar_share <<'PY' || fail "run.json: the counts are not what was asked for (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
requests, eicar = int(sys.argv[2]), int(sys.argv[3])
c = j["counts"]
problems = []
if c["requests"] != requests:
    problems.append(f"requests {c['requests']}, want {requests}")
if c["failed"] != 0 or c["timeouts"] != 0:
    problems.append(f"failed {c['failed']}, timeouts {c['timeouts']}, want 0")
if any(c["errors"].values()):
    problems.append(f"errors {c['errors']}, want none (protocol errors would mean a codec mismatch with c-icap)")
if c["blocked"] != eicar:
    problems.append(f"blocked {c['blocked']}, want exactly the EICAR share {eicar}")
if c["passed"] != requests - eicar or c["modified"] != 0:
    problems.append(f"passed {c['passed']}, modified {c['modified']}, want {requests - eicar} and 0")
if j["histograms"]["total"]["count"] != requests:
    problems.append(f"latency histogram holds {j['histograms']['total']['count']} samples, want {requests}")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY

# c-icap logs each transaction when it ends; give the last ones a moment to reach the file.
# shellcheck disable=SC2317 # called through wait_for
logged_all() { [ "$(($(count "$reqmod_any") - reqmods_before))" -ge "$requests" ]; }
wait_for 5 logged_all
reqmods=$(($(count "$reqmod_any") - reqmods_before))
[ "$reqmods" -eq $requests ] ||
  fail "c-icap's access log has $reqmods REQMODs for this run, want $requests (what icapkit load counted)"
blocks=$(($(count ' REQMOD [^ ]+ 200$') - blocks_before))
passes=$(($(count ' REQMOD [^ ]+ 204$') - passes_before))
if [ "$blocks" -ne $eicar_share ] || [ "$passes" -ne $((requests - eicar_share)) ]; then
  fail "c-icap answered $blocks REQMODs with 200 (block page) and $passes with 204, want $eicar_share and $((requests - eicar_share))"
fi
options=$(($(count ' OPTIONS ') - options_before))
if [ "$options" -lt 1 ] || [ "$options" -gt $((threads + 1)) ]; then
  fail "c-icap saw $options OPTIONS, want 1 to $((threads + 1)) (a probe and one per thread, not one per connection)"
fi
finish
