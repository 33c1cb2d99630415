#!/bin/bash
# icapkit serve against Debian's c-icap-client (a client no one here wrote): OPTIONS, REQMOD and
# RESPMOD of EICAR and of a clean file, with and without preview, plain and over TLS, for each
# vendor; the verdict headers c-icap-client prints (-v) must be the vendor's.
# Usage: serve_cicap_client.sh ICAPKIT_BINARY SOURCE_DIR
set -u
icapkit=$1
source_dir=$2
samples=$source_dir/testdata/samples

if ! command -v c-icap-client >/dev/null; then
  echo "FAIL: c-icap-client is not installed (scripts/deps installs it)"
  exit 1
fi

work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null
    timeout 10 tail --pid="$server_pid" -f /dev/null 2>/dev/null
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

start_server() { # vendor
  rm -f "$work/ports"
  "$icapkit" serve --vendor "$1" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --port-file "$work/ports" --threads 2 --log "$work/$1.ndjson" -q &
  server_pid=$!
  for _ in $(seq 100); do
    [ -s "$work/ports" ] && break
    sleep 0.1
  done
  [ -s "$work/ports" ] || { fail "$1: serve did not write its port file"; return 1; }
  plain_port=$(sed -n 1p "$work/ports" | cut -d: -f2)
  tls_port=$(sed -n 2p "$work/ports" | cut -d: -f2)
}

# run NAME EXPECTED-REGEX... -- c-icap-client arguments
run() {
  local name=$1
  shift
  local expect=()
  while [ "$1" != "--" ]; do
    expect+=("$1")
    shift
  done
  shift
  local out="$work/out.$RANDOM"
  timeout 20 c-icap-client -i 127.0.0.1 "$@" -v >"$out" 2>&1
  for re in "${expect[@]}"; do
    grep -Eq "$re" "$out" || { fail "$name: no match for /$re/"; sed 's/^/    /' "$out"; }
  done
}

check_vendor() { # vendor reqsvc respsvc block-regex...
  local vendor=$1 req=$2 resp=$3
  shift 3
  start_server "$vendor" || return
  for tls in no yes; do
    local port=$plain_port extra=()
    [ $tls = yes ] && { port=$tls_port; extra=(-tls -tls-no-verify); }
    for preview in yes no; do
      local p=()
      [ $preview = no ] && p=(-nopreview)
      local tag="$vendor tls=$tls preview=$preview"
      run "$tag OPTIONS" "ICAP/1.0 200" "Preview: [0-9]+" "Options-TTL" -- \
        -p "$port" "${extra[@]}" -s "$resp"
      run "$tag RESPMOD EICAR" "ICAP/1.0 200" "$@" "HTTP/1\.[01] 403" -- \
        -p "$port" "${extra[@]}" "${p[@]}" -s "$resp" -f "$samples/eicar-in-text.txt" \
        -resp http://icapkit.test/eicar.txt -o "$work/o.$RANDOM"
      run "$tag REQMOD EICAR" "ICAP/1.0 200" "$@" "HTTP/1\.[01] 403" -- \
        -p "$port" "${extra[@]}" "${p[@]}" -s "$req" -f "$samples/eicar.com" \
        -req http://icapkit.test/upload -method POST -o "$work/o.$RANDOM"
      run "$tag RESPMOD clean" "ICAP/1.0 204" -- \
        -p "$port" "${extra[@]}" "${p[@]}" -s "$resp" -f "$samples/clean.txt" \
        -resp http://icapkit.test/clean.txt -o "$work/o.$RANDOM"
      run "$tag REQMOD clean" "ICAP/1.0 204" -- \
        -p "$port" "${extra[@]}" "${p[@]}" -s "$req" -f "$samples/clean.pdf" \
        -req http://icapkit.test/upload -method POST -o "$work/o.$RANDOM"
    done
  done
  stop_server
  grep -q '"method":"RESPMOD"' "$work/$vendor.ndjson" || fail "$vendor: no RESPMOD line in --log"
  grep -q '"tls":true' "$work/$vendor.ndjson" || fail "$vendor: no TLS line in --log"
}

check_vendor opswat OMSScanReq-AV OMSScanResp-AV "X-Response-Info: Blocked" \
  "X-Blocked-Reason: Infected" "X-Infection-Found: Type=0; Resolution=2; Threat=EICAR-Test-File"
check_vendor generic avscan srv_clamav "Server: icapkit-mock \(generic\)" \
  "X-Infection-Found: Type=0; Resolution=2; Threat=Eicar-Test-Signature;" "X-Violations-Found: 1"
check_vendor lastline lastline lastline \
  "X-Infection-Found: Type=0;Resolution=1;Threat=LastlineArtifact\(score=100;md5=[0-9a-f]{32};uuid=" \
  "X-Virus-ID: LastlineArtifact\(score=100;md5=[0-9a-f]{32};task_uuid=" "X-Lastline-Score: 100"

# The opswat sanitizer, as c-icap-client writes the modified body.
start_server opswat && {
  timeout 20 c-icap-client -i 127.0.0.1 -p "$plain_port" -s OMSScanResp-AV \
    -f "$samples/page-with-script.html" -resp http://icapkit.test/p.html -v \
    -o "$work/sanitized.html" >"$work/san.out" 2>&1
  grep -q "X-Response-Info: Sanitized" "$work/san.out" || fail "sanitize: no Sanitized header"
  grep -qi "<script" "$work/sanitized.html" && fail "sanitize: a script survived"
  stop_server
}

[ $failures -eq 0 ] && echo "PASS: serve with c-icap-client" && exit 0
echo "$failures failure(s)"
exit 1
