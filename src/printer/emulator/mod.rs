//! A virtual thermal printer, good enough to test and demo the printing stack without paper.
//!
//! [`VirtualPrinter`] is the printer without I/O: feed it bytes, it answers `DLE EOT`
//! from a state tests can change (paper near end, paper out, cover open, errors,
//! silent) and turns every cut receipt into a PNG at the profile's width plus a text
//! transcript. [`Emulator`] puts it on a pseudo-terminal that the kiosk opens like a
//! serial port. While the printer cannot print, what it receives is dropped and the
//! receipt in progress is spoiled (no PNG), as paper that ran out mid-ticket would be.

mod parser;
mod pty;
mod render;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use parser::{Interpreter, Sheet};
pub use pty::{Emulator, EmulatorOptions};
pub use render::{Canvas, Styled, glyph};

use super::commands::{self, Next, Token};
use super::profile::{Cutter, Profile};

/// The state of the virtual paper roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// Plenty of paper.
    #[default]
    Ok,
    /// The near-end sensor sees the roll core: still printing.
    NearEnd,
    /// No paper.
    Out,
}

/// What the virtual printer reports and how it behaves; tests and the demo set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtualState {
    /// The roll.
    pub paper: Paper,
    /// The cover is open.
    pub cover_open: bool,
    /// The autocutter is jammed.
    pub cutter_error: bool,
    /// An unrecoverable error (head overheated beyond recovery, etc.).
    pub unrecoverable: bool,
    /// Answers nothing at all (unplugged, off, wrong baud).
    pub silent: bool,
}

impl VirtualState {
    /// Whether the printer would put dots on paper in this state.
    pub fn can_print(&self) -> bool {
        self.paper != Paper::Out && !self.cover_open && !self.cutter_error && !self.unrecoverable
    }

    /// The reply to `DLE EOT n`, or `None` when silent or `n` is not 1..=4.
    pub fn reply(&self, n: u8) -> Option<u8> {
        if self.silent {
            return None;
        }
        let error = self.cutter_error || self.unrecoverable;
        let offline = !self.can_print();
        let bits = match n {
            1 => u8::from(offline) << 3,
            2 => {
                (u8::from(self.cover_open) << 2)
                    | (u8::from(self.paper == Paper::Out) << 5)
                    | (u8::from(error) << 6)
            }
            3 => (u8::from(self.cutter_error) << 3) | (u8::from(self.unrecoverable) << 5),
            4 => match self.paper {
                Paper::Ok => 0,
                Paper::NearEnd => 0x0C,
                Paper::Out => 0x60,
            },
            _ => return None,
        };
        Some(0x12 | bits)
    }
}

/// A receipt the virtual printer cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Sequence number, from 1.
    pub number: usize,
    /// The rendered picture, when an output directory was given.
    pub png: Option<PathBuf>,
    /// Width and height of the picture in dots.
    pub size: (usize, usize),
    /// Text lines as printed (decoded through the selected code page).
    pub lines: Vec<String>,
    /// Data of the QR codes printed.
    pub qr_payloads: Vec<String>,
    /// Data of the barcodes printed.
    pub barcodes: Vec<String>,
    /// Partial rather than full cut.
    pub partial_cut: bool,
}

/// A pending state change, applied when the byte count reaches `at`.
#[derive(Debug, Clone, Copy)]
struct Trigger {
    at: usize,
    state: VirtualState,
}

/// The printer without I/O: bytes in, status replies and receipts out.
#[derive(Debug)]
pub struct VirtualPrinter {
    profile: Profile,
    interpreter: Interpreter,
    state: VirtualState,
    pending: Vec<u8>,
    received: usize,
    triggers: Vec<Trigger>,
    spoiled: bool,
    spoiled_count: usize,
    out_dir: Option<PathBuf>,
    receipts: Vec<Receipt>,
    images: Vec<image::GrayImage>,
    keep_images: bool,
    state_changed_at: Option<Instant>,
    cut_count: usize,
    defer_rendering: bool,
    deferred: Vec<(usize, Sheet)>,
}

impl VirtualPrinter {
    /// A ready printer with `profile`'s paper; PNGs go to `out_dir` when given.
    pub fn new(profile: &Profile, out_dir: Option<&Path>) -> VirtualPrinter {
        VirtualPrinter {
            profile: profile.clone(),
            interpreter: Interpreter::new(profile),
            state: VirtualState::default(),
            pending: Vec::new(),
            received: 0,
            triggers: Vec::new(),
            spoiled: false,
            spoiled_count: 0,
            out_dir: out_dir.map(Path::to_path_buf),
            receipts: Vec::new(),
            images: Vec::new(),
            keep_images: false,
            state_changed_at: None,
            cut_count: 0,
            defer_rendering: false,
            deferred: Vec::new(),
        }
    }

    /// Keeps each receipt's picture in memory too (see [`VirtualPrinter::images`]).
    pub fn keep_images(&mut self, keep: bool) {
        self.keep_images = keep;
    }

    /// The current state.
    pub fn state(&self) -> VirtualState {
        self.state
    }

    /// Changes the state now.
    pub fn set_state(&mut self, state: VirtualState) {
        // Only a receipt in progress is lost; a printer idle when the paper ran out prints
        // the next one whole once paper is back.
        if !state.can_print() && self.interpreter.has_content() {
            self.spoiled = true;
        }
        if state != self.state {
            self.state_changed_at = Some(Instant::now());
        }
        self.state = state;
    }

    /// Changes the state once `after` more bytes have been received (mid-job faults).
    pub fn set_state_after_bytes(&mut self, after: usize, state: VirtualState) {
        self.triggers.push(Trigger {
            at: self.received + after,
            state,
        });
    }

    /// Bytes received since power-on.
    pub fn bytes_received(&self) -> usize {
        self.received
    }

    /// Receipts cut so far.
    pub fn receipts(&self) -> &[Receipt] {
        &self.receipts
    }

    /// Pictures of the receipts, when [`VirtualPrinter::keep_images`] is on.
    pub fn images(&self) -> &[image::GrayImage] {
        &self.images
    }

    /// Receipts lost because the printer could not print while receiving them.
    pub fn spoiled_count(&self) -> usize {
        self.spoiled_count
    }

    /// Drops a command that never completed (garbage declaring a long length), so
    /// the reader can resynchronise. Called by the line handler after a quiet period.
    pub fn drop_stalled(&mut self) {
        if !self.pending.is_empty() {
            tracing::info!(
                bytes = self.pending.len(),
                "virtual printer: dropped an incomplete command"
            );
            self.pending.clear();
        }
    }

    /// When the state last changed (by [`VirtualPrinter::set_state`] or a trigger).
    pub fn state_changed_at(&self) -> Option<Instant> {
        self.state_changed_at
    }

    /// Ends the receipt in progress as if torn off (printers without a cutter: the
    /// line handler calls this after a quiet period, and before a new job's `ESC @`).
    pub fn tear_off(&mut self) {
        if self.interpreter.has_content() {
            let sheet = self.interpreter.take_sheet(false);
            self.finish(sheet);
        }
    }

    /// Whether a receipt is in progress on a printer without a cutter.
    pub fn awaits_tear_off(&self) -> bool {
        self.profile.cutter == Cutter::None && self.interpreter.has_content()
    }

    /// Whether a partial command is waiting for more bytes.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Receives bytes from the host; returns the bytes the printer sends back.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<u8> {
        let mut replies = Vec::new();
        while !bytes.is_empty() {
            self.apply_due_triggers();
            // Stop at the next trigger so it fires at exactly its byte.
            let take = match self.triggers.iter().map(|t| t.at).min() {
                Some(at) => (at - self.received).clamp(1, bytes.len()),
                None => bytes.len(),
            };
            let (now, rest) = bytes.split_at(take);
            self.received += now.len();
            self.pending.extend_from_slice(now);
            self.drain(&mut replies);
            self.apply_due_triggers();
            bytes = rest;
        }
        replies
    }

    fn apply_due_triggers(&mut self) {
        let received = self.received;
        let (due, later): (Vec<Trigger>, Vec<Trigger>) =
            self.triggers.iter().partition(|t| t.at <= received);
        self.triggers = later;
        for t in due {
            self.set_state(t.state);
        }
    }

    fn drain(&mut self, replies: &mut Vec<u8>) -> usize {
        let max_width = self.profile.dots_per_line / 8;
        let mut at = 0;
        let mut sheets = Vec::new();
        while let Next::Token(token, used) = commands::next(&self.pending[at..], max_width) {
            at += used.max(1);
            if let Token::Status(n) = token {
                replies.extend(self.state.reply(n));
                continue;
            }
            if !self.state.can_print() {
                // Nothing reaches the paper; the receipt in progress is lost.
                self.spoiled = true;
                if matches!(token, Token::Cut { .. }) {
                    self.spoiled = false;
                    self.spoiled_count += 1;
                    self.interpreter = Interpreter::new(&self.profile);
                }
                continue;
            }
            if token == Token::Init && self.awaits_tear_off() {
                sheets.push(self.interpreter.take_sheet(false));
            }
            let cut = self.interpreter.apply(&token);
            sheets.extend(self.interpreter.take_overlong());
            sheets.extend(cut);
        }
        self.pending.drain(..at);
        for sheet in sheets {
            self.finish(sheet);
        }
        at
    }

    fn finish(&mut self, sheet: Sheet) {
        if std::mem::take(&mut self.spoiled) {
            self.spoiled_count += 1;
            tracing::info!("virtual printer: receipt spoiled (printer could not print)");
            return;
        }
        if sheet.canvas.is_blank() {
            return;
        }
        self.cut_count += 1;
        let number = self.cut_count;
        if self.defer_rendering {
            self.deferred.push((number, sheet));
            return;
        }
        if self.keep_images {
            self.images.push(sheet.canvas.to_image());
        }
        let receipt = render_receipt(number, sheet, self.out_dir.as_deref());
        self.receipts.push(receipt);
    }

    /// Leaves PNG encoding to the caller (the pty's render thread), so a long receipt
    /// never delays a status reply: finished sheets wait in [`VirtualPrinter::take_deferred`].
    pub fn defer_rendering(&mut self, defer: bool) {
        self.defer_rendering = defer;
    }

    /// Sheets cut but not yet rendered, with their receipt numbers.
    pub fn take_deferred(&mut self) -> Vec<(usize, Sheet)> {
        std::mem::take(&mut self.deferred)
    }

    /// Records a receipt rendered elsewhere.
    pub fn add_receipt(&mut self, receipt: Receipt) {
        self.receipts.push(receipt);
    }

    /// Where PNGs go, if anywhere.
    pub fn out_dir(&self) -> Option<&Path> {
        self.out_dir.as_deref()
    }
}

/// Saves a sheet as `receipt-NNNN.png` in `out_dir` (when given) and describes it.
pub fn render_receipt(number: usize, sheet: Sheet, out_dir: Option<&Path>) -> Receipt {
    let png = out_dir.and_then(|dir| {
        let path = dir.join(format!("receipt-{number:04}.png"));
        match sheet.canvas.save_png(&path) {
            Ok(()) => Some(path),
            Err(err) => {
                tracing::warn!(%err, path = %path.display(), "cannot save receipt");
                None
            }
        }
    });
    Receipt {
        number,
        png,
        size: (sheet.canvas.width(), sheet.canvas.height()),
        lines: sheet.lines,
        qr_payloads: sheet.qr_payloads,
        barcodes: sheet.barcodes,
        partial_cut: sheet.partial_cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_fixed_bits_and_report_the_state() {
        let mut s = VirtualState::default();
        assert_eq!(
            (1..=4).map(|n| s.reply(n)).collect::<Vec<_>>(),
            vec![Some(0x12); 4]
        );
        s.paper = Paper::Out;
        assert_eq!(s.reply(4), Some(0x72));
        assert_eq!(s.reply(1), Some(0x1A));
        s.silent = true;
        assert_eq!(s.reply(1), None);
    }

    #[test]
    fn answers_status_and_cuts_receipts() {
        let p = Profile::named("generic-80").unwrap();
        let mut v = VirtualPrinter::new(&p, None);
        let out = v.feed(b"\x1b@\x1bt\x13Citt\x85\n\x10\x04\x04\x1dVB\x00");
        assert_eq!(out, vec![0x12]);
        assert_eq!(v.receipts().len(), 1);
        assert_eq!(v.receipts()[0].lines, vec!["Città"]);
        assert!(v.receipts()[0].partial_cut);
    }

    #[test]
    fn central_european_and_cyrillic_pages_read_back() {
        let p = Profile::named("epson-tm-t20iii").unwrap();
        let mut v = VirtualPrinter::new(&p, None);
        // ESC t 45 (WPC1250): "şomaj ţară"; ESC t 46 (WPC1251): "Допомога".
        let mut bytes = b"\x1b@\x1bt\x2d\xbaomaj \xfear\xe3\n\x1bt\x2e".to_vec();
        bytes.extend([0xC4, 0xEE, 0xEF, 0xEE, 0xEC, 0xEE, 0xE3, 0xE0, b'\n']);
        bytes.extend(b"\x1dVB\x00");
        assert!(v.feed(&bytes).is_empty());
        assert_eq!(v.receipts()[0].lines, vec!["şomaj ţară", "Допомога"]);
        // Holes of a page (0x98 in WPC1251) print as `?`, never as a command.
        let mut v = VirtualPrinter::new(&p, None);
        v.feed(b"\x1b@\x1bt\x2ea\x98b\n\x1dVB\x00");
        assert_eq!(v.receipts()[0].lines, vec!["a?b"]);
    }

    #[test]
    fn triggers_fire_at_the_byte_count_and_spoil_the_receipt() {
        let p = Profile::named("generic-80").unwrap();
        let mut v = VirtualPrinter::new(&p, None);
        let out_of_paper = VirtualState {
            paper: Paper::Out,
            ..VirtualState::default()
        };
        v.set_state_after_bytes(10, out_of_paper);
        let out = v.feed(b"\x1b@\x1bt\x13Hello\n\x10\x04\x04\x1dVB\x00");
        assert_eq!(out, vec![0x72]);
        assert!(v.receipts().is_empty());
        assert_eq!(v.spoiled_count(), 1);
    }

    /// Metres of quadruple-size text with no line feed and no cut: the receipts it
    /// becomes are the same whether the host wrote it at once or seven bytes at a time
    /// (the fuzzer found a length split that depended on the writes).
    #[test]
    fn an_endless_receipt_is_split_the_same_however_it_arrives() {
        let p = Profile::named("generic-80").unwrap();
        let mut bytes = b"\x1b@\x1d!\x77".to_vec();
        bytes.extend((0..3000).map(|i| b'A' + (i % 26) as u8));
        bytes.extend(b"\n\x1dVB\x00");
        let sheets = |chunk: usize| {
            let mut v = VirtualPrinter::new(&p, None);
            v.defer_rendering(true);
            for piece in bytes.chunks(chunk) {
                v.feed(piece);
            }
            v.take_deferred()
                .into_iter()
                .map(|(_, sheet)| (sheet.lines, sheet.canvas.height()))
                .collect::<Vec<_>>()
        };
        let whole = sheets(bytes.len());
        assert!(whole.len() > 2, "{} sheets", whole.len());
        assert!(
            whole
                .iter()
                .all(|(_, height)| *height <= render::MAX_HEIGHT / 2 + 400)
        );
        assert_eq!(whole, sheets(7));
    }
}
