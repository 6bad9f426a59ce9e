//! The syscall trace against the counters and the clock, and errors seen with their errno:
//! an `EAGAIN` read, a refused `connect`, an `epoll_wait` interrupted by a signal.
//!
//! One `main` (no test harness): the trace and the counters are process-wide, so nothing else
//! may make calls meanwhile, and the signal must reach this thread (the helper thread blocks
//! it).

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rawrt_sys::stats::{self, Syscall};
use rawrt_sys::{signal, socket, trace, Epoll, EventFd, Events, Interest};

fn main() {
    counts_match_and_errors_keep_their_errno();
    println!("trace: ok");
}

fn counts_match_and_errors_keep_their_errno() {
    signal::install_handler(libc::SIGUSR1).unwrap();
    // Drain what setting up made, then start the window.
    trace::enable();
    let _ = trace::drain();
    let times_before = trace::times();
    let before = stats::snapshot();
    let wall = Instant::now();

    // Ordinary calls.
    let efd = EventFd::new().unwrap();
    efd.notify().unwrap();
    assert_eq!(efd.drain().unwrap(), 1);
    // An EAGAIN read: a socketpair with nothing in it.
    let (a, b) = socket::socketpair_stream().unwrap();
    let err = socket::read(a.as_fd(), &mut [0u8; 8]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
    socket::write(b.as_fd(), b"x").unwrap();
    assert_eq!(socket::read(a.as_fd(), &mut [0u8; 8]).unwrap(), 1);
    // A refused connect.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let fd = socket::tcp_socket(&free).unwrap();
    let refused = loop {
        match socket::connect(fd.as_fd(), &free) {
            Err(e) if socket::is_in_progress(&e) => {
                // Nonblocking: the refusal arrives as SO_ERROR.
                std::thread::sleep(Duration::from_millis(20));
                let e = socket::take_error(fd.as_fd()).unwrap();
                if let Some(e) = e {
                    break e;
                }
            }
            Err(e) => break e,
            Ok(()) => panic!("connected to a closed port"),
        }
    };
    assert_eq!(refused.raw_os_error(), Some(libc::ECONNREFUSED));
    // An epoll_wait interrupted by SIGUSR1, sent by a thread that blocks it itself.
    let epoll = Epoll::new().unwrap();
    epoll
        .add(efd.as_fd(), 1, Interest::READABLE | Interest::EDGE)
        .unwrap();
    let pid = std::process::id() as i32;
    let sender = std::thread::spawn(move || {
        signal::block(&signal::SigSet::from_signals(&[libc::SIGUSR1]).unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        signal::kill(pid, libc::SIGUSR1).unwrap();
    });
    let mut events = Events::with_capacity(8);
    let n = epoll
        .wait(&mut events, Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(n, 0, "EINTR reads as no events");
    sender.join().unwrap();

    let counted = stats::snapshot() - before;
    let elapsed = wall.elapsed();
    let times = &trace::times() - &times_before;
    let t = trace::drain();
    trace::disable();
    assert_eq!(t.dropped, 0);

    // Every counted call is in the trace, kind by kind (the signal handler's eventfd write is
    // counted apart from the per-thread counters and never traced: leave it out).
    for kind in Syscall::ALL {
        let traced = t.records.iter().filter(|r| r.kind == kind).count() as u64;
        let mut want = counted.get(kind);
        if kind == Syscall::EventfdWrite {
            want -= 1; // the handler's write (async-signal context: counted, not traced)
        }
        assert_eq!(traced, want, "{kind:?}: traced {traced}, counted {want}");
        assert_eq!(times.get(kind).count, want, "{kind:?}: times count");
    }
    // Durations fit in the wall time of the two threads that made calls.
    let busy: u64 = t.records.iter().map(|r| r.duration_ns).sum();
    assert!(
        busy <= 2 * elapsed.as_nanos() as u64,
        "{busy} ns of calls in {elapsed:?}"
    );
    assert_eq!(times.total_ns(), busy);
    // The errors, with their errno and fd.
    let eagain = t
        .records
        .iter()
        .find(|r| r.name == "read" && r.errno() == Some(libc::EAGAIN))
        .expect("the EAGAIN read");
    assert_eq!(eagain.fd, i64::from(std::os::fd::AsRawFd::as_raw_fd(&a)));
    assert!(t.records.iter().any(|r| r.name == "connect"
        && matches!(
            r.errno(),
            Some(libc::ECONNREFUSED) | Some(libc::EINPROGRESS)
        )));
    let eintr = t
        .records
        .iter()
        .find(|r| r.name == "epoll_wait")
        .expect("the epoll_wait");
    assert_eq!(eintr.errno(), Some(libc::EINTR));
    assert!(
        eintr.duration_ns >= 50_000_000,
        "waited {} ns for the signal",
        eintr.duration_ns
    );
    assert_eq!(times.get(Syscall::EpollWait).max_ns, eintr.duration_ns);
    // Sorted by start, all on known threads, no task outside a runtime.
    assert!(t.records.windows(2).all(|w| w[0].start_ns <= w[1].start_ns));
    assert!(t
        .records
        .iter()
        .all(|r| t.threads.iter().any(|th| th.index == r.thread)));
    assert!(t.records.iter().all(|r| r.task == 0));
}
