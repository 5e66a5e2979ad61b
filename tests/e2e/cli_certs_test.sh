#!/usr/bin/env bash
# End-to-end test of `sotto certs`: a CA, a server and a client certificate that OpenSSL
# verifies against the CA, with the right purposes and a 0600 key; nothing is overwritten;
# bad usage exits 2.
set -euo pipefail
sotto="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sotto" certs init --dir "$dir" --name "test CA" >/dev/null || fail "init failed"
"$sotto" certs issue --dir "$dir" --server localhost,127.0.0.1 >/dev/null || fail "server failed"
"$sotto" certs issue --dir "$dir" --client alice --days 30 >/dev/null || fail "client failed"
for f in ca.pem ca.key server.pem server.key alice.pem alice.key; do
  [ -s "$dir/$f" ] || fail "missing $f"
done
[ "$(stat -c %a "$dir/alice.key")" = "600" ] || fail "alice.key is not mode 0600"
[ "$(stat -c %a "$dir/ca.key")" = "600" ] || fail "ca.key is not mode 0600"

if command -v openssl >/dev/null 2>&1; then
  openssl verify -CAfile "$dir/ca.pem" -purpose sslserver "$dir/server.pem" >/dev/null ||
    fail "server.pem does not verify as a TLS server"
  openssl verify -CAfile "$dir/ca.pem" -purpose sslclient "$dir/alice.pem" >/dev/null ||
    fail "alice.pem does not verify as a TLS client"
  if openssl verify -CAfile "$dir/ca.pem" -purpose sslserver "$dir/alice.pem" >/dev/null 2>&1; then
    fail "a client certificate verifies as a server's"
  fi
  openssl x509 -in "$dir/alice.pem" -noout -subject | grep -q "CN *= *alice" || fail "alice's CN"
fi

expect_fail() {
  local want="$1" pattern="$2"; shift 2
  set +e
  msg="$("$sotto" "$@" 2>&1)"
  code=$?
  set -e
  [ "$code" -eq "$want" ] || fail "'$*' exited $code, expected $want: $msg"
  echo "$msg" | grep -qi -- "$pattern" || fail "'$*' message lacks '$pattern': $msg"
}
expect_fail 1 "exists" certs init --dir "$dir"                       # never overwrite
expect_fail 1 "exists" certs issue --dir "$dir" --client alice
expect_fail 2 "exactly one" certs issue --dir "$dir" --server a --client b
expect_fail 2 "dir" certs init
expect_fail 2 "unknown subcommand" certs frob --dir "$dir"
expect_fail 2 "" certs issue --dir "$dir" --client 'bad id!'
echo "PASS"
