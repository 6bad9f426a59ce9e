//! Creating and dropping runtimes leaks nothing: after many runtimes have come and gone (with
//! tasks and sockets), the process has the same file descriptors and threads as before.
//!
//! This is the only test in its binary, so no other test opens fds or threads meanwhile.

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::time::Duration;

use common::{runtime, wait_until, with_timeout, LIMIT};
use rawrt::net::{TcpListener, TcpStream};

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn dropped_runtimes_release_fds_and_threads() {
    with_timeout("leaks", LIMIT, || {
        // One runtime first, so lazily created process-wide state is not counted as a leak.
        drop(runtime(2, "warmup"));
        let fds = count_entries("/proc/self/fd");
        let threads = count_entries("/proc/self/task");
        for round in 0..30u64 {
            let rt = runtime(2, "leakchk");
            let sum = rt.block_on(async move {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                // A connection left open, and a task parked on it, at drop time.
                let server = rawrt::spawn(async move {
                    let (mut s, _) = l.accept().await.unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).await.unwrap();
                    s.write_all(&b).await.unwrap();
                    let _ = s.read(&mut b).await;
                });
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(&[round as u8]).await.unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).await.unwrap();
                assert_eq!(b[0], round as u8);
                rawrt::spawn(async move {
                    let _keep = c;
                    std::future::pending::<()>().await
                });
                drop(server);
                let hs: Vec<_> = (0..100).map(|i| rawrt::spawn(async move { i })).collect();
                let mut s = 0u64;
                for h in hs {
                    s += h.await.unwrap();
                }
                s
            });
            assert_eq!(sum, 4950);
            drop(rt);
        }
        // No growth: a leak adds fds or threads. (Fewer is fine: a transient thread of the
        // harness, counted in the baseline, may have ended meanwhile.)
        let settled = wait_until(Duration::from_secs(10), || {
            count_entries("/proc/self/fd") <= fds && count_entries("/proc/self/task") <= threads
        });
        assert!(
            settled,
            "after 30 runtimes: {} fds (was {fds}), {} threads (was {threads})",
            count_entries("/proc/self/fd"),
            count_entries("/proc/self/task")
        );
    });
}
