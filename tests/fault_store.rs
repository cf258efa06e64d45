//! A full disk, a corrupt database and a missing one: each gives a clear out-of-service
//! state and a FAIL line in `sportello doctor`, never a crash loop, and never touches the
//! outbox that is still on disk.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TestHub, fast_intervals, kiosk_config};
use sportello::config::kiosk::KioskConfig;
use sportello::kiosk::core::TicketProblem;
use sportello::kiosk::doctor::{self, Level};
use sportello::kiosk::run::{self, StartError};
use sportello::kiosk::session::TicketRequest;
use sportello::lang::Lang;
use sportello::store::Store;
use uuid::Uuid;

fn request() -> TicketRequest {
    TicketRequest {
        op_id: Uuid::new_v4(),
        service: "naspi".into(),
        priority: false,
        lang: Lang::IT,
        codice_fiscale: None,
        codice_fiscale_from_card: false,
    }
}

fn doctor_store_line(config: &KioskConfig) -> doctor::Check {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let checks = rt.block_on(doctor::run_checks(config, false));
    checks.into_iter().find(|c| c.name == "store").unwrap()
}

fn offline_config(dir: &Path) -> KioskConfig {
    let mut config = KioskConfig {
        data_dir: dir.to_path_buf(),
        ..KioskConfig::default()
    };
    // Nothing listens there: these tests need no hub.
    config.hub.url = "http://127.0.0.1:9".into();
    config
}

#[test]
fn a_corrupt_database_stops_the_kiosk_clearly_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    drop(run::start(config.clone(), fast_intervals()).unwrap());
    let db = dir.path().join("kiosk.sqlite");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..100].fill(0x5a);
    std::fs::write(&db, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("kiosk.sqlite-wal"));

    let err = run::start(config.clone(), fast_intervals())
        .err()
        .expect("refuses to start");
    assert!(matches!(err, StartError::Store(_)), "{err}");
    assert!(err.to_string().contains("kiosk.sqlite"), "{err}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the file is left for recovery"
    );
    let line = doctor_store_line(&config);
    assert_eq!(line.level, Level::Fail, "{line}");
    assert!(line.detail.contains("keep the file"), "{line}");
}

#[test]
fn a_missing_database_after_a_first_run_is_not_silently_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    drop(run::start(config.clone(), fast_intervals()).unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("kiosk.sqlite{suffix}")));
    }
    let err = run::start(config.clone(), fast_intervals())
        .err()
        .expect("refuses to start");
    assert!(
        err.to_string()
            .contains("missing although this kiosk ran before"),
        "{err}"
    );
    assert!(
        !dir.path().join("kiosk.sqlite").exists(),
        "no fresh empty store"
    );
    let line = doctor_store_line(&config);
    assert_eq!(line.level, Level::Fail, "{line}");
    assert!(line.detail.contains("not mounted"), "{line}");
}

const CHILD_DIR: &str = "SPORTELLO_FULL_CHILD_DIR";
const CHILD_URL: &str = "SPORTELLO_FULL_CHILD_URL";
const CHILD_TOKEN: &str = "SPORTELLO_FULL_CHILD_TOKEN";

/// The child: a kiosk whose files may not grow past a limit (like a full partition).
#[test]
fn disk_full_child() {
    let (Ok(dir), Ok(url), Ok(token)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_TOKEN),
    ) else {
        return;
    };
    let mut config = KioskConfig {
        data_dir: dir.clone().into(),
        ..KioskConfig::default()
    };
    config.hub.url = url;
    config.hub.enrollment_token = Some(token);
    config.clock.trust_system = sportello::config::kiosk::SystemClockTrust::Always;
    let kiosk = run::start(config, fast_intervals()).unwrap();
    let store = Store::open(&Path::new(&dir).join("kiosk.sqlite")).unwrap();
    while store.meta("hub_token").unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = std::io::stdout().lock();
    for _ in 0..3 {
        let t = kiosk
            .runtime
            .block_on(kiosk.core.issue_ticket(request()))
            .unwrap();
        writeln!(out, "@OK {}", t.number).unwrap();
    }
    // From here on no file of this process may grow beyond its size plus a little.
    common::fill_disk_after(&Path::new(&dir).join("kiosk.sqlite"));
    for _ in 0..200 {
        match kiosk.runtime.block_on(kiosk.core.issue_ticket(request())) {
            Ok(t) => writeln!(out, "@OK {}", t.number).unwrap(),
            Err(TicketProblem::Store) => {
                assert!(
                    kiosk.core.is_disabled(),
                    "out of service after a store failure"
                );
                assert!(kiosk.core.store_failed());
                // Later tickets are refused at once, with the same reason.
                assert_eq!(
                    kiosk
                        .runtime
                        .block_on(kiosk.core.issue_ticket(request()))
                        .err(),
                    Some(TicketProblem::Disabled)
                );
                writeln!(out, "@FULL").unwrap();
                return;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    panic!("the store never filled up");
}

#[test]
fn a_full_disk_puts_the_kiosk_out_of_service_and_loses_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hub = rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let token = sportello::hub::admin::create_enrollment_token(hub.location()).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "disk_full_child",
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
    assert!(
        output.status.success() && stdout.contains("@FULL"),
        "child: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let handed = stdout.matches("@OK").count();
    assert!(handed >= 3);
    // With room again, the same files open, are sound, and hold every ticket handed over.
    let store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    store.integrity_check().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Rome)
        .date_naive();
    assert_eq!(store.tickets(today).unwrap().len(), handed);
    drop(store);
    // ...and the kiosk works again.
    let mut config = kiosk_config(dir.path(), &hub.url(), &hub.db());
    config.hub.enrollment_token = None;
    let kiosk = run::start(config, fast_intervals()).unwrap();
    let t = kiosk
        .runtime
        .block_on(kiosk.core.issue_ticket(request()))
        .unwrap();
    assert!(t.number.starts_with('N'));
    assert!(!kiosk.core.is_disabled());
}
