//! The unit tests of the HTTP benchmark (`benches/http/`).
//!
//! Cargo builds `harness = false` benches without a test harness, so the `#[cfg(test)]`
//! modules in `benches/http/*.rs` never run there. This target includes the benchmark's
//! sources as a module, so `cargo test` runs them: the histogram, the HTTP request and
//! response parsers, the std servers over loopback, the built-in load generator, the wrk and
//! perf output parsers, the servers' `stats` answer and the parent's side of that stdin
//! protocol, the counters-vs-perf comparison, the mio variant's cargo command and JSON
//! parsing, the JSON and SVG writers, and the command-line parsing. (Nothing here runs the
//! benchmark itself, nor builds the mio variant.)

// `main` and the process orchestration are only used by the bench binary.
#[allow(dead_code)]
#[path = "../benches/http/main.rs"]
mod http;
