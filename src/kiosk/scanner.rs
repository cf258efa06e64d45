//! Barcode scanners: turning their output into whole scans.
//!
//! A USB scanner acts as a keyboard: it "types" the barcode fast and ends with Enter.
//! The window forwards every key here; [`KeyboardScans`] collects them and yields a
//! scan at Enter. A pause longer than a scanner would make drops what was collected,
//! so stray keys never join a later scan. A serial scanner sends the same text on a
//! serial line; [`LineScans`] splits its bytes into scans. Both feed the same handler,
//! which routes a scan by the current screen.

use std::time::{Duration, Instant};

/// Longest scan kept; anything longer is not a barcode this kiosk reads.
pub const MAX_SCAN_LEN: usize = 256;

/// Shortest text treated as a scan.
pub const MIN_SCAN_LEN: usize = 3;

/// Collects keys typed by a keyboard-wedge scanner into scans.
#[derive(Debug)]
pub struct KeyboardScans {
    buffer: String,
    last_key: Option<Instant>,
    max_gap: Duration,
}

impl Default for KeyboardScans {
    fn default() -> Self {
        KeyboardScans::new(Duration::from_millis(300))
    }
}

impl KeyboardScans {
    /// Scans whose keys come at most `max_gap` apart.
    pub fn new(max_gap: Duration) -> KeyboardScans {
        KeyboardScans {
            buffer: String::new(),
            last_key: None,
            max_gap,
        }
    }

    /// Whether a scan is being typed at `now`: some characters came, the last of them
    /// within the pause a scanner makes. An Enter then ends the scan, not a keypad press.
    pub fn collecting(&self, now: Instant) -> bool {
        !self.buffer.is_empty()
            && self
                .last_key
                .is_some_and(|last| now.saturating_duration_since(last) <= self.max_gap)
    }

    /// One key event's text at `now`. Returns a scan when Enter completes one.
    pub fn key(&mut self, text: &str, now: Instant) -> Option<String> {
        if self
            .last_key
            .is_some_and(|last| now.saturating_duration_since(last) > self.max_gap)
        {
            self.buffer.clear();
        }
        self.last_key = Some(now);
        let mut scan = None;
        for c in text.chars() {
            match c {
                '\n' | '\r' => {
                    let done = std::mem::take(&mut self.buffer);
                    if done.chars().count() >= MIN_SCAN_LEN {
                        scan = Some(done);
                    }
                }
                c if (' '..='~').contains(&c) && self.buffer.len() < MAX_SCAN_LEN => {
                    self.buffer.push(c)
                }
                // Modifier and function keys arrive as private-use characters: ignore.
                _ => {}
            }
        }
        scan
    }
}

/// Splits the byte stream of a serial scanner into scans at CR or LF.
#[derive(Debug, Default)]
pub struct LineScans {
    buffer: Vec<u8>,
    overflowed: bool,
}

impl LineScans {
    /// Feeds bytes read from the port; returns the scans they complete. Bytes outside
    /// printable ASCII are dropped; an over-long line is discarded whole.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut scans = Vec::new();
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    let line = std::mem::take(&mut self.buffer);
                    if !self.overflowed && line.len() >= MIN_SCAN_LEN {
                        // Only printable ASCII was kept, so this is valid UTF-8.
                        scans.push(String::from_utf8_lossy(&line).into_owned());
                    }
                    self.overflowed = false;
                }
                0x20..=0x7e => {
                    if self.buffer.len() < MAX_SCAN_LEN {
                        self.buffer.push(b);
                    } else {
                        self.overflowed = true;
                    }
                }
                _ => {}
            }
        }
        scans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_scan_completes_at_enter() {
        let t0 = Instant::now();
        let mut scans = KeyboardScans::default();
        let ms = Duration::from_millis;
        let mut out = None;
        for (i, c) in "*RSSMRA45C12F205C*\n".chars().enumerate() {
            out = scans.key(&c.to_string(), t0 + ms(i as u64 * 5));
        }
        assert_eq!(out.as_deref(), Some("*RSSMRA45C12F205C*"));
    }

    #[test]
    fn a_pause_drops_stray_keys_and_control_keys_are_ignored() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut scans = KeyboardScans::default();
        assert_eq!(scans.key("X", t0), None);
        assert_eq!(scans.key("\u{0010}", t0 + ms(1000)), None, "shift");
        assert_eq!(scans.key("N012", t0 + ms(1002)), None);
        assert_eq!(scans.key("\r", t0 + ms(1004)).as_deref(), Some("N012"));
        assert_eq!(scans.key("\n", t0 + ms(1006)), None, "CR LF is one end");
        assert_eq!(scans.key("ab\n", t0 + ms(1008)), None, "too short");
    }

    #[test]
    fn serial_lines_split_and_garbage_is_dropped() {
        let mut lines = LineScans::default();
        assert!(lines.feed(b"*RSSMRA45C1").is_empty());
        assert_eq!(
            lines.feed(b"2F205C*\r\n\xff\x00N012\n"),
            vec!["*RSSMRA45C12F205C*".to_string(), "N012".to_string()]
        );
        let long = vec![b'A'; MAX_SCAN_LEN + 10];
        assert!(lines.feed(&long).is_empty());
        assert!(lines.feed(b"\n").is_empty(), "over-long line discarded");
        assert_eq!(lines.feed(b"OK12\n"), vec!["OK12".to_string()]);
    }
}
