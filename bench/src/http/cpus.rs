//! Which CPUs the load generator and the servers may use: the `--load-cpus` and
//! `--server-cpus` options, their defaults, and running a step pinned to a CPU set
//! (`sched_setaffinity` through `rawrt_sys::sched`, inherited by every process and thread
//! started meanwhile).

/// Parses the value of `--load-cpus` / `--server-cpus`: `all` (`None`, not pinned) or a
/// CPU list.
pub fn cpu_list(flag: &str, v: &str) -> Result<Option<Vec<usize>>, String> {
    if v.trim() == "all" {
        return Ok(None);
    }
    rawrt_sys::sched::parse_cpu_list(v)
        .map(Some)
        .map_err(|e| format!("{flag}: {e}"))
}

/// Resolves the CPUs of the load and of the servers. An explicit choice (`Some(list)` or
/// `Some(None)` for `all`) wins. By default, when at least two CPUs are allowed, the load
/// gets the last `threads` of them (leaving at least one), and the servers every CPU, as
/// on a machine where the server is not alone. `rest` (`server_rest`) gives the servers
/// the allowed CPUs the load does not get instead.
pub fn split_cpus(
    allowed: &[usize],
    threads: usize,
    load: Option<Option<Vec<usize>>>,
    server: Option<Option<Vec<usize>>>,
    server_rest: bool,
) -> (Option<Vec<usize>>, Option<Vec<usize>>) {
    let n = allowed.len();
    let default_load = (n >= 2).then(|| allowed[n - threads.clamp(1, n - 1)..].to_vec());
    let load = load.unwrap_or(default_load);
    let server = if server_rest {
        load.as_ref().map(|l| {
            let rest: Vec<usize> = allowed.iter().copied().filter(|c| !l.contains(c)).collect();
            if rest.is_empty() {
                allowed.to_vec()
            } else {
                rest
            }
        })
    } else {
        server.unwrap_or(None)
    };
    (load, server)
}

/// Runs `f` with the calling thread restricted to `cpus` (unchanged when `None`), then
/// restores its affinity: a process spawned inside `f` inherits `cpus`.
pub fn pinned<T>(
    cpus: Option<&[usize]>,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    let Some(cpus) = cpus else {
        return f();
    };
    let before = rawrt_sys::sched::affinity().map_err(|e| format!("CPU affinity: {e}"))?;
    rawrt_sys::sched::set_affinity(cpus).map_err(|e| e.to_string())?;
    let out = f();
    rawrt_sys::sched::set_affinity(&before).map_err(|e| e.to_string())?;
    out
}

/// `0,2-3` for `[0, 2, 3]`; `all` for `None`.
pub fn fmt_cpus(cpus: Option<&[usize]>) -> String {
    let Some(cpus) = cpus else {
        return "all".into();
    };
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_are_split_between_load_and_servers() {
        let all = [0, 1, 2, 3];
        // Default: the load gets the last `threads` CPUs, the servers every CPU.
        assert_eq!(
            split_cpus(&all, 1, None, None, false),
            (Some(vec![3]), None)
        );
        assert_eq!(
            split_cpus(&all, 2, None, None, false),
            (Some(vec![2, 3]), None)
        );
        // `rest`: the servers get what the load does not, at least one CPU.
        assert_eq!(
            split_cpus(&all, 1, None, None, true),
            (Some(vec![3]), Some(vec![0, 1, 2]))
        );
        assert_eq!(
            split_cpus(&all, 9, None, None, true),
            (Some(vec![1, 2, 3]), Some(vec![0]))
        );
        // One allowed CPU pins nothing.
        assert_eq!(split_cpus(&[5], 1, None, None, true), (None, None));
        // Explicit choices win; `all` is `Some(None)`.
        assert_eq!(split_cpus(&all, 1, Some(None), None, false), (None, None));
        assert_eq!(
            split_cpus(&all, 1, Some(Some(vec![0])), Some(Some(vec![1, 2])), false),
            (Some(vec![0]), Some(vec![1, 2]))
        );
        // A load set that covers everything leaves `rest` everything too.
        assert_eq!(
            split_cpus(&all, 1, Some(Some(all.to_vec())), None, true),
            (Some(all.to_vec()), Some(all.to_vec()))
        );
        assert_eq!(fmt_cpus(Some(&[0, 1, 2, 5, 7, 8])), "0-2,5,7-8");
        assert_eq!(fmt_cpus(None), "all");
        assert_eq!(cpu_list("--load-cpus", "all").unwrap(), None);
        assert_eq!(cpu_list("--load-cpus", "1,0").unwrap(), Some(vec![0, 1]));
    }
}
