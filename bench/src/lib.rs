//! rawrt's benchmark lab: the pieces of the three benchmarks of the workspace, whose bench
//! targets (`bench/benches/`) only parse their command line and call in here.
//!
//! - `cargo bench -p rawrt-bench --bench http` ([`http`]): the README's HTTP table, five
//!   "Hello, World!" servers ([`servers`]) each in its own process, loaded by a closed-loop
//!   generator ([`load`], with [`histogram`] and the HTTP/1 helpers of [`proto`]) or wrk;
//!   syscalls per request from rawrt's counters or `perf` ([`syscalls`]); the mio row from
//!   a nested build ([`mio_build`]); the table and `target/bench/http.json` ([`report`],
//!   [`json`]) and the chart `target/bench/http.svg` ([`svg`]).
//! - `cargo bench -p rawrt-bench --bench memory` ([`memory`]): heap per idle task and RSS
//!   per idle keep-alive connection, with a counting global allocator.
//! - `cargo bench -p rawrt-bench --bench runtime` ([`runtime`]): criterion benchmarks of the
//!   scheduler, rawrt against Tokio.
//!
//! Shared by all: child processes with bounded lifetimes ([`child`]), the command-line
//! helpers ([`cli`]) and medians, number formatting and the target directory ([`util`]).
//! The unit tests of every piece run with `cargo test -p rawrt-bench` (and the README's
//! `cargo test --workspace --features full`).

pub mod child;
pub mod cli;
pub mod histogram;
pub mod http;
pub mod json;
pub mod load;
pub mod memory;
pub mod mio_build;
pub mod proto;
pub mod report;
pub mod runtime;
pub mod servers;
pub mod svg;
pub mod syscalls;
pub mod util;

// The memory benchmark's tests read the counting allocator, as its binary does.
#[cfg(test)]
#[global_allocator]
static GLOBAL: memory::Counting = memory::Counting;
