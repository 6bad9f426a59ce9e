// The third part, written against Tokio's names only: `#[tokio::main]`, `join!`, `select!`,
// `try_join!` and the paused clock. `tests/tokio_port.rs` compiles it under
// `use rawrt as tokio;` and checks the transcript Tokio's documentation implies. (It is not
// also built against Tokio: that needs Tokio's `test-util` feature, which would slow down the
// Tokio server the benchmarks build from the same dev-dependencies.)
/// Macros and the paused clock: a simulated day, `join!`, `select!`, `try_join!`.
#[tokio::main(flavor = "current_thread", start_paused = true)]
pub async fn macros_and_paused_clock() -> Vec<String> {
    let start = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
    let simulated = start.elapsed().as_secs();
    let fast = real.elapsed() < std::time::Duration::from_secs(5);
    let (a, b) = tokio::join!(async { 1 }, async {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        2
    });
    let picked = tokio::select! {
        biased;
        v = async { "first" } => v,
        v = async { "second" } => v,
    };
    let later = tokio::select! {
        _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => "timer",
        v = std::future::ready("ready") => v,
    };
    let tried: Result<(u8, u8), &str> = tokio::try_join!(async { Ok(1) }, async { Err("no") });
    vec![
        format!("paused: {simulated} s simulated, fast {fast}"),
        format!("macros: join {a}+{b}, select {picked} then {later}, try_join {tried:?}"),
    ]
}
