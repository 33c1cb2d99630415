#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit replay --target`: the same captures through a separately started `icapkit proxy` and
# through Squid 5.7 (a reverse proxy, "accel", with ICAP REQMOD to the same `icapkit serve`),
# each with the replay's own upstream (--upstream-listen) as its origin, give the verdicts the
# in-process proxy gives: the expectations recorded in-process (threat names left out: a proxy
# seen from outside does not tell them) hold against both. Without --upstream-listen the verdict
# comes from the HTTP status alone.
# Usage: replay_target.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init replay_target "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

squid_bin=$(command -v squid || echo /usr/sbin/squid)
[ -x "$squid_bin" ] || die "squid is not installed (scripts/deps installs it)"
caps=$src/testdata/captures
captures=("$caps"/raw/*.http "$caps"/har/*.har "$caps"/pcap/uploads.pcapng)
start_serve icap --vendor generic --scenario "$src/testdata/scenarios/sanitize-html.json"
icap_servers=127.0.0.1:$icap_port
writes='[{"name": "scan-writes", "index": 10, "enable": true,
  "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]'
profile='{"vendor": "ICAP_VENDOR_GENERIC", "service_uri": "/avscan"}'

# --- the reference: in-process
vs_config "$WORK/vs.json" "$profile" "$writes"
icapkit inprocess --limit 60 replay "${captures[@]}" --config "$WORK/vs.json" \
  --record-expectations "$WORK/expect-full.json"
expect_rc inprocess 0 "the in-process reference run"
"$PY" - "$WORK/expect-full.json" "$WORK/expect.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
for x in e["expectations"]:
    x.pop("threat", None)
json.dump(e, open(sys.argv[2], "w"), indent=2)
PY
grep -q ICAP_BLOCKED "$WORK/expect.json" && grep -q ICAP_MODIFIED "$WORK/expect.json" ||
  fail "the reference run has no blocked or no modified request: $(cat "$WORK/expect.json")"

# --- icapkit proxy, its origin the replay's upstream
up=$(free_port)
upstream_url=http://127.0.0.1:$up vs_config "$WORK/vs-target.json" "$profile" "$writes"
start_proxy target "$WORK/vs-target.json"
icapkit viaproxy --limit 60 replay "${captures[@]}" --target "http://127.0.0.1:$proxy_port" \
  --upstream-listen "127.0.0.1:$up" --expect "$WORK/expect.json" --log "$WORK/viaproxy.ndjson"
expect_rc viaproxy 0 "icapkit proxy gives the in-process verdicts"
validate "$WORK/viaproxy.ndjson"
records "$WORK/viaproxy.ndjson" --origin "eicar_upload.http message 1" source=replay \
  icap_log.action=ICAP_BLOCKED response_code=403 "replay.note~never reached the upstream"
records "$WORK/viaproxy.ndjson" --origin "html_upload.http message 1" icap_log.action=ICAP_MODIFIED \
  "replay.note~modified"
# Every request the proxy received is in its own log, tagged like the replay's.
records "$proxy_log" --count "$(grep -c '"action"' "$WORK/expect.json")"

# Without --upstream-listen, the HTTP status tells blocked from passed.
icapkit statusonly replay "$caps/raw/eicar_upload.http" "$caps/raw/single_post.http" \
  --target "http://127.0.0.1:$proxy_port" --log "$WORK/statusonly.ndjson"
expect_rc statusonly 0 "status-only verdicts"
records "$WORK/statusonly.ndjson" --origin "eicar_upload.http message 1" icap_log.action=ICAP_BLOCKED \
  "replay.note~HTTP status only"
stop_proxy

# --- Squid as a reverse proxy with ICAP REQMOD, its origin the replay's upstream
up=$(free_port)
squid_port=$(free_port)
S=$WORK/squid
mkdir -p "$S/log" "$S/run" "$S/cache"
chmod 711 "$WORK"
# no-digest: Squid would fetch a cache digest from the origin at start, before the replay listens,
# and mark it dead.
cat >"$S/squid.conf" <<CONF
http_port 127.0.0.1:$squid_port accel defaultsite=replay.test vhost
cache_peer 127.0.0.1 parent $up 0 no-query no-digest originserver name=replay_origin
cache_peer_access replay_origin allow all
never_direct allow all
visible_hostname replay-squid
pid_filename $S/run/squid.pid
cache_effective_user proxy
access_log stdio:$S/log/access.log
cache_log $S/log/cache.log
coredump_dir $S/cache
cache deny all
shutdown_lifetime 1 seconds
acl localnet src 127.0.0.0/8
http_access allow localnet
http_access deny all
icap_enable on
icap_preview_enable on
icap_preview_size 1024
icap_persistent_connections on
icap_service_failure_limit -1
icap_service svc_req reqmod_precache icap://127.0.0.1:$icap_port/avscan bypass=off
adaptation_access svc_req allow all
CONF
[ "$(id -u)" -ne 0 ] || chown -R proxy:proxy "$S" || die "cannot chown $S to proxy"
timeout 20 "$squid_bin" -k parse -f "$S/squid.conf" >"$S/parse.log" 2>&1 ||
  die "squid -k parse rejected the config: $(tail -n 5 "$S/parse.log")"
timeout -k 5 120 "$squid_bin" -N -f "$S/squid.conf" >"$S/stdout.log" 2>&1 &
squid_pid=$!
server_pids+=("$squid_pid")
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_for 25 port_answers "$squid_port" ||
  die "Squid did not open its port: $(tail -n 10 "$S/log/cache.log" "$S/stdout.log" 2>/dev/null)"
note "icapkit serve :$icap_port, squid :$squid_port, replay upstream :$up"
# Squid probed its origin at start, before any replay listened there, and marks it down; requests
# fail (502, no path) until a probe succeeds. A few GETs while the replay's upstream listens
# bring it up.
echo '{"expectations": [{"method": "GET", "url_regex": ".", "action": "ICAP_PASSED", "status": 200}]}' \
  >"$WORK/warm.json"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  icapkit warm replay "$caps/raw/several.http" --filter GET --target "http://127.0.0.1:$squid_port" \
    --upstream-listen "127.0.0.1:$up" --expect "$WORK/warm.json" -q
  [ "$RC" -eq 0 ] && break
  sleep 0.3
done
[ "$RC" -eq 0 ] || die "Squid never forwarded to the replay's upstream: $(output warm | tail -n 5)"
icapkit viasquid --limit 60 replay "${captures[@]}" --target "http://127.0.0.1:$squid_port" \
  --upstream-listen "127.0.0.1:$up" --expect "$WORK/expect.json" --junit "$WORK/viasquid.xml"
expect_rc viasquid 0 "Squid gives the in-process verdicts"
finish
