//! `sportello kiosk` as systemd runs it on a kiosk board: headless (no display here), with
//! a notification socket and a watchdog, against a real hub on loopback.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestHub;
use sportello::hub::admin;

/// A fake systemd: the notification socket a `Type=notify` service writes to.
struct FakeSystemd {
    _dir: tempfile::TempDir,
    socket: UnixDatagram,
    path: String,
}

impl FakeSystemd {
    fn new() -> FakeSystemd {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify").to_str().unwrap().to_string();
        let socket = UnixDatagram::bind(&path).unwrap();
        FakeSystemd {
            _dir: dir,
            socket,
            path,
        }
    }

    /// The next message, waiting up to `within`.
    fn next(&self, within: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(within)).unwrap();
        let mut buf = [0u8; 1024];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Starts `sportello kiosk ARGS` as systemd would, with a watchdog of `watchdog`.
    fn start_kiosk(&self, args: &[&str], watchdog: Duration) -> Child {
        Command::new(env!("CARGO_BIN_EXE_sportello"))
            .arg("kiosk")
            .args(args)
            .env("NOTIFY_SOCKET", &self.path)
            .env("WATCHDOG_USEC", watchdog.as_micros().to_string())
            // systemd connects stderr to the journal and says so.
            .env("JOURNAL_STREAM", "8:12345")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sportello kiosk")
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < until, "the kiosk did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn last_heartbeat(db: &Path, name: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(db).ok()?;
    conn.query_row(
        "SELECT last_heartbeat FROM kiosks WHERE name = ?1",
        [name],
        |r| r.get::<_, Option<String>>(0),
    )
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_kiosk_under_systemd_is_ready_keeps_alive_and_reaches_the_hub() {
    let hub = TestHub::start().await;
    let token = admin::create_enrollment_token(hub.location()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "kiosk_id = \"headless-01\"\ndata_dir = \"{}\"\n[hub]\nurl = \"{}\"\nenrollment_token = \"{token}\"\n[display]\nheadless = true\n",
            dir.path().join("data").display(),
            hub.url()
        ),
    )
    .unwrap();
    let systemd = FakeSystemd::new();
    let db = hub.db();
    let (mut child, messages) = tokio::task::spawn_blocking(move || {
        let child = systemd.start_kiosk(
            &["--config", config.to_str().unwrap()],
            Duration::from_secs(2),
        );
        let mut messages = Vec::new();
        // READY first, then keep-alives every second (half the watchdog interval).
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match systemd.next(Duration::from_secs(5)) {
                Some(m) => {
                    messages.push(m);
                    let keepalives = messages.iter().filter(|m| *m == "WATCHDOG=1").count();
                    if keepalives >= 3 && last_heartbeat(&db, "headless-01").is_some() {
                        break;
                    }
                }
                None => break,
            }
        }
        (child, (messages, systemd))
    })
    .await
    .unwrap();
    let (messages, systemd) = messages;
    assert!(
        messages
            .first()
            .is_some_and(|m| m.starts_with("READY=1\nSTATUS=headless-01: running headless")),
        "{messages:?}"
    );
    assert!(
        messages.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3,
        "keep-alives every second: {messages:?}"
    );
    assert!(
        last_heartbeat(&hub.db(), "headless-01").is_some(),
        "the headless kiosk enrolled and sent its heartbeat"
    );
    // The store holds the kiosk's own token, not the enrollment token.
    let store = rusqlite::Connection::open(dir.path().join("data/kiosk.sqlite")).unwrap();
    let stored: String = store
        .query_row("SELECT value FROM meta WHERE key = 'hub_token'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!stored.is_empty() && stored != token);

    terminate(&child);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "SIGTERM stops it cleanly: {status:?}");
    // Journal lines: no colour codes, no timestamp of our own (the journal adds one).
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("kiosk ready"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in the journal: {log:?}"
    );
    assert!(
        log.lines().all(|l| !l.starts_with("20")),
        "timestamps in the journal: {log}"
    );
    let rest: Vec<String> =
        std::iter::from_fn(|| systemd.next(Duration::from_millis(500))).collect();
    assert!(rest.iter().any(|m| m == "STOPPING=1"), "{rest:?}");
}

#[test]
fn an_unusable_config_under_systemd_stays_up_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[printer]\nbaud = 9601\n").unwrap();
    let systemd = FakeSystemd::new();
    let mut child = systemd.start_kiosk(
        &["--headless", "--config", config.to_str().unwrap()],
        Duration::from_secs(2),
    );
    let ready = systemd.next(Duration::from_secs(10)).expect("READY=1");
    assert!(
        ready.starts_with("READY=1\nSTATUS=out of service: "),
        "{ready}"
    );
    assert!(ready.contains("printer.baud"), "names the key: {ready}");
    // It stays up and keeps the watchdog fed instead of exiting into a restart loop.
    assert_eq!(
        systemd.next(Duration::from_secs(5)).as_deref(),
        Some("WATCHDOG=1")
    );
    assert!(child.try_wait().unwrap().is_none(), "still running");
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn an_unusable_config_from_a_terminal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[display]\nrotation = 45\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["kiosk", "--headless", "--config", config.to_str().unwrap()])
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kiosk.toml") && err.contains("display.rotation"),
        "{err}"
    );
}
