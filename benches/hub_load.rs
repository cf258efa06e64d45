//! Load bench of the hub beside a bare durable ticket server, in one run.
//!
//! `cargo bench --bench hub_load` runs 1, 10, 50 and 200 kiosks. Each kiosk is one
//! keep-alive HTTP/1.1 connection sending `POST /api/v1/tickets` back to back (a minimal
//! client written here, so the load generator costs the same for every server). Three
//! servers, each on loopback with a fresh SQLite file (WAL, `synchronous=FULL`, the
//! hub's pragmas):
//!
//! - **bare**: parses the same JSON body, checks the op_id, bumps a per-service counter,
//!   inserts the ticket and its stored answer in one transaction, answers JSON. The least
//!   a durable ticket costs here.
//! - **bare+gc**: the same with group commit (requests waiting while a commit runs share
//!   the next transaction and its one fsync).
//! - **hub**: the real hub, kiosks enrolled with tokens.
//!
//! Every figure of the hub is also printed as a ratio to bare+gc. Every answer must be
//! 201: a refusal (e.g. a service out of numbers) stops the bench with the answer, so no
//! level measures refusals silently; the ticket column says how many each level issued.
//! Under `cargo test` it runs a small round of each so the bench is known to work.
//! `HUB_LOAD_LEVELS=50` runs only the levels named, `HUB_LOAD_HUB_ONLY=1` only the hub
//! (e.g. under a profiler). `HUB_LOAD_POSTGRES=URL` compares the hub on SQLite with the
//! hub on PostgreSQL, one process and two (scripts/bench-region starts a server).

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension, params};
use sportello::config::hub::{Database, HubConfig, TlsMode};
use sportello::hub::store::Location;
use sportello::hub::{self, admin, clock::SystemClock};
use sportello::protocol::{EnrollRequest, IssueTicketRequest};
use sportello::sqlite::{self, Durability};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Services with walk-in tickets in the built-in catalogue; tickets spread evenly so
/// no service comes near its 999 numbers of the day.
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

// ---------------------------------------------------------------------------------
// The load generator: one keep-alive connection per kiosk.

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Connection1 {
    stream: BufStream<TcpStream>,
    host: String,
    line: String,
}

impl Connection1 {
    async fn open(addr: &str) -> Connection1 {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection1 {
            stream: BufStream::new(stream),
            host: addr.to_string(),
            line: String::new(),
        }
    }

    /// Sends a request and reads the answer: (status, body).
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes()).await.expect("send");
        self.stream.write_all(body).await.expect("send");
        self.stream.flush().await.expect("send");
        let mut status = 0;
        let mut length = 0;
        let mut first = true;
        loop {
            self.line.clear();
            let n = self.stream.read_line(&mut self.line).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if first {
                status = line
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("status line");
                first = false;
            } else if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("content-length");
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.expect("body");
        (status, body)
    }
}

/// A ticket request body for kiosk `k`'s `n`-th ticket.
fn ticket_body(k: usize, n: usize) -> Vec<u8> {
    serde_json::to_vec(&IssueTicketRequest {
        op_id: uuid::Uuid::new_v4(),
        service: SERVICES[(k + n) % SERVICES.len()].to_string(),
        priority: n.is_multiple_of(10),
        lang: "it".into(),
        appointment: None,
        codice_fiscale: None,
        codice_fiscale_from_card: false,
        offline_number: None,
        issued_at: chrono::Utc::now().fixed_offset(),
    })
    .expect("body")
}

/// One level's figures.
struct Measured {
    tickets: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Commits (one WAL fsync each) per ticket, when the server reports them.
    commits_per_ticket: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// `kiosks` connections issue `total` tickets between them, back to back.
async fn drive(addr: &str, tokens: &[Option<String>], total: usize) -> (Duration, Vec<Duration>) {
    drive_spread(&[addr.to_string()], tokens, total).await
}

/// [`drive`] with kiosk `k` on server `addrs[k % addrs.len()]` (several hub processes).
async fn drive_spread(
    addrs: &[String],
    tokens: &[Option<String>],
    total: usize,
) -> (Duration, Vec<Duration>) {
    let per_kiosk = total / tokens.len();
    let mut connections = Vec::new();
    for k in 0..tokens.len() {
        connections.push(Connection1::open(&addrs[k % addrs.len()]).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (k, (mut conn, token)) in connections.into_iter().zip(tokens.to_vec()).enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_kiosk);
            for n in 0..per_kiosk {
                let body = ticket_body(k, n);
                let t = Instant::now();
                let (status, answer) = conn
                    .request("POST", "/api/v1/tickets", token.as_deref(), &body)
                    .await;
                latencies.push(t.elapsed());
                assert_eq!(
                    status,
                    201,
                    "kiosk {k} ticket {n} was refused: {}",
                    String::from_utf8_lossy(&answer)
                );
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("kiosk task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (elapsed, latencies)
}

fn measured(
    elapsed: Duration,
    latencies: &[Duration],
    commits_per_ticket: Option<f64>,
) -> Measured {
    Measured {
        tickets: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(latencies, 0.50).as_secs_f64() * 1000.0,
        p99_ms: percentile(latencies, 0.99).as_secs_f64() * 1000.0,
        commits_per_ticket,
    }
}

// ---------------------------------------------------------------------------------
// The bare durable ticket server.

const BARE_SCHEMA: &str = "
    CREATE TABLE counters (service TEXT PRIMARY KEY, next INTEGER NOT NULL);
    CREATE TABLE tickets (id TEXT PRIMARY KEY, service TEXT NOT NULL, seq INTEGER NOT NULL,
        number TEXT NOT NULL, op_id TEXT NOT NULL, UNIQUE (service, seq));
    CREATE TABLE ops (op_id TEXT PRIMARY KEY, response TEXT NOT NULL);";

/// The least a durable ticket needs: replay check, counter, ticket, stored answer.
fn bare_apply(conn: &Connection, req: &IssueTicketRequest) -> rusqlite::Result<(u16, String)> {
    let op_id = req.op_id.to_string();
    let stored: Option<String> = conn
        .query_row("SELECT response FROM ops WHERE op_id = ?1", [&op_id], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(response) = stored {
        return Ok((200, response));
    }
    let seq: i64 = conn.query_row(
        "INSERT INTO counters (service, next) VALUES (?1, 1)
         ON CONFLICT (service) DO UPDATE SET next = next + 1 RETURNING next",
        [&req.service],
        |r| r.get(0),
    )?;
    let id = uuid::Uuid::new_v4().to_string();
    let prefix = req
        .service
        .chars()
        .next()
        .unwrap_or('X')
        .to_ascii_uppercase();
    let number = format!("{prefix}{seq:03}");
    let response = serde_json::json!({
        "ticket_id": id, "number": number, "service": req.service,
    })
    .to_string();
    conn.execute(
        "INSERT INTO tickets (id, service, seq, number, op_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, req.service, seq, number, op_id],
    )?;
    conn.execute(
        "INSERT INTO ops (op_id, response) VALUES (?1, ?2)",
        params![op_id, response],
    )?;
    Ok((201, response))
}

type Answer = (u16, String);

/// Commits made by the bare servers (one WAL fsync each).
static BARE_COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_commit() {
    BARE_COMMITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
type BareJob = (IssueTicketRequest, oneshot::Sender<Answer>);

#[derive(Clone)]
enum BareWriter {
    /// One transaction and one fsync per request.
    Each(Arc<std::sync::Mutex<Connection>>),
    /// A writer thread that applies what has queued up in one transaction.
    Group(std_mpsc::Sender<BareJob>),
}

fn failed(e: impl std::fmt::Display) -> Answer {
    (500, format!("{{\"error\":\"{e}\"}}"))
}

fn bare_one(conn: &Connection, req: &IssueTicketRequest) -> Answer {
    let run = || -> rusqlite::Result<Answer> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        match bare_apply(conn, req) {
            Ok(answer) => {
                conn.execute_batch("COMMIT")?;
                count_commit();
                Ok(answer)
            }
            Err(e) => {
                conn.execute_batch("ROLLBACK")?;
                Err(e)
            }
        }
    };
    run().unwrap_or_else(failed)
}

/// The group-commit writer: take one job, then everything queued behind it.
fn bare_group_writer(conn: Connection, jobs: std_mpsc::Receiver<BareJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < 512
            && let Ok(job) = jobs.try_recv()
        {
            batch.push(job);
        }
        let mut answers = Vec::with_capacity(batch.len());
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        for (req, _) in &batch {
            let answer = begun
                .as_ref()
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    conn.execute_batch("SAVEPOINT op")
                        .map_err(|e| e.to_string())?;
                    match bare_apply(&conn, req) {
                        Ok(answer) => {
                            conn.execute_batch("RELEASE op")
                                .map_err(|e| e.to_string())?;
                            Ok(answer)
                        }
                        Err(e) => {
                            conn.execute_batch("ROLLBACK TO op; RELEASE op")
                                .map_err(|e| e.to_string())?;
                            Err(e.to_string())
                        }
                    }
                })
                .unwrap_or_else(failed);
            answers.push(answer);
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => count_commit(),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                answers = batch.iter().map(|_| failed(&e)).collect();
            }
        }
        for ((_, reply), answer) in batch.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
    }
}

async fn bare_ticket(
    State(writer): State<BareWriter>,
    Json(req): Json<IssueTicketRequest>,
) -> (StatusCode, String) {
    let (status, body) = match writer {
        BareWriter::Each(conn) => tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            bare_one(&conn, &req)
        })
        .await
        .unwrap_or_else(failed),
        BareWriter::Group(jobs) => {
            let (reply, answer) = oneshot::channel();
            let _ = jobs.send((req, reply));
            answer.await.unwrap_or_else(failed)
        }
    };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
}

/// Starts a bare server; returns its address and its task.
async fn start_bare(dir: &std::path::Path, group: bool) -> (String, tokio::task::JoinHandle<()>) {
    let conn = sqlite::open(&dir.join("bare.sqlite"), Durability::Full, &[BARE_SCHEMA])
        .expect("bare database");
    let writer = if group {
        let (jobs, queue) = std_mpsc::channel();
        std::thread::spawn(move || bare_group_writer(conn, queue));
        BareWriter::Group(jobs)
    } else {
        BareWriter::Each(Arc::new(std::sync::Mutex::new(conn)))
    };
    let app = Router::new()
        .route("/api/v1/tickets", post(bare_ticket))
        .with_state(writer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

async fn bare_round(kiosks: usize, total: usize, group: bool) -> Measured {
    let dir = tempfile::tempdir().expect("temp dir");
    let (addr, task) = start_bare(dir.path(), group).await;
    let tokens = vec![None; kiosks];
    let before = BARE_COMMITS.load(std::sync::atomic::Ordering::Relaxed);
    let (elapsed, latencies) = drive(&addr, &tokens, total).await;
    let commits = BARE_COMMITS.load(std::sync::atomic::Ordering::Relaxed) - before;
    task.abort();
    let conn = Connection::open(dir.path().join("bare.sqlite")).expect("open");
    let tickets: i64 = conn
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .expect("count");
    assert_eq!(
        tickets as usize,
        latencies.len(),
        "every answered ticket is stored"
    );
    measured(
        elapsed,
        &latencies,
        Some(commits as f64 / latencies.len() as f64),
    )
}

// ---------------------------------------------------------------------------------
// The hub.

/// The hub's `sportello_db_commits_total`, if it reports one.
async fn hub_commits(addr: &str) -> Option<f64> {
    let mut conn = Connection1::open(addr).await;
    let (_, body) = conn.request("GET", "/metrics", None, b"").await;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("sportello_db_group_commits_total "))
        .and_then(|v| v.trim().parse().ok())
}

/// Which database the hub of a round runs on.
#[derive(Clone)]
enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL (no database in it), with
    /// this many hubs on it (in this process, each with its own connections, as separate
    /// processes would have).
    Postgres(String, usize),
}

async fn hub_round(kiosks: usize, total: usize) -> Measured {
    hub_round_on(kiosks, total, Backend::Sqlite).await
}

async fn hub_round_on(kiosks: usize, total: usize, backend: Backend) -> Measured {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database, data_dir, hubs) = match &backend {
        Backend::Sqlite => (Database::sqlite(dir.path().join("hub.sqlite")), None, 1),
        Backend::Postgres(server, hubs) => {
            let server = server.trim_end_matches('/').to_string();
            let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let admin_url = format!("{server}/postgres");
            let create = format!("CREATE DATABASE {name}");
            tokio::task::spawn_blocking(move || {
                postgres::Client::connect(&admin_url, postgres::NoTls)
                    .and_then(|mut c| c.batch_execute(&create))
                    .expect("create the bench database (HUB_LOAD_POSTGRES)")
            })
            .await
            .expect("create task");
            (
                Database::Postgres(format!("{server}/{name}")),
                Some(dir.path().join("data")),
                *hubs,
            )
        }
    };
    let mut config = HubConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        database,
        data_dir,
        ..HubConfig::default()
    };
    config.tls.mode = TlsMode::Off;
    // Each bench kiosk sends back to back, far above what a kiosk can print.
    config.queue.kiosk_tickets_per_minute = 0;
    let mut running = Vec::new();
    for _ in 0..hubs {
        running.push(
            hub::start(config.clone(), Arc::new(SystemClock))
                .await
                .expect("start hub"),
        );
    }
    let addrs: Vec<String> = running
        .iter()
        .map(|r| r.url.trim_start_matches("http://").to_string())
        .collect();
    let location = Location::of(&config);
    let mut tokens = Vec::new();
    let mut conn = Connection1::open(&addrs[0]).await;
    for i in 0..kiosks {
        let at = location.clone();
        let token = tokio::task::spawn_blocking(move || admin::create_enrollment_token(&at))
            .await
            .expect("token task")
            .expect("token");
        let body = serde_json::to_vec(&EnrollRequest {
            enrollment_token: token,
            name: Some(format!("bench-{i}")),
            previous: None,
        })
        .expect("body");
        let (status, answer) = conn
            .request("POST", "/api/v1/kiosks/enroll", None, &body)
            .await;
        assert_eq!(status, 201, "enroll: {}", String::from_utf8_lossy(&answer));
        let answer: serde_json::Value = serde_json::from_slice(&answer).expect("enroll body");
        tokens.push(answer["token"].as_str().map(str::to_string));
    }
    let commits = |addrs: Vec<String>| async move {
        let mut sum = 0.0;
        for addr in addrs {
            sum += hub_commits(&addr).await?;
        }
        Some(sum)
    };
    let before = commits(addrs.clone()).await;
    let (elapsed, latencies) = drive_spread(&addrs, &tokens, total).await;
    let after = commits(addrs.clone()).await;
    for hub in running {
        hub.shutdown().await;
    }
    let commits = before
        .zip(after)
        .map(|(b, a)| (a - b) / latencies.len() as f64);
    measured(elapsed, &latencies, commits)
}

/// `HUB_LOAD_POSTGRES=postgres://user@host:port`: the hub on SQLite, then on a database
/// of that server with one hub and with two, at each level (scripts/bench-region).
fn region_table(runtime: &tokio::runtime::Runtime, server: &str, levels: &[usize], total: usize) {
    println!("hub_load on PostgreSQL ({server}): the hub alone, one database per round");
    println!(
        "{:>6} {:>7} | {:>18} {:>6} | {:>18} {:>6} | {:>18} {:>6} | {:>6} {:>6}",
        "kiosks",
        "tickets",
        "sqlite t/s p50 p99",
        "c/t",
        "pg x1 t/s p50 p99",
        "c/t",
        "pg x2 t/s p50 p99",
        "c/t",
        "x1/sq",
        "x2/x1"
    );
    let cell = |m: &Measured| format!("{:>6.0} {:>5.2} {:>5.1}", m.per_second, m.p50_ms, m.p99_ms);
    let commits = |m: &Measured| {
        m.commits_per_ticket
            .map_or("-".to_string(), |c| format!("{c:.3}"))
    };
    for &kiosks in levels {
        let sqlite = runtime.block_on(hub_round_on(kiosks, total, Backend::Sqlite));
        let one = runtime.block_on(hub_round_on(
            kiosks,
            total,
            Backend::Postgres(server.to_string(), 1),
        ));
        let two = runtime.block_on(hub_round_on(
            kiosks,
            total,
            Backend::Postgres(server.to_string(), 2),
        ));
        println!(
            "{:>6} {:>7} | {} {:>6} | {} {:>6} | {} {:>6} | {:>6.2} {:>6.2}",
            kiosks,
            one.tickets,
            cell(&sqlite),
            commits(&sqlite),
            cell(&one),
            commits(&one),
            cell(&two),
            commits(&two),
            one.per_second / sqlite.per_second,
            two.per_second / one.per_second,
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // 9000 tickets a level: 750 per service, well under 999.
    let (mut levels, total): (Vec<usize>, usize) = if full {
        (vec![1, 10, 50, 200], 9000)
    } else {
        (vec![1, 5], 60)
    };
    // HUB_LOAD_LEVELS=50,200 runs only those levels (profiling one level).
    if let Ok(only) = std::env::var("HUB_LOAD_LEVELS") {
        levels = only
            .split(',')
            .filter_map(|l| l.trim().parse().ok())
            .collect();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(server) = std::env::var("HUB_LOAD_POSTGRES") {
        region_table(&runtime, &server, &levels, total);
        return;
    }
    println!(
        "hub_load: POST /api/v1/tickets over keep-alive loopback HTTP/1.1, SQLite WAL synchronous=FULL"
    );
    println!(
        "{:>6} {:>7} | {:>18} | {:>18} {:>6} | {:>18} {:>6} | {:>6} {:>6}",
        "kiosks",
        "tickets",
        "bare t/s p50 p99",
        "bare+gc t/s p50 p99",
        "fs/t",
        "hub t/s p50 p99",
        "fs/t",
        "hub/b",
        "hub/gc"
    );
    // HUB_LOAD_HUB_ONLY=1 leaves the bare servers out (a profile of the hub alone).
    let hub_only = std::env::var_os("HUB_LOAD_HUB_ONLY").is_some();
    for &kiosks in &levels {
        if hub_only {
            let hub = runtime.block_on(hub_round(kiosks, total));
            println!(
                "{kiosks:>6} {:>7} | hub {:.0} t/s, p50 {:.2} ms, p99 {:.1} ms",
                hub.tickets, hub.per_second, hub.p50_ms, hub.p99_ms
            );
            continue;
        }
        let bare = runtime.block_on(bare_round(kiosks, total, false));
        let group = runtime.block_on(bare_round(kiosks, total, true));
        let hub = runtime.block_on(hub_round(kiosks, total));
        let cell =
            |m: &Measured| format!("{:>6.0} {:>5.2} {:>5.1}", m.per_second, m.p50_ms, m.p99_ms);
        let fsyncs = |m: &Measured| {
            m.commits_per_ticket
                .map_or("-".to_string(), |c| format!("{c:.3}"))
        };
        println!(
            "{:>6} {:>7} | {} | {} {:>6} | {} {:>6} | {:>6.2} {:>6.2}",
            kiosks,
            hub.tickets,
            cell(&bare),
            cell(&group),
            fsyncs(&group),
            cell(&hub),
            fsyncs(&hub),
            hub.per_second / bare.per_second,
            hub.per_second / group.per_second,
        );
        assert_eq!(bare.tickets, hub.tickets);
    }
}
