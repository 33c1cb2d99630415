# shellcheck shell=bash disable=SC2034,SC2154
# Helpers for the `icapkit proxy` integration scripts (proxy_*.sh), sourced after itest_lib.sh and
# itest_init. Every server starts on a port chosen at run time and is stopped by the EXIT trap:
#   start_upstream NAME [upstream_recorder.py flags]  -> NAME_port, log WORK/NAME.upstream.ndjson
#   start_serve NAME [icapkit serve flags]            -> NAME_port, NAME_pid, WORK/NAME.serve.ndjson
#   vs_config FILE PROFILE_JSON [RULES_JSON [TOP_JSON]] -> a virtual-service config (see below)
#   start_proxy NAME CONFIG [icapkit proxy flags]     -> proxy_port, admin_port, tls_port,
#                                                        proxy_log (WORK/NAME.proxy.ndjson)
#   stop_proxy                                        -> PROXY_RC (exit status), PROXY_STOP_MS
#   req NAME [curl args] PATH|URL                     -> CODE, WORK/NAME.body, WORK/NAME.hdr
#   rec [CHECK...]             the record of the last req (records.py checks)
#   expect_upstream WHAT [CHECK...], expect_upstream_none WHAT: what upstream $upstream_name
#                              ("up" by default) received during the last req
proxy_pid='' proxy_log='' proxy_port='' admin_port='' tls_port=''
server_pids=()

alive() { # alive PID: running (an exited child not reaped yet, a zombie, is not)
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}
stop_pid() { # stop_pid PID: TERM, up to 12 s, then KILL; sets STOP_RC (its exit status)
  STOP_RC=0
  [ -n "$1" ] || return 0
  if alive "$1"; then
    kill -TERM "$1" 2>/dev/null
    local i
    for i in $(seq 1 240); do
      alive "$1" || break
      sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1" 2>/dev/null
  STOP_RC=$?
}

proxy_stop_all() {
  [ -z "$proxy_pid" ] || stop_pid "$proxy_pid"
  proxy_pid=
  local pid
  for pid in "${server_pids[@]}"; do stop_pid "$pid"; done
  server_pids=()
}
trap 'rc=$?; proxy_stop_all; (exit $rc); itest_cleanup' EXIT
# A script killed outright (SIGKILL from a CTest timeout runs no trap) must not leave the proxy or
# serve behind: a watchdog kills this shell's children when it is gone (the upstream and the
# python helpers watch their parent themselves). Once the shell is gone its children belong to
# init, so the watchdog notes them (every second) while the shell lives and kills those pids.
proxy_watchdog() {
  local script_pid=$$
  (
    kids=
    while kill -0 "$script_pid" 2>/dev/null; do
      kids=$(pgrep -P "$script_pid" | grep -vx "$BASHPID" | tr '\n' ' ')
      sleep 1
    done
    # shellcheck disable=SC2086 # a list of pids
    [ -z "$kids" ] || kill -TERM $kids 2>/dev/null
  ) >/dev/null 2>&1 </dev/null &
  background_pids+=($!)
}
proxy_watchdog

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 on timeout
  local end=$(($(date +%s%N) + $1 * 1000000000))
  shift
  until "$@" 2>/dev/null; do
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.05
  done
}

start_upstream() { # start_upstream NAME [--dir DIR] [--tls CERT KEY]
  local name=$1
  shift
  rm -f "$WORK/$name.port"
  "$PY" "$itest_dir/upstream_recorder.py" "$WORK/$name.upstream.ndjson" "$WORK/$name.port" \
    --parent $$ "$@" 2>"$WORK/$name.upstream.err" &
  server_pids+=($!)
  wait_for 30 test -s "$WORK/$name.port" ||
    die "upstream $name did not start: $(tail -n 3 "$WORK/$name.upstream.err")"
  printf -v "${name}_port" '%s' "$(cat "$WORK/$name.port")"
}

start_serve() { # start_serve NAME [serve flags, default --listen 127.0.0.1:0]
  local name=$1
  shift
  local listen=(--listen 127.0.0.1:0)
  [[ " $* " == *" --listen "* ]] && listen=()
  rm -f "$WORK/$name.ports"
  timeout -k 5 600 "$bin" serve "${listen[@]}" --port-file "$WORK/$name.ports" --threads 4 -q \
    --log "$WORK/$name.serve.ndjson" "$@" </dev/null >"$WORK/$name.serve.out" 2>&1 &
  local pid=$!
  server_pids+=("$pid")
  printf -v "${name}_pid" '%s' "$pid"
  wait_for 30 test -s "$WORK/$name.ports" ||
    die "icapkit serve $name did not write its port file: $(tail -n 3 "$WORK/$name.serve.out")"
  printf -v "${name}_port" '%s' "$(sed -n 1p "$WORK/$name.ports" | sed 's/.*://')"
}

# vs_config FILE PROFILE_JSON [RULES_JSON [TOP_JSON]]: one ICAP profile "test-profile" (vendor
# OPSWAT, /OMSScanReq-AV; PROFILE_JSON overrides), pool group "icap-group" with one pool "icap" of
# the servers in $icap_servers (HOST:PORT words), the rules (default: scan-uploads, index 10,
# POST/PUT under /upload -> CHECK_ICAP; allow-rest, index 100, ALLOW), upstream $upstream_url.
# TOP_JSON members replace top-level ones (pools, pool_groups, health_monitors, ...).
vs_config() {
  local profile=${2:-} rules=${3:-} top=${4:-}
  # shellcheck disable=SC2086 # icap_servers is a word list
  "$PY" - "$1" "${profile:-"{}"}" "$rules" "${top:-"{}"}" "${upstream_url:-http://127.0.0.1:9}" \
    ${icap_servers:-127.0.0.1:9} <<'PY'
import json, sys
out, profile_json, rules_json, top_json, upstream = sys.argv[1:6]
servers = [{"ip": {"addr": s.rsplit(":", 1)[0], "type": "V4"}, "port": int(s.rsplit(":", 1)[1])}
           for s in sys.argv[6:]]
profile = {"name": "test-profile", "pool_group_ref": "/api/poolgroup?name=icap-group",
           "service_uri": "/OMSScanReq-AV", "vendor": "ICAP_VENDOR_OPSWAT"}
profile.update(json.loads(profile_json))
rules = json.loads(rules_json) if rules_json else [
    {"name": "scan-uploads", "index": 10, "enable": True,
     "match": {"method": {"match_criteria": "IS_IN",
                          "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]},
               "path": {"match_criteria": "BEGINS_WITH", "match_str": ["/upload"]}},
     "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}},
    {"name": "allow-rest", "index": 100, "enable": True, "match": {},
     "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}}]
config = {"icap_profile": profile,
          "pool_groups": [{"name": "icap-group",
                           "members": [{"pool_ref": "/api/pool?name=icap", "priority_label": "10"}]}],
          "pools": [{"name": "icap", "lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "servers": servers}],
          "http_security_policy": {"name": "test-policy", "rules": rules},
          "listen": "127.0.0.1:0", "upstream": upstream}
config.update(json.loads(top_json))
with open(out, "w") as f:
    json.dump(config, f, indent=2)
PY
}

# start_proxy NAME CONFIG [flags]: listens on 127.0.0.1:0 (unless the flags give --listen), logs
# to WORK/NAME.proxy.ndjson, admin endpoint on 127.0.0.1:0; waits for the port file.
start_proxy() {
  local name=$1 config=$2
  shift 2
  [ -z "$proxy_pid" ] || stop_proxy
  local listen=(--listen 127.0.0.1:0)
  [[ " $* " == *" --listen "* ]] && listen=()
  proxy_log=$WORK/$name.proxy.ndjson
  proxy_name=$name
  rm -f "$WORK/$name.pports" "$proxy_log"
  # --foreground: timeout passes a SIGTERM to the proxy once (not again to its process group)
  timeout --foreground -k 5 600 "$bin" proxy --config "$config" "${listen[@]}" --admin 127.0.0.1:0 \
    --port-file "$WORK/$name.pports" --log "$proxy_log" "$@" </dev/null \
    >"$WORK/$name.proxy.out" 2>"$WORK/$name.proxy.err" &
  proxy_pid=$!
  if ! wait_for 30 port_file_complete "$WORK/$name.pports" "$@"; then
    echo "    --- icapkit proxy $name stderr:" >&2
    tail -n 10 "$WORK/$name.proxy.err" | sed 's/^/    | /' >&2
    die "icapkit proxy $name did not write its port file (config $config)"
  fi
  proxy_port=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$WORK/$name.pports" | head -n 1)
  admin_port=$(sed -n 's/^admin .*:\([0-9]*\)$/\1/p' "$WORK/$name.pports" | head -n 1)
  tls_port=$(sed -n 's/^tls_listen .*:\([0-9]*\)$/\1/p' "$WORK/$name.pports" | head -n 1)
  [ -n "$proxy_port" ] || [ -n "$tls_port" ] ||
    die "icapkit proxy $name: no 'listen ADDR:PORT' line in the port file: $(cat "$WORK/$name.pports")"
}
port_file_complete() { # the file is there and has an admin line (written once listening)
  local file=$1
  shift
  [ -s "$file" ] && grep -q '^admin ' "$file" || return 1
  [[ " $* " != *" --tls-listen "* ]] || grep -q '^tls_listen ' "$file"
}

stop_proxy() { # SIGTERM; PROXY_RC = its exit status, PROXY_STOP_MS = how long it took
  local start
  start=$(date +%s%N)
  stop_pid "$proxy_pid"
  PROXY_RC=$STOP_RC
  PROXY_STOP_MS=$((($(date +%s%N) - start) / 1000000))
  proxy_pid=
}

# req NAME [curl args...] TARGET: TARGET is a path on the proxy's plain listener or a full URL.
# Sets CODE (000 when curl failed), CURL_RC, ELAPSED_MS.
req() {
  local name=$1
  shift
  local args=("$@")
  local last=${args[${#args[@]} - 1]}
  unset 'args[${#args[@]}-1]'
  [[ $last == /* ]] && last=http://127.0.0.1:$proxy_port$last
  REC_BEFORE=$(rec_count)
  UP_BEFORE=$(up_count "${upstream_name:-up}")
  local start
  start=$(date +%s%N)
  # No proxy from the environment; but -x (forward-proxy tests) must not be overridden.
  local noproxy=(--noproxy '*')
  [[ " ${args[*]} " != *" -x "* ]] || noproxy=()
  CODE=$(timeout -k 2 40 curl -sS "${noproxy[@]}" --max-time 30 -o "$WORK/$name.body" \
    -D "$WORK/$name.hdr" -w '%{http_code}' "${args[@]}" "$last" 2>"$WORK/$name.curlerr")
  CURL_RC=$?
  [ -n "$CODE" ] || CODE=000
  ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
}
show_http() {
  echo "    --- $1: HTTP $CODE (curl exit $CURL_RC) after ${ELAPSED_MS} ms; response head:" >&2
  tr -d '\r' <"$WORK/$1.hdr" 2>/dev/null | sed 's/^/    | /' >&2
  sed 's/^/    | curl: /' "$WORK/$1.curlerr" >&2 2>/dev/null
  [ -z "$proxy_name" ] || tail -n 3 "$WORK/$proxy_name.proxy.err" 2>/dev/null | sed 's/^/    | proxy: /' >&2
}
expect_code() { # expect_code NAME WANT WHAT
  if [ "$CODE" != "$2" ]; then
    fail "$1: HTTP $CODE, want $2 ($3)"
    show_http "$1"
    return 1
  fi
}
resp_header() { # resp_header NAME HEADER: its value in the response head of req NAME
  tr -d '\r' <"$WORK/$1.hdr" | sed -n "s/^$2: *//Ip" | tail -n 1
}

# --- what the upstream received (WORK/NAME.upstream.ndjson, one line per request)
up_count() { local n; n=$(grep -c . "$WORK/$1.upstream.ndjson" 2>/dev/null); echo "${n:-0}"; }
up_get() { # up_get NAME PATH: a field of the upstream's newest request (headers.content-length)
  "$PY" "$itest_dir/records.py" "$WORK/$1.upstream.ndjson" --index "$(($(up_count "$1") - 1))" --get "$2" 2>/dev/null
}
# expect_upstream WHAT CHECK...: exactly one request reached upstream $upstream_name during the
# last req, and the checks (records.py syntax: sha256=..., headers.via?) hold for it.
expect_upstream() {
  local what=$1 name=${upstream_name:-up}
  shift
  local now
  now=$(up_count "$name")
  if [ "$now" -ne $((UP_BEFORE + 1)) ]; then
    fail "$what: the upstream received $((now - UP_BEFORE)) requests, want 1"
    return 1
  fi
  records "$WORK/$name.upstream.ndjson" --index "$UP_BEFORE" "$@" || { echo "    ($what)" >&2; return 1; }
}
expect_upstream_none() { # expect_upstream_none WHAT
  local now
  now=$(up_count "${upstream_name:-up}")
  [ "$now" -eq "$UP_BEFORE" ] || fail "$1: the upstream received $((now - UP_BEFORE)) request(s), want none"
}
up_field() { # up_field PATH: a field of what the upstream received in the last req
  "$PY" "$itest_dir/records.py" "$WORK/${upstream_name:-up}.upstream.ndjson" --index "$UP_BEFORE" \
    --get "$1" 2>/dev/null
}

# --- the proxy's records (WORK/NAME.proxy.ndjson)
rec_count() { local n; n=$(grep -c . "$proxy_log" 2>/dev/null); echo "${n:-0}"; }
# rec CHECK...: waits (up to 5 s) for the record of the last req, then checks it with records.py.
rec() {
  if ! wait_for 5 test "$(rec_count)" -gt "$REC_BEFORE"; then
    fail "the proxy wrote no record for the last request to $(basename "$proxy_log") (one per request)"
    return 1
  fi
  records "$proxy_log" --index "$REC_BEFORE" "$@"
}
rec_get() { # rec_get PATH: a field of the last req's record
  wait_for 5 test "$(rec_count)" -gt "$REC_BEFORE" || return 1
  "$PY" "$itest_dir/records.py" "$proxy_log" --index "$REC_BEFORE" --get "$1" 2>/dev/null
}
# rec_last_log FIELD: that field of the last req's last request log (the exchange that decided,
# after any failover to another server within the request)
rec_last_log() {
  wait_for 5 test "$(rec_count)" -gt "$REC_BEFORE" || return 1
  "$PY" - "$proxy_log" "$REC_BEFORE" "$1" <<'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.strip()][int(sys.argv[2])])
logs = r.get("icap_log", {}).get("request_logs") or [{}]
print(logs[-1].get(sys.argv[3], "absent"))
PY
}
# rec_expr PYTHON-EXPR WHAT: the expression holds for the last req's record `r` (a dict)
rec_expr() {
  wait_for 5 test "$(rec_count)" -gt "$REC_BEFORE" || { fail "$2: no record"; return 1; }
  "$PY" - "$proxy_log" "$REC_BEFORE" "$1" <<'PY' || fail "$2 (record: $(sed -n "$((REC_BEFORE + 1))p" "$proxy_log" | cut -c1-600))"
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.strip()][int(sys.argv[2])])
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
}
# finish_proxy: validates every record the proxy wrote, stops it, and expects exit status 0.
finish_proxy() {
  local name=$proxy_name
  [ ! -s "$proxy_log" ] || validate "$proxy_log"
  stop_proxy
  [ "$PROXY_RC" = 0 ] || {
    fail "proxy $name: exit status $PROXY_RC after SIGTERM, want 0 (a graceful drain)"
    tail -n 5 "$WORK/$name.proxy.err" | sed 's/^/    | /' >&2
  }
}

stats() { # stats NAME: GET /stats from the admin endpoint to WORK/NAME.json
  timeout 10 curl -sS --noproxy '*' --max-time 5 -o "$WORK/$1.json" \
    "http://127.0.0.1:$admin_port/stats" 2>"$WORK/$1.curlerr"
}
stats_get() { # stats_get NAME EXPR: a python expression on the JSON document `s`
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$WORK/$1.json" "$2" 2>/dev/null
}

raw() { # raw NAME [raw_http.py flags]: raw bytes (WORK/NAME.raw) to the proxy; sets RAW_STATUS RAW_CLOSED
  "$PY" "$itest_dir/raw_http.py" 127.0.0.1 "$proxy_port" "$WORK/$1.raw" "${@:2}" >"$WORK/$1.rawout" 2>&1
  RAW_STATUS=$(sed -n 's/^status //p' "$WORK/$1.rawout")
  RAW_CLOSED=$(sed -n 's/^closed //p' "$WORK/$1.rawout")
  RAW_MS=$(sed -n 's/^elapsed_ms //p' "$WORK/$1.rawout")
}
