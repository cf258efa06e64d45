//! A crash between any two statements loses nothing: a child process writes to the
//! outbox in a loop (enqueue, acknowledge, purge) and is killed with SIGKILL at random
//! moments; after each kill the file is reopened and checked against what the child
//! reported as committed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use sportello::store::{NewOp, OpKind, Store};
use uuid::Uuid;

const CHILD_ENV: &str = "SPORTELLO_CRASH_CHILD_DB";

/// The child's loop. Runs only when the parent re-executes this test binary with
/// `CHILD_ENV` set; otherwise returns at once.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(Path::new(&path)).expect("child opens store");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let op = NewOp::new(OpKind::IssueTicket, json!({ "service": "naspi", "i": i }))
            .with_personal(json!({ "codice_fiscale": "RSSMRA45C12F205C" }));
        store.enqueue(&op, Utc::now()).expect("enqueue");
        writeln!(out, "@E {}", op.op_id).unwrap();
        out.flush().unwrap();
        if i % 3 == 0
            && let Some(first) = store.first_pending().expect("pending")
        {
            store
                .acknowledge(first.op_id, &json!({ "number": i }), Utc::now())
                .expect("ack");
            writeln!(out, "@A {}", first.op_id).unwrap();
            out.flush().unwrap();
        }
        if i % 10 == 0 {
            // Announce before purging: after this line any acknowledged op may vanish.
            writeln!(out, "@P").unwrap();
            out.flush().unwrap();
            store
                .purge_acknowledged(Utc::now() + chrono::Duration::seconds(1))
                .expect("purge");
        }
    }
}

#[derive(Default)]
struct Reported {
    /// Op ids in the order the child committed them.
    enqueued: Vec<Uuid>,
    acked: HashSet<Uuid>,
    /// How many enqueued ops had been reported when the latest purge was announced.
    before_last_purge: usize,
}

fn run_child_until_killed(db: &Path, run_for: Duration, reported: &mut Reported) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(run_for);
        // SIGKILL: no destructor, no flush, no chance to finish the statement.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // libtest prints "test crash_child ... " without a newline before the test
        // runs, so the child's first report shares its line: look for the marker.
        let Some((_, report)) = line.rsplit_once('@') else {
            continue;
        };
        match report.split_once(' ') {
            Some(("E", id)) => reported.enqueued.push(id.parse().unwrap()),
            Some(("A", id)) => {
                reported.acked.insert(id.parse().unwrap());
            }
            _ if report == "P" => reported.before_last_purge = reported.enqueued.len(),
            _ => {}
        }
    }
    killer.join().unwrap();
    let _ = child.wait();
}

/// Checks the reopened file against the child's reports. The child acknowledges the
/// oldest pending op each time, so acknowledged ops always form a prefix of the commit
/// order and purges can only remove a prefix. At most one op per kill may be in the
/// file unreported (committed, then killed before the child could print its line).
fn check(db: &Path, reported: &Reported, rounds: usize) {
    let store = Store::open(db).expect("store reopens after SIGKILL");
    store.integrity_check().expect("integrity_check ok");
    let mut gone = 0;
    for (index, id) in reported.enqueued.iter().enumerate() {
        match store.operation(*id).unwrap() {
            Some(op) => {
                if reported.acked.contains(id) {
                    assert!(op.acked_at.is_some(), "acknowledged op {id} lost its ack");
                }
                match op.acked_at {
                    Some(_) => assert_eq!(op.personal, None, "acked op {id} kept personal data"),
                    None => assert!(op.personal.is_some(), "pending op {id} lost its data"),
                }
            }
            None => {
                assert_eq!(
                    index, gone,
                    "op {id} vanished out of order: only a prefix of acknowledged ops may be purged"
                );
                assert!(
                    index < reported.before_last_purge,
                    "op {id} vanished with no purge after it"
                );
                gone += 1;
            }
        }
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let in_file: Vec<String> = conn
        .prepare("SELECT op_id FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let known: HashSet<String> = reported.enqueued.iter().map(Uuid::to_string).collect();
    let unreported = in_file.iter().filter(|id| !known.contains(*id)).count();

    assert!(
        unreported <= rounds,
        "{unreported} ops in the file were never reported, after {rounds} kills"
    );
}

#[test]
fn sigkill_at_random_points_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.sqlite");
    let mut reported = Reported::default();
    let started = Instant::now();
    // Different kill delays land in different statements of the loop.
    let delays_ms = [120, 37, 260, 75, 190, 53, 310, 96, 150, 230];
    for (round, delay) in delays_ms.iter().enumerate() {
        run_child_until_killed(&db, Duration::from_millis(*delay), &mut reported);
        check(&db, &reported, round + 1);
        eprintln!(
            "round {round}: killed after {delay} ms, {} ops reported so far",
            reported.enqueued.len()
        );
    }
    assert!(
        reported.enqueued.len() > 20,
        "the child should have committed a fair number of ops ({}), took {:?}",
        reported.enqueued.len(),
        started.elapsed()
    );
    let unique: HashSet<&Uuid> = reported.enqueued.iter().collect();
    assert_eq!(
        unique.len(),
        reported.enqueued.len(),
        "an op id was reported twice"
    );
}

#[test]
fn purged_personal_data_is_gone_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.sqlite");
    let secret = "RSSMRA45C12F205C";
    let mut store = Store::open(&db).unwrap();
    let ops: Vec<NewOp> = (0..20)
        .map(|i| {
            NewOp::new(OpKind::IssueTicket, json!({ "i": i }))
                .with_personal(json!({ "codice_fiscale": secret }))
        })
        .collect();
    for op in &ops {
        store.enqueue(op, Utc::now()).unwrap();
    }
    let contains_secret = |path: &Path| {
        std::fs::read(path)
            .map(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()))
            .unwrap_or(false)
    };
    store.checkpoint().unwrap();
    assert!(
        contains_secret(&db),
        "sanity: pending personal data is on disk"
    );
    for op in &ops {
        store.acknowledge(op.op_id, &json!({}), Utc::now()).unwrap();
    }
    store
        .purge_acknowledged(Utc::now() + chrono::Duration::seconds(1))
        .unwrap();
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("kiosk.sqlite{suffix}"));
        assert!(
            !contains_secret(&path),
            "{} still holds the codice fiscale",
            path.display()
        );
    }
}
