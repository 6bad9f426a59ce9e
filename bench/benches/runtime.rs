//! `cargo bench -p rawrt-bench --bench runtime`: the scheduler suite, rawrt against Tokio,
//! each benchmark one criterion group of both runtimes ([`rawrt_bench::runtime`]). Criterion's
//! own options apply (`-- --quick`, a group name as a filter); `RAWRT_BENCH_WORKERS` sets the
//! worker count (default: all CPUs).

use std::time::Duration;

use criterion::Criterion;

fn main() {
    let w = rawrt_bench::runtime::workers();
    // stderr, so that `--list` output on stdout stays machine-readable.
    eprintln!(
        "rawrt vs Tokio: multi-thread runtimes with {w} worker thread(s) each \
         (RAWRT_BENCH_WORKERS overrides)"
    );

    // Short defaults so the whole suite fits in a few minutes on 2 cores; the command line
    // (`--warm-up-time`, `--measurement-time`, `--sample-size`, `--quick`) overrides them.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    rawrt_bench::runtime::suite(&mut c, w);
    c.final_summary();
}
