//! "Tokio code ports by renaming the crate": `tests/ported/app.rs` is written against Tokio's
//! names only, and `tests/ported/app_sync.rs` (tasks, `task_local!`, `LocalSet`, sync) too.
//! Each is compiled twice, once against Tokio and once with `use rawrt as tokio;`, and both
//! runs must print the same transcript, which is also checked line by line.

mod common;

mod on_tokio {
    include!("ported/app.rs");
    include!("ported/app_sync.rs");
}

mod on_rawrt {
    use rawrt as tokio;
    include!("ported/app.rs");
    include!("ported/app_sync.rs");
    #[cfg(all(feature = "macros", feature = "test-util"))]
    include!("ported/app_macros.rs");
}

#[test]
fn the_same_tokio_program_behaves_the_same_on_rawrt() {
    let rawrt = common::with_timeout("on rawrt", common::LIMIT, || on_rawrt::run("rawrt"));
    let tokio = common::with_timeout("on tokio", common::LIMIT, || on_tokio::run("tokio"));
    assert_eq!(rawrt, tokio, "rawrt and Tokio disagree");
    let want = [
        r#"lines: "HELLO\nWORLD\nLAST\n" n=3"#,
        "ints: deadbeef 7 -5 1.5",
        "copy: 1000 bytes, all 7: true",
        "read_exact: UnexpectedEof",
        r#"udp: "datagram" from u: true"#,
        r#"fs: 4 lines, word "two", 19 bytes, missing NotFound, entries ["notes.txt"]"#,
        r#"process: Some(3) "out\n" "err\n""#,
        r#"cat: "through cat" true"#,
        r#"misc: timeout true, sum 10, "pong", 3628800"#,
    ];
    assert_eq!(rawrt, want);
}

#[test]
fn the_same_tokio_tasks_and_sync_program_behaves_the_same_on_rawrt() {
    let rawrt = common::with_timeout("sync on rawrt", common::LIMIT, on_rawrt::run_sync);
    let tokio = common::with_timeout("sync on tokio", common::LIMIT, on_tokio::run_sync);
    assert_eq!(rawrt, tokio, "rawrt and Tokio disagree");
    let want = [
        "joinset: [1, 2, 0], aborted true",
        "task_local: 7, outside true",
        "locks: mutex 50, rwlock [1, 2, 3], semaphore peak 2",
        "channels: watch 2 (pending false), broadcast lagged 3 then 3, unbounded [0, 1, 2], \
         permit \"reserved\", once 42, leaders 1",
        "local: 10",
    ];
    assert_eq!(rawrt, want);
}

#[cfg(all(feature = "macros", feature = "test-util"))]
#[test]
fn tokio_macros_and_the_paused_clock_port_by_renaming() {
    let rawrt = common::with_timeout(
        "macros on rawrt",
        common::LIMIT,
        on_rawrt::macros_and_paused_clock,
    );
    assert_eq!(
        rawrt,
        [
            "paused: 86400 s simulated, fast true",
            "macros: join 1+2, select first then ready, try_join Err(\"no\")",
        ]
    );
}
