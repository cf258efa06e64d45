//! Durable outbox enqueue: latency per operation (p50/p99), synchronous=FULL (what the
//! kiosk uses) against NORMAL, on a real SQLite file in the system temp directory.
//!
//! `cargo bench --bench outbox` ; `OUTBOX_BENCH_OPS` sets the number of operations.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use sportello::store::{Durability, NewOp, OpKind, Store};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn run(durability: Durability, ops: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_with(&dir.path().join("bench.sqlite"), durability).expect("open");
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let op = NewOp::new(
            OpKind::IssueTicket,
            json!({ "service": "naspi", "priority": false, "lang": "it", "i": i }),
        )
        .with_personal(json!({ "codice_fiscale": "RSSMRA45C12F205C" }));
        let started = Instant::now();
        store.enqueue(&op, Utc::now()).expect("enqueue");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run briefly.
    let full_run = std::env::args().any(|a| a == "--bench");
    let ops: usize = std::env::var("OUTBOX_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full_run { 2000 } else { 20 });
    println!("outbox enqueue, {ops} operations each");
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>10}",
        "sync", "p50", "p90", "p99", "max"
    );
    let mut p50s = Vec::new();
    for (name, durability) in [("FULL", Durability::Full), ("NORMAL", Durability::Normal)] {
        let times = run(durability, ops);
        let p50 = percentile(&times, 0.50);
        p50s.push(p50);
        println!(
            "{name:<8} {:>10.3?} {:>10.3?} {:>10.3?} {:>10.3?}",
            p50,
            percentile(&times, 0.90),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
    println!(
        "FULL/NORMAL p50 ratio: {:.1}",
        p50s[0].as_secs_f64() / p50s[1].as_secs_f64().max(1e-9)
    );
}
