//! Process resource limits: the file-descriptor limit (`RLIMIT_NOFILE`), which servers and
//! their tests raise to hold many connections.

use std::io;

/// The `(soft, hard)` limit on open file descriptors.
pub fn nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the whole call.
    syscall!(getrlimit(libc::RLIMIT_NOFILE, &mut lim))?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Sets the `(soft, hard)` limit on open file descriptors. Raising the hard limit needs
/// `CAP_SYS_RESOURCE`; the soft limit can be raised up to the hard one by anyone.
pub fn set_nofile_limit(soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit, only read by the kernel.
    syscall!(setrlimit(libc::RLIMIT_NOFILE, &lim))?;
    Ok(())
}

/// Raises the soft limit to at least `want` descriptors, raising the hard limit too when
/// permitted; returns the soft limit in force afterwards (which may be lower than `want`).
pub fn raise_nofile_limit(want: u64) -> io::Result<u64> {
    let (soft, hard) = nofile_limit()?;
    if soft >= want {
        return Ok(soft);
    }
    if hard < want && set_nofile_limit(want, want).is_ok() {
        return Ok(want);
    }
    let target = want.min(hard);
    set_nofile_limit(target, hard)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_can_be_read_and_set_within_hard() {
        let (soft, hard) = nofile_limit().unwrap();
        assert!(soft <= hard);
        set_nofile_limit(soft, hard).unwrap();
        assert_eq!(raise_nofile_limit(soft).unwrap(), soft);
    }
}
