//! `cargo bench -p rawrt-bench --bench http`: the README's HTTP benchmark table. Everything
//! but the command line is in the library ([`rawrt_bench::http`]); this binary also serves
//! (`--serve`) and loads (`--load`) in the child processes the benchmark starts.

use std::process::ExitCode;

use rawrt_bench::cli::{exit_status, help_or_hint, usage_error};
use rawrt_bench::http::{self, Plan};
use rawrt_bench::report::Machine;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => return exit_status("http --serve", http::serve(&args[1..])),
        Some("--load") => return exit_status("http --load", http::load(&args[1..])),
        _ => {}
    }
    let hint = "http bench: run with cargo bench -p rawrt-bench --bench http (--help for options)";
    if let Some(done) = help_or_hint(&args, http::USAGE, hint) {
        return done;
    }
    let machine = Machine::detect();
    let plan = match Plan::from_args(&args, machine.cores) {
        Ok(p) => p,
        Err(e) => return usage_error("http bench", &e),
    };
    match http::run(&plan, &machine) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("http bench: some servers failed (see the table)");
            ExitCode::FAILURE
        }
        Err(e) => exit_status("http bench", Err(e)),
    }
}
