//! `cargo bench -p rawrt-bench --bench memory`: rawrt's memory next to Tokio's (heap per idle
//! task, RSS per idle keep-alive connection). Everything but the command line is in the
//! library ([`rawrt_bench::memory`]); this binary also serves (`--serve`) in the server
//! children the benchmark starts.

use std::process::ExitCode;

use rawrt_bench::cli::{exit_status, help_or_hint, usage_error};
use rawrt_bench::memory::{self, Counting, Options};

// Parent and server children alike (they are this binary): the measurements read it.
#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return exit_status("memory --serve", memory::serve(&args[1..]));
    }
    let hint = "memory bench: run with cargo bench -p rawrt-bench --bench memory (--help for \
                options); its checks run with cargo test -p rawrt-bench";
    if let Some(done) = help_or_hint(&args, memory::USAGE, hint) {
        return done;
    }
    match Options::parse(&args) {
        Ok(o) => exit_status("memory bench", memory::run(&o)),
        Err(e) => usage_error("memory bench", &e),
    }
}
