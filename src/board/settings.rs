//! The board's settings (`[board]` in kiosk.toml): which implementation, which pins.
//!
//! Plain data the board drivers read; the kiosk's config loader parses and validates it
//! (`config::kiosk`), so the drivers never depend on the config.

use serde::Deserialize;

/// Which board implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// In memory: tests, the demo, a kiosk without GPIO.
    #[default]
    Sim,
    /// A Raspberry Pi's GPIO through rppal (`/dev/gpiomem`: Raspberry Pi's own kernel).
    Pi,
    /// The GPIO character device (`/dev/gpiochipN`), which every kernel offers: the
    /// kiosk image (Debian's kernel) on a Pi 4, other boards.
    Gpiochip,
}

/// GPIO pins (BCM numbers) and debouncing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardConfig {
    /// sim, pi or gpiochip.
    pub kind: BoardKind,
    /// With `kind = "gpiochip"`: the chip, as a path (`/dev/gpiochip0`) or a label
    /// (`pinctrl-bcm2711`). Unset: the Raspberry Pi's header chip, found by its label.
    pub gpiochip: Option<String>,
    /// Input: paper-near-end sensor (active low, internal pull-up).
    pub paper_near_end_pin: u8,
    /// Output: status LED.
    pub led_pin: u8,
    /// Output: relay that cuts the printer's power when energised.
    pub relay_pin: u8,
    /// Whether the relay module is energised by a low level (many are).
    pub relay_active_low: bool,
    /// Input: ticket-taken sensor at the printer's mouth, if fitted.
    pub ticket_taken_pin: Option<u8>,
    /// Input: the headset jack's switch contact, if fitted (internal pull-up).
    pub headset_pin: Option<u8>,
    /// Whether the jack switch reads low while a headset is plugged in: true for the
    /// common switch that closes to ground when a plug is in; false for one that opens.
    pub headset_active_low: bool,
    /// A sensor level must hold this long to count.
    pub debounce_ms: u64,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            kind: BoardKind::Sim,
            gpiochip: None,
            paper_near_end_pin: 17,
            led_pin: 27,
            relay_pin: 22,
            relay_active_low: false,
            ticket_taken_pin: None,
            headset_pin: None,
            headset_active_low: true,
            debounce_ms: 50,
        }
    }
}
