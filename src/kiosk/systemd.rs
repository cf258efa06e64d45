//! Telling systemd how the kiosk is doing: readiness, status and watchdog keep-alives.
//!
//! The image runs the kiosk as a `Type=notify` unit with `WatchdogSec=`. The kiosk sends
//! `READY=1` once it is up (the window is on screen, or the headless core runs), a
//! one-line `STATUS=` that `systemctl status` shows, and `WATCHDOG=1` at half the
//! watchdog interval. Keep-alives come from the loop that must never hang (the Slint
//! event loop, or the headless main loop) and only while the tokio runtime that runs
//! the core still answers: a hung UI or a wedged runtime stops them, and systemd kills
//! and restarts the kiosk. Outside systemd (`NOTIFY_SOCKET` unset) nothing is sent.
//!
//! The protocol is one datagram per message on the `AF_UNIX` socket named by
//! `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace): see sd_notify(3).

use std::cell::Cell;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether this process was started by systemd with a notification socket, i.e. as a
/// `Type=notify` service.
pub fn under_systemd() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty())
}

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// The socket named by `NOTIFY_SOCKET`, or `None` when it is unset or unusable (the
    /// reason is logged).
    pub fn from_env() -> Option<Notifier> {
        let name = std::env::var("NOTIFY_SOCKET").ok()?;
        match Notifier::new(&name) {
            Ok(notifier) => Some(notifier),
            Err(err) => {
                tracing::warn!(%err, socket = %name, "cannot use systemd's notification socket");
                None
            }
        }
    }

    /// A notifier for the socket `name`: a filesystem path, or `@name` for the abstract
    /// namespace.
    pub fn new(name: &str) -> io::Result<Notifier> {
        let address = if let Some(abstract_name) = name.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abstract_name.as_bytes())?
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name)?
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{name}` is neither an absolute path nor an @abstract name"),
            ));
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            address,
        })
    }

    /// Sends `state`, newline-separated `KEY=value` assignments, as one datagram.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(state.as_bytes(), &self.address)?;
        if sent == state.len() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification was truncated",
            ))
        }
    }
}

/// The watchdog interval systemd expects keep-alives within, from `WATCHDOG_USEC` (and
/// `WATCHDOG_PID`, which must be this process when set).
pub fn watchdog_interval() -> Option<Duration> {
    parse_watchdog(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// `WATCHDOG_USEC` (and `WATCHDOG_PID`) as the interval, if they apply to `own_pid`.
fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Proof that the tokio runtime still runs tasks: a task on it records the time every
/// few hundred milliseconds; [`Liveness::age`] says how long ago it last did.
#[derive(Debug, Clone)]
pub struct Liveness {
    origin: Instant,
    last_beat_ms: Arc<AtomicU64>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::new()
    }
}

impl Liveness {
    /// A liveness record that beat just now.
    pub fn new() -> Liveness {
        Liveness {
            origin: Instant::now(),
            last_beat_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records a beat now.
    pub fn beat(&self) {
        let ms = self.origin.elapsed().as_millis();
        self.last_beat_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Time since the last beat.
    pub fn age(&self) -> Duration {
        let last = Duration::from_millis(self.last_beat_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// Spawns the beating task on `runtime`, beating every `every`.
    pub fn spawn_beats(&self, runtime: &tokio::runtime::Handle, every: Duration) {
        let liveness = self.clone();
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                liveness.beat();
            }
        });
    }
}

/// The kiosk as a systemd service: what it tells systemd, and when a keep-alive is due.
#[derive(Debug)]
pub struct Service {
    notifier: Option<Notifier>,
    watchdog: Option<Duration>,
    liveness: Option<Liveness>,
    stalled: Cell<bool>,
}

impl Service {
    /// The service as systemd started it (`NOTIFY_SOCKET`, `WATCHDOG_USEC`); without
    /// them every method does nothing.
    pub fn from_env() -> Service {
        let notifier = Notifier::from_env();
        let watchdog = notifier.as_ref().and(watchdog_interval());
        Service::new(notifier, watchdog)
    }

    /// A service sending to `notifier`, expected to send keep-alives within `watchdog`.
    pub fn new(notifier: Option<Notifier>, watchdog: Option<Duration>) -> Service {
        Service {
            notifier,
            watchdog,
            liveness: None,
            stalled: Cell::new(false),
        }
    }

    /// Makes keep-alives depend on `runtime` running tasks: a task there beats four
    /// times per watchdog interval, and no keep-alive is sent once the last beat is older
    /// than the interval.
    pub fn watch_runtime(mut self, runtime: &tokio::runtime::Handle) -> Service {
        if let Some(watchdog) = self.watchdog {
            let liveness = Liveness::new();
            liveness.spawn_beats(runtime, watchdog / 4);
            self.liveness = Some(liveness);
        }
        self
    }

    /// Makes keep-alives depend on `liveness` (beaten by the caller).
    pub fn watch(mut self, liveness: Liveness) -> Service {
        self.liveness = Some(liveness);
        self
    }

    /// How often to call [`Service::keepalive`]: half the watchdog interval, or `None`
    /// when systemd set no watchdog.
    pub fn keepalive_period(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    fn send(&self, state: &str) -> bool {
        let Some(notifier) = &self.notifier else {
            return false;
        };
        match notifier.notify(state) {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, "cannot notify systemd");
                false
            }
        }
    }

    /// `READY=1` with a status line: the kiosk is up.
    pub fn ready(&self, status: &str) -> bool {
        tracing::info!(status, "kiosk ready");
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// A new status line for `systemctl status`.
    pub fn status(&self, status: &str) -> bool {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// `STOPPING=1`: the kiosk is shutting down on request.
    pub fn stopping(&self) -> bool {
        self.send("STOPPING=1")
    }

    /// Sends `WATCHDOG=1` if a watchdog is set and the watched runtime beat within the
    /// interval; returns whether it was sent. A stalled runtime is logged once.
    pub fn keepalive(&self) -> bool {
        let Some(watchdog) = self.watchdog else {
            return false;
        };
        if let Some(liveness) = &self.liveness {
            let age = liveness.age();
            if age > watchdog {
                if !self.stalled.replace(true) {
                    tracing::error!(
                        stalled_ms = age.as_millis() as u64,
                        "the kiosk's runtime stopped answering: no more watchdog keep-alives"
                    );
                }
                return false;
            }
            if self.stalled.replace(false) {
                tracing::warn!("the kiosk's runtime answers again");
            }
        }
        self.send("WATCHDOG=1")
    }
}

/// Status lines are one line: systemd reads up to the newline.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// Timers on the Slint event loop that report readiness and send keep-alives; dropping
/// it stops them.
pub struct EventLoopSupervisor {
    _ready: slint::Timer,
    _keepalive: Option<slint::Timer>,
}

/// Starts reporting from the Slint event loop (call on the UI thread, before running
/// it): `READY=1` with `status` as soon as the loop runs (the window is shown), then a
/// keep-alive every half watchdog interval for as long as the loop keeps turning.
pub fn supervise_event_loop(service: Service, status: String) -> EventLoopSupervisor {
    let service = Rc::new(service);
    let ready = slint::Timer::default();
    let on_ready = service.clone();
    ready.start(slint::TimerMode::SingleShot, Duration::ZERO, move || {
        on_ready.ready(&status);
        on_ready.keepalive();
    });
    let keepalive = service.keepalive_period().map(|period| {
        let timer = slint::Timer::default();
        let service = service.clone();
        timer.start(slint::TimerMode::Repeated, period, move || {
            service.keepalive();
        });
        timer
    });
    EventLoopSupervisor {
        _ready: ready,
        _keepalive: keepalive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake systemd: a datagram socket in a temporary directory.
    fn fake_systemd() -> (tempfile::TempDir, UnixDatagram, Notifier) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier::new(path.to_str().unwrap()).unwrap();
        (dir, socket, notifier)
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn nothing_pending(socket: &UnixDatagram) -> bool {
        socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        let empty = socket.recv(&mut buf).is_err();
        socket.set_nonblocking(false).unwrap();
        empty
    }

    #[test]
    fn watchdog_variables() {
        assert_eq!(
            parse_watchdog(Some("20000000"), None, 7),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            parse_watchdog(Some("20000000"), Some("7"), 7),
            Some(Duration::from_secs(20))
        );
        // Meant for another process (inherited by a child): not ours to feed.
        assert_eq!(parse_watchdog(Some("20000000"), Some("8"), 7), None);
        assert_eq!(parse_watchdog(None, None, 7), None);
        assert_eq!(parse_watchdog(Some("0"), None, 7), None);
        assert_eq!(parse_watchdog(Some("soon"), None, 7), None);
    }

    #[test]
    fn socket_names() {
        assert!(Notifier::new("relative/path").is_err());
        assert!(Notifier::new("@sportello-test").is_ok());
    }

    #[test]
    fn ready_status_and_keepalive_reach_the_socket() {
        let (_dir, socket, notifier) = fake_systemd();
        let service = Service::new(Some(notifier), Some(Duration::from_secs(20)));
        assert_eq!(service.keepalive_period(), Some(Duration::from_secs(10)));
        assert!(service.ready("running\nsecond line"));
        assert_eq!(receive(&socket), "READY=1\nSTATUS=running second line");
        assert!(service.keepalive());
        assert_eq!(receive(&socket), "WATCHDOG=1");
        assert!(service.stopping());
        assert_eq!(receive(&socket), "STOPPING=1");
    }

    #[test]
    fn without_systemd_nothing_is_sent() {
        let service = Service::new(None, None);
        assert!(!service.ready("running"));
        assert!(!service.keepalive());
        assert_eq!(service.keepalive_period(), None);
        // A socket but no watchdog: readiness only.
        let (_dir, socket, notifier) = fake_systemd();
        let service = Service::new(Some(notifier), None);
        assert!(!service.keepalive());
        assert!(nothing_pending(&socket));
    }

    #[test]
    fn a_stalled_runtime_gets_no_keepalive() {
        let (_dir, socket, notifier) = fake_systemd();
        let watchdog = Duration::from_millis(400);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let service = Service::new(Some(notifier), Some(watchdog)).watch_runtime(runtime.handle());
        std::thread::sleep(Duration::from_millis(300));
        assert!(service.keepalive(), "a running runtime is alive");
        assert_eq!(receive(&socket), "WATCHDOG=1");
        // Wedge the only worker thread, as a deadlocked task would.
        runtime.spawn(async { std::thread::sleep(Duration::from_millis(1500)) });
        std::thread::sleep(Duration::from_millis(900));
        assert!(
            !service.keepalive(),
            "a wedged runtime must not be kept alive"
        );
        assert!(nothing_pending(&socket));
        // Once the worker is free again the beats resume, and so do keep-alives.
        std::thread::sleep(Duration::from_millis(1200));
        assert!(service.keepalive());
        assert_eq!(receive(&socket), "WATCHDOG=1");
    }

    #[test]
    fn liveness_ages_without_beats() {
        let liveness = Liveness::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(liveness.age() >= Duration::from_millis(30));
        liveness.beat();
        assert!(liveness.age() < Duration::from_millis(30));
    }

    #[test]
    fn the_event_loop_reports_ready_then_keeps_alive_while_it_turns() {
        i_slint_backend_testing::init_no_event_loop();
        let (_dir, socket, notifier) = fake_systemd();
        let liveness = Liveness::new();
        let service =
            Service::new(Some(notifier), Some(Duration::from_secs(10))).watch(liveness.clone());
        let supervisor = supervise_event_loop(service, "issuing tickets".into());
        assert!(nothing_pending(&socket), "nothing before the loop runs");
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1));
        assert_eq!(receive(&socket), "READY=1\nSTATUS=issuing tickets");
        assert_eq!(receive(&socket), "WATCHDOG=1");
        liveness.beat();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(5));
        assert_eq!(receive(&socket), "WATCHDOG=1");
        // A loop that does not turn sends nothing: that is how systemd notices a hang.
        assert!(nothing_pending(&socket));
        drop(supervisor);
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(20));
        assert!(nothing_pending(&socket), "stopped with the supervisor");
    }
}
