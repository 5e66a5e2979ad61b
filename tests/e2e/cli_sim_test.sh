#!/usr/bin/env bash
# End-to-end test of the `sotto` binary: a short synthetic federation writes its reports, and
# bad usage exits with 2 and a message naming the problem.
set -euo pipefail
sotto="$1"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

"$sotto" --help | grep -q "sim" || fail "top-level help does not list sim"
"$sotto" sim --help | grep -q -- "--rounds VALUE" || fail "sim --help does not list --rounds"

log="$out/log.txt"
"$sotto" sim --dataset synthetic --model logistic --clients 4 --rounds 3 --partition iid \
  --threads 2 --out "$out/run" >"$log" 2>&1 || { cat "$log"; fail "synthetic run failed"; }
grep -q "round 3/3" "$log" || fail "no progress line for round 3"
grep -q "final test accuracy" "$log" || fail "no summary"
for f in rounds.csv accuracy.svg summary.json; do
  [ -s "$out/run/$f" ] || fail "missing $f"
done
[ "$(wc -l <"$out/run/rounds.csv")" -eq 4 ] || fail "rounds.csv should have a header and 3 rows"
grep -q '"final_accuracy"' "$out/run/summary.json" || fail "summary.json lacks final_accuracy"
# Secure aggregation is on by default: every round line names the secure support.
grep -q "secure aggregation: global_topk" "$log" || fail "the header does not describe secagg"
grep -q "round 3/3.*secagg |S|" "$log" || fail "no secure-support figure on round 3"
grep -q '"secure_aggregation": "global_topk"' "$out/run/summary.json" || fail "summary lacks secagg"

# Clients going offline mid-round are recovered from; --no-secagg is plaintext.
"$sotto" sim --dataset synthetic --model logistic --clients 8 --rounds 2 --partition iid \
  --secagg-dropout 0.25 --out "$out/drop" >"$log" 2>&1 || { cat "$log"; fail "dropout run failed"; }
grep -q "round 2/2.*dropped 2" "$log" || { cat "$log"; fail "no dropped clients reported"; }
"$sotto" sim --dataset synthetic --model logistic --clients 4 --rounds 1 --no-secagg \
  --out "$out/plain" >"$log" 2>&1 || { cat "$log"; fail "plaintext run failed"; }
grep -q "secure aggregation: off" "$log" || fail "--no-secagg is not reported as off"

expect_usage_error() {
  local pattern="$1"; shift
  set +e
  msg="$("$sotto" "$@" 2>&1)"
  code=$?
  set -e
  [ "$code" -eq 2 ] || fail "'$*' exited $code, expected 2"
  echo "$msg" | grep -q -- "$pattern" || fail "'$*' message lacks '$pattern': $msg"
}
expect_usage_error "rounds" sim --rounds=abc
expect_usage_error "unknown flag --bogus" sim --bogus
expect_usage_error "fraction" sim --dataset synthetic --fraction 2
expect_usage_error "unknown command" frobnicate
expect_usage_error "secagg-support" sim --dataset synthetic --secagg-support bogus
expect_usage_error "secagg-support" sim --dataset synthetic --secagg-support union_threshold

set +e
msg="$("$sotto" sim --data-dir /nonexistent --out "$out/x" 2>&1)"
code=$?
set -e
[ "$code" -eq 1 ] || fail "missing dataset exited $code, expected 1"
echo "$msg" | grep -q "dataset-fashion-mnist" || fail "missing-data message does not name the package: $msg"
echo "PASS"
