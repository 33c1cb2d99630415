#!/usr/bin/env bash
# `icapkit load` counts every failure the server causes, by kind, and retries nothing: against
# fake_servers.py in script mode (one connection, so the order is fixed) a server that closes a
# keep-alive connection after its answer (the next request on it fails: reset on a reused
# connection), resets a request on a new and on a reused connection, stalls one (timeout) and
# stops listening (refused). The counts in --json, the human summary, --prom and --html agree with
# what the server did (its log) and with the schedule; a threshold on one kind sets the exit
# status; `icapkit report --merge` reads the summary back with the same counts.
# Usage: load_failures.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_failures "$1" "$2"

json() { # json FILE EXPR: prints EXPR evaluated on the parsed FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1
}

port_file=$WORK/script.port
# Request by request (one connection, closed model; connection 1 is load's reachability probe,
# connection 2 its OPTIONS, which request 0 reuses):
#   0 conn 2 close    passed, then the server closes the idle connection
#   1 conn 2          (dead: never reaches the server)          reset_reused_connection
#   2 conn 3 reset                                              reset_new_connection
#   3 conn 4 answer   passed
#   4 conn 4 reset                                              reset_reused_connection
#   5 conn 5 refuse   passed; the server stops listening
#   6 conn 5 stall                                              timeout (response)
#   7-9 new connects                                            refused
"$PY" "$itest_dir/fake_servers.py" script "$port_file" --actions close,reset,answer,reset,refuse,stall \
  2>"$WORK/script.log" </dev/null &
background_pids+=($!)
for _ in $(seq 1 100); do
  [ -s "$port_file" ] && break
  sleep 0.05
done
[ -s "$port_file" ] || die "fake server did not start (see $WORK/script.log)"
url=icap://127.0.0.1:$(cat "$port_file")/reqmod
note "fake_servers.py script :$(cat "$port_file")"

icapkit run --limit 60 load --server "$url" --connections 1 --requests 10 --timeout 500ms \
  --threshold 'errors.reset_reused_connection<1' --threshold 'errors.refused<=3' \
  --json "$WORK/run.json" --prom "$WORK/run.prom" --html "$WORK/run.html"
expect_rc run 1 "the threshold on resets of reused connections fails"

# What the server saw and did.
server_count() { grep -cE "$1" "$WORK/script.log"; }
connections=$(server_count '^fake\[script\]: connection [0-9]+$')
answered=$(server_count ': (REQMOD|RESPMOD) on connection [0-9]+, (new|reused): (answer|close|refuse)$')
closed_idle=$(server_count ': REQMOD on connection [0-9]+, (new|reused): close$')
reset_new=$(server_count ': REQMOD on connection [0-9]+, new: reset$')
reset_reused=$(server_count ': REQMOD on connection [0-9]+, reused: reset$')
stalled=$(server_count ': REQMOD on connection [0-9]+, (new|reused): stall$')
[ "$connections $answered $closed_idle $reset_new $reset_reused $stalled" = "5 3 1 1 1 1" ] ||
  fail "the server did not see the schedule: connections answered closed reset-new reset-reused stalled = $connections $answered $closed_idle $reset_new $reset_reused $stalled, want 5 3 1 1 1 1 (see $WORK/script.log)"

counts=$("$PY" - "$WORK/run.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
e = c["errors"]
kinds = ("refused", "reset_new_connection", "reset_reused_connection", "timeout", "overload",
         "protocol", "other")
print(c["requests"], c["passed"], c["failed"], *(e[k] for k in kinds),
      c["timeouts_by_phase"]["response"], sum(e.values()))
PY
)
[ "$counts" = "10 3 7 3 1 2 1 0 0 0 1 7" ] ||
  fail "run.json: want 10 requests, 3 passed, 7 failed: 3 refused, 1 reset on a new connection, 2 on a reused one, 1 timeout (response), kinds summing to the failures; got requests passed failed refused reset_new reset_reused timeout overload protocol other timeouts.response sum = $counts"
# Every failure the server caused is counted, none retried away: the answered requests passed, a
# connection closed after its answer cost the next request, each reset and stall cost its own.
[ "$(json "$WORK/run.json" "j['counts']['passed']")" = "$answered" ] ||
  fail "run.json: passed requests differ from the $answered the server answered"
[ "$(json "$WORK/run.json" "j['counts']['errors']['reset_reused_connection']")" = $((closed_idle + reset_reused)) ] ||
  fail "run.json: resets on reused connections differ from the server's $closed_idle idle close(s) + $reset_reused reset(s) of a reused connection"
[ "$(json "$WORK/run.json" "j['counts']['errors']['reset_new_connection']")" = "$reset_new" ] ||
  fail "run.json: resets on new connections differ from the server's $reset_new"

expect_output run "failed 7" "the summary's failures"
expect_output run "errors: refused 3 reset_new_connection 1 reset_reused_connection 2 timeout 1$" \
  "the failures by kind"
expect_output run "timeouts by phase: response 1" "where the timeout fired"
expect_output run "threshold errors.reset_reused_connection<1: FAILED \(errors.reset_reused_connection = 2\)" \
  "the failed threshold on one kind"
expect_output run "threshold errors.refused<=3: passed" "the threshold on refusals holds"
for kind in "refused 3" "reset_new_connection 1" "reset_reused_connection 2" "timeout 1"; do
  grep -q "^icapkit_load_errors_total{kind=\"${kind% *}\"} ${kind#* }$" "$WORK/run.prom" ||
    fail "run.prom: no icapkit_load_errors_total line for ${kind% *} = ${kind#* }"
done
grep -q '<td>reset_reused_connection</td><td class="n">2</td>' "$WORK/run.html" ||
  fail "run.html: the errors table does not show 2 resets on reused connections"

# The summary read back: the same counts, the thresholds checked again.
icapkit merged report --merge "$WORK/run.json" --out "$WORK/merged.json"
expect_rc merged 1 "the reused-connection threshold still fails on the summary read back"
expect_output merged "errors: refused 3 reset_new_connection 1 reset_reused_connection 2 timeout 1$" \
  "the failures by kind, read back"
[ "$(json "$WORK/merged.json" "j['counts']['errors']")" = "$(json "$WORK/run.json" "j['counts']['errors']")" ] ||
  fail "merged.json: the error counts changed on the way through report --merge"

finish
