//! CPU affinity of the calling thread (`sched_getaffinity(2)` / `sched_setaffinity(2)`).
//!
//! Affinity is per thread and inherited: a thread created afterwards, or a process spawned
//! by this thread (`fork` + `exec`), starts with the same set. Benchmarks use that to give a
//! load generator and a server disjoint CPUs: set the spawning thread's affinity, spawn,
//! set it back.

use std::io;

/// The most CPUs a `cpu_set_t` can name (`CPU_SETSIZE`).
pub const MAX_CPUS: usize = libc::CPU_SETSIZE as usize;

/// The CPUs the calling thread may run on, in increasing order.
pub fn affinity() -> io::Result<Vec<usize>> {
    // SAFETY: `cpu_set_t` is a plain bit array; all zeroes is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `set` is writable and `size` is its exact size; pid 0 means the calling thread.
    syscall!(sched_getaffinity(0, size, &mut set))?;
    // SAFETY: `CPU_ISSET` only reads the set, and every index is below `CPU_SETSIZE`.
    Ok((0..MAX_CPUS)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Restricts the calling thread to `cpus`. Fails with `InvalidInput` when `cpus` is empty
/// or names a CPU at or above [`MAX_CPUS`], and with the kernel's `EINVAL` when none of
/// them is online and allowed (for example outside the process's cpuset).
pub fn set_affinity(cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "set_affinity: empty CPU list",
        ));
    }
    // SAFETY: `cpu_set_t` is a plain bit array; all zeroes is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= MAX_CPUS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("set_affinity: CPU {cpu} is out of range (at most {MAX_CPUS} CPUs)"),
            ));
        }
        // SAFETY: `cpu < CPU_SETSIZE`, so the bit is inside `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `set` is a valid cpu_set_t of `size` bytes, only read by the kernel.
    syscall!(sched_setaffinity(0, size, &set)).map_err(|e| {
        io::Error::new(e.kind(), format!("sched_setaffinity to CPUs {cpus:?}: {e}"))
    })?;
    Ok(())
}

/// Parses a CPU list as `taskset -c` and `/sys/devices/system/cpu/online` write it:
/// comma-separated CPUs and inclusive ranges (`0,2-3`). Returns the CPUs sorted, without
/// duplicates; an empty list, a reversed range or a CPU at or above [`MAX_CPUS`] is an
/// `InvalidInput` error naming the bad part.
pub fn parse_cpu_list(s: &str) -> io::Result<Vec<usize>> {
    let bad = |part: &str, why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU list {s:?}: {part:?} {why}"),
        )
    };
    let mut cpus = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| bad(part, "is not a CPU number or range"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(bad(part, "is a reversed range"));
        }
        if hi >= MAX_CPUS {
            return Err(bad(part, "names a CPU out of range"));
        }
        cpus.extend(lo..=hi);
    }
    if cpus.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU list {s:?} names no CPU"),
        ));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list("3,0-1, 1").unwrap(), vec![0, 1, 3]);
        for bad in ["", ",", "a", "2-1", "1-", "4096", "0-99999"] {
            let e = parse_cpu_list(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn affinity_round_trips_in_a_thread() {
        // A fresh thread, so the test runner's threads keep their affinity.
        std::thread::spawn(|| {
            let all = affinity().unwrap();
            assert!(!all.is_empty());
            let one = all[all.len() - 1];
            set_affinity(&[one]).unwrap();
            assert_eq!(affinity().unwrap(), vec![one]);
            // Inherited by a thread created now.
            let child = std::thread::spawn(affinity).join().unwrap().unwrap();
            assert_eq!(child, vec![one]);
            set_affinity(&all).unwrap();
            assert_eq!(affinity().unwrap(), all);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn bad_sets_are_refused_with_context() {
        let e = set_affinity(&[]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = set_affinity(&[MAX_CPUS]).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        // A CPU that exists in the set type but not on this machine.
        let e = set_affinity(&[MAX_CPUS - 1]).unwrap_err();
        assert!(e.to_string().contains("sched_setaffinity"), "{e}");
    }
}
