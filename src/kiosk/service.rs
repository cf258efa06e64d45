//! `sportello kiosk`: the kiosk as the long-running service of a kiosk board.
//!
//! It reads `kiosk.toml`, then runs either the touch UI ([`super::run::run`]) or, with
//! `--headless` or `[display] headless = true`, the kiosk's core without the UI: the same
//! store, printer, board and sync worker ([`super::run::start`]), for boards without a
//! panel and for boot tests. Both report to systemd ([`super::systemd`]).
//!
//! A kiosk under systemd never exits because its configuration is unusable: it stays up
//! out of service and says why (on screen, in the log, in `systemctl status`), since
//! exiting would only make systemd restart it until the start limit reboots the board,
//! over and over. From a terminal the same error is printed and the command fails.

use std::path::Path;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::run;
use super::systemd::{self, Service};
use crate::config;
use crate::config::kiosk::KioskConfig;
use crate::sync::worker::Intervals;

/// Runs the kiosk with the config at `config_path` (built-in defaults when `None`);
/// `headless` forces the headless mode whatever the config says.
pub fn run(config_path: Option<&Path>, headless: bool) -> Result<(), String> {
    let loaded = match config_path {
        Some(path) => config::load::<KioskConfig>(path).map_err(|e| e.to_string()),
        None => Ok(KioskConfig::default()),
    };
    let config = match loaded {
        Ok(config) => config,
        Err(problem) if systemd::under_systemd() => {
            tracing::error!(%problem, "the kiosk's configuration is unusable: out of service");
            return if headless {
                headless_out_of_service(&problem)
            } else {
                run::out_of_service(&problem)
            };
        }
        Err(problem) => return Err(problem),
    };
    if headless || config.display.headless {
        run_headless(config)
    } else {
        set_panel_rotation(config.display.rotation);
        run::run(config)
    }
}

/// Asks Slint's linuxkms backend to rotate the picture (`SLINT_KMS_ROTATION`), unless
/// the environment already says otherwise. Call before any thread is started.
fn set_panel_rotation(rotation: u16) {
    if rotation == 0 || std::env::var_os("SLINT_KMS_ROTATION").is_some() {
        return;
    }
    // SAFETY: called from `run` on the main thread before the kiosk starts its runtime,
    // its printer threads or the UI: no other thread reads the environment yet.
    unsafe { std::env::set_var("SLINT_KMS_ROTATION", rotation.to_string()) };
}

/// The kiosk's core without the touch UI, until SIGTERM or SIGINT.
pub fn run_headless(config: KioskConfig) -> Result<(), String> {
    let kiosk_id = config.kiosk_id.clone();
    let kiosk = match run::start(config, Intervals::default()) {
        Ok(kiosk) => kiosk,
        Err(err) => {
            tracing::error!(%err, "kiosk cannot start: out of service");
            return headless_out_of_service(&err.to_string());
        }
    };
    let service = Service::from_env().watch_runtime(kiosk.runtime.handle());
    tracing::info!(kiosk = %kiosk_id, "kiosk running headless (no display)");
    service.ready(&format!("{kiosk_id}: running headless (no display)"));
    let stopped = kiosk.runtime.block_on(keep_alive_until_stopped(&service));
    service.stopping();
    tracing::info!("kiosk stopping");
    drop(kiosk);
    stopped
}

/// Stays up without the core, saying why, until SIGTERM or SIGINT: the headless
/// counterpart of the out-of-service screen.
fn headless_out_of_service(reason: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let service = Service::from_env();
    service.ready(&format!("out of service: {reason}"));
    let stopped = runtime.block_on(keep_alive_until_stopped(&service));
    service.stopping();
    stopped
}

/// Sends keep-alives every half watchdog interval until a stop signal arrives.
async fn keep_alive_until_stopped(service: &Service) -> Result<(), String> {
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    // Without a watchdog the loop only waits for a signal.
    let period = service
        .keepalive_period()
        .unwrap_or(Duration::from_secs(3600));
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
            _ = ticks.tick() => {
                service.keepalive();
            }
        }
    }
}
