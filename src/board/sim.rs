//! The simulated board: sensors set by tests and the demo, outputs recorded.
//!
//! [`SimBoard`] is what the kiosk holds; [`SimHandle`] is a cheap clone of its state
//! for whoever plays the hardware (a test, the demo's controls). The same debouncing
//! runs as on the Pi, so a test can check that a bounce is ignored.
//!
//! The simulated kiosk always has a headset jack, whatever `headset_pin` says: it stands
//! for a fitted kiosk, so tests and the demo can plug a headset in
//! ([`SimHandle::set_headset_plugged`]); [`Board::headset_plugged`] starts at
//! `Some(false)`. The ticket-taken sensor, by contrast, exists only with a
//! `ticket_taken_pin`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::BoardConfig;
use super::{Board, BoardError, Debouncer, LedMode};

#[derive(Debug, Default)]
struct SimState {
    paper_near_end: bool,
    ticket_taken: bool,
    headset_plugged: bool,
    led: LedMode,
    printer_powered: bool,
    power_cycles: u32,
}

/// The hardware side of a [`SimBoard`]: set inputs, read outputs.
#[derive(Debug, Clone)]
pub struct SimHandle(Arc<Mutex<SimState>>);

fn lock(m: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimHandle {
    /// Sets the raw paper-near-end sensor level.
    pub fn set_paper_near_end(&self, near_end: bool) {
        lock(&self.0).paper_near_end = near_end;
    }

    /// Sets the raw ticket-taken sensor level.
    pub fn set_ticket_taken(&self, taken: bool) {
        lock(&self.0).ticket_taken = taken;
    }

    /// Plugs a headset into the jack (`true`) or pulls it out: the raw switch level.
    pub fn set_headset_plugged(&self, plugged: bool) {
        lock(&self.0).headset_plugged = plugged;
    }

    /// What the LED shows.
    pub fn led(&self) -> LedMode {
        lock(&self.0).led
    }

    /// Whether the printer has power.
    pub fn printer_powered(&self) -> bool {
        lock(&self.0).printer_powered
    }

    /// How many power cycles were done.
    pub fn power_cycles(&self) -> u32 {
        lock(&self.0).power_cycles
    }
}

/// A board that lives in memory.
#[derive(Debug)]
pub struct SimBoard {
    state: SimHandle,
    near_end: Debouncer,
    taken: Option<Debouncer>,
    headset: Debouncer,
}

impl SimBoard {
    /// A board with the config's debounce time and, if a ticket-taken pin is set, that
    /// sensor, and always a headset jack (unplugged); returns the board and the handle
    /// that drives it.
    pub fn new(config: &BoardConfig) -> (SimBoard, SimHandle) {
        let handle = SimHandle(Arc::new(Mutex::new(SimState {
            printer_powered: true,
            ..SimState::default()
        })));
        let interval = Duration::from_millis(config.debounce_ms);
        let now = Instant::now();
        let board = SimBoard {
            state: handle.clone(),
            near_end: Debouncer::new(false, interval, now),
            taken: config
                .ticket_taken_pin
                .map(|_| Debouncer::new(false, interval, now)),
            headset: Debouncer::new(false, interval, now),
        };
        (board, handle)
    }
}

impl Board for SimBoard {
    fn paper_near_end(&mut self) -> bool {
        let raw = lock(&self.state.0).paper_near_end;
        self.near_end.update(raw, Instant::now())
    }

    fn set_led(&mut self, mode: LedMode) -> Result<(), BoardError> {
        lock(&self.state.0).led = mode;
        Ok(())
    }

    fn power_cycle_printer(&mut self, off_for: Duration) -> Result<(), BoardError> {
        lock(&self.state.0).printer_powered = false;
        std::thread::sleep(off_for);
        let mut s = lock(&self.state.0);
        s.printer_powered = true;
        s.power_cycles += 1;
        Ok(())
    }

    fn ticket_taken(&mut self) -> Option<bool> {
        let raw = lock(&self.state.0).ticket_taken;
        self.taken.as_mut().map(|d| d.update(raw, Instant::now()))
    }

    fn headset_plugged(&mut self) -> Option<bool> {
        let raw = lock(&self.state.0).headset_plugged;
        Some(self.headset.update(raw, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_debounced_and_outputs_recorded() {
        let config = BoardConfig {
            debounce_ms: 30,
            ticket_taken_pin: Some(6),
            ..BoardConfig::default()
        };
        let (mut board, hw) = SimBoard::new(&config);
        hw.set_paper_near_end(true);
        assert!(!board.paper_near_end(), "a fresh change is not trusted yet");
        std::thread::sleep(Duration::from_millis(40));
        assert!(board.paper_near_end());
        hw.set_ticket_taken(true);
        assert_eq!(board.ticket_taken(), Some(false));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(board.ticket_taken(), Some(true));

        assert_eq!(board.headset_plugged(), Some(false));
        hw.set_headset_plugged(true);
        assert_eq!(
            board.headset_plugged(),
            Some(false),
            "not plugged before the interval"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(board.headset_plugged(), Some(true));
        hw.set_headset_plugged(false);
        assert_eq!(
            board.headset_plugged(),
            Some(true),
            "not unplugged before the interval"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(board.headset_plugged(), Some(false));

        board.set_led(LedMode::Blinking).unwrap();
        assert_eq!(hw.led(), LedMode::Blinking);
        board.power_cycle_printer(Duration::from_millis(5)).unwrap();
        assert!(hw.printer_powered());
        assert_eq!(hw.power_cycles(), 1);
    }

    #[test]
    fn the_simulated_kiosk_has_a_headset_jack_without_a_pin() {
        let config = BoardConfig {
            debounce_ms: 0,
            ..BoardConfig::default()
        };
        assert_eq!(config.headset_pin, None);
        let (mut board, hw) = SimBoard::new(&config);
        assert_eq!(board.ticket_taken(), None);
        assert_eq!(board.headset_plugged(), Some(false));
        hw.set_headset_plugged(true);
        assert_eq!(board.headset_plugged(), Some(true));
    }
}
