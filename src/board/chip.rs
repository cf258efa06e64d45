//! GPIO through the Linux GPIO character device (`/dev/gpiochipN`, uAPI v2, `gpiocdev`).
//!
//! Debian's own kernel, which the kiosk image boots on a Pi 4, has no `/dev/gpiomem`, so
//! rppal ([`super::pi`]) cannot work there; the character device works on every kernel
//! and lets the kiosk user reach the pins through the `gpio` group (udev rule), with no
//! extra privilege. Line offsets on a Pi's header chip are the BCM numbers. Inputs are
//! requested with the pull-up and active low (a sensor closes to ground), so "active"
//! means "sensor closed"; the headset jack's line is active low only with
//! `headset_active_low`, so "active" means "headset plugged in" either way; the relay line
//! is active low when the module is, so "active" means "energised" either way. The LED
//! blinks from a small thread of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gpiocdev::line::{Bias, Offset, Value};
use gpiocdev::request::Request;

use super::BoardConfig;
use super::{Board, BoardError, Debouncer, LedMode};

/// Labels of the chip that carries a Raspberry Pi's 40-pin header, per model/kernel.
const PI_HEADER_LABELS: [&str; 3] = ["pinctrl-bcm2711", "pinctrl-bcm2835", "pinctrl-rp1"];
/// Half a period of the blinking LED (2 Hz).
const BLINK_HALF_PERIOD: Duration = Duration::from_millis(250);
/// The name the lines are claimed under (shown by `gpioinfo`).
const CONSUMER: &str = "sportello";

/// The kiosk's GPIO through the character device.
pub struct ChipBoard {
    inputs: Request,
    outputs: Arc<Request>,
    near_end_line: Offset,
    near_end: Debouncer,
    taken: Option<(Offset, Debouncer)>,
    headset: Option<(Offset, Debouncer)>,
    led_line: Offset,
    relay_line: Offset,
    blinker: Option<Blinker>,
}

fn gpio_err(what: &str, e: impl std::fmt::Display) -> BoardError {
    BoardError(format!("GPIO {what}: {e}"))
}

impl ChipBoard {
    /// Finds the chip and claims the configured lines.
    pub fn open(config: &BoardConfig) -> Result<ChipBoard, BoardError> {
        let (path, label) = find_chip(config.gpiochip.as_deref())?;
        let near_end_line = Offset::from(config.paper_near_end_pin);
        let taken_line = config.ticket_taken_pin.map(Offset::from);
        let headset_line = config.headset_pin.map(Offset::from);
        let led_line = Offset::from(config.led_pin);
        let relay_line = Offset::from(config.relay_pin);

        let mut input_lines = vec![near_end_line];
        input_lines.extend(taken_line);
        let mut builder = Request::builder();
        builder
            .on_chip(&path)
            .with_consumer(CONSUMER)
            .with_lines(&input_lines)
            .as_input()
            .with_bias(Bias::PullUp)
            .as_active_low();
        if let Some(line) = headset_line {
            // The config refuses shared pins; here two inputs would silently merge.
            if input_lines.contains(&line) {
                return Err(gpio_err(
                    "board.headset_pin",
                    format!("line {line} is already one of the inputs {input_lines:?}"),
                ));
            }
            builder.with_line(line).as_input().with_bias(Bias::PullUp);
            if config.headset_active_low {
                builder.as_active_low();
            }
            input_lines.push(line);
        }
        let inputs = builder
            .request()
            .map_err(|e| gpio_err(&format!("inputs {input_lines:?} on {label}"), e))?;

        let mut builder = Request::builder();
        builder
            .on_chip(&path)
            .with_consumer(CONSUMER)
            .with_line(led_line)
            .as_output(Value::Inactive)
            // Start with the relay released: the printer powered.
            .with_line(relay_line)
            .as_output(Value::Inactive);
        if config.relay_active_low {
            builder.as_active_low();
        }
        let outputs = builder
            .request()
            .map_err(|e| gpio_err(&format!("outputs {led_line}, {relay_line} on {label}"), e))?;

        tracing::info!(
            chip = %path.display(),
            %label,
            near_end = near_end_line,
            led = led_line,
            relay = relay_line,
            taken = ?taken_line,
            headset = ?headset_line,
            "board: GPIO character device, lines claimed"
        );
        let interval = Duration::from_millis(config.debounce_ms);
        let now = Instant::now();
        Ok(ChipBoard {
            inputs,
            outputs: Arc::new(outputs),
            near_end_line,
            near_end: Debouncer::new(false, interval, now),
            taken: taken_line.map(|line| (line, Debouncer::new(false, interval, now))),
            headset: headset_line.map(|line| (line, Debouncer::new(false, interval, now))),
            led_line,
            relay_line,
            blinker: None,
        })
    }

    /// Reads an input: whether it is active (a sensor closed, a headset plugged in); an
    /// unreadable line counts as inactive ("sensor open") and is logged.
    fn closed(&self, line: Offset) -> bool {
        match self.inputs.value(line) {
            Ok(value) => value == Value::Active,
            Err(e) => {
                tracing::warn!(line, error = %e, "board: cannot read a GPIO input");
                false
            }
        }
    }

    fn set(&self, line: Offset, active: bool, what: &str) -> Result<(), BoardError> {
        let value = if active {
            Value::Active
        } else {
            Value::Inactive
        };
        self.outputs
            .set_value(line, value)
            .map_err(|e| gpio_err(what, e))
    }

    fn stop_blinking(&mut self) {
        if let Some(blinker) = self.blinker.take() {
            blinker.stop();
        }
    }
}

impl Board for ChipBoard {
    fn paper_near_end(&mut self) -> bool {
        let raw = self.closed(self.near_end_line);
        self.near_end.update(raw, Instant::now())
    }

    fn set_led(&mut self, mode: LedMode) -> Result<(), BoardError> {
        match mode {
            LedMode::Off | LedMode::Steady => {
                self.stop_blinking();
                self.set(self.led_line, mode == LedMode::Steady, "led_pin")
            }
            LedMode::Blinking => {
                if self.blinker.is_none() {
                    self.blinker = Some(Blinker::start(self.outputs.clone(), self.led_line));
                }
                Ok(())
            }
        }
    }

    fn power_cycle_printer(&mut self, off_for: Duration) -> Result<(), BoardError> {
        self.set(self.relay_line, true, "relay_pin")?;
        std::thread::sleep(off_for);
        self.set(self.relay_line, false, "relay_pin")
    }

    fn ticket_taken(&mut self) -> Option<bool> {
        let line = self.taken.as_ref()?.0;
        let raw = self.closed(line);
        let (_, debouncer) = self.taken.as_mut()?;
        Some(debouncer.update(raw, Instant::now()))
    }

    fn headset_plugged(&mut self) -> Option<bool> {
        let line = self.headset.as_ref()?.0;
        let raw = self.closed(line);
        let (_, debouncer) = self.headset.as_mut()?;
        Some(debouncer.update(raw, Instant::now()))
    }
}

impl Drop for ChipBoard {
    fn drop(&mut self) {
        self.stop_blinking();
    }
}

/// A thread toggling the LED line until stopped.
struct Blinker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Blinker {
    fn start(outputs: Arc<Request>, line: Offset) -> Blinker {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut on = true;
            while !stopped.load(Ordering::Relaxed) {
                let value = if on { Value::Active } else { Value::Inactive };
                if let Err(e) = outputs.set_value(line, value) {
                    tracing::warn!(error = %e, "board: cannot blink the LED");
                    return;
                }
                on = !on;
                std::thread::sleep(BLINK_HALF_PERIOD);
            }
        });
        Blinker { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The chip to use: `wanted` as a path or label, or the Pi's header chip by its label.
fn find_chip(wanted: Option<&str>) -> Result<(PathBuf, String), BoardError> {
    if let Some(path) = wanted.filter(|w| w.starts_with('/')) {
        let label = chip_label(Path::new(path))
            .map_err(|e| gpio_err(&format!("chip {path} (board.gpiochip)"), e))?;
        return Ok((PathBuf::from(path), label));
    }
    let chips = gpiocdev::chip::chips().unwrap_or_default();
    let mut seen = Vec::new();
    for path in chips {
        let Ok(label) = chip_label(&path) else {
            continue;
        };
        let matches = match wanted {
            Some(label_wanted) => label == label_wanted,
            None => PI_HEADER_LABELS.contains(&label.as_str()),
        };
        if matches {
            return Ok((path, label));
        }
        seen.push(format!("{} ({label})", path.display()));
    }
    let looking_for = match wanted {
        Some(label) => format!("a chip labelled `{label}` (board.gpiochip)"),
        None => format!(
            "the Raspberry Pi's header chip ({}); set board.gpiochip on other boards",
            PI_HEADER_LABELS.join(", ")
        ),
    };
    let found = if seen.is_empty() {
        "no GPIO chips at all".to_string()
    } else {
        format!("only {}", seen.join(", "))
    };
    Err(BoardError(format!(
        "GPIO: cannot find {looking_for}: {found}"
    )))
}

fn chip_label(path: &Path) -> Result<String, gpiocdev::Error> {
    Ok(gpiocdev::chip::Chip::from_path(path)?.info()?.label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::BoardKind;

    fn config(gpiochip: Option<&str>) -> BoardConfig {
        BoardConfig {
            kind: BoardKind::Gpiochip,
            gpiochip: gpiochip.map(str::to_string),
            ..BoardConfig::default()
        }
    }

    #[test]
    fn a_missing_chip_path_is_a_clear_error() {
        let err = ChipBoard::open(&config(Some("/dev/gpiochip-none")))
            .err()
            .unwrap();
        assert!(err.0.contains("/dev/gpiochip-none"), "{err}");
        assert!(err.0.contains("board.gpiochip"), "{err}");
    }

    #[test]
    fn not_a_chip_is_refused() {
        let err = ChipBoard::open(&config(Some("/dev/null"))).err().unwrap();
        assert!(err.0.contains("/dev/null"), "{err}");
    }

    #[test]
    fn without_the_pi_header_chip_the_error_says_what_was_looked_for() {
        if gpiocdev::chip::chips().is_ok_and(|c| !c.is_empty()) {
            return; // a machine with GPIO chips: the test is about machines without
        }
        let err = ChipBoard::open(&config(None)).err().unwrap();
        assert!(err.0.contains("pinctrl-bcm2711"), "{err}");
        assert!(err.0.contains("no GPIO chips"), "{err}");
        let err = ChipBoard::open(&config(Some("pl061"))).err().unwrap();
        assert!(err.0.contains("`pl061`"), "{err}");
    }
}
