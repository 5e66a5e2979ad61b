#!/usr/bin/env bash
# The C API (sotto/client/c_api.h) against a real coordinator over mutual TLS on 127.0.0.1:
# `sotto coordinator` (a 64-parameter linear model, dense updates, two rounds, one client) and
# tests/c/c_api_test.c as the client "c-client", whose train callback steps a quadratic. The C
# program checks it trained in each round and that both rounds completed; the coordinator must
# exit 0 and write the final model. Hang guard: TIMEOUT seconds (default 120).
set -euo pipefail
sotto="$1"
c_client="$2"
timeout_s="${TIMEOUT:-120}"
dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*.log; do
    [ -e "$f" ] || continue
    echo "--- $f" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}

mkdir -p "$dir/pki"
"$sotto" certs init --dir "$dir/pki" --name "c e2e CA" >/dev/null || fail "certs init"
"$sotto" certs issue --dir "$dir/pki" --server 127.0.0.1,localhost >/dev/null || fail "server cert"
"$sotto" certs issue --dir "$dir/pki" --client c-client >/dev/null || fail "client cert"

# linear regression on 63 features: 63 weights + 1 bias = 64 parameters (the C trainer's N).
cat >"$dir/coordinator.json" <<JSON
{
  "run_name": "c-api-e2e",
  "coordinator": { "listen_address": "127.0.0.1", "port": 0 },
  "tls": { "ca_file": "$dir/pki/ca.pem" },
  "rounds": { "num_rounds": 2, "min_clients": 1, "train_timeout_ms": 60000 },
  "model": { "kind": "linear", "input_dim": 63 }
}
JSON

"$sotto" coordinator --config "$dir/coordinator.json" --port-file "$dir/port" \
  --model-out "$dir/model.bin" >"$dir/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 1 $((timeout_s * 10))); do
  [ -s "$dir/port" ] && break
  kill -0 "$coordinator" 2>/dev/null || fail "the coordinator exited early"
  sleep 0.1
done
[ -s "$dir/port" ] || fail "no port file"
port="$(cat "$dir/port")"

timeout "$timeout_s" "$c_client" "$port" "$dir/pki/ca.pem" "$dir/pki/c-client.pem" \
  "$dir/pki/c-client.key" 2 >"$dir/c-client.log" 2>&1 || fail "the C client failed"
grep -q "c_api_test: ok" "$dir/c-client.log" || fail "the C client did not report ok"
grep -q "2 train calls, 2 rounds completed" "$dir/c-client.log" || fail "wrong round count"

for _ in $(seq 1 $((timeout_s * 10))); do
  kill -0 "$coordinator" 2>/dev/null || break
  sleep 0.1
done
wait "$coordinator" || fail "the coordinator exited non-zero"
[ "$(stat -c %s "$dir/model.bin")" -eq 256 ] || fail "model.bin is not 64 fp32 values"
echo "c_client_test: ok"
