//! The sync worker seen through its port: a fake kiosk (a real store file, a real hub on
//! loopback, a list of what the worker reported) is all it needs. A store that cannot be
//! written is reported and backed off, never retried in a loop, and loses nothing.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{TestHub, fast_intervals, ticket, today_in_rome};
use sportello::protocol::PrinterState;
use sportello::store::{NewOp, OpKind, Store};
use sportello::sync::HubClient;
use sportello::sync::port::{Enrollment, Health, Kiosk, News, Office};
use sportello::sync::worker::{self, LinkState};
use tokio::sync::Notify;

/// A kiosk reduced to what the worker may see; it writes down every piece of news.
struct FakeKiosk {
    store: Mutex<Store>,
    hub: HubClient,
    news: Mutex<Vec<String>>,
    wake: Notify,
}

impl FakeKiosk {
    fn new(store: Store, hub: HubClient) -> FakeKiosk {
        FakeKiosk {
            store: Mutex::new(store),
            hub,
            news: Mutex::new(Vec::new()),
            wake: Notify::new(),
        }
    }

    fn news(&self) -> Vec<String> {
        self.news
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Kiosk for FakeKiosk {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hub(&self) -> HubClient {
        self.hub.clone()
    }

    fn enrollment(&self) -> Enrollment {
        Enrollment::Done
    }

    async fn health(&self) -> Health {
        Health {
            printer: PrinterState::Ok,
            detail: None,
        }
    }

    fn office(&self) -> Office {
        Office {
            today: Some(today_in_rome()),
            services: vec!["naspi".into()],
        }
    }

    fn catalogue_etag(&self) -> Option<String> {
        None
    }

    async fn refresh_queues(&self) {}

    fn update(&self) -> Option<sportello::protocol::UpdateReport> {
        None
    }

    fn report(&self, news: News) {
        let line = match news {
            News::Link { online, disabled } => {
                format!("link online={online} disabled={disabled:?}")
            }
            News::StoreFailed(err) => format!("store failed: {err}"),
            other => format!("{other:?}").chars().take(40).collect(),
        };
        self.news
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn wake(&self) -> &Notify {
        &self.wake
    }
}

fn op(service: &str) -> NewOp {
    let request = ticket(service);
    let mut op = NewOp::new(OpKind::IssueTicket, serde_json::to_value(&request).unwrap());
    op.op_id = request.op_id;
    op
}

#[test]
fn the_worker_sends_acknowledges_and_settles_through_the_port() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hub = rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let client = rt.block_on(hub.kiosk("fake"));
    let kiosk = FakeKiosk::new(Store::open(&dir.path().join("k.sqlite")).unwrap(), client);
    let good = op("naspi");
    let refused = op("no_such_service");
    {
        let mut store = kiosk.store();
        store.enqueue(&good, Utc::now()).unwrap();
        store.enqueue(&refused, Utc::now()).unwrap();
    }
    let mut link = LinkState::default();
    let next = rt.block_on(worker::drain(&kiosk, &mut link, &fast_intervals()));
    assert_eq!(next, None, "nothing left to send");
    let store = kiosk.store();
    let acked = store.operation(good.op_id).unwrap().unwrap();
    assert!(acked.acked_at.is_some() && acked.response.is_some());
    let settled = store.operation(refused.op_id).unwrap().unwrap();
    assert!(
        settled
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("unknown_service")),
        "{settled:?}"
    );
    assert_eq!(store.outbox_stats().unwrap().pending, 0);
    // Served: online and not disabled. Refused for another reason: online, and nothing
    // said about being disabled, so the kiosk keeps what it knew.
    assert_eq!(
        kiosk.news(),
        [
            "link online=true disabled=Some(false)",
            "link online=true disabled=None"
        ]
    );
}

const CHILD_DIR: &str = "SPORTELLO_WORKER_FULL_DIR";
const CHILD_URL: &str = "SPORTELLO_WORKER_FULL_URL";
const CHILD_TOKEN: &str = "SPORTELLO_WORKER_FULL_TOKEN";

/// The child: a worker whose store fills the disk (`RLIMIT_FSIZE`, like a full
/// partition) while an operation the hub refuses for good is at the head of the outbox.
#[test]
fn full_disk_worker_child() {
    let (Ok(dir), Ok(url), Ok(token)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_TOKEN),
    ) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = HubClient::new(sportello::sync::HubClientConfig::new(url)).unwrap();
    client.set_token(token);
    let path = Path::new(&dir).join("k.sqlite");
    let kiosk = FakeKiosk::new(Store::open(&path).unwrap(), client);
    let refused = op("no_such_service");
    kiosk.store().enqueue(&refused, Utc::now()).unwrap();
    common::fill_disk_after(&path);
    // Fill the disk: operations until the store refuses one.
    let filler = serde_json::json!({ "filler": "x".repeat(2000) });
    let mut full = false;
    for _ in 0..500 {
        if kiosk
            .store()
            .enqueue(&NewOp::new(OpKind::IssueTicket, filler.clone()), Utc::now())
            .is_err()
        {
            full = true;
            break;
        }
    }
    assert!(full, "the store never filled up");
    let intervals = fast_intervals();
    let started = Instant::now();
    let mut link = LinkState::default();
    let next = rt
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                worker::drain(&kiosk, &mut link, &intervals),
            )
            .await
        })
        .expect("drain returns instead of retrying the same operation in a loop");
    let waited = next
        .expect("a retry time")
        .saturating_duration_since(started);
    let news = kiosk.news();
    let mut out = std::io::stdout().lock();
    writeln!(out, "@NEWS {news:?}").unwrap();
    assert!(
        news.iter().any(|n| n.starts_with("store failed")),
        "the failure is reported: {news:?}"
    );
    assert!(
        waited >= intervals.max_backoff.mul_f64(0.9),
        "backs off before the next try: {waited:?}"
    );
    writeln!(out, "@BACKED_OFF {}", refused.op_id).unwrap();
}

#[test]
fn a_full_disk_is_reported_and_backed_off_and_the_operation_kept() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hub = rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let token = rt.block_on(async {
        let enrolled = hub
            .client()
            .enroll(&sportello::protocol::EnrollRequest {
                enrollment_token: sportello::hub::admin::create_enrollment_token(hub.location())
                    .unwrap(),
                name: Some("full".into()),
                previous: None,
            })
            .await
            .unwrap();
        enrolled.token
    });
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "full_disk_worker_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_URL, hub.url())
        .env(CHILD_TOKEN, &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(op_id) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("@BACKED_OFF "))
        .and_then(|id| uuid::Uuid::parse_str(id.trim()).ok())
    else {
        panic!(
            "child: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    assert!(output.status.success());
    // With room again the file is sound and the refused operation is still there,
    // unsettled: it was neither lost nor marked done while the disk was full.
    let store = Store::open(&dir.path().join("k.sqlite")).unwrap();
    store.integrity_check().unwrap();
    let head = store.first_pending().unwrap().unwrap();
    assert_eq!(head.op_id, op_id);
    assert_eq!(head.acked_at, None);
}
