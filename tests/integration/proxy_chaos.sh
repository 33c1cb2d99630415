#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port/NAME_pid variables are set by start_serve (printf -v)
# Chaos: steady keep-alive load through `icapkit proxy` (8 clients, POSTs of random 4 KiB bodies
# scanned by REQMOD, GETs forwarded unscanned) while its peers are killed (SIGKILL) and restarted
# on a schedule: ICAP server a, then b (a pool of two `icapkit serve`, round robin, a health
# monitor, allow_204, fail_action closed), the origin's worker twice (proxy_chaos.py origin: the
# listening socket survives, the connections die), then both ICAP servers at once for ~2 s. The
# origin also closes idle keep-alive connections on its own after 0.3 s. About 20 s of load.
# Asserted (proxy_chaos.py check): every request got the origin's answer (200, the sha256 and
# length the client sent, in the origin's log under its id), or 503 fail-closed only while no ICAP
# server was up, or (the one exception) 502 for a POST in flight when the origin was killed, with
# the reason in the record's upstream.error and the POST at the origin at most once; no POST
# reached the origin twice; nothing hung past its deadline; every request has one record that
# validates against the schema; the counts of failovers, fail actions, upstream retries and
# errors agree between the records, /stats and the client; failovers happened; each restarted
# peer answered again.
# Usage: proxy_chaos.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_chaos "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
chaos=$itest_dir/proxy_chaos.py

# Timing. The monitor is the fastest the configuration allows (Avi: receive_timeout >= 1 s and
# < send_interval). A restarted server is back within bring_back: two send_intervals (a request
# may still find a pooled ICAP connection from before the kill and take the server down again
# until the next check) + receive_timeout + 1 s for a shared CPU. A 503 is allowed only while no
# ICAP server was up: for each server, from its kill to its restart + bring_back or to the
# instant /stats showed it up again, whichever is first; no server up = every server in such a
# span. A request's deadline: one ICAP response_timeout (every failover attempt fits in it) + the
# upstream timeout + 2 s.
send_interval=2 receive_timeout=1
bring_back=$((2 * send_interval + receive_timeout + 1))
response_timeout_ms=2000 upstream_timeout_s=2
deadline=$((response_timeout_ms / 1000 + upstream_timeout_s + 2))
kill_slack=0.25 # a POST may get 502 if in flight from an origin kill to this long after it

# ICAP: two servers answering after 20-60 ms, so that a kill finds exchanges in flight.
cat >"$WORK/jitter.json" <<'EOF'
{"name": "chaos-jitter", "rules": [{"name": "jitter", "verdict": "clean",
  "delay": {"min_ms": 20, "max_ms": 60}}]}
EOF
start_serve a --scenario "$WORK/jitter.json"
start_serve b --scenario "$WORK/jitter.json"

# The origin: a supervisor that owns the listening socket and replaces its worker on SIGUSR1.
events=$WORK/events.txt origin_events=$WORK/origin.events.ndjson origin_log=$WORK/origin.ndjson
: >"$events"
"$PY" "$chaos" origin "$origin_log" "$WORK/origin.port" "$origin_events" --parent $$ \
  --idle 0.3 --delay-ms 5-30 2>"$WORK/origin.err" &
origin_pid=$!
server_pids+=("$origin_pid")
wait_for 15 test -s "$WORK/origin.port" ||
  die "the origin did not start: $(tail -n 3 "$WORK/origin.err")"
upstream_url=http://127.0.0.1:$(cat "$WORK/origin.port")
note "ICAP a :$a_port, b :$b_port; origin $upstream_url"

profile="{\"fail_action\": \"ICAP_FAIL_CLOSED\", \"allow_204\": true,
  \"response_timeout\": $response_timeout_ms}"
vs_config "$WORK/chaos.json" "$profile" '' \
  "{\"pools\": [{\"name\": \"icap\", \"lb_algorithm\": \"LB_ALGORITHM_ROUND_ROBIN\",
     \"servers\": [{\"ip\": {\"addr\": \"127.0.0.1\", \"type\": \"V4\"}, \"port\": $a_port},
                   {\"ip\": {\"addr\": \"127.0.0.1\", \"type\": \"V4\"}, \"port\": $b_port}],
     \"health_monitor_refs\": [\"/api/healthmonitor?name=icap-options\"]}],
    \"health_monitors\": [{\"name\": \"icap-options\", \"type\": \"HEALTH_MONITOR_TCP\",
     \"send_interval\": $send_interval, \"receive_timeout\": $receive_timeout,
     \"successful_checks\": 1, \"failed_checks\": 2}]}"
start_proxy chaos "$WORK/chaos.json" --threads 2 --upstream-timeout "${upstream_timeout_s}s" -q

now_ms() { date +%s%3N; }
event() { echo "$(date +%s.%N) $1 $2" >>"$events"; }
server_up() { # server_up PORT True|False: /stats says so
  stats st >/dev/null 2>&1 || return 1
  local want="[x['up'] for x in s['servers'] if x['address'].endswith(':$1')] == [$2]"
  [ "$(stats_get st "$want")" = True ]
}
wait_up() { # wait_up NAME...: each restarted server is up in /stats (bounded)
  local name port
  for name in "$@"; do
    port=${name}_port
    wait_for $((bring_back + 4)) server_up "${!port}" True ||
      fail "ICAP server $name (port ${!port}) restarted, but /stats did not show it up" \
        "within $((bring_back + 4)) s"
    event up-icap "$name"
  done
}
wait_up a b

after() { sleep "$1"; } # the chaos schedule's pace, not a synchronisation
kill_icap() { # kill_icap NAME...: SIGKILL to icapkit serve (the child of its `timeout`)
  local name pid serve_pids=()
  for name in "$@"; do
    pid=${name}_pid
    serve_pids+=("$(ps -o pid= --ppid "${!pid}" | tr -d ' ')")
  done
  local t
  t=$(date +%s.%N) # one instant for all: just before the first kill
  for name in "$@"; do echo "$t kill-icap $name" >>"$events"; done
  for pid in "${serve_pids[@]}"; do kill -KILL "$pid"; done
  for name in "$@"; do
    pid=${name}_pid
    wait "${!pid}" 2>/dev/null # timeout exits (137) once its child is gone
  done
}
restart_icap() { # restart_icap NAME...: on the same port; the instant is once it listens
  local name port
  for name in "$@"; do
    port=${name}_port
    start_serve "$name" --scenario "$WORK/jitter.json" --listen "127.0.0.1:${!port}"
    event restart-icap "$name"
  done
}
origin_kills() { grep -c origin-kill "$origin_events"; }
replaced_since() { [ "$(origin_kills)" -gt "$1" ]; }
replace_origin() { # the origin's worker SIGKILLed once a new one serves on the same socket
  local before
  before=$(origin_kills)
  kill -USR1 "$origin_pid"
  wait_for 15 replaced_since "$before" ||
    fail "the origin supervisor did not replace its worker within 15 s:" \
      "$(tail -n 3 "$WORK/origin.err")"
}

# --- the load, and the schedule
rm -f "$WORK/stop"
"$PY" "$chaos" load 127.0.0.1 "$proxy_port" "$WORK/results.ndjson" --stop-file "$WORK/stop" \
  --deadline "$deadline" --clients 8 --max-seconds 40 --parent $$ 2>"$WORK/load.err" &
load_pid=$!
server_pids+=("$load_pid")
t0_ms=$(now_ms)
event load-start -
# Each step follows the previous one (a restart waits until /stats shows the server up), so a
# slow machine stretches the schedule instead of overlapping its steps; the load runs at least
# 20 s and 2 s past the last step.
after 1.5; kill_icap a
after 2; restart_icap a; wait_up a
after 1; replace_origin
after 1; kill_icap b
after 2; restart_icap b; wait_up b
after 1; replace_origin
after 1; kill_icap a b
after 2; restart_icap a b; wait_up a b
left_ms=$((t0_ms + 20000 - $(now_ms)))
[ "$left_ms" -ge 2000 ] || left_ms=2000
after "$((left_ms / 1000)).$(printf '%03d' $((left_ms % 1000)))"
event load-stop -
touch "$WORK/stop"
note "schedule done after $((($(now_ms) - t0_ms) / 1000)) s of load"
# Bounded: each client finishes its request in flight (at most a deadline) and stops.
wait_for $((deadline + 5)) test -s "$WORK/results.ndjson" ||
  fail "the load did not stop within $((deadline + 5)) s of the stop: a request hangs"
stop_pid "$load_pid"
[ -s "$WORK/results.ndjson" ] || die "the load wrote no results: $(tail -n 5 "$WORK/load.err")"

# Every request gets its record (written after the answer): wait for the count, then /stats.
sent=$(grep -c '"id"' "$WORK/results.ndjson")
wait_for 5 test "$(rec_count)" -ge "$sent" || true
stats final || fail "GET /stats failed: $(cat "$WORK/final.curlerr")"
if ! "$PY" "$chaos" check --results "$WORK/results.ndjson" --origin-log "$origin_log" \
  --origin-events "$origin_events" --events "$events" --records "$proxy_log" \
  --stats "$WORK/final.json" --icap "a=$a_port" "b=$b_port" --bring-back "$bring_back" \
  --kill-slack "$kill_slack" --deadline "$deadline" \
  --t0 "$(sed -n 's/ load-start -$//p' "$events")" \
  2>"$WORK/check.err"; then
  n=$(grep -c '^FAIL' "$WORK/check.err")
  failures=$((failures + (n > 0 ? n : 1)))
fi
cat "$WORK/check.err" >&2
finish_proxy
finish
