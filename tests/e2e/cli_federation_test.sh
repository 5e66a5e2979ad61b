#!/usr/bin/env bash
# End-to-end test of `sotto coordinator` and `sotto client` over mutual TLS on 127.0.0.1:
#   - a CA, a server certificate (127.0.0.1, localhost) and three client certificates;
#   - a coordinator on a free port (coordinator.port 0, --port-file) serving /metrics, and three
#     clients on an IID split of the synthetic dataset, top-k 5% with error feedback and secure
#     aggregation on a global top-k support, three rounds: every process exits 0, the final
#     model (raw fp32) and one round-log line per round are written;
#     each client keeps its error memory in a state file (--state-file, mode 600);
#   - a coordinator restarted on another port resumes the run from its checkpoint; one whose
#     config changes the run (num_rounds) is refused against those checkpoints (exit 1);
#   - SIGTERM stops a coordinator gracefully (exit 1, "interrupted");
#   - config refusals: an unknown field, rounds.fraction 2, a missing file, a bad client data
#     part make the command exit 2 with a message naming the field or the file.
# Hang guard: the federation must finish within TIMEOUT seconds (default 120), else the test
# fails; every process it started is killed on exit.
set -euo pipefail
sotto="$1"
timeout_s="${TIMEOUT:-120}"
source "$(dirname "$0")/lib.sh"

# ---- PKI -----------------------------------------------------------------------------------
make_pki "$sotto" "e2e CA" client-0 client-1 client-2

# ---- Configs -------------------------------------------------------------------------------
# mlp 20 -> 8 -> 2: 20*8 + 8 + 8*2 + 2 = 186 parameters, 744 bytes of fp32.
model='{ "kind": "mlp", "input_dim": 20, "num_classes": 2, "hidden": [8], "init_seed": 3 }'
expected_model_bytes=744
rounds=3
cat >"$dir/coordinator.json" <<EOF
{
  "run_name": "e2e",
  "coordinator": {
    "listen_address": "127.0.0.1", "port": 0, "seed": 7,
    "eval_data": { "dataset": "synthetic", "seed": 5 },
    "round_log": "$dir/rounds.jsonl"
  },
  "tls": { "ca_file": "$dir/pki/ca.pem" },
  "rounds": { "num_rounds": $rounds, "min_clients": 3, "train_timeout_ms": 60000,
              "advertise_keys_timeout_ms": 30000, "share_keys_timeout_ms": 30000,
              "masked_input_timeout_ms": 30000, "unmask_timeout_ms": 30000 },
  "model": $model,
  "strategy": { "name": "fedavg" },
  "compression": { "sparsifier": "SPARSIFIER_TOP_K", "density": 0.05,
                   "error_feedback": "ERROR_FEEDBACK_CLASSIC" },
  "secure_aggregation": { "enabled": true, "support_policy": "SUPPORT_POLICY_GLOBAL_TOP_K",
                          "support_density": 0.2 },
  "checkpoint": { "directory": "$dir/state" }
}
EOF
cat >"$dir/client.json" <<EOF
{
  "client": {
    "coordinator_host": "127.0.0.1", "server_name": "localhost", "client_id": "client-0",
    "reconnect": { "initial_backoff_ms": 100, "max_backoff_ms": 1000 },
    "data": { "dataset": "synthetic", "num_parts": 3, "part": 0, "seed": 5 },
    "local": { "learning_rate": 0.1, "batch_size": 32, "epochs": 1 }
  },
  "model": $model,
  "tls": { "ca_file": "$dir/pki/ca.pem" }
}
EOF

"$sotto" --help | grep -q "coordinator" || fail "top-level help does not list coordinator"
"$sotto" coordinator --help | grep -q -- "--port-file VALUE" || fail "coordinator --help"
"$sotto" client --help | grep -q -- "--coordinator-port VALUE" || fail "client --help"

# GET http://127.0.0.1:$1$2 with bash's /dev/tcp (no curl needed); prints the response.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  cat <&3
  exec 3<&-
}

# ---- A federation --------------------------------------------------------------------------
"$sotto" coordinator --config "$dir/coordinator.json" --port-file "$dir/port" \
  --metrics-port-file "$dir/metrics_port" --model-out "$dir/model.bin" >"$dir/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
wait_for_file "$dir/port" "$coordinator" 30
wait_for_file "$dir/metrics_port" "$coordinator" 5
port="$(cat "$dir/port")"
grep -q "listening on 127.0.0.1:$port" "$dir/coordinator.log" || fail "no 'listening on' line"
metrics="$(http_get "$(cat "$dir/metrics_port")" /metrics)"
grep -q "^HTTP/1.1 200" <<<"$metrics" || fail "GET /metrics: $metrics"
grep -q "^# TYPE sotto_" <<<"$metrics" || fail "GET /metrics has no sotto metrics: $metrics"
status_page="$(http_get "$(cat "$dir/metrics_port")" /status)"
grep -qi "<html" <<<"$status_page" || fail "GET /status: $status_page"

clients=()
for i in 0 1 2; do
  "$sotto" client --config "$dir/client.json" --coordinator-port "$port" \
    --client-id "client-$i" --data-part "$i" --state-file "$dir/client-state/{client_id}.state" \
    >"$dir/client-$i.log" 2>&1 &
  clients+=("$!")
  pids+=("$!")
done

wait_exit "$coordinator" "$timeout_s" "the federation did not finish within $timeout_s s"
[ "$code" -eq 0 ] || fail "coordinator exited $code"
for i in 0 1 2; do
  wait_exit "${clients[$i]}" "$timeout_s" "client-$i did not finish within $timeout_s s"
  [ "$code" -eq 0 ] || fail "client-$i exited $code"
  grep -q "run finished" "$dir/client-$i.log" || fail "client-$i did not report the end of the run"
  # Its error memory, kept for a restart, private to it.
  state="$dir/client-state/client-$i.state"
  [ -s "$state" ] || fail "client-$i wrote no state file"
  [ "$(stat -c %a "$state")" = 600 ] || fail "$state has mode $(stat -c %a "$state"), not 600"
done

[ -f "$dir/model.bin" ] || fail "no model file"
[ "$(stat -c %s "$dir/model.bin")" -eq "$expected_model_bytes" ] ||
  fail "model.bin has $(stat -c %s "$dir/model.bin") bytes, expected $expected_model_bytes"
[ -f "$dir/rounds.jsonl" ] || fail "no round log"
[ "$(wc -l <"$dir/rounds.jsonl")" -eq "$rounds" ] ||
  fail "round log has $(wc -l <"$dir/rounds.jsonl") lines, expected $rounds"
[ "$(grep -c '"outcome":"completed"' "$dir/rounds.jsonl")" -eq "$rounds" ] ||
  fail "not every round completed: $(cat "$dir/rounds.jsonl")"
grep -q "round $rounds/$rounds" "$dir/coordinator.log" || fail "no progress line for the last round"
grep -q "run finished" "$dir/coordinator.log" || fail "the coordinator did not report the end"

# ---- A restart on another port resumes the finished run -------------------------------------
rm -f "$dir/port"
"$sotto" coordinator --config "$dir/coordinator.json" --port-file "$dir/port" \
  >"$dir/restarted.log" 2>&1 &
restarted=$!
pids+=("$restarted")
wait_exit "$restarted" 30 "a restarted coordinator did not finish"
[ "$code" -eq 0 ] || fail "a restarted coordinator exited $code"
grep -q "resumed from the checkpoint of round $rounds" "$dir/restarted.log" ||
  fail "the restart did not resume from the checkpoint"

# ...and a config that changes the run is refused against its checkpoints (exit 1).
sed "s/\"num_rounds\": $rounds/\"num_rounds\": $((rounds + 1))/" "$dir/coordinator.json" \
  >"$dir/more_rounds.json"
set +e
msg="$(timeout 60 "$sotto" coordinator --config "$dir/more_rounds.json" 2>&1)"
code=$?
set -e
[ "$code" -eq 1 ] || fail "a changed config against old checkpoints exited $code, expected 1: $msg"
echo "$msg" | grep -q "another configuration" || fail "no config-mismatch message: $msg"

# ---- A graceful stop -------------------------------------------------------------------------
# No checkpoints, more clients than will come: the coordinator waits until SIGTERM.
sed 's/"checkpoint": { "directory": "[^"]*" }/"checkpoint": {}/' "$dir/coordinator.json" \
  >"$dir/waiting.json"
rm -f "$dir/port"
"$sotto" coordinator --config "$dir/waiting.json" --port-file "$dir/port" \
  >"$dir/stopped.log" 2>&1 &
stopped=$!
pids+=("$stopped")
wait_for_file "$dir/port" "$stopped" 30
kill -TERM "$stopped"
wait_exit "$stopped" 30 "the coordinator did not stop on SIGTERM"
[ "$code" -eq 1 ] || fail "a coordinator stopped by SIGTERM exited $code, expected 1"
grep -q "interrupted" "$dir/stopped.log" || fail "no 'interrupted' message"

# ---- Refused configs ---------------------------------------------------------------------------
expect_fail() {
  local want="$1" pattern="$2"
  shift 2
  set +e
  msg="$(timeout 60 "$sotto" "$@" 2>&1)"  # a config wrongly accepted would wait for clients
  code=$?
  set -e
  [ "$code" -eq "$want" ] || fail "'$*' exited $code, expected $want: $msg"
  echo "$msg" | grep -q -- "$pattern" || fail "'$*' message lacks '$pattern': $msg"
}
sed 's/"num_rounds": /"bogus_field": 1, "num_rounds": /' "$dir/coordinator.json" >"$dir/unknown.json"
expect_fail 2 "bogus_field" coordinator --config "$dir/unknown.json"
sed 's/"min_clients": 3/"min_clients": 3, "fraction": 2/' "$dir/coordinator.json" >"$dir/fraction.json"
expect_fail 2 "rounds.fraction" coordinator --config "$dir/fraction.json"
expect_fail 2 "missing.json" coordinator --config "$dir/missing.json"
expect_fail 2 "config" coordinator
expect_fail 2 "unknown flag" coordinator --config "$dir/coordinator.json" --bogus
expect_fail 2 "client.data.part" client --config "$dir/client.json" --coordinator-port 1 \
  --data-part 3
expect_fail 2 "client.coordinator_port" client --config "$dir/client.json"
expect_fail 2 "coordinator-port" client --config "$dir/client.json" --coordinator-port 70000
echo "PASS"
