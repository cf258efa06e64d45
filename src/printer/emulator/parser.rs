//! Interprets ESC/POS commands as a printer would: style state, lines, QR, raster, cut.
//!
//! Tokens come from [`crate::printer::commands`]; this keeps the printer's state (code
//! page, bold, size, alignment, QR settings), lays text into lines (wrapping at the
//! paper's edge like a real printer) and draws on a [`Canvas`]. A cut closes the
//! receipt. Commands without a visible effect are accepted and ignored.

use super::render::{CELL_HEIGHT, Canvas, LINE_PITCH, MAX_HEIGHT, Styled};
use crate::printer::codepage::CodePage;
use crate::printer::commands::Token;
use crate::printer::escpos::QrLevel;
use crate::printer::profile::Profile;

/// A code page the emulator can decode: the power-on PC437 or one of the profile's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Pc437,
    Known(CodePage),
}

impl Page {
    fn decode(self, b: u8) -> char {
        let c = match self {
            Page::Known(p) => p.decode_byte(b),
            Page::Pc437 if b >= 0x80 => Some(oem_cp::decode_char_complete_table(
                b,
                &oem_cp::code_table::DECODING_TABLE_CP437,
            )),
            Page::Pc437 => CodePage::Pc858.decode_byte(b),
        };
        c.unwrap_or('?')
    }
}

/// A receipt closed by a cut, before it is saved.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The picture.
    pub canvas: Canvas,
    /// Each printed text line as decoded characters (a transcript for tests and logs).
    pub lines: Vec<String>,
    /// Data of every QR code printed (native or as the emulator stored it).
    pub qr_payloads: Vec<String>,
    /// Data of every barcode printed.
    pub barcodes: Vec<String>,
    /// Whether the cut was partial.
    pub partial_cut: bool,
}

/// The printer's interpretation state for one receipt stream.
#[derive(Debug, Clone)]
pub struct Interpreter {
    profile: Profile,
    page: Page,
    bold: bool,
    mode_bold: bool,
    width: u8,
    height: u8,
    align: u8,
    line_align: Option<u8>,
    line: Vec<Styled>,
    qr_module: u8,
    qr_level: QrLevel,
    qr_data: Vec<u8>,
    barcode_height: u8,
    canvas: Canvas,
    lines: Vec<String>,
    qr_payloads: Vec<String>,
    barcodes: Vec<String>,
    /// Sheets ended because they grew past half of [`MAX_HEIGHT`] without a cut.
    overlong: Vec<Sheet>,
}

impl Interpreter {
    /// A printer just switched on, with `profile`'s paper.
    pub fn new(profile: &Profile) -> Interpreter {
        Interpreter {
            profile: profile.clone(),
            page: Page::Pc437,
            bold: false,
            mode_bold: false,
            width: 1,
            height: 1,
            align: 0,
            line_align: None,
            line: Vec::new(),
            qr_module: 3,
            qr_level: QrLevel::L,
            qr_data: Vec::new(),
            barcode_height: 162,
            canvas: Canvas::new(profile.dots_per_line),
            lines: Vec::new(),
            qr_payloads: Vec::new(),
            barcodes: Vec::new(),
            overlong: Vec::new(),
        }
    }

    fn reset_style(&mut self) {
        self.page = Page::Pc437;
        self.bold = false;
        self.mode_bold = false;
        self.width = 1;
        self.height = 1;
        self.align = 0;
        self.qr_module = 3;
        self.qr_level = QrLevel::L;
        self.barcode_height = 162;
    }

    fn cell(&self) -> u16 {
        self.profile.char_width_dots()
    }

    fn flush_line(&mut self, feed_if_empty: bool) {
        if self.line.is_empty() {
            if feed_if_empty {
                self.canvas.feed(usize::from(LINE_PITCH));
            }
            return;
        }
        let line = std::mem::take(&mut self.line);
        let align = self.line_align.take().unwrap_or(self.align);
        self.canvas.text_line(&line, align, self.cell());
        self.lines.push(line.iter().map(|s| s.c).collect());
    }

    fn push_char(&mut self, c: char) {
        let used: usize = self
            .line
            .iter()
            .map(|s| usize::from(self.cell()) * usize::from(s.w))
            .sum();
        let next = usize::from(self.cell()) * usize::from(self.width);
        if used + next > usize::from(self.profile.dots_per_line) {
            self.flush_line(false);
            self.end_if_too_long();
        }
        if self.line.is_empty() {
            self.line_align = Some(self.align);
        }
        self.line.push(Styled {
            c,
            w: self.width,
            h: self.height,
            bold: self.bold || self.mode_bold,
        });
    }

    /// Applies one command; returns a finished sheet when the command was a cut.
    pub fn apply(&mut self, token: &Token<'_>) -> Option<Sheet> {
        match *token {
            Token::Text(bytes) => {
                for &b in bytes {
                    let c = self.page.decode(b);
                    self.push_char(c);
                }
            }
            Token::LineFeed => self.flush_line(true),
            Token::Init => {
                self.flush_line(false);
                self.reset_style();
            }
            Token::CodePage(n) => {
                self.page = self
                    .profile
                    .code_pages
                    .iter()
                    .find(|(_, number)| **number == n)
                    .map_or(Page::Pc437, |(page, _)| Page::Known(*page));
            }
            Token::Bold(on) => self.bold = on,
            Token::PrintMode(bits) => {
                self.mode_bold = bits & 0x08 != 0;
                self.height = if bits & 0x10 != 0 { 2 } else { 1 };
                self.width = if bits & 0x20 != 0 { 2 } else { 1 };
            }
            Token::Size(n) => {
                self.width = ((n >> 4) & 0x07) + 1;
                self.height = (n & 0x07) + 1;
            }
            Token::Align(n) => self.align = n % 48 % 3,
            Token::FeedLines(n) => {
                self.flush_line(false);
                self.canvas.feed(usize::from(n) * usize::from(LINE_PITCH));
            }
            Token::FeedDots(n) => {
                self.flush_line(false);
                self.canvas.feed(usize::from(n));
            }
            Token::QrModule(m) => {
                if (1..=16).contains(&m) {
                    self.qr_module = m;
                }
            }
            Token::QrLevel(l) => {
                if let Some(level) = QrLevel::from_byte(l) {
                    self.qr_level = level;
                }
            }
            Token::QrStore(data) => self.qr_data = data.to_vec(),
            Token::QrPrint => self.print_qr(),
            Token::Raster {
                width_bytes,
                height,
                data,
            } => {
                self.flush_line(false);
                self.canvas.raster(
                    data,
                    usize::from(width_bytes),
                    usize::from(height),
                    self.align,
                );
            }
            Token::BarcodeHeight(h) => self.barcode_height = h.max(1),
            Token::Barcode { system, data } => self.print_barcode(system, data),
            Token::Cut { partial, feed } => {
                self.flush_line(false);
                self.canvas
                    .feed(usize::from(feed) + usize::from(CELL_HEIGHT));
                return Some(self.take_sheet(partial));
            }
            Token::Status(_) | Token::Other(_) => {}
        }
        self.end_if_too_long();
        None
    }

    /// Metres of paper without a cut: what is there becomes a receipt of its own (one
    /// picture per ~1 m) rather than growing without bound. Checked after every line a
    /// text wraps onto and after every other command, so the receipts do not depend on
    /// how the host's bytes were split into writes.
    fn end_if_too_long(&mut self) {
        if self.canvas.height() < MAX_HEIGHT / 2 {
            return;
        }
        let sheet = self.end_sheet(false);
        self.overlong.push(sheet);
    }

    /// The sheets ended by their length since the last call, oldest first.
    pub fn take_overlong(&mut self) -> Vec<Sheet> {
        std::mem::take(&mut self.overlong)
    }

    /// Whether anything has been printed since the last cut or tear-off.
    pub fn has_content(&self) -> bool {
        !self.line.is_empty() || !self.canvas.is_blank()
    }

    /// Ends the receipt here (a cut, or the citizen tearing it off a cutterless printer).
    pub fn take_sheet(&mut self, partial_cut: bool) -> Sheet {
        self.flush_line(false);
        self.end_sheet(partial_cut)
    }

    /// What is printed so far as a sheet, and fresh paper after it; a line still being
    /// typed stays for the next sheet.
    fn end_sheet(&mut self, partial_cut: bool) -> Sheet {
        let canvas = std::mem::replace(&mut self.canvas, Canvas::new(self.profile.dots_per_line));
        Sheet {
            canvas,
            lines: std::mem::take(&mut self.lines),
            qr_payloads: std::mem::take(&mut self.qr_payloads),
            barcodes: std::mem::take(&mut self.barcodes),
            partial_cut,
        }
    }

    fn print_qr(&mut self) {
        self.flush_line(false);
        if self.qr_data.is_empty() {
            return;
        }
        let Ok(code) =
            qrcode::QrCode::with_error_correction_level(&self.qr_data, self.qr_level.to_qrcode())
        else {
            return;
        };
        let n = code.width();
        let modules: Vec<bool> = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        // A real printer leaves white paper around the symbol; so does the emulator.
        self.canvas.feed(usize::from(self.qr_module) * 2);
        self.canvas
            .matrix(&modules, n, usize::from(self.qr_module), self.align);
        self.canvas.feed(usize::from(self.qr_module) * 2);
        self.qr_payloads
            .push(String::from_utf8_lossy(&self.qr_data).into_owned());
    }

    fn print_barcode(&mut self, system: u8, data: &[u8]) {
        self.flush_line(false);
        // Code 128 data starts with a code set selector ({A, {B, {C); `{{` is a literal `{`.
        let text: String = if system == 73 {
            let mut out = String::new();
            let mut it = data.iter().copied().peekable();
            while let Some(b) = it.next() {
                if b == b'{' {
                    if it.next() == Some(b'{') {
                        out.push('{');
                    }
                } else {
                    out.push(char::from(b));
                }
            }
            out
        } else {
            data.iter().map(|&b| char::from(b)).collect()
        };
        // Drawn as a placeholder of bars from the data (not a scannable symbol),
        // with the human-readable text below.
        let bars: Vec<bool> = text
            .bytes()
            .flat_map(|b| (0..8).map(move |i| b & (1 << i) != 0))
            .collect();
        let width = bars.len() * 2;
        let left = match self.align {
            1 => self.canvas.width().saturating_sub(width) / 2,
            2 => self.canvas.width().saturating_sub(width),
            _ => 0,
        };
        let height = usize::from(self.barcode_height);
        self.canvas.block(height, |set| {
            for (i, bar) in bars.iter().enumerate() {
                if *bar {
                    for y in 0..height {
                        set(left + 2 * i, y);
                        set(left + 2 * i + 1, y);
                    }
                }
            }
        });
        let saved = (self.width, self.height);
        (self.width, self.height) = (1, 1);
        for c in text.chars() {
            self.push_char(c);
        }
        self.flush_line(false);
        (self.width, self.height) = saved;
        self.barcodes.push(text);
    }
}
