//! The Raspberry Pi's GPIO through rppal: the only module that touches rppal.
//!
//! rppal 0.22 is the final release (no fixes after July 2025), so it stays behind the
//! [`Board`] trait. It compiles on any Linux but `Gpio::new()` identifies the board at
//! run time, so this code is reached only when `kiosk.toml` says `kind = "pi"`; off a
//! Pi it returns an error, never panics. Pins are BCM numbers. Inputs use the internal
//! pull-up and are active low (a sensor closes to ground), except the headset jack's
//! switch, which is active low only with `headset_active_low`; the relay is energised to
//! cut the printer's power (wire it normally closed, so a dead Pi leaves it powered).

use std::time::{Duration, Instant};

use rppal::gpio::{Gpio, InputPin, OutputPin};

use super::BoardConfig;
use super::{Board, BoardError, Debouncer, LedMode};

/// Blink rate of the status LED.
const BLINK_HZ: f64 = 2.0;

/// The kiosk's GPIO on a Raspberry Pi.
pub struct PiBoard {
    near_end_pin: InputPin,
    near_end: Debouncer,
    led: OutputPin,
    relay: OutputPin,
    relay_active_low: bool,
    taken: Option<(InputPin, Debouncer)>,
    headset: Option<(InputPin, Debouncer)>,
    headset_active_low: bool,
}

fn gpio_err(what: &str, e: rppal::gpio::Error) -> BoardError {
    BoardError(format!("GPIO {what}: {e}"))
}

impl PiBoard {
    /// Claims the configured pins.
    pub fn open(config: &BoardConfig) -> Result<PiBoard, BoardError> {
        let gpio = Gpio::new().map_err(|e| gpio_err("unavailable (not a Raspberry Pi?)", e))?;
        let input = |pin: u8, what: &str| {
            gpio.get(pin)
                .map(|p| p.into_input_pullup())
                .map_err(|e| gpio_err(what, e))
        };
        let interval = Duration::from_millis(config.debounce_ms);
        let now = Instant::now();
        let near_end_pin = input(config.paper_near_end_pin, "paper_near_end_pin")?;
        let led = gpio
            .get(config.led_pin)
            .map_err(|e| gpio_err("led_pin", e))?
            .into_output_low();
        let relay_pin = gpio
            .get(config.relay_pin)
            .map_err(|e| gpio_err("relay_pin", e))?;
        // Start with the relay released: the printer powered.
        let relay = if config.relay_active_low {
            relay_pin.into_output_high()
        } else {
            relay_pin.into_output_low()
        };
        let taken = match config.ticket_taken_pin {
            Some(pin) => Some((
                input(pin, "ticket_taken_pin")?,
                Debouncer::new(false, interval, now),
            )),
            None => None,
        };
        let headset = match config.headset_pin {
            Some(pin) => Some((
                input(pin, "headset_pin")?,
                Debouncer::new(false, interval, now),
            )),
            None => None,
        };
        Ok(PiBoard {
            near_end_pin,
            near_end: Debouncer::new(false, interval, now),
            led,
            relay,
            relay_active_low: config.relay_active_low,
            taken,
            headset,
            headset_active_low: config.headset_active_low,
        })
    }

    fn relay(&mut self, energised: bool) {
        if energised != self.relay_active_low {
            self.relay.set_high();
        } else {
            self.relay.set_low();
        }
    }
}

impl Board for PiBoard {
    fn paper_near_end(&mut self) -> bool {
        let raw = self.near_end_pin.is_low();
        self.near_end.update(raw, Instant::now())
    }

    fn set_led(&mut self, mode: LedMode) -> Result<(), BoardError> {
        match mode {
            LedMode::Off | LedMode::Steady => {
                self.led.clear_pwm().map_err(|e| gpio_err("led_pin", e))?;
                if mode == LedMode::Steady {
                    self.led.set_high();
                } else {
                    self.led.set_low();
                }
            }
            LedMode::Blinking => self
                .led
                .set_pwm_frequency(BLINK_HZ, 0.5)
                .map_err(|e| gpio_err("led_pin", e))?,
        }
        Ok(())
    }

    fn power_cycle_printer(&mut self, off_for: Duration) -> Result<(), BoardError> {
        self.relay(true);
        std::thread::sleep(off_for);
        self.relay(false);
        Ok(())
    }

    fn ticket_taken(&mut self) -> Option<bool> {
        self.taken
            .as_mut()
            .map(|(pin, d)| d.update(pin.is_low(), Instant::now()))
    }

    fn headset_plugged(&mut self) -> Option<bool> {
        let active_low = self.headset_active_low;
        self.headset
            .as_mut()
            .map(|(pin, d)| d.update(pin.is_low() == active_low, Instant::now()))
    }
}
