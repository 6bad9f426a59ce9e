#!/bin/bash
# The talk's load on a lent many-core machine: `wrk -t4 -c1000` and `wrk -t8 -c1000`
# against examples/hello (rawrt) and examples/tokio_hello (Tokio) at 4, 8 and 16 workers,
# through `scripts/matrix.py --cells talk` (A B alternating, 5 rounds of 5 s, paired medians;
# wrk held to the last 4 or 8 CPUs, the servers free). Needs python3 and the bundle of
# `scripts/device_bundle.sh` (target/device, carried along); about 6 minutes. Results go to
# $OUT (the device tool's folder) or /tmp/talk: talk.md (the table) and talk.json.
#
#     WORKERS=4,8,16 ROUNDS=5 SECS=5 bash scripts/device_talk.sh [BUNDLE_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-target/device}
out=${OUT:-/tmp/talk}
mkdir -p "$out"
# 1000 connections and their server-side sockets, in each of three processes.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
for f in hello tokio_hello wrk; do
    [ -x "$bundle/$f" ] || { echo "device_talk: $bundle/$f missing: run scripts/device_bundle.sh first" >&2; exit 1; }
done
{ echo "nproc: $(nproc)"; uname -a; grep -m1 'model name' /proc/cpuinfo; } | tee "$out/machine.txt"
PYTHONUNBUFFERED=1 python3 scripts/matrix.py --cells talk --workers "${WORKERS:-4,8,16}" \
    --rounds "${ROUNDS:-5}" --secs "${SECS:-5}" --hello "$bundle/hello" \
    --tokio "$bundle/tokio_hello" --wrk "$bundle/wrk" --json "$out/talk.json" 2>&1 | tee "$out/talk.md"
