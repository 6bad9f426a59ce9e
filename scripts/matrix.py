#!/usr/bin/env python3
"""The load matrix: examples/hello (rawrt) against examples/tokio_hello (the same program on
Tokio: hyper-util's auto builder, header_read_timeout on the runtime's timer, the graceful
watcher and first-request deadline around each connection), side by side, over every load
shape that matters, so that no scheduling change wins one cell and loses the rest.

    python3 scripts/matrix.py [--rounds 5] [--secs 5] [--workers 2] [--only h1-100,h2-10]
                              [--hello PATH] [--tokio PATH] [--json FILE]

Cells: HTTP/1.1 keep-alive under wrk at 1, 10, 100 and 1000 connections, and HTTP/2 with
prior knowledge under h2load at -c10 -m10 and -c100 -m10. Both servers are built by this
script in the workspace's release profile (thin LTO, one codegen unit, for rawrt, Tokio and
hyper alike), run with the same worker count, on every CPU; the load generator is pinned to
the last CPU (`taskset`). Each cell: both servers warmed up, then ROUNDS rounds alternating
the order (A B, B A, ...); per round the ratio rawrt/Tokio of req/s and of p99; the table
shows each side's median and the median of the paired ratios (readable on a machine whose
speed drifts between rounds). p99 comes from wrk's --latency, and for h2load from its
per-request log. The Steal column is the share of CPU time the hypervisor gave to other
guests during the cell (/proc/stat): on a shared VM, the rounds of a cell with high steal
are noisier. Two more columns say what bounds a cell: the load generator's CPU share (its
CPU time over the run's wall time, on the one CPU it is pinned to; near 100 % the cell
measures the generator, and no server can raise its req/s further) and each server's CPU
time per request (user + system, all threads). Needs wrk and h2load (apt-get install -y wrk
nghttp2-client).
"""

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CELLS = [
    ("h1-1", "HTTP/1.1, 1 connection", "wrk", 1),
    ("h1-10", "HTTP/1.1, 10 connections", "wrk", 10),
    ("h1-100", "HTTP/1.1, 100 connections", "wrk", 100),
    ("h1-1000", "HTTP/1.1, 1000 connections", "wrk", 1000),
    ("h2-10", "HTTP/2, h2load -c10 -m10", "h2load", 10),
    ("h2-100", "HTTP/2, h2load -c100 -m10", "h2load", 100),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, limit=15.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"matrix: the server on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"matrix: nothing listens on {port} after {limit} s")


def to_ms(value):
    m = re.match(r"([\d.]+)(us|ms|s)$", value)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v if unit == "ms" else v * 1000


def run_wrk(cpu, port, conns, secs):
    out = subprocess.run(
        ["taskset", "-c", str(cpu), "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
         "--timeout", "5s", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=secs + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    return rps, p99, errors


def run_h2load(cpu, port, conns, secs):
    with tempfile.NamedTemporaryFile(prefix="matrix-h2-", suffix=".log") as log:
        out = subprocess.run(
            ["taskset", "-c", str(cpu), "h2load", f"-c{conns}", "-m10", "-D", str(secs),
             f"--log-file={log.name}", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=secs + 60,
        ).stdout
        durations = []
        with open(log.name) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    durations.append(int(parts[2]))
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    errors = sum(int(x) for x in m.groups()) if m else -1
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] / 1000 if durations else float("nan")
    return rps, p99, errors


def cpu_times():
    """The aggregate `cpu` line of /proc/stat (ticks), or None without /proc."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_pct(before, after):
    """Steal (field 8: time the hypervisor gave this VM's CPUs to others) as a percentage of
    all CPU time between two samples; NaN without /proc or with no steal field."""
    if not before or not after or len(before) < 8:
        return float("nan")
    d = [b - a for a, b in zip(before, after)]
    total = sum(d[:8])
    return 100.0 * d[7] / total if total else float("nan")


def children_cpu():
    """CPU seconds (user + system) used so far by this script's finished children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def process_cpu(pid):
    """CPU seconds (user + system) used so far by a running process, or NaN."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def measure(tool, cpu, port, server_pid, conns, secs):
    """One run: (req/s, p99 ms, errors, load-generator CPU share, server CPU µs per request).

    The load generator's share is its CPU time over the run's wall time, on the one CPU it is
    pinned to: near 100 % means the cell measured the generator, not the server (a faster
    server cannot raise req/s there). The server's CPU per request is user + system time of
    the whole process (every worker and helper thread) over the requests served."""
    gen0, srv0, t0 = children_cpu(), process_cpu(server_pid), time.monotonic()
    rps, p99, errors = (run_wrk if tool == "wrk" else run_h2load)(cpu, port, conns, secs)
    gen1, srv1, t1 = children_cpu(), process_cpu(server_pid), time.monotonic()
    gen_share = 100.0 * (gen1 - gen0) / (t1 - t0)
    srv_us = 1e6 * (srv1 - srv0) / (rps * secs) if rps else float("nan")
    return rps, p99, errors, gen_share, srv_us


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--only", default="", help="comma-separated cell names (" +
                    ", ".join(c[0] for c in CELLS) + ")")
    ap.add_argument("--hello", help="a prebuilt rawrt hello binary (default: build it)")
    ap.add_argument("--tokio", help="a prebuilt tokio_hello binary (default: build it)")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "matrix.json"))
    args = ap.parse_args()
    for tool in ("wrk", "h2load", "taskset"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"matrix: {tool} not found (apt-get install -y wrk nghttp2-client util-linux)")
    if not (args.hello and args.tokio):
        print("matrix: building hello and tokio_hello (release profile)", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--features", "hyper", "--example", "hello",
                        "--example", "tokio_hello"], cwd=ROOT, check=True)
    hello = args.hello or os.path.join(ROOT, "target", "release", "examples", "hello")
    tokio = args.tokio or os.path.join(ROOT, "target", "release", "examples", "tokio_hello")
    cells = [c for c in CELLS if not args.only or c[0] in args.only.split(",")]
    cpus = sorted(os.sched_getaffinity(0))
    load_cpu = cpus[-1]
    servers = {}
    procs = []
    try:
        for name, binary in (("rawrt", hello), ("tokio", tokio)):
            port = free_port()
            p = subprocess.Popen([binary, "--workers", str(args.workers), "--addr", f"127.0.0.1:{port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_listening(port, p)
            servers[name] = (port, p.pid)
        results = []
        for key, label, tool, conns in cells:
            for name in ("rawrt", "tokio"):
                measure(tool, load_cpu, *servers[name], conns, 1)  # warm-up
            rounds = []
            stat_before = cpu_times()
            for r in range(args.rounds):
                order = ("rawrt", "tokio") if r % 2 == 0 else ("tokio", "rawrt")
                got = {}
                for name in order:
                    port, pid = servers[name]
                    got[name] = measure(tool, load_cpu, port, pid, conns, args.secs)
                rounds.append(got)
                print(f"[{key} round {r + 1}/{args.rounds}] " + " | ".join(
                    f"{n} {got[n][0]:,.0f} req/s p99 {got[n][1]:.2f} ms load CPU {got[n][3]:.0f} % "
                    f"server {got[n][4]:.1f} µs/req" for n in ("rawrt", "tokio")), file=sys.stderr)
            steal = steal_pct(stat_before, cpu_times())
            med = lambda xs: statistics.median(xs)
            row = {
                "cell": key, "label": label,
                "rawrt_rps": med([g["rawrt"][0] for g in rounds]),
                "tokio_rps": med([g["tokio"][0] for g in rounds]),
                "rawrt_p99_ms": med([g["rawrt"][1] for g in rounds]),
                "tokio_p99_ms": med([g["tokio"][1] for g in rounds]),
                "rps_ratio": med([g["rawrt"][0] / g["tokio"][0] for g in rounds]),
                "p99_ratio": med([g["rawrt"][1] / g["tokio"][1] for g in rounds]),
                "errors": sum(g["rawrt"][2] + g["tokio"][2] for g in rounds),
                "steal_pct": steal,
                "rawrt_load_cpu_pct": med([g["rawrt"][3] for g in rounds]),
                "tokio_load_cpu_pct": med([g["tokio"][3] for g in rounds]),
                "rawrt_server_us_per_req": med([g["rawrt"][4] for g in rounds]),
                "tokio_server_us_per_req": med([g["tokio"][4] for g in rounds]),
                "rounds": [{k: list(v) for k, v in g.items()} for g in rounds],
            }
            results.append(row)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"\nrawrt (examples/hello) vs Tokio (examples/tokio_hello): {args.workers} workers each, "
          f"servers on CPUs {','.join(map(str, cpus))}, load pinned to CPU {load_cpu}, "
          f"{args.rounds} rounds x {args.secs} s, A B alternating; medians, and the median of "
          f"the paired per-round ratios; steal: the CPU time the hypervisor took from this machine "
          f"during the cell (a busy host: the rounds are noisier); load CPU: the share of its one "
          f"CPU the load generator used while it loaded each server (near 100 %: the cell "
          f"measures the generator, and a faster server cannot raise req/s); server CPU: user + "
          f"system time of the whole server process per request\n")
    print("| Load | rawrt req/s | Tokio req/s | req/s ratio | rawrt p99 | Tokio p99 | p99 ratio "
          "| Errors | Steal | Load CPU rawrt / Tokio | Server CPU per request rawrt / Tokio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['label']} | {r['rawrt_rps']:,.0f} | {r['tokio_rps']:,.0f} | {r['rps_ratio']:.3f} "
              f"| {r['rawrt_p99_ms']:.2f} ms | {r['tokio_p99_ms']:.2f} ms | {r['p99_ratio']:.3f} "
              f"| {r['errors']} | {r['steal_pct']:.1f} % "
              f"| {r['rawrt_load_cpu_pct']:.0f} % / {r['tokio_load_cpu_pct']:.0f} % "
              f"| {r['rawrt_server_us_per_req']:.1f} / {r['tokio_server_us_per_req']:.1f} µs |")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"workers": args.workers, "rounds": args.rounds, "secs": args.secs,
                   "load_cpu": load_cpu, "cells": results}, f, indent=1)
    print(f"\nJSON: {os.path.relpath(args.json, ROOT)}")


if __name__ == "__main__":
    main()
