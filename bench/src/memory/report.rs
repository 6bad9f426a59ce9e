//! The memory benchmark's output: the markdown table of medians (metric, rawrt, Tokio,
//! ratio, method) and everything, every round included, for `target/bench/memory.json`.

use super::alloc::{describe_growth, Growth, Heap};
use super::server::{Rss, ServerSample};
use super::tasks::{Rt, TaskSample};
use super::{Options, Results};
use crate::json::Json;
use crate::util::fmt_int;

/// `rawrt / tokio` with two decimals, `—` when undefined.
pub(crate) fn ratio(rawrt: f64, tokio: f64) -> String {
    if tokio == 0.0 || !rawrt.is_finite() || !tokio.is_finite() {
        "—".to_string()
    } else {
        format!("{:.2}", rawrt / tokio)
    }
}

/// One row of the table.
pub(crate) struct Line {
    /// The metric.
    label: String,
    /// rawrt's cell.
    rawrt: String,
    /// Tokio's cell.
    tokio: String,
    /// The ratio cell.
    ratio: String,
    /// How it was measured.
    method: String,
    /// For numeric rows: the JSON key and rawrt's and Tokio's medians.
    values: Option<(&'static str, f64, f64)>,
}

impl Line {
    /// A numeric row: the medians, written with `fmt`, and their ratio.
    fn metric(
        key: &'static str,
        label: impl Into<String>,
        (rawrt, tokio): (f64, f64),
        fmt: fn(f64) -> String,
        method: impl Into<String>,
    ) -> Line {
        Line {
            label: label.into(),
            rawrt: fmt(rawrt),
            tokio: fmt(tokio),
            ratio: ratio(rawrt, tokio),
            method: method.into(),
            values: Some((key, rawrt, tokio)),
        }
    }

    /// A row of words (no ratio).
    fn text(label: &str, (rawrt, tokio): (String, String), method: impl Into<String>) -> Line {
        Line {
            label: label.into(),
            rawrt,
            tokio,
            ratio: "—".into(),
            method: method.into(),
            values: None,
        }
    }
}

/// `n` bytes, grouped: `1,234 B`.
fn fmt_bytes(n: f64) -> String {
    format!("{} B", fmt_int(n))
}

/// `n` bytes in KiB, grouped: `1,234 KiB`.
fn fmt_kib(n: f64) -> String {
    format!("{} KiB", fmt_int(n / 1024.0))
}

/// The table's rows.
pub(crate) fn lines(o: &Options, r: &Results) -> Vec<Line> {
    let (n, c) = (fmt_int(o.tasks as f64), fmt_int(o.connections as f64));
    let both = |f: &dyn Fn(Rt) -> f64| (f(Rt::Rawrt), f(Rt::Tokio));
    let task = |f: fn(&TaskSample) -> f64| both(&|rt| r.task_median(rt, f));
    let server = |f: &dyn Fn(&ServerSample) -> f64| both(&|rt| r.server_median(rt, f));
    let per_conn = |f: fn(&ServerSample, bool) -> u64| {
        server(&|s: &ServerSample| s.per_conn(o.connections, f))
    };
    let words = |f: &dyn Fn(Rt) -> String| (f(Rt::Rawrt), f(Rt::Tokio));
    vec![
        Line::metric(
            "heap_bytes_per_task",
            "Heap per idle spawned task",
            task(|s| s.bytes_per_task),
            fmt_bytes,
            format!(
                "counting global allocator; {n} never-ready zero-sized tasks spawned from outside \
                 the runtime, all polled once: (live bytes after − before) / {n}; JoinHandles \
                 excluded (their Vec allocated before)"
            ),
        ),
        Line::text(
            "… by allocation (median round)",
            words(&|rt| {
                r.median_task(rt)
                    .map_or_else(|| "—".into(), |s| describe_growth(&s.growth))
            }),
            "live allocations added per task × their mean size; other: what is not one per \
             task (a queue's grown buffer)",
        ),
        Line::metric(
            "server_vm_rss_idle",
            "Server VmRSS, no connection",
            server(&|s| s.rss_idle.vm_rss as f64),
            fmt_kib,
            "hyper http1 \"Hello, World!\" server process, after one warm-up request on a \
             connection since closed; /proc/PID/status",
        ),
        Line::metric(
            "server_vm_rss_loaded",
            format!("Server VmRSS, {c} idle connections"),
            server(&|s| s.rss_loaded.vm_rss as f64),
            fmt_kib,
            format!(
                "{c} keep-alive connections from the bench process, one GET / answered on \
                 each, all left open and idle"
            ),
        ),
        Line::metric(
            "vm_rss_per_connection",
            "VmRSS per idle connection",
            per_conn(|s, with| s.rss(with).vm_rss),
            fmt_bytes,
            format!("(VmRSS with − without) / {c}"),
        ),
        Line::metric(
            "rss_anon_per_connection",
            "RssAnon per idle connection",
            per_conn(|s, with| s.rss(with).rss_anon),
            fmt_bytes,
            format!("(RssAnon with − without) / {c}"),
        ),
        Line::metric(
            "heap_bytes_per_connection",
            "Server heap per idle connection",
            per_conn(|s, with| s.heap(with).bytes),
            fmt_bytes,
            format!(
                "the server's own counting allocator, read once it stops changing: (live \
                 bytes with − without) / {c}"
            ),
        ),
        Line::text(
            "… by allocation (median round)",
            words(&|rt| {
                r.median_server(rt, o.connections).map_or_else(
                    || "—".into(),
                    |s| describe_growth(&s.heap_loaded.growth_since(&s.heap_idle, o.connections)),
                )
            }),
            "live allocations added per connection × their mean size",
        ),
    ]
}

/// The markdown table.
pub(crate) fn table(lines: &[Line]) -> String {
    let mut out = String::from(
        "| Metric | rawrt | Tokio | rawrt/Tokio | Method |\n|---|---:|---:|---:|---|\n",
    );
    for l in lines {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            l.label, l.rawrt, l.tokio, l.ratio, l.method
        ));
    }
    out
}

/// A growth by size class as JSON: `[{"max_size":..,"allocs":..,"bytes":..},...]`.
fn growth_json(growth: &[Growth]) -> Json {
    Json::Arr(
        growth
            .iter()
            .map(|g| {
                Json::obj()
                    .set("max_size", g.max_size)
                    .set("allocs", g.allocs)
                    .set("bytes", g.bytes)
            })
            .collect(),
    )
}

/// Everything, for `target/bench/memory.json`.
pub(crate) fn to_json(o: &Options, r: &Results, lines: &[Line]) -> Json {
    let mut medians = Json::obj();
    let mut numeric: Vec<(&str, f64, f64)> = lines.iter().filter_map(|l| l.values).collect();
    numeric.push((
        "heap_allocs_per_task",
        r.task_median(Rt::Rawrt, |s| s.allocs_per_task),
        r.task_median(Rt::Tokio, |s| s.allocs_per_task),
    ));
    let allocs_per_conn = |rt| {
        r.server_median(rt, |s| {
            s.per_conn(o.connections, |s, with| s.heap(with).allocs)
        })
    };
    numeric.push((
        "heap_allocs_per_connection",
        allocs_per_conn(Rt::Rawrt),
        allocs_per_conn(Rt::Tokio),
    ));
    for (key, rawrt, tokio) in numeric {
        medians = medians.set(
            key,
            Json::obj()
                .set("rawrt", rawrt)
                .set("tokio", tokio)
                .set("ratio", rawrt / tokio),
        );
    }
    let tasks: Vec<Json> = r
        .tasks
        .iter()
        .map(|(round, rt, s)| {
            Json::obj()
                .set("round", round + 1)
                .set("runtime", rt.id())
                .set("bytes_per_task", s.bytes_per_task)
                .set("allocs_per_task", s.allocs_per_task)
                .set("growth_per_task_by_size_class", growth_json(&s.growth))
                .set("bytes_left_after_drop", s.left_after_drop as f64)
        })
        .collect();
    let rss = |x: Rss| {
        Json::obj()
            .set("vm_rss", x.vm_rss)
            .set("rss_anon", x.rss_anon)
    };
    let heap = |h: &Heap| Json::obj().set("bytes", h.bytes).set("allocs", h.allocs);
    let servers: Vec<Json> = r
        .servers
        .iter()
        .map(|(round, rt, s)| {
            let growth = s.heap_loaded.growth_since(&s.heap_idle, o.connections);
            Json::obj()
                .set("round", round + 1)
                .set("runtime", rt.id())
                .set("rss_no_connection", rss(s.rss_idle))
                .set("rss_connections", rss(s.rss_loaded))
                .set("heap_no_connection", heap(&s.heap_idle))
                .set("heap_connections", heap(&s.heap_loaded))
                .set("growth_per_connection_by_size_class", growth_json(&growth))
                .set("server_fds_with_connections", s.fds_loaded)
        })
        .collect();
    let handle_sizes = Json::obj()
        .set("rawrt", std::mem::size_of::<rawrt::task::JoinHandle<()>>())
        .set("tokio", std::mem::size_of::<tokio::task::JoinHandle<()>>());
    Json::obj()
        .set("bench", "memory")
        .set("workers", o.workers)
        .set("tasks", o.tasks)
        .set("connections", o.connections)
        .set("rounds", o.rounds)
        .set(
            "cores",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        )
        .set("join_handle_bytes", handle_sizes)
        .set("medians", medians)
        .set("task_rounds", Json::Arr(tasks))
        .set("server_rounds", Json::Arr(servers))
}
