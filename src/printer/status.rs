//! Real-time status: `DLE EOT 1..4`, asked safely and decoded into one state.
//!
//! A successful write does not mean a printed ticket; the printer's own answer does.
//! Each query clears the input first (or an old answer is read as the new one), accepts
//! only bytes of the form `0xx1xx10` (anything else on the line is garbage and skipped),
//! and times out. Bit meanings are decoded with the `escpos` crate's
//! `RealTimeStatusResponse::parse`, which also checks the fixed bits.

use std::fmt;
use std::time::{Duration, Instant};

use escpos::utils::{RealTimeStatusRequest, RealTimeStatusResponse};

use super::escpos::status_query;
use super::transport::{LinkError, PrinterLink};

/// What the printer can do right now, most serious condition first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrinterState {
    /// Online, paper loaded.
    Ready,
    /// Printing works but the roll is nearly finished: a warning for the maintainer.
    PaperNearEnd,
    /// No paper: printing has stopped.
    PaperOut,
    /// The cover is open: printing has stopped.
    CoverOpen,
    /// Offline for another reason (e.g. feeding, waiting for recovery).
    Offline,
    /// The autocutter failed (paper jam at the cutter).
    CutterError,
    /// An error that needs a power cycle or service.
    UnrecoverableError,
    /// No valid answer within the timeout (unplugged, off, wrong port or baud).
    NotResponding,
}

impl PrinterState {
    /// Whether a ticket can be printed in this state.
    pub fn can_print(self) -> bool {
        matches!(self, PrinterState::Ready | PrinterState::PaperNearEnd)
    }

    /// A short English description for logs and the maintainer's tools.
    pub fn describe(self) -> &'static str {
        match self {
            PrinterState::Ready => "ready",
            PrinterState::PaperNearEnd => "paper near end",
            PrinterState::PaperOut => "paper out",
            PrinterState::CoverOpen => "cover open",
            PrinterState::Offline => "offline",
            PrinterState::CutterError => "cutter error",
            PrinterState::UnrecoverableError => "unrecoverable error",
            PrinterState::NotResponding => "not responding",
        }
    }
}

impl fmt::Display for PrinterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The four raw status bytes (`DLE EOT 1`, `2`, `3`, `4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBytes {
    /// Printer status (n = 1).
    pub printer: u8,
    /// Offline cause (n = 2).
    pub offline: u8,
    /// Error cause (n = 3).
    pub error: u8,
    /// Roll paper sensor (n = 4).
    pub paper: u8,
}

impl StatusBytes {
    /// The bytes a ready printer sends.
    pub const READY: StatusBytes = StatusBytes {
        printer: 0x12,
        offline: 0x12,
        error: 0x12,
        paper: 0x12,
    };
}

/// Whether `b` can be a `DLE EOT` reply: bits 0, 4 = 0, 1 and bits 1, 7 = 1, 0.
pub fn is_valid_reply(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
}

fn flag(request: RealTimeStatusRequest, byte: u8, key: RealTimeStatusResponse) -> bool {
    RealTimeStatusResponse::parse(request, byte)
        .ok()
        .and_then(|m| m.get(&key).copied())
        .unwrap_or(false)
}

/// Decodes the four bytes into the most serious state they show.
pub fn decode(s: StatusBytes) -> PrinterState {
    use RealTimeStatusRequest as Q;
    use RealTimeStatusResponse as R;
    if ![s.printer, s.offline, s.error, s.paper]
        .into_iter()
        .all(is_valid_reply)
    {
        return PrinterState::NotResponding;
    }
    if flag(Q::ErrorCause, s.error, R::UnrecoverableErrorOccurred) {
        return PrinterState::UnrecoverableError;
    }
    if flag(Q::ErrorCause, s.error, R::AutocutterErrorOccurred) {
        return PrinterState::CutterError;
    }
    // CoverClosed is reported false when the cover-open bit is set.
    if !flag(Q::OfflineCause, s.offline, R::CoverClosed) {
        return PrinterState::CoverOpen;
    }
    if !flag(
        Q::RollPaperSensor,
        s.paper,
        R::RollPaperEndSensorPaperPresent,
    ) || flag(Q::OfflineCause, s.offline, R::PrintingStopsDueToPaperEnd)
    {
        return PrinterState::PaperOut;
    }
    if !flag(Q::Printer, s.printer, R::Online) || flag(Q::OfflineCause, s.offline, R::ErrorOccurred)
    {
        return PrinterState::Offline;
    }
    if !flag(
        Q::RollPaperSensor,
        s.paper,
        R::RollPaperNearEndSensorPaperAdequate,
    ) {
        return PrinterState::PaperNearEnd;
    }
    PrinterState::Ready
}

/// Asks one `DLE EOT n` and returns the first valid reply byte, skipping garbage.
/// `Ok(None)` means no valid byte came within `timeout`.
pub fn query_one(
    link: &mut dyn PrinterLink,
    n: u8,
    timeout: Duration,
) -> Result<Option<u8>, LinkError> {
    link.clear_input()?;
    let deadline = Instant::now() + timeout;
    link.write_all(&status_query(n), timeout)?;
    let mut buf = [0u8; 16];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let got = link.read(&mut buf, left)?;
        if let Some(&b) = buf[..got].iter().find(|&&b| is_valid_reply(b)) {
            return Ok(Some(b));
        }
    }
}

/// Asks all four statuses; `None` if any went unanswered.
pub fn query_bytes(
    link: &mut dyn PrinterLink,
    timeout: Duration,
) -> Result<Option<StatusBytes>, LinkError> {
    let mut bytes = [0u8; 4];
    for (i, n) in (1..=4).enumerate() {
        match query_one(link, n, timeout)? {
            Some(b) => bytes[i] = b,
            None => return Ok(None),
        }
    }
    Ok(Some(StatusBytes {
        printer: bytes[0],
        offline: bytes[1],
        error: bytes[2],
        paper: bytes[3],
    }))
}

/// The printer's state now. Link failures and silence are both [`PrinterState::NotResponding`];
/// `timeout` applies to each of the four queries.
pub fn query(link: &mut dyn PrinterLink, timeout: Duration) -> PrinterState {
    match query_bytes(link, timeout) {
        Ok(Some(bytes)) => decode(bytes),
        Ok(None) => PrinterState::NotResponding,
        Err(err) => {
            tracing::warn!(%err, "printer status query failed");
            PrinterState::NotResponding
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut StatusBytes)) -> PrinterState {
        let mut s = StatusBytes::READY;
        f(&mut s);
        decode(s)
    }

    #[test]
    fn decodes_each_condition() {
        assert_eq!(with(|_| ()), PrinterState::Ready);
        assert_eq!(with(|s| s.paper = 0x1E), PrinterState::PaperNearEnd);
        assert_eq!(with(|s| s.paper = 0x72), PrinterState::PaperOut);
        assert_eq!(
            with(|s| {
                s.printer = 0x1A;
                s.offline = 0x32;
                s.paper = 0x7E;
            }),
            PrinterState::PaperOut
        );
        assert_eq!(
            with(|s| {
                s.printer = 0x1A;
                s.offline = 0x16;
            }),
            PrinterState::CoverOpen
        );
        assert_eq!(with(|s| s.printer = 0x1A), PrinterState::Offline);
        assert_eq!(
            with(|s| {
                s.offline = 0x52;
                s.error = 0x1A;
            }),
            PrinterState::CutterError
        );
        assert_eq!(
            with(|s| {
                s.offline = 0x52;
                s.error = 0x32;
            }),
            PrinterState::UnrecoverableError
        );
        assert_eq!(with(|s| s.error = 0xFF), PrinterState::NotResponding);
    }

    #[test]
    fn reply_pattern() {
        assert!(is_valid_reply(0x12) && is_valid_reply(0x72) && is_valid_reply(0x1E));
        for garbage in [0x00, 0xFF, 0x11, 0x13, 0x02, 0x10, 0x92, 0x13] {
            assert!(!is_valid_reply(garbage), "{garbage:#x}");
        }
    }
}
