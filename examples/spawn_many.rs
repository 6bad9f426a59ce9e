//! Spawns N empty tasks from a task on a one-worker runtime and awaits them all: the local
//! spawn path (a worker spawning into its own queue), for `scripts/spawn_instructions.sh`,
//! which counts its user-space instructions with callgrind.
//!
//! ```text
//! cargo run --release --example spawn_many -- [N] [--tokio]
//! ```

fn main() {
    let mut n = 100_000usize;
    let mut tokio = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--tokio" => tokio = true,
            a => n = a.parse().expect("usage: spawn_many [N] [--tokio]"),
        }
    }
    let done = if tokio {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            tokio::spawn(async move {
                let mut handles = Vec::with_capacity(n);
                for i in 0..n {
                    handles.push(tokio::spawn(async move { i }));
                }
                let mut sum = 0usize;
                for h in handles {
                    sum = sum.wrapping_add(h.await.expect("task"));
                }
                sum
            })
            .await
            .expect("spawner")
        })
    } else {
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("rawrt runtime");
        rt.block_on(async move {
            rawrt::spawn(async move {
                let mut handles = Vec::with_capacity(n);
                for i in 0..n {
                    handles.push(rawrt::spawn(async move { i }));
                }
                let mut sum = 0usize;
                for h in handles {
                    sum = sum.wrapping_add(h.await.expect("task"));
                }
                sum
            })
            .await
            .expect("spawner")
        })
    };
    assert_eq!(done, (0..n).fold(0usize, |a, i| a.wrapping_add(i)));
}
