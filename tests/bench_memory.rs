//! The self-checks of the memory benchmark (`benches/memory.rs`).
//!
//! Cargo builds `harness = false` benches without a test harness, so the benchmark runs its
//! checks itself when started without `--bench`; this target includes its sources as a
//! module so that `cargo test` runs them too: the `/proc/PID/status` and HTTP response
//! parsers, the server's heap answer and size-class breakdown, the options and the number
//! formatting. (Nothing here runs the benchmark itself.) The module brings its counting
//! global allocator along, which this test binary then uses.
#![cfg(feature = "hyper")]

// `main` and the measurements are only used by the bench binary.
#[allow(dead_code)]
#[path = "../benches/memory.rs"]
mod memory;

#[test]
fn memory_bench_self_checks() {
    memory::self_check();
}
