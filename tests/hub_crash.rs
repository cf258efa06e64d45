//! A SIGKILL of the hub while groups of tickets are being committed loses no ticket it
//! acknowledged, and numbers stay unique and gapless.
//!
//! The hub runs as its own process (`sportello hub`); sixteen kiosks issue tickets as fast
//! as the hub answers, so a group commit is almost always in flight, and the hub is
//! killed with SIGKILL at a random moment, four times. After each kill: every answered
//! ticket is in the file with the answered number, id and stored body; the ops that
//! were in flight are sent again to the restarted hub and are applied exactly once;
//! online numbers per service are 1..n with no gap and no repeat.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start_hub_process as start_hub, ticket};
use rand::Rng;
use sportello::hub::admin;
use sportello::protocol::{EnrollRequest, IssueTicketRequest, TicketResponse};
use sportello::sync::{HubClient, HubClientConfig};

const KIOSKS: usize = 16;
/// Every walk-in service of the built-in catalogue: tickets spread over all of them so no
/// service comes near its 999 numbers of the day however fast the hub answers.
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

/// What the kiosks saw: answered tickets by op_id, and ops sent without an answer.
#[derive(Default)]
struct Seen {
    answered: HashMap<uuid::Uuid, TicketResponse>,
    in_flight: Vec<(usize, IssueTicketRequest)>,
}

fn client(url: &str, token: &str) -> HubClient {
    let mut client = HubClient::new(HubClientConfig::new(url.to_string())).expect("client");
    client.set_token(token.to_string());
    client
}

/// Every kiosk issues tickets until its request fails (the hub was killed).
async fn load(url: &str, tokens: &[String], seen: &Arc<Mutex<Seen>>) {
    let mut tasks = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let client = client(url, token);
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let request = ticket(SERVICES[(k + n) % SERVICES.len()]);
                match client.issue_ticket(&request).await {
                    Ok(issued) => {
                        assert!(!issued.replayed, "a new op_id is never a replay");
                        seen.lock()
                            .unwrap()
                            .answered
                            .insert(request.op_id, issued.ticket);
                    }
                    Err(_) => {
                        seen.lock().unwrap().in_flight.push((k, request));
                        return;
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Sends `request` until the hub answers, retrying what the kiosk's outbox retries (no
/// answer, 5xx: the restarted hub may still be busy); any refusal fails the test.
async fn send_as_the_outbox_does(
    kiosk: &HubClient,
    request: &IssueTicketRequest,
) -> sportello::sync::Issued {
    let mut tries = 0;
    loop {
        match kiosk.issue_ticket(request).await {
            Ok(issued) => return issued,
            Err(err) if err.retry_later() && tries < 20 => {
                eprintln!("op {} after the restart, retrying: {err:?}", request.op_id);
                tries += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => panic!("op {} after the restart: {err:?}", request.op_id),
        }
    }
}

/// The hub's file agrees with every answer, and numbers are gapless per service.
fn check_file(db: &Path, answered: &HashMap<uuid::Uuid, TicketResponse>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    for (op_id, answer) in answered {
        let (id, number, stored): (String, String, String) = conn
            .query_row(
                "SELECT t.id, t.number, o.response FROM tickets t JOIN ops o ON o.op_id = t.op_id
                 WHERE t.op_id = ?1",
                [op_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap_or_else(|e| panic!("acknowledged op {op_id} ({}) lost: {e}", answer.number));
        assert_eq!(id, answer.ticket_id.to_string());
        assert_eq!(number, answer.number);
        let stored: TicketResponse = serde_json::from_str(&stored).unwrap();
        assert_eq!(&stored, answer, "the stored answer is the one given");
    }
    let mut by_service: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT number_service, seq FROM tickets ORDER BY seq")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (service, seq) = row.unwrap();
        by_service.entry(service).or_default().push(seq);
    }
    for (service, seqs) in by_service {
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "{service}: a gap or a repeat");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_group_commits_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            // The kiosks send back to back, above a real kiosk's online ticket limit.
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n[tls]\nmode = \"off\"\n\
             [queue]\nkiosk_tickets_per_minute = 0\n",
            db.display()
        ),
    )
    .unwrap();
    let (mut hub, url) = start_hub(&config);
    let mut tokens = Vec::new();
    for i in 0..KIOSKS {
        let enrollment_token = admin::create_enrollment_token(&db).unwrap();
        let enrolling = HubClient::new(HubClientConfig::new(url.clone())).unwrap();
        let enrolled = enrolling
            .enroll(&EnrollRequest {
                enrollment_token,
                name: Some(format!("crash-{i}")),
                previous: None,
            })
            .await
            .unwrap();
        tokens.push(enrolled.token);
    }
    let mut url = url;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut rng = rand::rng();
    for round in 0..4 {
        let killer = {
            let pid = hub.id();
            let wait = Duration::from_millis(rng.random_range(200..600));
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                // SIGKILL: no shutdown, no flush, no destructor runs.
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            })
        };
        load(&url, &tokens, &seen).await;
        killer.join().unwrap();
        let _ = hub.wait();
        let answered = seen.lock().unwrap().answered.clone();
        assert!(
            answered.len() > 20 * (round + 1),
            "round {round}: too few tickets to mean anything ({})",
            answered.len()
        );
        eprintln!("round {round}: {} tickets answered so far", answered.len());
        check_file(&db, &answered);

        // The restarted hub applies each op that was in flight exactly once: a replay
        // if it was committed before the kill, a new ticket otherwise; sent once more,
        // it is a replay with the same body.
        (hub, url) = start_hub(&config);
        let in_flight = std::mem::take(&mut seen.lock().unwrap().in_flight);
        assert_eq!(
            in_flight.len(),
            KIOSKS,
            "each kiosk stops at its first failure"
        );
        for (k, request) in in_flight {
            let kiosk = client(&url, &tokens[k]);
            let first = send_as_the_outbox_does(&kiosk, &request).await;
            let again = send_as_the_outbox_does(&kiosk, &request).await;
            assert!(again.replayed);
            assert_eq!(again.ticket, first.ticket);
            seen.lock()
                .unwrap()
                .answered
                .insert(request.op_id, first.ticket);
        }
        check_file(&db, &seen.lock().unwrap().answered);
    }
    let _ = hub.kill();
    let _ = hub.wait();
}
