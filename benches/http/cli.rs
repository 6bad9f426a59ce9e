//! Small helpers shared by the benchmarks' command lines and reports (`benches/http` and,
//! through `#[path]`, `benches/memory.rs`): flag splitting and number formatting.

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

/// `1234567.8` → `1,234,568`.
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}
