#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` choosing ICAP servers from a pool group, against several `icapkit serve`
# instances: round robin inside the preferred pool; the higher priority_label pool serves while it
# has a server up; a health monitor (ICAP OPTIONS every 2 s, one failure takes a server down, one
# success brings it back) moves traffic to the other server, then to the lower-priority pool when
# the preferred one is down, and back when a server is restarted on its port; every server down ->
# fail_action (503, ADF_ICAP_CONNECTION_ERROR); passive detection without a monitor; an ICAPS
# pool (TLS, CA from icapkit serve --write-cert). Which server answered comes from the record's
# icap_server_port; server states from GET /stats. Every record is schema-validated.
# Usage: proxy_pools.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_pools "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
samples=$src/testdata/samples

start_upstream up
upstream_url=http://127.0.0.1:$up_port
start_serve a1 --vendor opswat
start_serve a2 --vendor opswat
start_serve b --vendor opswat
note "primary pool: serve :$a1_port :$a2_port; backup pool: serve :$b_port"
head -c 3000 /dev/urandom >"$WORK/clean.bin"
clean_sha=$(sha256 "$WORK/clean.bin")

server() { echo "{\"ip\": {\"addr\": \"127.0.0.1\", \"type\": \"V4\"}, \"port\": $1}"; }
# Avi requires receive_timeout < send_interval, so 2 s is the shortest interval a monitor can have.
monitor='{"name": "icap-options", "type": "HEALTH_MONITOR_TCP", "send_interval": 2,
  "receive_timeout": 1, "successful_checks": 1, "failed_checks": 1}'
pools_top() { # pools_top PRIMARY_SERVERS BACKUP_SERVERS MONITOR_REFS
  cat <<EOF
{"pool_groups": [{"name": "icap-group", "members": [
   {"pool_ref": "/api/pool?name=backup", "priority_label": "5"},
   {"pool_ref": "/api/pool?name=primary", "priority_label": "10"}]}],
 "pools": [
   {"name": "primary", "lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "servers": [$1],
    "health_monitor_refs": [$3]},
   {"name": "backup", "lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "servers": [$2],
    "health_monitor_refs": [$3]}],
 "health_monitors": [$monitor]}
EOF
}

upload() { # upload NAME: a clean upload; sets PORT_SEEN to the icap_server_port of the exchange
  # that decided (the record's last request log: a failed attempt on another server comes first)
  req "$1" --data-binary "@$WORK/clean.bin" -H 'Content-Type: application/octet-stream' /upload/clean.bin
  PORT_SEEN=$(rec_last_log icap_server_port)
}
served_by() { # served_by NAME WANT_PORT WHAT
  upload "$1"
  expect_code "$1" 200 "$3" || return 1
  expect_upstream "$1: $3" "sha256=$clean_sha"
  [ "$PORT_SEEN" = "$2" ] || fail "$1: served by the ICAP server on port $PORT_SEEN, want $2 ($3)"
}
server_up() { # server_up PORT true|false: /stats says so
  stats st >/dev/null 2>&1 || return 1
  [ "$(stats_get st "[x['up'] for x in s['servers'] if x['address'].endswith(':$1')] == [$2]")" = True ]
}
wait_server() { # wait_server PORT True|False WHAT
  wait_for 12 server_up "$1" "$2" ||
    fail "$3: /stats did not show the server on port $1 with up=$2 within 12 s: $(head -c 500 "$WORK/st.json" 2>/dev/null)"
}

ref='"/api/healthmonitor?name=icap-options"'
vs_config "$WORK/pools.json" '{"fail_action": "ICAP_FAIL_CLOSED"}' '' \
  "$(pools_top "$(server "$a1_port"), $(server "$a2_port")" "$(server "$b_port")" "$ref")"
start_proxy pools "$WORK/pools.json"
wait_server "$a1_port" True "at start"

# Round robin inside the primary pool; the backup pool (priority 5) gets nothing.
seen=()
for i in 1 2 3 4; do
  upload "rr-$i"
  expect_code "rr-$i" 200 "a clean upload passes"
  seen+=("$PORT_SEEN")
done
printf '%s\n' "${seen[@]}" | grep -qx "$a1_port" && printf '%s\n' "${seen[@]}" | grep -qx "$a2_port" ||
  fail "round robin: 4 uploads went to ports ${seen[*]}, want both $a1_port and $a2_port"
printf '%s\n' "${seen[@]}" | grep -qx "$b_port" &&
  fail "round robin: the backup pool (priority 5) served while the primary (10) was up"

# One primary server stopped: the monitor takes it down, the other primary server serves.
stop_pid "$a1_pid"
wait_server "$a1_port" False "a1 stopped"
for i in 1 2 3; do served_by "a2-only-$i" "$a2_port" "with a1 down, the other primary server serves"; done

# Both primary servers stopped: the backup pool serves.
stop_pid "$a2_pid"
wait_server "$a2_port" False "a2 stopped"
for i in 1 2; do served_by "backup-$i" "$b_port" "with the primary pool down, the backup pool serves"; done
if stats st-failover; then
  [ "$(stats_get st-failover "[x['pool'] for x in s['servers'] if x['address'].endswith(':$b_port')]")" = "['backup']" ] ||
    fail "/stats: the server on port $b_port is not listed in pool backup: $(head -c 500 "$WORK/st-failover.json")"
fi

# a1 restarted on its port: the monitor brings it back and the primary pool serves again.
start_serve a1 --vendor opswat --listen "127.0.0.1:$a1_port"
wait_server "$a1_port" True "a1 restarted"
for i in 1 2; do served_by "back-$i" "$a1_port" "a1 is back up: the primary pool serves again"; done

# Everything down: fail_action closed -> 503, ADF_ICAP_CONNECTION_ERROR.
stop_pid "$a1_pid"
stop_pid "$b_pid"
wait_server "$a1_port" False "a1 stopped again"
wait_server "$b_port" False "b stopped"
upload all-down
expect_code all-down 503 "every ICAP server down, fail_action closed"
expect_upstream_none "an upload with every ICAP server down"
rec significant=true significant_log~ADF_ICAP_CONNECTION_ERROR
finish_proxy

# --- passive detection, no monitor: a dead primary server is taken down by failing requests
start_serve b --vendor opswat
dead=$(free_port)
vs_config "$WORK/passive.json" '{"fail_action": "ICAP_FAIL_CLOSED"}' '' \
  "$(pools_top "$(server "$dead")" "$(server "$b_port")" "")"
start_proxy passive "$WORK/passive.json"
# A failed connection is retried on the next server within the request, so every upload passes,
# decided by the backup; the record shows the failed attempt first, then the deciding exchange.
for i in 1 2 3 4 5; do
  served_by "passive-$i" "$b_port" "the dead primary server is skipped: the backup decides"
  if [ "$i" = 1 ]; then
    rec icap_log.action=ICAP_PASSED icap_log.request_logs.0.icap_server_port="$dead" \
      icap_log.request_logs.0.action=ICAP_FAILED
  fi
done
# Passive detection takes the dead server out of rotation: not every upload tries it first (it may
# be retried after a while, so /stats' up flag is not asserted at a given moment).
tries=$(grep -c "\"icap_server_port\":$dead," "$proxy_log")
[ "$tries" -le 2 ] ||
  fail "passive detection: $tries of 5 uploads tried the dead server on port $dead first; it is not taken down"
stats st-passive && [ "$(stats_get st-passive "[x['failures'] >= 1 for x in s['servers'] if x['address'].endswith(':$dead')]")" = "[True]" ] ||
  fail "passive detection: /stats shows no failure for the dead server on port $dead: $(head -c 400 "$WORK/st-passive.json")"
finish_proxy

# --- ICAPS: a TLS pool, the server's certificate as CA
start_serve tls --vendor opswat --tls-listen 127.0.0.1:0 --write-cert "$WORK/serve-cert.pem"
tls_icap_port=$(sed -n 2p "$WORK/tls.ports" | sed 's/.*://')
[ -n "$tls_icap_port" ] || die "icapkit serve wrote no TLS port: $(cat "$WORK/tls.ports")"
vs_config "$WORK/icaps.json" '{"fail_action": "ICAP_FAIL_CLOSED"}' '' \
  "{\"pools\": [{\"name\": \"icap\", \"servers\": [$(server "$tls_icap_port")],
    \"icapkit_tls\": {\"ca_file\": \"$WORK/serve-cert.pem\"}}]}"
start_proxy icaps "$WORK/icaps.json"
served_by icaps-clean "$tls_icap_port" "a clean upload passes over ICAPS"
rec "icap_log.request_logs.0.icap_absolute_uri~icaps://"
req icaps-eicar --data-binary "@$samples/eicar.com" /upload/eicar.com
expect_code icaps-eicar 403 "EICAR is blocked over ICAPS"
finish_proxy

finish
