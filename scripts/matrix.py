#!/usr/bin/env python3
"""The load matrix: examples/hello (rawrt) against examples/tokio_hello (the same program on
Tokio: hyper-util's auto builder, header_read_timeout on the runtime's timer, the graceful
watcher and first-request deadline around each connection), side by side, over every load
shape that matters, so that no scheduling change wins one cell and loses the rest.

    python3 scripts/matrix.py [--rounds 5] [--secs 5] [--workers 2] [--only h1-100,h2-10]
                              [--cells matrix|talk] [--hello PATH] [--tokio PATH]
                              [--wrk PATH] [--h2load PATH] [--json FILE]

Cells (`--cells matrix`, the default): HTTP/1.1 keep-alive under wrk at 1, 10, 100 and 1000
connections, and HTTP/2 with prior knowledge under h2load at -c10 -m10 and -c100 -m10, the
load generator on one thread. `--cells talk` runs the talk's load instead, `wrk -t4 -c1000`
and `wrk -t8 -c1000`, for a many-core machine (`scripts/device_bundle.sh` packs what it
needs). `--workers` takes one count or a list (`4,8,16`): each cell runs at each count, both
servers restarted with it. Both servers are built by this script in the workspace's release
profile (thin LTO, one codegen unit, for rawrt, Tokio and hyper alike) unless given, run
with the same worker count, on every CPU; the load generator is held to the last CPUs, one
per thread it runs but at most half of them (sched_setaffinity). Each cell: both servers
warmed up, then ROUNDS rounds alternating the order (A B, B A, ...); per round the ratio
rawrt/Tokio of req/s and of p99; the table shows each side's median and the median of the
paired ratios (readable on a machine whose speed drifts between rounds). p99 comes from
wrk's --latency, and for h2load from its per-request log. The Steal column is the share of
CPU time the hypervisor gave to other guests during the cell (/proc/stat): on a shared VM,
the rounds of a cell with high steal are noisier. Two more columns say what bounds a cell:
the load generator's CPU share (its CPU time over the run's wall time and the CPUs it is
held to; near 100 % the cell measures the generator, and no server can raise its req/s
further) and each server's CPU time per request (user + system, all threads). Needs wrk and,
for the HTTP/2 cells, h2load (apt-get install -y wrk nghttp2-client).
"""

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# (name, label, tool, connections, load-generator threads)
CELLS = {
    "matrix": [
        ("h1-1", "HTTP/1.1, 1 connection", "wrk", 1, 1),
        ("h1-10", "HTTP/1.1, 10 connections", "wrk", 10, 1),
        ("h1-100", "HTTP/1.1, 100 connections", "wrk", 100, 1),
        ("h1-1000", "HTTP/1.1, 1000 connections", "wrk", 1000, 1),
        ("h2-10", "HTTP/2, h2load -c10 -m10", "h2load", 10, 1),
        ("h2-100", "HTTP/2, h2load -c100 -m10", "h2load", 100, 1),
    ],
    "talk": [
        ("t4-1000", "HTTP/1.1, wrk -t4 -c1000 (the talk's load)", "wrk", 1000, 4),
        ("t8-1000", "HTTP/1.1, wrk -t8 -c1000", "wrk", 1000, 8),
    ],
}

TOOLS = {"wrk": "wrk", "h2load": "h2load"}


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


def pinned(cpus):
    """A `preexec_fn` holding the child (and every thread it starts) to `cpus`."""
    return lambda: os.sched_setaffinity(0, cpus)


def run_wrk(cpus, port, conns, threads, secs):
    out = subprocess.run(
        [TOOLS["wrk"], f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency",
         "--timeout", "5s", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=secs + 60, preexec_fn=pinned(cpus),
    ).stdout
    if "Requests/sec" not in out:
        sys.exit(f"matrix: wrk printed no result:\n{out}")
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


def run_h2load(cpus, port, conns, threads, secs):
    with tempfile.NamedTemporaryFile(prefix="matrix-h2-", suffix=".log") as log:
        out = subprocess.run(
            [TOOLS["h2load"], f"-t{threads}", f"-c{conns}", "-m10", "-D", str(secs),
             f"--log-file={log.name}", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=secs + 60, preexec_fn=pinned(cpus),
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


def measure(tool, cpus, port, server_pid, conns, threads, secs):
    """One run: (req/s, p99 ms, errors, load-generator CPU share, server CPU µs per request).

    The load generator's share is its CPU time over the run's wall time and the CPUs it is
    held to: near 100 % means the cell measured the generator, not the server (a faster
    server cannot raise req/s there). The server's CPU per request is user + system time of
    the whole process (every worker and helper thread) over the requests served."""
    gen0, srv0, t0 = children_cpu(), process_cpu(server_pid), time.monotonic()
    run = run_wrk if tool == "wrk" else run_h2load
    rps, p99, errors = run(cpus, port, conns, threads, secs)
    gen1, srv1, t1 = children_cpu(), process_cpu(server_pid), time.monotonic()
    gen_share = 100.0 * (gen1 - gen0) / (t1 - t0) / len(cpus)
    srv_us = 1e6 * (srv1 - srv0) / (rps * secs) if rps else float("nan")
    return rps, p99, errors, gen_share, srv_us


def machine():
    """One line: CPUs, model, kernel."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model or 'unknown model'}, {os.uname().sysname} {os.uname().release}"


def start_servers(hello, tokio, workers):
    """Starts both servers with `workers` workers: {name: (port, pid)} and the processes."""
    servers, procs = {}, []
    for name, binary in (("rawrt", hello), ("tokio", tokio)):
        port = free_port()
        p = subprocess.Popen([binary, "--workers", str(workers), "--addr", f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_listening(port, p)
        servers[name] = (port, p.pid)
    return servers, procs


def stop(procs):
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def load_cpus_for(threads, cpus):
    """The load generator's CPUs: the last `threads` of `cpus`, at most half of them (one at
    least), so that the servers always have CPUs of their own as well as the shared ones."""
    n = max(1, min(threads, len(cpus) // 2))
    return cpus[-n:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--cells", choices=sorted(CELLS), default="matrix")
    ap.add_argument("--workers", default=None,
                    help="a worker count or a comma-separated list (default: every CPU for "
                         "the matrix, 4,8,16 for the talk's load)")
    ap.add_argument("--only", default="", help="comma-separated cell names (" +
                    ", ".join(c[0] for cs in CELLS.values() for c in cs) + ")")
    ap.add_argument("--hello", help="a prebuilt rawrt hello binary (default: build it)")
    ap.add_argument("--tokio", help="a prebuilt tokio_hello binary (default: build it)")
    ap.add_argument("--wrk", default="wrk", help="the wrk to run (default: wrk on PATH)")
    ap.add_argument("--h2load", default="h2load", help="the h2load to run (default: on PATH)")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "matrix.json"))
    args = ap.parse_args()
    TOOLS["wrk"], TOOLS["h2load"] = args.wrk, args.h2load
    workers_default = str(os.cpu_count()) if args.cells == "matrix" else "4,8,16"
    workers_list = [int(w) for w in (args.workers or workers_default).split(",")]
    cells = [c for c in CELLS[args.cells] if not args.only or c[0] in args.only.split(",")]
    for tool in sorted({c[2] for c in cells}):
        if shutil.which(TOOLS[tool]) is None:
            sys.exit(f"matrix: {TOOLS[tool]} not found (apt-get install -y wrk nghttp2-client)")
    if not (args.hello and args.tokio):
        print("matrix: building hello and tokio_hello (release profile)", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--features", "hyper", "--example", "hello",
                        "--example", "tokio_hello"], cwd=ROOT, check=True)
    hello = args.hello or os.path.join(ROOT, "target", "release", "examples", "hello")
    tokio = args.tokio or os.path.join(ROOT, "target", "release", "examples", "tokio_hello")
    cpus = sorted(os.sched_getaffinity(0))
    results = []
    for workers in workers_list:
        servers, procs = start_servers(hello, tokio, workers)
        try:
            for key, label, tool, conns, threads in cells:
                load_cpus = load_cpus_for(threads, cpus)
                for name in ("rawrt", "tokio"):
                    measure(tool, load_cpus, *servers[name], conns, threads, 1)  # warm-up
                rounds = []
                stat_before = cpu_times()
                for r in range(args.rounds):
                    order = ("rawrt", "tokio") if r % 2 == 0 else ("tokio", "rawrt")
                    got = {}
                    for name in order:
                        port, pid = servers[name]
                        got[name] = measure(tool, load_cpus, port, pid, conns, threads, args.secs)
                    rounds.append(got)
                    print(f"[{key} {workers}w round {r + 1}/{args.rounds}] " + " | ".join(
                        f"{n} {got[n][0]:,.0f} req/s p99 {got[n][1]:.2f} ms load CPU "
                        f"{got[n][3]:.0f} % server {got[n][4]:.1f} µs/req" for n in ("rawrt", "tokio")),
                        file=sys.stderr, flush=True)
                steal = steal_pct(stat_before, cpu_times())
                med = statistics.median
                results.append({
                    "cell": key, "label": label, "workers": workers, "connections": conns,
                    "load_threads": threads, "load_cpus": load_cpus,
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
                })
        finally:
            stop(procs)
    pins = sorted({",".join(map(str, r["load_cpus"])) for r in results})
    print(f"\nrawrt (examples/hello) vs Tokio (examples/tokio_hello) on {machine()}: the same "
          f"worker count each, servers on CPUs {','.join(map(str, cpus))}, load held to CPUs "
          f"{' or '.join(pins)}, {args.rounds} rounds x {args.secs} s, A B alternating; medians, "
          f"and the median of the paired per-round ratios; steal: the CPU time the hypervisor "
          f"took from this machine during the cell (a busy host: the rounds are noisier); load "
          f"CPU: the share of its CPUs the load generator used while it loaded each server (near "
          f"100 %: the cell measures the generator, and a faster server cannot raise req/s); "
          f"server CPU: user + system time of the whole server process per request\n")
    print("| Load | Workers | rawrt req/s | Tokio req/s | req/s ratio | rawrt p99 | Tokio p99 "
          "| p99 ratio | Errors | Steal | Load CPU rawrt / Tokio | Server CPU per request rawrt / Tokio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['label']} | {r['workers']} | {r['rawrt_rps']:,.0f} | {r['tokio_rps']:,.0f} "
              f"| {r['rps_ratio']:.3f} | {r['rawrt_p99_ms']:.2f} ms | {r['tokio_p99_ms']:.2f} ms "
              f"| {r['p99_ratio']:.3f} | {r['errors']} | {r['steal_pct']:.1f} % "
              f"| {r['rawrt_load_cpu_pct']:.0f} % / {r['tokio_load_cpu_pct']:.0f} % "
              f"| {r['rawrt_server_us_per_req']:.1f} / {r['tokio_server_us_per_req']:.1f} µs |")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"machine": machine(), "cells_set": args.cells, "workers": workers_list,
                   "rounds": args.rounds, "secs": args.secs, "cells": results}, f, indent=1)
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
