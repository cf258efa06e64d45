//! One print job: status before → bytes in chunks, status between → status after.
//!
//! The kiosk hands a ticket over only when the printer confirms it (DESIGN.md,
//! invariant 3). So a job refuses to start on a printer that cannot print, sends the
//! bytes in chunks cut only between whole commands (a status query inside QR or raster
//! data would be taken as data) and asks the status after each chunk, so paper out or
//! an open cover during a long job is noticed within a chunk's wire time plus one
//! status round trip (well under a second with the default chunk size). After the last
//! byte it keeps polling while the printer could still be printing, then reports.

use std::fmt;
use std::time::{Duration, Instant};

use super::commands;
use super::profile::Profile;
use super::status::{self, PrinterState};
use super::transport::PrinterLink;

/// Timing of a job. [`JobOptions::for_baud`] picks sensible values for a line speed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions {
    /// Largest chunk written between two status polls.
    pub chunk_bytes: usize,
    /// How long each of the four status queries may wait for its byte.
    pub status_timeout: Duration,
    /// Upper bound for writing one chunk.
    pub write_timeout: Duration,
    /// How long to keep polling after the last byte (the printer may still be printing);
    /// `None` derives it from the profile's paper speed.
    pub settle: Option<Duration>,
    /// Pause between polls while settling.
    pub poll_interval: Duration,
    /// Line speed in bytes per second: the status query after a chunk may wait behind
    /// that chunk on the wire, so its timeout grows by the chunk's wire time.
    pub line_bytes_per_s: usize,
}

/// Paper length assumed for the settle time: a queue ticket is about 10 cm.
const ASSUMED_JOB_MM: u64 = 100;

impl JobOptions {
    /// Chunks of about 200 ms of wire time at `baud` (8N1: 10 bits per byte).
    pub fn for_baud(baud: u32) -> JobOptions {
        let bytes_per_s = (baud / 10).max(1) as usize;
        JobOptions {
            chunk_bytes: (bytes_per_s / 5).clamp(32, 4096),
            line_bytes_per_s: bytes_per_s,
            status_timeout: Duration::from_millis(250),
            write_timeout: Duration::from_secs(3),
            settle: None,
            poll_interval: Duration::from_millis(100),
        }
    }
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions::for_baud(115_200)
    }
}

/// Where in the job a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStage {
    /// Before any byte was sent: nothing was printed.
    Before,
    /// While sending: part of the ticket may have printed.
    Sending,
    /// After all bytes were sent, before the printer confirmed.
    After,
}

/// Why a ticket did not come out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintFailure {
    /// When it failed.
    pub stage: JobStage,
    /// The printer's state, when the failure is the printer's (None for link errors).
    pub state: Option<PrinterState>,
    /// A short English reason for logs and the maintainer.
    pub reason: String,
    /// Bytes written before the failure.
    pub bytes_sent: usize,
    /// Time from the job's start to the failure being known.
    pub elapsed: Duration,
}

impl fmt::Display for PrintFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            JobStage::Before => "before printing",
            JobStage::Sending => "while printing",
            JobStage::After => "after printing",
        };
        write!(
            f,
            "{stage}: {} ({} bytes sent)",
            self.reason, self.bytes_sent
        )
    }
}

/// The result of a job: printed and confirmed, or failed with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// The printer confirmed the ticket.
    Printed {
        /// The roll is nearly finished: tell the maintainer.
        paper_near_end: bool,
        /// How long the job took.
        elapsed: Duration,
    },
    /// The ticket did not (or not surely) come out.
    Failed(PrintFailure),
}

impl PrintOutcome {
    /// Whether the ticket came out.
    pub fn is_printed(&self) -> bool {
        matches!(self, PrintOutcome::Printed { .. })
    }
}

/// Prints `bytes` with options for 115200 baud. See [`print_with`].
pub fn print(link: &mut dyn PrinterLink, profile: &Profile, bytes: &[u8]) -> PrintOutcome {
    print_with(link, profile, bytes, &JobOptions::default())
}

/// Splits `bytes` into chunks of at most `max` bytes, cut only between whole commands
/// (a single command longer than `max` is one chunk).
pub fn chunks(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut last = 0;
    for end in commands::boundaries(bytes) {
        if end - start > max && last > start {
            out.push(&bytes[start..last]);
            start = last;
        }
        last = end;
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// Runs one job on `link`: status before, chunks with status polls, status after.
pub fn print_with(
    link: &mut dyn PrinterLink,
    profile: &Profile,
    bytes: &[u8],
    options: &JobOptions,
) -> PrintOutcome {
    let started = Instant::now();
    let mut near_end = false;
    let mut sent = 0usize;
    let fail = |stage, state: Option<PrinterState>, reason: String, sent| {
        let failure = PrintFailure {
            stage,
            state,
            reason,
            bytes_sent: sent,
            elapsed: started.elapsed(),
        };
        tracing::warn!(printer = %profile.name, %failure, "print job failed");
        PrintOutcome::Failed(failure)
    };
    // Ptys and some USB adapters cannot report their output queue, so a reply may
    // wait behind the chunk just written: allow for its wire time.
    let check = |link: &mut dyn PrinterLink, near_end: &mut bool, behind: usize| {
        let wire = behind as u64 * 1000 / options.line_bytes_per_s.max(1) as u64;
        let state = status::query(link, options.status_timeout + Duration::from_millis(wire));
        *near_end |= state == PrinterState::PaperNearEnd;
        state
    };

    let state = check(link, &mut near_end, 0);
    if !state.can_print() {
        return fail(JobStage::Before, Some(state), state.to_string(), 0);
    }
    for chunk in chunks(bytes, options.chunk_bytes) {
        if let Err(err) = link.write_all(chunk, options.write_timeout) {
            return fail(JobStage::Sending, None, err.to_string(), sent);
        }
        sent += chunk.len();
        let state = check(link, &mut near_end, chunk.len());
        if !state.can_print() {
            return fail(JobStage::Sending, Some(state), state.to_string(), sent);
        }
    }
    let settle = options.settle.unwrap_or_else(|| {
        Duration::from_millis(ASSUMED_JOB_MM * 1000 / u64::from(profile.speed_mm_s.max(1)))
    });
    let settle_end = Instant::now() + settle;
    loop {
        let state = check(link, &mut near_end, 0);
        if !state.can_print() {
            return fail(JobStage::After, Some(state), state.to_string(), sent);
        }
        if Instant::now() >= settle_end {
            break;
        }
        std::thread::sleep(options.poll_interval.min(settle_end - Instant::now()));
    }
    let elapsed = started.elapsed();
    tracing::info!(printer = %profile.name, bytes = sent, ?elapsed, near_end, "ticket printed");
    PrintOutcome::Printed {
        paper_near_end: near_end,
        elapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_and_respect_commands() {
        let mut bytes = b"\x1b@\x1bt\x13".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 100));
        bytes.push(b'\n');
        let qr = b"\x1d(k\x0b\x00\x31\x50\x30https://x";
        bytes.extend(qr);
        let parts = chunks(&bytes, 40);
        assert_eq!(parts.concat(), bytes);
        // The QR store command (19 bytes) is never split.
        assert!(parts.iter().any(|c| c.windows(qr.len()).any(|w| w == qr)));
        assert!(chunks(&bytes, 40).len() >= 3);
    }

    #[test]
    fn chunk_size_follows_the_baud_rate() {
        assert_eq!(JobOptions::for_baud(9600).chunk_bytes, 192);
        assert_eq!(JobOptions::for_baud(115_200).chunk_bytes, 2304);
    }
}
