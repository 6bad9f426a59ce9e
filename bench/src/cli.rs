//! Command-line helpers shared by the benchmarks (`http`, `memory`): flag splitting, number
//! parsing with a range check, and what a bench binary does before and after its own work
//! (`--help`, the hint printed under `cargo test --benches`, exit statuses).

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// What a bench binary does before parsing its options: with `-h` or `--help` it prints
/// `usage`; started without cargo bench's `--bench` (as `cargo test --benches` starts it) it
/// prints `hint`, so test runs stay fast. Either way it is done (`Some`); `None` means
/// "go on and run".
pub fn help_or_hint(args: &[String], usage: &str, hint: &str) -> Option<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{usage}");
        return Some(ExitCode::SUCCESS);
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("{hint}");
        return Some(ExitCode::SUCCESS);
    }
    None
}

/// The exit status for the options error `e` of benchmark `name`: the error on stderr, and
/// status 2.
pub fn usage_error(name: &str, e: &str) -> ExitCode {
    eprintln!("{name}: {e} (try --help)");
    ExitCode::from(2)
}

/// The exit status of `result`, the outcome of mode `name` (`http --serve`, `memory
/// bench`, ...): success, or the error on stderr and failure.
pub fn exit_status(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `args` into `(flag, value)` pairs. Flags in `with_value` take the next argument or
/// an inline `--flag=value`; `switches` take none. Anything else is an error.
pub fn split_flags(
    args: &[String],
    with_value: &[&str],
    switches: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if with_value.contains(&name) {
            let v = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            };
            out.push((name.to_string(), v));
        } else if switches.contains(&name) {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            out.push((name.to_string(), String::new()));
        } else {
            return Err(format!("unknown argument {arg:?}"));
        }
    }
    Ok(out)
}

/// Parses `v`, the value of `flag`, as a number within `range`.
pub fn num<T>(flag: &str, v: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display,
    T::Err: Display,
{
    let n: T = v.trim().parse().map_err(|e| format!("{flag} {v:?}: {e}"))?;
    if !range.contains(&n) {
        return Err(format!(
            "{flag} {v}: must be between {} and {}",
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

/// Parses `v`, the value of `flag`, as seconds within `range`.
pub fn secs(flag: &str, v: &str, range: RangeInclusive<f64>) -> Result<Duration, String> {
    num(flag, v, range).map(Duration::from_secs_f64)
}

#[cfg(test)]
pub(crate) mod tests {
    /// `s` split at white space, as the arguments of a command line.
    pub(crate) fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }
}
