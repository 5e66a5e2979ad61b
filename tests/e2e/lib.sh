# Shared by the end-to-end shell tests that run `sotto` processes: source it after `set -euo
# pipefail`. It makes a scratch directory $dir, removed on exit together with every process whose
# pid is added to the array `pids`, and defines
#   fail MESSAGE            print MESSAGE and the tail of every $dir/*.log, exit 1;
#   make_pki SOTTO NAME CLIENT...
#                           a CA in $dir/pki, a server certificate for 127.0.0.1 and localhost,
#                           and a client certificate for each CLIENT id;
#   wait_for_file FILE PID SECONDS
#                           wait until FILE is non-empty, failing if PID exits first or after
#                           SECONDS;
#   wait_exit PID SECONDS MESSAGE
#                           wait for the background process PID to end and set `code` to its
#                           exit status, failing with MESSAGE after SECONDS.
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

make_pki() {
  local sotto="$1" name="$2"
  shift 2
  mkdir -p "$dir/pki"
  "$sotto" certs init --dir "$dir/pki" --name "$name" >/dev/null || fail "certs init"
  "$sotto" certs issue --dir "$dir/pki" --server 127.0.0.1,localhost >/dev/null ||
    fail "server cert"
  local id
  for id in "$@"; do
    "$sotto" certs issue --dir "$dir/pki" --client "$id" >/dev/null || fail "client cert $id"
  done
}

wait_for_file() {
  local file="$1" pid="$2" deadline=$((SECONDS + $3))
  while [ ! -s "$file" ]; do
    kill -0 "$pid" 2>/dev/null || fail "process $pid exited before writing $file"
    [ "$SECONDS" -lt "$deadline" ] || fail "no $file after $3 s"
    sleep 0.1
  done
}

wait_exit() {
  local pid="$1" deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$3"
    sleep 0.1
  done
  set +e
  wait "$pid"
  code=$?
  set -e
}
