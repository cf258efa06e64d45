//! The GPIO side of the kiosk, behind a trait.
//!
//! The kiosk reads a paper-near-end sensor, drives a status LED, can power-cycle the
//! printer through a relay, and may have a ticket-taken sensor at the printer's mouth
//! and a headset jack (whose switch contact tells when a citizen plugs in a headset).
//! [`Board`] is what the kiosk sees; [`pi::PiBoard`] implements it with rppal on a
//! Raspberry Pi running Raspberry Pi's kernel, [`chip::ChipBoard`] with the GPIO character
//! device on any kernel (the kiosk image's Debian kernel), and [`sim::SimBoard`] in memory
//! for tests and the demo. Which one runs
//! is chosen by `[board] kind` in `kiosk.toml`, never by trying rppal first: rppal
//! compiles everywhere but only works on a Pi (DESIGN.md, invariant 5).

pub mod chip;
pub mod pi;
mod settings;
pub mod sim;

use std::time::{Duration, Instant};

pub use settings::{BoardConfig, BoardKind};

/// What the status LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LedMode {
    /// Dark.
    #[default]
    Off,
    /// Lit: the kiosk works.
    Steady,
    /// Blinking: the kiosk needs a maintainer (paper, printer fault).
    Blinking,
}

/// A GPIO operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("board: {0}")]
pub struct BoardError(pub String);

/// The kiosk's GPIO peripherals.
pub trait Board: Send {
    /// The paper-near-end sensor, debounced: true when the roll is nearly finished.
    fn paper_near_end(&mut self) -> bool;
    /// Sets the status LED.
    fn set_led(&mut self, mode: LedMode) -> Result<(), BoardError>;
    /// Cuts the printer's power for `off_for`, then restores it (a hard reset).
    fn power_cycle_printer(&mut self, off_for: Duration) -> Result<(), BoardError>;
    /// The ticket-taken sensor, debounced: `Some(true)` once the ticket has been
    /// taken, `None` when no sensor is fitted.
    fn ticket_taken(&mut self) -> Option<bool>;
    /// The headset jack's switch contact, debounced: `Some(true)` while a headset is
    /// plugged in, `None` when no jack switch is fitted.
    fn headset_plugged(&mut self) -> Option<bool>;
}

/// Debounces a contact: a new level counts only after it held for the whole interval.
#[derive(Debug, Clone)]
pub struct Debouncer {
    stable: bool,
    candidate: bool,
    since: Instant,
    interval: Duration,
}

impl Debouncer {
    /// Starts at `initial`, accepting a change after `interval` without bounce.
    pub fn new(initial: bool, interval: Duration, now: Instant) -> Debouncer {
        Debouncer {
            stable: initial,
            candidate: initial,
            since: now,
            interval,
        }
    }

    /// Feeds a raw reading taken at `now`; returns the debounced level.
    pub fn update(&mut self, raw: bool, now: Instant) -> bool {
        if raw != self.candidate {
            self.candidate = raw;
            self.since = now;
        }
        if self.candidate != self.stable && now.duration_since(self.since) >= self.interval {
            self.stable = self.candidate;
        }
        self.stable
    }
}

/// Opens the board named by the config: the simulated one, or the Pi's GPIO.
pub fn open(config: &BoardConfig) -> Result<Box<dyn Board>, BoardError> {
    match config.kind {
        BoardKind::Sim => Ok(Box::new(sim::SimBoard::new(config).0)),
        BoardKind::Pi => Ok(Box::new(pi::PiBoard::open(config)?)),
        BoardKind::Gpiochip => Ok(Box::new(chip::ChipBoard::open(config)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debouncer_ignores_bounces_shorter_than_the_interval() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut d = Debouncer::new(false, Duration::from_millis(50), t0);
        assert!(!d.update(true, ms(10)));
        assert!(!d.update(false, ms(20)));
        assert!(!d.update(true, ms(30)));
        assert!(!d.update(true, ms(70)));
        assert!(d.update(true, ms(80)));
        assert!(d.update(false, ms(100)));
        assert!(!d.update(false, ms(150)));
    }

    #[test]
    fn default_config_opens_the_simulated_board() {
        let mut board = open(&BoardConfig::default()).unwrap();
        assert!(!board.paper_near_end());
        assert_eq!(board.ticket_taken(), None);
        assert_eq!(
            board.headset_plugged(),
            Some(false),
            "the simulated kiosk has a jack"
        );
    }

    #[test]
    fn the_pi_board_fails_cleanly_off_a_pi() {
        // rppal compiles on x86 but identifies the board at run time.
        if std::path::Path::new("/dev/gpiomem").exists() {
            return;
        }
        let config = BoardConfig {
            kind: BoardKind::Pi,
            ..BoardConfig::default()
        };
        let err = open(&config).err().unwrap();
        assert!(err.0.contains("GPIO"), "{err}");
    }
}
