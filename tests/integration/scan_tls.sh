#!/usr/bin/env bash
# ICAPS (TLS from the first byte) against c-icap's TlsPort, whose self-signed certificate names
# localhost and 127.0.0.1: verification on by default, --cacert, a wrong CA, --insecure, and TLS
# to a plain-text port. Every NDJSON record is validated.
# Usage: scan_tls.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_tls "$1" "$2"

threat=Test.EICAR.Custom-NDB.UNOFFICIAL
start_lab
icaps=icaps://127.0.0.1:$ICAPS_PORT/avscan
mkdir -p "$WORK/samples"
clean=$WORK/samples/clean.txt
for i in $(seq 1 50); do echo "clean line $i"; done >"$clean"

# A CA that did not sign c-icap's certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other-ca.key" -out "$WORK/other-ca.pem" \
  -days 2 -subj "/CN=icapkit other test CA" >/dev/null 2>&1 || die "openssl could not make a CA"

# ---- --cacert: works, by IP and by name ------------------------------------------------------
log=$WORK/tls-eicar.ndjson
icapkit tls-eicar scan --server "$icaps" --cacert "$ICAPS_CA" --log "$log" "$EICAR"
expect_rc tls-eicar 1 "EICAR over ICAPS with the right CA is blocked"
expect_output tls-eicar "$threat" "the threat name"
expect_no_output tls-eicar "insecure|not verif" "a warning about verification (it was verified)"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.http_response_code=403 \
  icap_log.request_logs.0.opswat_log.threat_id=$threat icap_log.request_logs.0.icap_server_port="$ICAPS_PORT" \
  icap_log.request_logs.0.icap_absolute_uri~icaps://

log=$WORK/tls-clean.ndjson
icapkit tls-clean scan --server "icaps://localhost:$ICAPS_PORT/avscan" --cacert "$ICAPS_CA" \
  --log "$log" "$clean"
expect_rc tls-clean 0 "a clean file over ICAPS (host name localhost) passes"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_PASSED icap_log.request_logs.0.icap_response_code=204

icapkit tls-options options --cacert "$ICAPS_CA" "$icaps"
expect_rc tls-options 0 "OPTIONS over ICAPS"
expect_output tls-options "Preview[^0-9]*1024" "avscan's Preview"

# ---- verification failures: a wrong CA, and the system store (which lacks the test CA) ----------
log=$WORK/tls-wrong-ca.ndjson
icapkit tls-wrong-ca scan --server "$icaps" --cacert "$WORK/other-ca.pem" --log "$log" "$EICAR"
expect_rc tls-wrong-ca 2 "a certificate the given CA did not sign must be refused"
expect_output tls-wrong-ca "TLS|certificate" "that TLS failed"
expect_output tls-wrong-ca "verif" "that certificate verification failed"
expect_no_output tls-wrong-ca "$threat" "a verdict although TLS failed"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_FAILED significant=true

icapkit tls-default-store scan --server "$icaps" "$clean"
expect_rc tls-default-store 2 "a self-signed certificate is not trusted by default"
expect_output tls-default-store "verif" "that certificate verification failed"

icapkit tls-options-wrong-ca options --cacert "$WORK/other-ca.pem" "$icaps"
expect_rc tls-options-wrong-ca 2 "OPTIONS with the wrong CA"
expect_output tls-options-wrong-ca "verif" "that certificate verification failed"

# ---- --insecure: works, and says so -------------------------------------------------------------
log=$WORK/tls-insecure.ndjson
icapkit tls-insecure scan --server "$icaps" --insecure --log "$log" "$EICAR"
expect_rc tls-insecure 1 "EICAR over ICAPS with --insecure is blocked"
expect_output tls-insecure "$threat" "the threat name"
if ! grep -Ei "warn" "$WORK/tls-insecure.err" | grep -Eqi "insecure|verif"; then
  fail "tls-insecure: no warning on stderr that certificates are not verified"
  show tls-insecure
fi
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_BLOCKED

# ---- TLS to the plain-text port: an error, quickly, never a hang -------------------------------
# c-icap reads the ClientHello as the start of an ICAP request and waits for the rest, so the
# handshake never completes: the handshake deadline (--connect-timeout) must fire, and the message
# must say it was the TLS handshake (the TCP connection itself succeeded).
icapkit tls-to-plain --limit 30 scan --server "icaps://127.0.0.1:$ICAP_PORT/avscan" --insecure \
  --connect-timeout 2000 --timeout 5000 --log "$WORK/tls-to-plain.ndjson" "$clean"
expect_rc tls-to-plain 2 "ICAPS to a plain ICAP port"
[ "$ELAPSED_MS" -le 7000 ] || fail "tls-to-plain: took ${ELAPSED_MS} ms with --connect-timeout 2000"
if ! output tls-to-plain | grep -v -i "warning" | grep -Eqi "TLS|handshake|SSL"; then
  fail "tls-to-plain: the error for ICAPS to a plain-text ICAP port does not mention TLS or the handshake"
  show tls-to-plain
fi
validate "$WORK/tls-to-plain.ndjson"
records "$WORK/tls-to-plain.ndjson" --count 1 icap_log.action=ICAP_FAILED

finish
