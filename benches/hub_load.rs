//! Load bench of the hub: N simulated kiosks issuing tickets against one hub on loopback.
//!
//! `cargo bench --bench hub_load` runs 1, 10 and 50 kiosks with 6000 tickets each level,
//! every ticket a real HTTP request through `HubClient` to a real SQLite file
//! (synchronous=FULL), and prints tickets/s and p50/p99 latency. Under `cargo test` it
//! runs a small smoke round so the bench is known to work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello::config::hub::{HubConfig, TlsMode};
use sportello::hub::{self, admin, clock::SystemClock};
use sportello::protocol::{EnrollRequest, IssueTicketRequest};
use sportello::sync::{HubClient, HubClientConfig};

const SERVICES: [&str; 12] = [
    "naspi",
    "estratto-conto",
    "certificazioni-inps",
    "isee",
    "informazioni-inps",
    "did-patto",
    "collocamento-mirato",
    "offerte-lavoro",
    "certificazioni-cpi",
    "sfl-adi",
    "imprese",
    "appuntamento",
];

struct Round {
    kiosks: usize,
    tickets: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn round(kiosks: usize, total: usize) -> Round {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = HubConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        database: dir.path().join("hub.sqlite"),
        ..HubConfig::default()
    };
    config.tls.mode = TlsMode::Off;
    let running = hub::start(config.clone(), Arc::new(SystemClock))
        .await
        .expect("start hub");
    let mut clients = Vec::new();
    for i in 0..kiosks {
        let token = admin::create_enrollment_token(&config.database).expect("token");
        let mut client = HubClient::new(HubClientConfig::new(running.url.clone())).expect("client");
        let enrolled = client
            .enroll(&EnrollRequest {
                enrollment_token: token,
                name: Some(format!("bench-{i}")),
            })
            .await
            .expect("enroll");
        client.set_token(enrolled.token);
        clients.push(client);
    }
    let per_kiosk = total / kiosks;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (k, client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_kiosk);
            for n in 0..per_kiosk {
                let request = IssueTicketRequest {
                    op_id: uuid::Uuid::new_v4(),
                    service: SERVICES[(k + n) % SERVICES.len()].to_string(),
                    priority: n % 10 == 0,
                    lang: "it".into(),
                    appointment: None,
                    codice_fiscale: None,
                    offline_number: None,
                    issued_at: chrono::Utc::now().fixed_offset(),
                };
                let t = Instant::now();
                client.issue_ticket(&request).await.expect("issue");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("kiosk task"));
    }
    let elapsed = started.elapsed();
    running.shutdown().await;
    latencies.sort();
    Round {
        kiosks,
        tickets: per_kiosk * kiosks,
        elapsed,
        latencies,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (levels, total): (&[usize], usize) = if full {
        (&[1, 10, 50], 6000)
    } else {
        (&[1, 5], 50)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("hub_load: tickets issued through HubClient over loopback HTTP, SQLite FULL");
    println!(
        "{:>7} {:>8} {:>9} {:>11} {:>9} {:>9}",
        "kiosks", "tickets", "seconds", "tickets/s", "p50 ms", "p99 ms"
    );
    for &kiosks in levels {
        let r = runtime.block_on(round(kiosks, total));
        println!(
            "{:>7} {:>8} {:>9.2} {:>11.0} {:>9.2} {:>9.2}",
            r.kiosks,
            r.tickets,
            r.elapsed.as_secs_f64(),
            r.tickets as f64 / r.elapsed.as_secs_f64(),
            percentile(&r.latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&r.latencies, 0.99).as_secs_f64() * 1000.0,
        );
    }
}
