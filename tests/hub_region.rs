//! A region: two hub processes (`sportello hub`) on one PostgreSQL database, kiosks
//! spread over both, as behind a load balancer (issue 19).
//!
//! - Online numbers stay unique and gapless per service however the kiosks are spread.
//! - One hub SIGKILLed mid-load: its kiosks send their unanswered op to the other hub,
//!   which applies it exactly once; nothing acknowledged is lost.
//! - The database restarted mid-load: both hubs answer 503 while it is down, connect
//!   again by themselves, and the kiosks' retried ops drain, each applied once.
//!
//! Each kiosk stands in for its outbox: it retries an op until it gets an answer, and
//! counts the answers it got.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{PostgresServer, blocking, start_hub_process, ticket};
use sportello::hub::admin;
use sportello::hub::store::Location;
use sportello::protocol::{EnrollRequest, IssueTicketRequest, TicketResponse};
use sportello::sync::{ClientError, HubClient, HubClientConfig};
use uuid::Uuid;

const KIOSKS: usize = 8;
const SERVICES: [&str; 4] = ["naspi", "isee", "did-patto", "offerte-lavoro"];

/// A database on a throwaway server and a hub.toml naming it; `None` when PostgreSQL is
/// not installed (the test is then skipped, unless scripts/test requires it).
struct Region {
    server: PostgresServer,
    url: String,
    config: PathBuf,
    location: Location,
    _dir: tempfile::TempDir,
}

impl Region {
    fn new(name: &str) -> Option<Region> {
        let server = PostgresServer::start()?;
        let url = server.database(name);
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = write_config(dir.path(), &url, &data);
        let location = Location {
            database: sportello::config::hub::Database::Postgres(url.clone()),
            files: data,
        };
        Some(Region {
            server,
            url,
            config,
            location,
            _dir: dir,
        })
    }

    fn hub(&self) -> Hub {
        let (child, url) = start_hub_process(&self.config);
        Hub { child, url }
    }

    /// Enrols `n` kiosks (through the first hub) and returns their tokens.
    async fn enrol(&self, hub: &Hub, n: usize) -> Vec<String> {
        let mut tokens = Vec::new();
        for i in 0..n {
            let enrollment_token =
                blocking(|| admin::create_enrollment_token(&self.location)).unwrap();
            let enrolled = HubClient::new(HubClientConfig::new(hub.url.clone()))
                .unwrap()
                .enroll(&EnrollRequest {
                    enrollment_token,
                    name: Some(format!("region-{i}")),
                    previous: None,
                })
                .await
                .unwrap();
            tokens.push(enrolled.token);
        }
        tokens
    }

    /// Every answered ticket is in the database with its number, each op applied once,
    /// and the online numbers of each service are 1..n.
    fn check(&self, answered: &HashMap<Uuid, TicketResponse>) {
        blocking(|| self.check_now(answered));
    }

    fn check_now(&self, answered: &HashMap<Uuid, TicketResponse>) {
        let mut db = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        for (op_id, answer) in answered {
            let rows = db
                .query(
                    "SELECT id, number FROM tickets WHERE op_id = $1",
                    &[&op_id.to_string()],
                )
                .unwrap();
            assert_eq!(rows.len(), 1, "op {op_id} ({}) applied once", answer.number);
            let (id, number): (String, String) = (rows[0].get(0), rows[0].get(1));
            assert_eq!(id, answer.ticket_id.to_string());
            assert_eq!(number, answer.number);
        }
        let mut by_service: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for row in db
            .query(
                "SELECT number_service, seq FROM tickets WHERE offline = 0 ORDER BY seq",
                &[],
            )
            .unwrap()
        {
            by_service.entry(row.get(0)).or_default().push(row.get(1));
        }
        let total: usize = by_service.values().map(Vec::len).sum();
        assert_eq!(
            total,
            answered.len(),
            "no ticket the kiosks were not told of"
        );
        for (service, seqs) in by_service {
            let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
            assert_eq!(seqs, expected, "{service}: a gap or a repeat");
        }
    }
}

/// A hub.toml in `dir` for the database at `url`, its files in `data`.
fn write_config(dir: &std::path::Path, url: &str, data: &std::path::Path) -> PathBuf {
    let config = dir.join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{url}\"\ndata_dir = \"{}\"\n\
             [tls]\nmode = \"off\"\n[queue]\nkiosk_tickets_per_minute = 0\n",
            data.display()
        ),
    )
    .unwrap();
    config
}

struct Hub {
    child: Child,
    url: String,
}

impl Hub {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

fn client(url: &str, token: &str) -> HubClient {
    let mut client = HubClient::new(HubClientConfig::new(url.to_string())).unwrap();
    client.set_token(token.to_string());
    client
}

/// What the kiosks were told, and how many 503s they met.
#[derive(Default)]
struct Seen {
    answered: HashMap<Uuid, TicketResponse>,
    unavailable: usize,
}

/// Kiosk `k` issues `count` tickets through `urls` (its hub first; the next one when
/// its hub stops answering, as a load balancer would send it), retrying each op until
/// it is answered, as the outbox does. Gives up on an op after `patience`.
async fn kiosk_load(
    k: usize,
    token: String,
    urls: Vec<String>,
    count: usize,
    patience: Duration,
    seen: Arc<Mutex<Seen>>,
) {
    let clients: Vec<HubClient> = urls.iter().map(|u| client(u, &token)).collect();
    let mut via = 0;
    for n in 0..count {
        let request: IssueTicketRequest = ticket(SERVICES[(k + n) % SERVICES.len()]);
        let deadline = Instant::now() + patience;
        loop {
            match clients[via].issue_ticket(&request).await {
                Ok(issued) => {
                    let mut seen = seen.lock().unwrap();
                    let before = seen.answered.insert(request.op_id, issued.ticket.clone());
                    if let Some(before) = before {
                        assert_eq!(before, issued.ticket, "a replay answers the same");
                    }
                    break;
                }
                Err(err) if err.retry_later() && Instant::now() < deadline => {
                    match err {
                        ClientError::Server { status: 503, .. } => {
                            seen.lock().unwrap().unavailable += 1;
                        }
                        ClientError::Server { status, message } => {
                            panic!("kiosk {k}: the hub failed ({status}): {message}")
                        }
                        // No answer at all: this hub is gone, try the next.
                        _ => via = (via + 1) % clients.len(),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("kiosk {k}: op {} refused: {err:?}", request.op_id),
            }
        }
    }
}

/// Starts `KIOSKS` kiosks' load, each issuing `count` tickets: even kiosks through hub
/// `a`, odd ones through `b`; with `failover` each goes on through the other hub when its
/// own stops answering.
fn spread_load(
    tokens: Vec<String>,
    (a, b): (&Hub, &Hub),
    count: usize,
    patience: Duration,
    failover: bool,
    seen: &Arc<Mutex<Seen>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    tokens
        .into_iter()
        .enumerate()
        .map(|(k, token)| {
            let (mine, other) = if k % 2 == 0 { (a, b) } else { (b, a) };
            let mut urls = vec![mine.url.clone()];
            if failover {
                urls.push(other.url.clone());
            }
            tokio::spawn(kiosk_load(k, token, urls, count, patience, seen.clone()))
        })
        .collect()
}

/// Waits until `n` tickets were answered (the load is under way), 20 s at most.
async fn until_answered(seen: &Mutex<Seen>, n: usize) {
    let started = Instant::now();
    while seen.lock().unwrap().answered.len() < n && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hub_processes_on_one_database_number_gaplessly() {
    let Some(region) = blocking(|| Region::new("two_hubs")) else {
        return;
    };
    let (a, b) = (region.hub(), region.hub());
    let tokens = region.enrol(&a, KIOSKS).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = spread_load(tokens, (&a, &b), 40, Duration::from_secs(10), false, &seen);
    for task in tasks {
        task.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.answered.len(), KIOSKS * 40);
    region.check(&seen.answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_killed_mid_load_loses_nothing_and_the_other_takes_over() {
    let Some(region) = blocking(|| Region::new("killed_hub")) else {
        return;
    };
    let (mut a, b) = (region.hub(), region.hub());
    let tokens = region.enrol(&a, KIOSKS).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = spread_load(tokens, (&a, &b), 60, Duration::from_secs(20), true, &seen);
    // Kill A (SIGKILL) once it is busy.
    until_answered(&seen, 100).await;
    a.kill();
    let at_kill = seen.lock().unwrap().answered.len();
    for task in tasks {
        task.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(
        at_kill < KIOSKS * 60,
        "hub A was killed before the load ended ({at_kill} answered)"
    );
    assert_eq!(seen.answered.len(), KIOSKS * 60, "every op answered once");
    region.check(&seen.answered);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_restarted_mid_load_the_hubs_recover_and_the_kiosks_drain() {
    let Some(region) = blocking(|| Region::new("restarted_db")) else {
        return;
    };
    let (a, b) = (region.hub(), region.hub());
    let tokens = region.enrol(&a, KIOSKS).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = spread_load(tokens, (&a, &b), 50, Duration::from_secs(30), false, &seen);
    until_answered(&seen, 80).await;
    let server = &region.server;
    tokio::task::block_in_place(|| {
        server.kill();
        std::thread::sleep(Duration::from_secs(2));
        server.restart();
    });
    for task in tasks {
        task.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(
        seen.unavailable > 0,
        "the kiosks met 503 database_unavailable while the database was down"
    );
    assert_eq!(seen.answered.len(), KIOSKS * 50, "every op answered once");
    region.check(&seen.answered);
}

#[test]
fn hub_migrate_brings_a_new_database_to_the_schema_and_never_prints_the_password() {
    let Some(server) = PostgresServer::start() else {
        return;
    };
    // The test server trusts loopback and ignores the password; a real one checks it.
    let url = server
        .database("migrate")
        .replacen("sportello@", "sportello:s3cret-pw@", 1);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &url, &dir.path().join("data"));
    let expected = sportello::hub::pg_schema::MIGRATIONS.len();
    for _ in 0..2 {
        let out = common::sportello_command()
            .args(["hub", "--config"])
            .arg(&config)
            .arg("migrate")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("schema version {expected}")),
            "{stdout}"
        );
        assert!(stdout.contains("sportello:***@"), "{stdout}");
        assert!(!format!("{stdout}{stderr}").contains("s3cret-pw"));
    }
}

/// Reads `stream` (a board's `/display/events`) until a `call` event for `number` comes,
/// or `within` passes; whether it came.
async fn board_hears(stream: &mut reqwest::Response, number: &str, within: Duration) -> bool {
    let until = tokio::time::Instant::now() + within;
    let mut text = String::new();
    loop {
        match tokio::time::timeout_at(until, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                text.push_str(&String::from_utf8_lossy(&chunk));
                let heard = text.split("\n\n").any(|event| {
                    event.contains("event: call") && event.contains(&format!("\"{number}\""))
                });
                if heard {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_made_through_one_hub_reaches_boards_on_the_other() {
    let Some(region) = blocking(|| Region::new("boards")) else {
        return;
    };
    let (a, b) = (region.hub(), region.hub());
    let tokens = region.enrol(&a, 1).await;
    blocking(|| admin::add_operator(&region.location, "anna", "password123")).unwrap();
    // A board on each hub.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut boards = Vec::new();
    for hub in [&a, &b] {
        let stream = http
            .get(format!("{}/display/events", hub.url))
            .send()
            .await
            .unwrap();
        assert!(stream.status().is_success());
        boards.push(stream);
    }
    // The ticket is issued through B, the clerk calls it through A.
    let issued = client(&b.url, &tokens[0])
        .issue_ticket(&ticket("naspi"))
        .await
        .unwrap()
        .ticket;
    let clerk = common::Clerk::new(&a.url);
    clerk.login("anna", "password123").await.unwrap();
    clerk.setup("Sportello 1", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap(), Some(issued.number.clone()));
    for (board, hub) in boards.iter_mut().zip(["A", "B"]) {
        assert!(
            board_hears(board, &issued.number, Duration::from_secs(5)).await,
            "the board on hub {hub} did not show the call of {}",
            issued.number
        );
    }
}

/// A hub on PostgreSQL in this process stops cleanly: its connections close off the
/// async threads (closing one blocks, which tokio turns into a panic on a worker thread;
/// the region bench's shutdowns panicked so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_on_postgres_stops_without_a_panic() {
    let Some(region) = blocking(|| Region::new("stops")) else {
        return;
    };
    let panics = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        previous(info);
    }));
    let mut config = sportello::config::hub::HubConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: region.location.database.clone(),
        data_dir: Some(region.location.files.clone()),
        ..Default::default()
    };
    config.tls.mode = sportello::config::hub::TlsMode::Off;
    let hub = sportello::hub::start(config, Arc::new(sportello::hub::clock::SystemClock))
        .await
        .unwrap();
    let health = reqwest::get(format!("{}/healthz", hub.url)).await.unwrap();
    assert!(health.status().is_success());
    hub.shutdown().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        panics.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "panics while the hub stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_through_one_hub_make_the_name_wait_on_the_other() {
    let Some(region) = blocking(|| Region::new("guesses")) else {
        return;
    };
    let (a, b) = (region.hub(), region.hub());
    blocking(|| admin::add_operator(&region.location, "anna", "password123")).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let login = |hub: &Hub, password: &str| {
        http.post(format!("{}/counter/api/login", hub.url))
            .json(&serde_json::json!({ "name": "anna", "password": password }))
            .send()
    };
    for _ in 0..sportello::hub::throttle::FREE_FAILURES {
        assert_eq!(login(&a, "guess").await.unwrap().status().as_u16(), 401);
    }
    // Through the other process, even with the right password: the name waits.
    let refused = login(&b, "password123").await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_disabled_through_one_hub_is_refused_at_once_by_the_other() {
    let Some(region) = blocking(|| Region::new("disabled")) else {
        return;
    };
    let (a, b) = (region.hub(), region.hub());
    let tokens = region.enrol(&a, 1).await;
    blocking(|| admin::add_operator(&region.location, "anna", "password123")).unwrap();
    // B has looked the kiosk's token up (and keeps it for a few seconds).
    let kiosk = client(&b.url, &tokens[0]);
    kiosk.queues().await.unwrap();
    let clerk = common::Clerk::new(&a.url);
    clerk.login("anna", "password123").await.unwrap();
    let fleet = clerk.get("/fleet/api/kiosks").await.unwrap();
    let id = fleet[0]["kiosk_id"].as_str().unwrap().to_string();
    clerk
        .post(
            &format!("/fleet/api/kiosks/{id}/disabled"),
            serde_json::json!({ "disabled": true }),
        )
        .await
        .unwrap();
    match kiosk.issue_ticket(&ticket("naspi")).await {
        Err(ClientError::Disabled { .. }) => {}
        other => panic!("hub B still served the disabled kiosk: {other:?}"),
    }
}
