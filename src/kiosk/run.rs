//! Putting a kiosk together: store, printer, board, hub client, core, sync worker, UI.
//!
//! `sportello kiosk` and `sportello demo` both start here; tests start the same parts
//! without the window. The tokio runtime runs on its own threads; the Slint event loop
//! owns the main thread (invariant 6).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slint::ComponentHandle;

use super::controller::{Controller, UiSettings};
use super::core::KioskCore;
use super::printing::PrinterPort;
use crate::board::sim::{SimBoard, SimHandle};
use crate::board::{self, Board};
use crate::config::kiosk::{BoardKind, KioskConfig, VIRTUAL_PORT};
use crate::kiosk::scanner::LineScans;
use crate::printer::emulator::Emulator;
use crate::printer::profile::Profile;
use crate::store::Store;
use crate::sync::client::{HubClient, HubClientConfig};
use crate::sync::worker::{self, Intervals};
use crate::ui::{Kiosk as UiKiosk, KioskWindow, Page};

/// Why the kiosk could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or the store is unusable (disk full, corrupt file...).
    #[error("local store: {0}")]
    Store(String),
    /// Printer profile, port or emulator.
    #[error("printer: {0}")]
    Printer(String),
    /// The GPIO board.
    #[error("board: {0}")]
    Board(String),
    /// The hub link settings.
    #[error("hub: {0}")]
    Hub(String),
    /// The async runtime.
    #[error("runtime: {0}")]
    Runtime(String),
}

/// A kiosk's running parts, without its window.
pub struct RunningKiosk {
    /// The core the UI talks to.
    pub core: Arc<KioskCore>,
    /// The runtime that runs the core's I/O and the sync worker.
    pub runtime: tokio::runtime::Runtime,
    /// The virtual printer, when `printer.port = "virtual"`.
    pub emulator: Option<Emulator>,
    /// Sensors of the simulated board, when `board.kind = "sim"`.
    pub sim_board: Option<SimHandle>,
    /// Where the virtual printer saves receipts.
    pub receipts_dir: PathBuf,
}

/// Starts everything but the window: the parts, the core and its sync worker.
pub fn start(config: KioskConfig, intervals: Intervals) -> Result<RunningKiosk, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        StartError::Store(format!("cannot create {}: {e}", config.data_dir.display()))
    })?;
    let db_path = config.data_dir.join("kiosk.sqlite");
    let marker = config.data_dir.join(super::doctor::MARKER);
    if marker.exists() && !db_path.exists() {
        // Never start afresh over a lost outbox: the data partition may simply not be
        // mounted. A maintainer decides (see `sportello doctor`).
        return Err(StartError::Store(format!(
            "{} is missing although this kiosk ran before",
            db_path.display()
        )));
    }
    let mut store = Store::open(&db_path).map_err(|e| StartError::Store(e.to_string()))?;
    // Before anything is sent: tickets committed but never handed to anyone (the kiosk
    // stopped before printing) are withdrawn, so no clerk calls a number nobody holds.
    let withdrawn = store
        .withdraw_unhanded(chrono::Utc::now())
        .map_err(|e| StartError::Store(e.to_string()))?;
    if !withdrawn.is_empty() {
        tracing::warn!(
            operations = withdrawn.len(),
            "tickets never handed over before the last stop: withdrawn"
        );
    }
    store
        .release_all(chrono::Utc::now())
        .map_err(|e| StartError::Store(e.to_string()))?;
    store
        .integrity_check()
        .map_err(|problem| StartError::Store(format!("{}: {problem}", db_path.display())))?;
    std::fs::write(&marker, "This directory holds a Sportello kiosk's store.\n")
        .map_err(|e| StartError::Store(format!("{}: {e}", marker.display())))?;
    let profile =
        Profile::named(&config.printer.profile).map_err(|e| StartError::Printer(e.to_string()))?;
    let receipts_dir = config.data_dir.join("receipts");
    let (emulator, port_path) = if config.printer.port == VIRTUAL_PORT {
        std::fs::create_dir_all(&receipts_dir)
            .map_err(|e| StartError::Printer(format!("{}: {e}", receipts_dir.display())))?;
        let emulator = Emulator::spawn(&profile, &receipts_dir)
            .map_err(|e| StartError::Printer(format!("virtual printer: {e}")))?;
        let path = emulator.path().to_path_buf();
        (Some(emulator), path)
    } else {
        (None, PathBuf::from(&config.printer.port))
    };
    let printer = Arc::new(PrinterPort::new(profile, &config.printer, &port_path));
    let (board, sim_board): (Box<dyn Board>, Option<SimHandle>) = match config.board.kind {
        BoardKind::Sim => {
            let (board, handle) = SimBoard::new(&config.board);
            (Box::new(board), Some(handle))
        }
        BoardKind::Pi | BoardKind::Gpiochip => (
            board::open(&config.board).map_err(|e| StartError::Board(e.to_string()))?,
            None,
        ),
    };
    let hub = HubClient::new(HubClientConfig {
        certificate_sha256: config.hub.certificate_sha256.clone(),
        timeout: Duration::from_millis(config.hub.request_timeout_ms),
        connect_timeout: Duration::from_millis(config.hub.request_timeout_ms.min(5000)),
        ..HubClientConfig::new(config.hub.url.clone())
    })
    .map_err(|e| StartError::Hub(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sportello-io")
        .enable_all()
        .build()
        .map_err(|e| StartError::Runtime(e.to_string()))?;
    // Citizens before updates: a kiosk whose slots cannot be read still issues tickets,
    // it only takes no update (and `sportello doctor` says why).
    let updater = match super::updater::Updater::open(&config) {
        Ok(updater) => updater.map(Arc::new),
        Err(err) => {
            tracing::error!(%err, "no software updates: the root slots cannot be read ([update] slots)");
            None
        }
    };
    let core = Arc::new(KioskCore::new(
        config,
        store,
        hub,
        printer,
        board,
        updater.clone(),
    ));
    runtime.spawn(worker::run(core.clone(), intervals));
    if let Some(updater) = updater {
        runtime.spawn(super::updater::run(core.clone(), updater));
    }
    Ok(RunningKiosk {
        core,
        runtime,
        emulator,
        sim_board,
        receipts_dir,
    })
}

impl RunningKiosk {
    /// Creates the kiosk window and its controller (not yet shown).
    pub fn window(&self) -> Result<(KioskWindow, std::rc::Rc<Controller>), String> {
        let app = KioskWindow::new().map_err(|e| format!("cannot create the window: {e}"))?;
        let config = self.core.config();
        app.window().set_size(slint::LogicalSize::new(
            config.display.width_px as f32,
            config.display.height_px as f32,
        ));
        let settings = UiSettings {
            default_lang: config.language,
            idle_after: Duration::from_secs(config.session.idle_seconds.into()),
            warn_for: Duration::from_secs(config.session.warning_seconds.into()),
            px_per_mm: config.display.px_per_mm(),
            lower_edge_mm: config.display.lower_edge_mm,
            logo: config.display.logo.clone(),
            warning_sound: config.session.warning_sound,
            front_desk: config.help.front_desk.clone(),
        };
        let controller = Controller::attach(
            &app,
            self.core.clone(),
            self.runtime.handle().clone(),
            settings,
            speech_output(&config.speech),
        );
        if let Some(port) = config.scanner.serial_port.clone() {
            spawn_serial_scanner(port, config.scanner.baud, app.as_weak());
        }
        Ok((app, controller))
    }
}

/// The speech output `[speech]` asks for.
fn speech_output(config: &crate::config::kiosk::SpeechConfig) -> Arc<dyn crate::speech::Speech> {
    use crate::speech::espeak::{Devices, Engine, EspeakSpeech};
    if !config.enabled {
        return Arc::new(crate::speech::Silent);
    }
    let devices = Devices {
        headset: config.headset_device.clone(),
        speaker: config.speaker_device.clone(),
    };
    match EspeakSpeech::start(Engine::default(), devices) {
        Ok(speech) => Arc::new(speech),
        Err(err) => {
            // The kiosk still serves sighted citizens; `sportello doctor` says why.
            tracing::error!(%err, "no voice guide: the speech thread cannot start");
            Arc::new(crate::speech::Silent)
        }
    }
}

/// Reads a serial barcode scanner on its own thread and hands each scan to the window,
/// as if it had been typed: the same path as a USB scanner. Reopens the port after errors.
fn spawn_serial_scanner(port: String, baud: u32, window: slint::Weak<KioskWindow>) {
    let spawned = std::thread::Builder::new()
        .name("scanner".into())
        .spawn(move || {
            let mut lines = LineScans::default();
            loop {
                let opened = serialport::new(&port, baud)
                    .timeout(Duration::from_millis(200))
                    .open();
                let mut serial = match opened {
                    Ok(serial) => serial,
                    Err(err) => {
                        tracing::warn!(%port, %err, "cannot open the scanner");
                        std::thread::sleep(Duration::from_secs(5));
                        continue;
                    }
                };
                let mut buf = [0u8; 256];
                loop {
                    match serial.read(&mut buf) {
                        Ok(0) => {}
                        Ok(n) => {
                            for scan in lines.feed(&buf[..n]) {
                                let window = window.clone();
                                let _ = window.upgrade_in_event_loop(move |app| {
                                    app.global::<UiKiosk>()
                                        .invoke_key_input(format!("{scan}\n").into());
                                });
                            }
                        }
                        Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(err) => {
                            tracing::warn!(%port, %err, "scanner read failed; reopening");
                            break;
                        }
                    }
                }
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start the scanner thread");
    }
}

/// Runs the kiosk until the window closes: `sportello kiosk`.
pub fn run(config: KioskConfig) -> Result<(), String> {
    match start(config, Intervals::default()) {
        Ok(kiosk) => {
            let (app, _controller) = kiosk.window()?;
            let service = super::systemd::Service::from_env().watch_runtime(kiosk.runtime.handle());
            let _systemd = super::systemd::supervise_event_loop(service, "issuing tickets".into());
            app.run().map_err(|e| e.to_string())
        }
        Err(err) => {
            // No crash loop and nothing deleted: show why the kiosk cannot work, keep the
            // files for the maintainer (`sportello doctor` says more).
            tracing::error!(%err, "kiosk cannot start: out of service");
            out_of_service(&err.to_string())
        }
    }
}

/// Shows only the out-of-service screen until the window closes.
pub fn out_of_service(reason: &str) -> Result<(), String> {
    let app = KioskWindow::new().map_err(|e| format!("cannot create the window: {e}"))?;
    let kiosk = app.global::<UiKiosk>();
    kiosk.set_page(Page::OutOfService);
    kiosk.set_problem_reference(reason.chars().take(120).collect::<String>().into());
    let _systemd = super::systemd::supervise_event_loop(
        super::systemd::Service::from_env(),
        format!("out of service: {reason}"),
    );
    app.run().map_err(|e| e.to_string())
}
