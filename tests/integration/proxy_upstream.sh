#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` when the origin drops connections (upstream_recorder.py's X-Drop faults), as a
# user sees it with curl: a GET the origin dropped once goes out again and gets the origin's 200; a
# POST, held for ICAP or streamed, goes out once and gets 502 saying it is not sent twice; a GET
# dropped twice gets 502 after two attempts; an idle upstream connection the origin closed is not
# used (one worker thread, so the next request meets that connection). The records carry the
# upstream object and validate against the schema; /stats and `icapkit report` count the same
# retries and errors as the records.
# Usage: proxy_upstream.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_upstream "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

start_upstream up
upstream_url=http://127.0.0.1:$up_port
start_serve icap --vendor opswat
icap_servers=127.0.0.1:$icap_port
vs_config "$WORK/vs.json" '{}'
start_proxy upstream "$WORK/vs.json" --threads 1
head -c 4096 /dev/urandom >"$WORK/body.bin"
peer="127.0.0.1:$up_port"

# upstream_received N WHAT: the origin got N requests during the last req
upstream_received() {
  local got=$(($(up_count up) - UP_BEFORE))
  [ "$got" -eq "$1" ] || fail "$2: the origin received $got requests, want $1"
}

# --- a GET the origin dropped once: sent again on a new connection, the client gets 200
req get-once -H 'X-Drop: first' /page/get-once
expect_code get-once 200 "a GET dropped once is sent again"
upstream_received 2 "GET dropped once"
rec upstream.attempts=2 "upstream.retries.0~closed the connection after the request was sent; the GET is idempotent" upstream.error!

# --- a POST that may have reached the origin: never twice, 502 with the reason
for case in "post-scanned|/upload/held" "post-streamed|/form/streamed"; do
  IFS='|' read -r name path <<<"$case"
  req "$name" -H 'X-Drop: first' --data-binary @"$WORK/body.bin" "$path"
  expect_code "$name" 502 "a POST the origin dropped is not sent twice"
  upstream_received 1 "$name"
  # "the connection" or "a reused connection", as the pool had one or not
  want="^upstream $peer closed (the|a reused) connection after the request was sent; a POST is not sent twice$"
  error=$(rec_get upstream.error)
  grep -qE "$want" <<<"$error" || fail "$name: the record's upstream.error is '$error', want /$want/"
  grep -qF "502 Bad Gateway: $error" "$WORK/$name.body" ||
    fail "$name: the 502 page does not give the reason: $(cat "$WORK/$name.body")"
  rec upstream.attempts=1 upstream.retries! response_code=502
done

# --- a GET dropped every time: 502 after exactly two attempts
req get-always -H 'X-Drop: always' /page/get-always
expect_code get-always 502 "a GET dropped twice"
upstream_received 2 "GET dropped twice"
rec upstream.attempts=2 "upstream.error~(2 attempts)" response_code=502

# --- an idle upstream connection the origin closed: found before writing, not a retry
req idle-first -H 'X-Drop: idle' /page/idle
expect_code idle-first 200 "the request before the idle close"
wait_for 10 grep -q "closed idle connection" "$WORK/up.upstream.err" ||
  fail "the origin did not report closing the idle connection"
req idle-next --data-binary @"$WORK/body.bin" /form/after-idle
expect_code idle-next 200 "a POST after the origin closed the pooled connection"
upstream_received 1 "POST after the idle close"
rec upstream!

# --- /stats, the records and icapkit report agree
stats counters
[ "$(stats_get counters 's["upstream_retries"]')" = 2 ] ||
  fail "/stats upstream_retries: $(stats_get counters 's["upstream_retries"]'), want 2 (the two GETs)"
[ "$(stats_get counters 's["upstream_errors"]')" = 3 ] ||
  fail "/stats upstream_errors: $(stats_get counters 's["upstream_errors"]'), want 3 (two POSTs, one GET)"
[ "$(stats_get counters 's["upstream_stale_closed"]')" = 1 ] ||
  fail "/stats upstream_stale_closed: $(stats_get counters 's["upstream_stale_closed"]'), want 1"
finish_proxy # validates every record against the schema

"$PY" - "$proxy_log" "$WORK/counters.json" <<'PY' || fail "the records do not add up to /stats (see above)"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
stats = json.load(open(sys.argv[2]))
retries = sum(r["upstream"]["attempts"] - 1 for r in records if "upstream" in r)
errors = sum(1 for r in records if "error" in r.get("upstream", {}))
if (retries, errors) != (stats["upstream_retries"], stats["upstream_errors"]):
    print(f"records: {retries} retries, {errors} errors; /stats: {stats['upstream_retries']}, {stats['upstream_errors']}")
    sys.exit(1)
PY

icapkit report-json report --output json "$proxy_log"
expect_rc report-json 0 "report over the proxy's records"
"$PY" -c 'import json,sys; u=json.load(open(sys.argv[1])).get("upstream"); sys.exit(0 if u == {"records": 4, "retries": 2, "errors": 3} else 1)' \
  "$WORK/report-json.out" || fail "report --output json: upstream is $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("upstream"))' "$WORK/report-json.out"), want 4 records, 2 retries, 3 errors"
icapkit report-human report "$proxy_log"
expect_output report-human "^upstream \(icapkit proxy\): 2 retries, 3 errors answered 502/504, in 4 records$" "the upstream line"
expect_output report-human "HTTP 502 .*a POST is not sent twice" "the failed POST with its reason"
finish
