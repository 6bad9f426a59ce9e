//! CPU time accounting from `/proc/stat`: how much of a set of CPUs was idle between two
//! samples.
//!
//! The kernel keeps, per CPU, the time spent in each state in clock ticks (`USER_HZ`,
//! 100 per second on Linux): `user nice system idle iowait irq softirq steal ...`. A
//! [`CpuStat`] keeps `/proc/stat` open and re-reads it with one `pread(2)` per sample
//! (counted in [`stats`](crate::stats) as `other`), summing the lines of the CPUs asked
//! for. Idle here is `idle + iowait`; the total is the first eight fields. With 10 ms
//! ticks, samples closer than a few tens of milliseconds apart say little.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Idle and total clock ticks of a set of CPUs since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Ticks spent idle (`idle + iowait`).
    pub idle: u64,
    /// Ticks in all (`user` through `steal`).
    pub total: u64,
}

impl CpuTimes {
    /// How many CPUs' worth of idle time the interval from `earlier` to `self` had,
    /// out of `cpus` CPUs, in thousandths (`1500`: one and a half CPUs idle on average).
    /// `None` when no time passed (or the counters went backwards).
    pub fn idle_milli_since(&self, earlier: &CpuTimes, cpus: usize) -> Option<u64> {
        let total = self.total.checked_sub(earlier.total)?;
        let idle = self.idle.checked_sub(earlier.idle)?;
        if total == 0 || idle > total {
            return None;
        }
        Some(idle * 1000 * cpus as u64 / total)
    }
}

/// `/proc/stat`, open for repeated samples.
#[derive(Debug)]
pub struct CpuStat {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl CpuStat {
    /// Opens `/proc/stat` (read-only, close-on-exec).
    pub fn open() -> io::Result<CpuStat> {
        let path = c"/proc/stat";
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let fd = syscall!(open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC))
            .map_err(|e| io::Error::new(e.kind(), format!("open /proc/stat: {e}")))?;
        // SAFETY: `open` just returned this fd, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(CpuStat {
            fd,
            buf: vec![0; 4096],
        })
    }

    /// Reads the current ticks of `cpus` (`None`: the aggregate `cpu` line, every CPU).
    /// A CPU that `/proc/stat` does not list (offline) counts as nothing.
    pub fn sample(&mut self, cpus: Option<&[usize]>) -> io::Result<CpuTimes> {
        loop {
            let n = self.read_at_zero()?;
            // The CPU lines come first; if the buffer ends inside them, read more.
            match parse(&self.buf[..n], cpus, n < self.buf.len()) {
                Some(t) => return Ok(t),
                None if n == self.buf.len() && self.buf.len() < (1 << 22) => {
                    let len = self.buf.len() * 2;
                    self.buf.resize(len, 0);
                }
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "/proc/stat: no parsable cpu lines",
                    ))
                }
            }
        }
    }

    fn read_at_zero(&mut self) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is writable for its whole length during the call; the fd is ours.
            match syscall!(pread(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0
            )) {
                Ok(n) => return Ok(n as usize),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("read /proc/stat: {e}"))),
            }
        }
    }
}

/// Sums the ticks of `cpus` (or the aggregate line) in the text of `/proc/stat`. `None`
/// when the text ends before the CPU lines do and `complete` is false (read more), or
/// when no line matched.
fn parse(text: &[u8], cpus: Option<&[usize]>, complete: bool) -> Option<CpuTimes> {
    let text = std::str::from_utf8(text).ok()?;
    let mut times = CpuTimes::default();
    let mut matched = false;
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && !complete {
            // Possibly cut short: only trust it if something after the cpu lines was seen.
            return None;
        }
        let mut fields = line.split_ascii_whitespace();
        let Some(name) = fields.next() else { continue };
        let Some(which) = name.strip_prefix("cpu") else {
            if matched {
                return Some(times);
            }
            continue;
        };
        let wanted = match (cpus, which) {
            (None, "") => true,
            (None, _) | (Some(_), "") => false,
            (Some(set), n) => n.parse::<usize>().is_ok_and(|n| set.contains(&n)),
        };
        if !wanted {
            continue;
        }
        let v: Vec<u64> = fields.take(8).filter_map(|f| f.parse().ok()).collect();
        if v.len() < 5 {
            continue;
        }
        times.idle += v[3] + v[4];
        times.total += v.iter().sum::<u64>();
        matched = true;
    }
    matched.then_some(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "cpu  100 0 50 800 50 0 0 0 0 0\n\
                        cpu0 60 0 30 300 10 0 0 0 0 0\n\
                        cpu1 40 0 20 500 40 0 0 0 0 0\n\
                        intr 123 0 0\nctxt 5\n";

    #[test]
    fn sums_the_cpus_asked_for() {
        let all = parse(TEXT.as_bytes(), None, true).unwrap();
        assert_eq!(
            all,
            CpuTimes {
                idle: 850,
                total: 1000
            }
        );
        let one = parse(TEXT.as_bytes(), Some(&[1]), true).unwrap();
        assert_eq!(
            one,
            CpuTimes {
                idle: 540,
                total: 600
            }
        );
        let both = parse(TEXT.as_bytes(), Some(&[0, 1]), true).unwrap();
        assert_eq!(
            both,
            CpuTimes {
                idle: 850,
                total: 1000
            }
        );
        // Offline or absent CPUs count as nothing; none at all is no answer.
        assert_eq!(parse(TEXT.as_bytes(), Some(&[7]), true), None);
        // A text cut inside the cpu lines asks for more.
        assert_eq!(parse(&TEXT.as_bytes()[..40], Some(&[0, 1]), false), None);
        assert_eq!(parse(b"", None, true), None);
    }

    #[test]
    fn idle_is_in_cpus_worth() {
        let a = CpuTimes {
            idle: 100,
            total: 400,
        };
        let b = CpuTimes {
            idle: 250,
            total: 600,
        };
        // 150 idle ticks of 200, on 2 CPUs: 1.5 CPUs idle.
        assert_eq!(b.idle_milli_since(&a, 2), Some(1500));
        assert_eq!(a.idle_milli_since(&a, 2), None);
        assert_eq!(a.idle_milli_since(&b, 2), None);
    }

    #[test]
    fn samples_this_machine() {
        let mut stat = CpuStat::open().unwrap();
        let first = stat.sample(None).unwrap();
        assert!(first.idle <= first.total && first.total > 0, "{first:?}");
        let mine = crate::sched::affinity().unwrap();
        let part = stat.sample(Some(&mine)).unwrap();
        assert!(part.total > 0 && part.idle <= part.total, "{part:?}");
        // A tiny buffer grows until the cpu lines fit.
        stat.buf = vec![0; 8];
        let again = stat.sample(None).unwrap();
        assert!(again.total >= first.total);
    }
}
