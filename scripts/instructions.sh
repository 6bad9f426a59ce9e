#!/usr/bin/env bash
# User-space instructions per request of the hello servers (rawrt and Tokio), counted by
# callgrind: stable to about 0.1 % from run to run, unlike req/s on a shared machine.
#
#   scripts/instructions.sh [SECS]     (needs valgrind and wrk; builds the two examples)
#
# For each server: one run that answers a single request (start-up and shutdown cost),
# one that serves `wrk -t1 -c50 -dSECS` (default 8); prints
# (instructions of the loaded run - instructions of the single-request run) / requests.
set -euo pipefail
secs=${1:-8}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not installed"; exit 2; }
command -v wrk >/dev/null || { echo "instructions.sh: wrk not installed"; exit 2; }
cd "$(dirname "$0")/.."
# `hyper` only: `full` would add `test-util`, whose clock check the servers must not pay.
cargo build --release --features hyper --example hello --example tokio_hello >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# run NAME LOAD_SECS -> "requests instructions"
run() {
  local bin=$1 load=$2 port pid req
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$dir/out" \
    "target/release/examples/$bin" --workers 2 --addr "127.0.0.1:$port" >/dev/null 2>"$dir/vg" &
  pid=$!
  for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  if [ "$load" = 0 ]; then
    curl -s "http://127.0.0.1:$port/" >/dev/null; req=1
  else
    req=$(wrk -t1 -c50 -d"${load}s" "http://127.0.0.1:$port/" | awk '/requests in/{print $1}')
  fi
  kill -TERM "$pid"; sleep 1; kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true
  echo "$req $(awk '/^(summary|totals):/{print $2; exit}' "$dir/out")"
}
for bin in hello tokio_hello; do
  read -r _ base < <(run "$bin" 0)
  read -r req total < <(run "$bin" "$secs")
  awk -v b="$bin" -v r="$req" -v t="$total" -v z="$base" \
    'BEGIN{printf "%-12s %8d requests  %6.0f instructions/request (user space)\n", b, r, (t-z)/r}'
done
