//! The kiosk's printer: one serial link shared by ticket jobs and status polls.
//!
//! Jobs and polls take turns on one link (a status query in the middle of a ticket would
//! be read as ticket data). The link is opened on first use and reopened after an I/O
//! error, so a printer unplugged and plugged back in recovers without a restart. The last
//! known state is kept for the heartbeat, `doctor` and the status LED.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::config::kiosk::{PrinterConfig, VIRTUAL_PORT};
use crate::printer::job::{self, JobOptions, PrintOutcome};
use crate::printer::profile::Profile;
use crate::printer::status::{self, PrinterState};
use crate::printer::transport::{PrinterLink, SerialLink, SerialSettings};

/// The serial settings of the kiosk's `[printer]` for the device at `path`.
pub fn serial_settings(config: &PrinterConfig, path: &Path) -> SerialSettings {
    SerialSettings {
        path: PathBuf::from(path),
        baud: config.baud,
        flow_control: config.flow_control,
        write_timeout: Duration::from_millis(config.write_timeout_ms),
    }
}

/// The serial settings of the configured port; `None` for the virtual printer, which has
/// no device path until it is started.
pub fn configured_port(config: &PrinterConfig) -> Option<SerialSettings> {
    (config.port != VIRTUAL_PORT).then(|| serial_settings(config, Path::new(&config.port)))
}

/// Job options for the kiosk's `[printer]`: chunking from its baud rate, its write timeout.
pub fn job_options(config: &PrinterConfig) -> JobOptions {
    JobOptions {
        write_timeout: Duration::from_millis(config.write_timeout_ms),
        ..JobOptions::for_baud(config.baud)
    }
}

/// Bound on a status poll between jobs.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

struct Link {
    link: Option<Box<dyn PrinterLink>>,
    state: PrinterState,
    detail: Option<String>,
}

/// The printer of this kiosk.
pub struct PrinterPort {
    profile: Profile,
    settings: SerialSettings,
    options: JobOptions,
    inner: Mutex<Link>,
}

impl PrinterPort {
    /// A printer with `profile` on the device at `path` (a serial port, or the pty of the
    /// virtual printer), with baud, flow control and timeouts from `config`.
    pub fn new(profile: Profile, config: &PrinterConfig, path: &Path) -> PrinterPort {
        PrinterPort {
            profile,
            settings: serial_settings(config, path),
            options: job_options(config),
            inner: Mutex::new(Link {
                link: None,
                state: PrinterState::NotResponding,
                detail: None,
            }),
        }
    }

    /// The printer's model data, for the layouts.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.settings.path
    }

    fn with_link<T>(&self, f: impl FnOnce(&mut dyn PrinterLink) -> T) -> Result<T, String> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.link.is_none() {
            match SerialLink::open(&self.settings) {
                Ok(link) => inner.link = Some(Box::new(link)),
                Err(err) => {
                    inner.state = PrinterState::NotResponding;
                    inner.detail = Some(err.to_string());
                    return Err(err.to_string());
                }
            }
        }
        match inner.link.as_mut() {
            Some(link) => Ok(f(link.as_mut())),
            None => Err("printer link unavailable".to_string()),
        }
    }

    fn remember(&self, state: PrinterState, detail: Option<String>, drop_link: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.state = state;
        inner.detail = detail;
        if drop_link {
            inner.link = None;
        }
    }

    /// Prints `bytes` and waits for the printer's confirmation. Blocking: call it from
    /// `tokio::task::spawn_blocking`.
    pub fn print(&self, bytes: &[u8]) -> PrintOutcome {
        let options = self.options.clone();
        let profile = self.profile.clone();
        let outcome = self.with_link(|link| job::print_with(link, &profile, bytes, &options));
        match outcome {
            Ok(outcome) => {
                match &outcome {
                    PrintOutcome::Printed { paper_near_end, .. } => {
                        let state = if *paper_near_end {
                            PrinterState::PaperNearEnd
                        } else {
                            PrinterState::Ready
                        };
                        self.remember(state, None, false);
                    }
                    PrintOutcome::Failed(failure) => {
                        let state = failure.state.unwrap_or(PrinterState::NotResponding);
                        // A link error (no printer state) may be a stale port: reopen.
                        self.remember(state, Some(failure.to_string()), failure.state.is_none());
                    }
                }
                outcome
            }
            Err(reason) => PrintOutcome::Failed(job::PrintFailure {
                stage: job::JobStage::Before,
                state: Some(PrinterState::NotResponding),
                reason,
                bytes_sent: 0,
                elapsed: Duration::ZERO,
            }),
        }
    }

    /// Asks the printer for its state now (between jobs). Blocking.
    pub fn poll(&self) -> PrinterState {
        match self.with_link(|link| status::query(link, POLL_TIMEOUT)) {
            Ok(state) => {
                let drop_link = state == PrinterState::NotResponding;
                self.remember(state, None, drop_link);
                state
            }
            Err(_) => PrinterState::NotResponding,
        }
    }

    /// The last known state and its detail, without touching the printer.
    pub fn last_state(&self) -> (PrinterState, Option<String>) {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (inner.state, inner.detail.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printer_section_sets_chunks_timeouts_and_the_port() {
        let config = PrinterConfig {
            baud: 9600,
            write_timeout_ms: 1500,
            ..Default::default()
        };
        let options = job_options(&config);
        assert_eq!(options.chunk_bytes, 192);
        assert_eq!(options.write_timeout, Duration::from_millis(1500));
        assert_eq!(
            configured_port(&config),
            None,
            "the virtual printer has no port yet"
        );
        let serial = PrinterConfig {
            port: "/dev/ttyUSB0".into(),
            ..config
        };
        let settings = configured_port(&serial).unwrap();
        assert_eq!(settings.path, Path::new("/dev/ttyUSB0"));
        assert_eq!(settings.baud, 9600);
    }
}
