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
source "$(dirname "$0")/lib.sh"
make_pki "$sotto" "c e2e CA" c-client

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
wait_for_file "$dir/port" "$coordinator" "$timeout_s"
port="$(cat "$dir/port")"

timeout "$timeout_s" "$c_client" "$port" "$dir/pki/ca.pem" "$dir/pki/c-client.pem" \
  "$dir/pki/c-client.key" 2 >"$dir/c-client.log" 2>&1 || fail "the C client failed"
grep -q "c_api_test: ok" "$dir/c-client.log" || fail "the C client did not report ok"
grep -q "2 train calls, 2 rounds completed" "$dir/c-client.log" || fail "wrong round count"

wait_exit "$coordinator" "$timeout_s" "the coordinator did not finish"
[ "$code" -eq 0 ] || fail "the coordinator exited $code"
[ "$(stat -c %s "$dir/model.bin")" -eq 256 ] || fail "model.bin is not 64 fp32 values"
echo "c_client_test: ok"
