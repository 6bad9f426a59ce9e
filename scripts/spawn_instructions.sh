#!/usr/bin/env bash
# User-space instructions per local spawn (a task spawning into its own worker's queue, then
# polling and joining every child), counted by callgrind, rawrt next to Tokio:
#
#   scripts/spawn_instructions.sh [N]     (needs valgrind; builds examples/spawn_many)
#
# (instructions with N spawns - instructions with none) / N, for each runtime.
set -euo pipefail
n=${1:-100000}
command -v valgrind >/dev/null || { echo "spawn_instructions.sh: valgrind not installed"; exit 2; }
cd "$(dirname "$0")/.."
cargo build --release --example spawn_many >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
count() {
  valgrind --tool=callgrind --callgrind-out-file="$dir/out" target/release/examples/spawn_many "$@" \
    >/dev/null 2>"$dir/vg"
  awk '/^(summary|totals):/{print $2; exit}' "$dir/out"
}
for rt in rawrt tokio; do
  flag=(); [ "$rt" = tokio ] && flag=(--tokio)
  base=$(count 0 "${flag[@]}")
  total=$(count "$n" "${flag[@]}")
  awk -v r="$rt" -v n="$n" -v t="$total" -v z="$base" \
    'BEGIN{printf "%-6s %8d spawns  %6.0f instructions/spawn (user space)\n", r, n, (t-z)/n}'
done
