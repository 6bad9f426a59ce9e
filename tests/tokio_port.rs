//! "Tokio code ports by renaming the crate": `tests/ported/app.rs` is written against Tokio's
//! names only. It is compiled twice, once against Tokio and once with `use rawrt as tokio;`,
//! and both runs must print the same transcript, which is also checked line by line.

mod common;

mod on_tokio {
    include!("ported/app.rs");
}

mod on_rawrt {
    use rawrt as tokio;
    include!("ported/app.rs");
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
