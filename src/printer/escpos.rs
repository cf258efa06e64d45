//! The ESC/POS byte encoder.
//!
//! Command bytes come from the `escpos` crate's constants (init, code page, emphasis,
//! justification, size, feed, the `GS ( k` QR function headers, barcode setup); the
//! crate's status parser is used by [`super::status`]. Written here, because the crate
//! lacks them or gets them wrong for us: text through [`CodePage`] with an ASCII
//! fallback (the crate sends raw UTF-8 when no page is set, or fails on a missing
//! character), the code page sent again after every `ESC @`, cuts with `GS V 65/66 n`
//! (the crate's "partial" cut is `GS V 65 1`, a full cut), QR module sizes up to 16,
//! QR as a `GS v 0` raster in bands (the crate needs an image file), and Code 128 (the
//! crate has no Code 128).

use escpos::utils::{
    DLE_REAL_TIME_STATUS, ESC_CHARACTER_PAGE_CODE, ESC_HARDWARE_INIT, ESC_PAPER_FEED,
    ESC_TEXT_EMPHASIS_OFF, ESC_TEXT_EMPHASIS_ON, ESC_TEXT_JUSTIFY_CENTER, ESC_TEXT_JUSTIFY_LEFT,
    ESC_TEXT_JUSTIFY_RIGHT, GS_2D, GS_2D_QRCODE_CORRECTION_LEVEL, GS_2D_QRCODE_MODEL,
    GS_2D_QRCODE_PRINT_SYMBOL_DATA, GS_2D_QRCODE_SIZE, GS_BARCODE_HEIGHT, GS_BARCODE_POSITION,
    GS_BARCODE_PRINT, GS_BARCODE_WIDTH, GS_TEXT_SIZE_SELECT, LF,
};

use super::codepage::CodePage;
use super::profile::Profile;

/// `GS v 0`: print a raster bit image.
pub const GS_RASTER: &[u8] = &[0x1D, 0x76, 0x30];
/// `GS V`: cut; followed by 65 (full) or 66 (partial) and the dots to feed first.
pub const GS_CUT: &[u8] = &[0x1D, 0x56];
/// The most data `GS ( k` can store for one QR symbol.
pub const QR_MAX_BYTES: usize = 7089;
/// Largest raster band, in bytes: a job can poll status between bands, so at 9600 baud
/// a band takes about a quarter of a second on the wire.
pub const RASTER_BAND_BYTES: usize = 256;

/// Horizontal alignment of text, barcodes and native QR codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// The kind of cut at the end of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Cut through.
    Full,
    /// Leave a bridge.
    Partial,
}

/// QR error-correction level (`GS ( k` function 169 parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrLevel {
    /// ~7 %.
    L,
    /// ~15 %.
    M,
    /// ~25 %.
    Q,
    /// ~30 %.
    H,
}

impl QrLevel {
    fn byte(self) -> u8 {
        match self {
            QrLevel::L => 0x30,
            QrLevel::M => 0x31,
            QrLevel::Q => 0x32,
            QrLevel::H => 0x33,
        }
    }

    /// The level named by a `GS ( k` EC byte (`0x30..=0x33`, or `0..=3`).
    pub fn from_byte(b: u8) -> Option<QrLevel> {
        match b {
            0x30 | 0 => Some(QrLevel::L),
            0x31 | 1 => Some(QrLevel::M),
            0x32 | 2 => Some(QrLevel::Q),
            0x33 | 3 => Some(QrLevel::H),
            _ => None,
        }
    }

    /// The same level for the `qrcode` crate.
    pub fn to_qrcode(self) -> qrcode::EcLevel {
        match self {
            QrLevel::L => qrcode::EcLevel::L,
            QrLevel::M => qrcode::EcLevel::M,
            QrLevel::Q => qrcode::EcLevel::Q,
            QrLevel::H => qrcode::EcLevel::H,
        }
    }
}

/// How a QR code is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrOptions {
    /// Dots per module, 1..=16.
    pub module: u8,
    /// Error correction.
    pub level: QrLevel,
}

impl Default for QrOptions {
    fn default() -> Self {
        QrOptions {
            module: 6,
            level: QrLevel::M,
        }
    }
}

/// Whether a QR goes out as a native `GS ( k` symbol or as a raster image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrMode {
    /// `GS ( k`: tens of bytes, drawn by the printer.
    Native,
    /// `GS v 0`: kilobytes, for printers without native QR.
    Raster,
}

impl QrMode {
    /// The mode a profile calls for.
    pub fn for_profile(profile: &Profile) -> QrMode {
        if profile.native_qr {
            QrMode::Native
        } else {
            QrMode::Raster
        }
    }
}

/// Something the encoder refuses to send, because the printer would print garbage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// QR data longer than a symbol can hold.
    #[error("QR data is {0} bytes; at most {QR_MAX_BYTES} fit")]
    QrTooLong(usize),
    /// The QR does not fit the paper even at one dot per module.
    #[error("the QR code is wider than the paper")]
    QrTooWide,
    /// Code 128 data the printer cannot encode (empty, too long, or non-ASCII).
    #[error("Code 128 data must be 1-120 printable ASCII characters: {0:?}")]
    Barcode(String),
    /// A raster image wider than the paper or empty.
    #[error("raster image of {width}x{height} dots does not fit {max} dots")]
    Raster {
        /// Width in dots.
        width: u16,
        /// Height in dots.
        height: u16,
        /// The paper's dots per line.
        max: u16,
    },
}

/// A 1-bit image, rows packed most significant bit first (`GS v 0` layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u16,
    height: u16,
    bytes_per_row: usize,
    data: Vec<u8>,
}

impl Bitmap {
    /// A white image.
    pub fn new(width: u16, height: u16) -> Bitmap {
        let bytes_per_row = usize::from(width).div_ceil(8);
        Bitmap {
            width,
            height,
            bytes_per_row,
            data: vec![0; bytes_per_row * usize::from(height)],
        }
    }

    /// Blackens a dot; dots outside the image are ignored.
    pub fn set(&mut self, x: u16, y: u16) {
        if x < self.width && y < self.height {
            let i = usize::from(y) * self.bytes_per_row + usize::from(x / 8);
            self.data[i] |= 0x80 >> (x % 8);
        }
    }

    /// Whether a dot is black; dots outside the image are white.
    pub fn get(&self, x: u16, y: u16) -> bool {
        x < self.width
            && y < self.height
            && self.data[usize::from(y) * self.bytes_per_row + usize::from(x / 8)]
                & (0x80 >> (x % 8))
                != 0
    }

    /// Whether row `y` is all white.
    pub fn row_is_blank(&self, y: u16) -> bool {
        let start = usize::from(y) * self.bytes_per_row;
        self.data
            .get(start..start + self.bytes_per_row)
            .is_none_or(|row| row.iter().all(|&b| b == 0))
    }

    /// Width in dots.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// Rows `from..to` as an image of their own.
    pub fn rows(&self, from: u16, to: u16) -> Bitmap {
        let to = to.min(self.height);
        let from = from.min(to);
        let start = usize::from(from) * self.bytes_per_row;
        let end = usize::from(to) * self.bytes_per_row;
        Bitmap {
            width: self.width,
            height: to - from,
            bytes_per_row: self.bytes_per_row,
            data: self.data[start..end].to_vec(),
        }
    }

    /// The QR symbol for `data`, `module` dots per module, with the 4-module quiet zone,
    /// shifted right by `left` dots (to centre it on the paper).
    pub fn qr(data: &str, level: QrLevel, module: u16, left: u16) -> Result<Bitmap, EncodeError> {
        let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), level.to_qrcode())
            .map_err(|_| EncodeError::QrTooLong(data.len()))?;
        let n = u16::try_from(code.width()).map_err(|_| EncodeError::QrTooWide)?;
        let side = (n + 8) * module;
        let mut bitmap = Bitmap::new(left + side, side);
        let colors = code.to_colors();
        for y in 0..n {
            for x in 0..n {
                if colors[usize::from(y) * usize::from(n) + usize::from(x)] == qrcode::Color::Dark {
                    for dy in 0..module {
                        for dx in 0..module {
                            bitmap.set(left + (x + 4) * module + dx, (y + 4) * module + dy);
                        }
                    }
                }
            }
        }
        Ok(bitmap)
    }
}

/// Builds the bytes of one print job for one printer profile.
#[derive(Debug, Clone)]
pub struct Encoder {
    page: CodePage,
    page_number: u8,
    dots_per_line: u16,
    align: Align,
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty job for `profile` in its text page. Call [`Encoder::init`] first.
    pub fn new(profile: &Profile) -> Encoder {
        Encoder {
            page: profile.text_page,
            page_number: profile.text_page_number(),
            dots_per_line: profile.dots_per_line,
            align: Align::Left,
            buf: Vec::with_capacity(1024),
        }
    }

    /// An empty job whose text goes out in `page` (selected by [`Encoder::init`]); the
    /// profile's text page when the model lacks `page`.
    pub fn with_page(profile: &Profile, page: CodePage) -> Encoder {
        let mut encoder = Encoder::new(profile);
        if let Some(number) = profile.page_number(page) {
            encoder.page = page;
            encoder.page_number = number;
        }
        encoder
    }

    /// The code page text is encoded in.
    pub fn page(&self) -> CodePage {
        self.page
    }

    /// `ESC @` then `ESC t n`: init resets the code page, so it is always sent again.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(ESC_HARDWARE_INIT);
        self.buf.extend_from_slice(ESC_CHARACTER_PAGE_CODE);
        self.buf.push(self.page_number);
        self.align = Align::Left;
        self
    }

    /// Text in the profile's code page (no line feed). Characters the page lacks print
    /// in a readable ASCII form; control characters are dropped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.buf.extend(self.page.encode(text));
        self
    }

    /// Text and a line feed.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.text(text);
        self.buf.push(LF);
        self
    }

    /// Emphasis (bold) on or off.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(if on {
            ESC_TEXT_EMPHASIS_ON
        } else {
            ESC_TEXT_EMPHASIS_OFF
        });
        self
    }

    /// Character size as width and height multipliers, each clamped to 1..=8.
    pub fn size(&mut self, width: u8, height: u8) -> &mut Self {
        let w = width.clamp(1, 8) - 1;
        let h = height.clamp(1, 8) - 1;
        self.buf.extend_from_slice(GS_TEXT_SIZE_SELECT);
        self.buf.push((w << 4) | h);
        self
    }

    /// Justification of what follows, from the start of a line.
    pub fn align(&mut self, align: Align) -> &mut Self {
        self.align = align;
        self.buf.extend_from_slice(match align {
            Align::Left => ESC_TEXT_JUSTIFY_LEFT,
            Align::Center => ESC_TEXT_JUSTIFY_CENTER,
            Align::Right => ESC_TEXT_JUSTIFY_RIGHT,
        });
        self
    }

    /// Prints the buffer and feeds `lines` lines (`ESC d n`).
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(ESC_PAPER_FEED);
        self.buf.push(lines);
        self
    }

    /// Feeds to the cutter and cuts (`GS V 65/66 0`).
    pub fn cut(&mut self, cut: Cut) -> &mut Self {
        self.buf.extend_from_slice(GS_CUT);
        self.buf.push(match cut {
            Cut::Full => 65,
            Cut::Partial => 66,
        });
        self.buf.push(0);
        self
    }

    /// A native QR symbol: model 2, module size, error level, store, print.
    pub fn qr_native(&mut self, data: &str, options: QrOptions) -> Result<&mut Self, EncodeError> {
        let len = data.len();
        if len == 0 || len > QR_MAX_BYTES {
            return Err(EncodeError::QrTooLong(len));
        }
        let stored = u16::try_from(len + 3).map_err(|_| EncodeError::QrTooLong(len))?;
        self.buf.extend_from_slice(GS_2D_QRCODE_MODEL);
        self.buf.extend_from_slice(&[0x32, 0x00]);
        self.buf.extend_from_slice(GS_2D_QRCODE_SIZE);
        self.buf.push(options.module.clamp(1, 16));
        self.buf.extend_from_slice(GS_2D_QRCODE_CORRECTION_LEVEL);
        self.buf.push(options.level.byte());
        self.buf.extend_from_slice(GS_2D);
        self.buf.extend_from_slice(&stored.to_le_bytes());
        self.buf.extend_from_slice(&[0x31, 0x50, 0x30]);
        self.buf.extend_from_slice(data.as_bytes());
        self.buf.extend_from_slice(GS_2D_QRCODE_PRINT_SYMBOL_DATA);
        Ok(self)
    }

    /// The QR as a raster image, centred (by padding: printers differ on whether
    /// `ESC a` moves raster images). The module shrinks if the symbol is too wide.
    pub fn qr_raster(&mut self, data: &str, options: QrOptions) -> Result<&mut Self, EncodeError> {
        let n =
            qrcode::QrCode::with_error_correction_level(data.as_bytes(), options.level.to_qrcode())
                .map_err(|_| EncodeError::QrTooLong(data.len()))?
                .width();
        let n = u16::try_from(n).map_err(|_| EncodeError::QrTooWide)? + 8;
        let mut module = u16::from(options.module.clamp(1, 16));
        while module > 1 && n * module > self.dots_per_line {
            module -= 1;
        }
        if n * module > self.dots_per_line {
            return Err(EncodeError::QrTooWide);
        }
        let left = match self.align {
            Align::Left => 0,
            Align::Center => (self.dots_per_line - n * module) / 2,
            Align::Right => self.dots_per_line - n * module,
        };
        // Whole bytes of left padding only: the image starts on a byte boundary.
        let bitmap = Bitmap::qr(data, options.level, module, left / 8 * 8)?;
        self.raster(&bitmap)
    }

    /// A raster image at the left margin, in bands of at most [`RASTER_BAND_BYTES`] so a
    /// job can poll status between them. Alignment is restored afterwards.
    pub fn raster(&mut self, bitmap: &Bitmap) -> Result<&mut Self, EncodeError> {
        if bitmap.width == 0 || bitmap.height == 0 || bitmap.width > self.dots_per_line {
            return Err(EncodeError::Raster {
                width: bitmap.width,
                height: bitmap.height,
                max: self.dots_per_line,
            });
        }
        let restore = self.align;
        if restore != Align::Left {
            self.buf.extend_from_slice(ESC_TEXT_JUSTIFY_LEFT);
        }
        self.bands(bitmap);
        if restore != Align::Left {
            self.align(restore);
        }
        Ok(self)
    }

    /// `GS v 0` bands of at most [`RASTER_BAND_BYTES`] for the whole of `bitmap`.
    fn bands(&mut self, bitmap: &Bitmap) {
        let row = bitmap.bytes_per_row;
        let rows_per_band = (RASTER_BAND_BYTES / row.max(1)).max(1);
        for band in bitmap.data.chunks(rows_per_band * row.max(1)) {
            let rows = band.len() / row.max(1);
            self.buf.extend_from_slice(GS_RASTER);
            self.buf.push(0);
            self.buf.extend_from_slice(&(row as u16).to_le_bytes());
            self.buf.extend_from_slice(&(rows as u16).to_le_bytes());
            self.buf.extend_from_slice(band);
        }
    }

    /// A raster image whose white rows go as a raster one byte wide rather than at full
    /// width: raster text is mostly white between lines, and each white row would cost
    /// a full row of bytes on the wire. (Not `ESC J`: its unit is a model's "vertical
    /// motion unit", half a dot on 180 dpi Epsons, so lines would close up; a raster
    /// row is one dot row on every printer.) The inked rows go as [`Encoder::raster`]
    /// bands.
    pub fn raster_trimmed(&mut self, bitmap: &Bitmap) -> Result<&mut Self, EncodeError> {
        if bitmap.width == 0 || bitmap.height == 0 || bitmap.width > self.dots_per_line {
            return Err(EncodeError::Raster {
                width: bitmap.width,
                height: bitmap.height,
                max: self.dots_per_line,
            });
        }
        // A white run as data costs `rows * bytes_per_row`; as a narrow band `rows` plus
        // its 8-byte header and the next inked band's. Shorter runs stay data.
        let min_gap = match bitmap.bytes_per_row {
            0 | 1 => usize::MAX,
            row => 16 / (row - 1) + 1,
        };
        let h = bitmap.height;
        let white_run = |from: u16| (from..h).take_while(|&r| bitmap.row_is_blank(r)).count();
        let restore = self.align;
        if restore != Align::Left {
            self.buf.extend_from_slice(ESC_TEXT_JUSTIFY_LEFT);
        }
        let mut y = 0;
        while y < h {
            let run = white_run(y);
            if run > 0 {
                self.bands(&Bitmap::new(8, run as u16));
                y += run as u16;
                continue;
            }
            // Inked rows, with any short white runs inside them.
            let mut end = y;
            while end < h {
                let run = white_run(end);
                if run >= min_gap || usize::from(end) + run == usize::from(h) {
                    break;
                }
                end += (run as u16).max(1);
            }
            self.bands(&bitmap.rows(y, end));
            y = end;
        }
        if restore != Align::Left {
            self.align(restore);
        }
        Ok(self)
    }

    /// The QR in the mode given: native or raster.
    pub fn qr(
        &mut self,
        data: &str,
        options: QrOptions,
        mode: QrMode,
    ) -> Result<&mut Self, EncodeError> {
        match mode {
            QrMode::Native => self.qr_native(data, options),
            QrMode::Raster => self.qr_raster(data, options),
        }
    }

    /// A Code 128 barcode (code set B), `height` dots tall, human-readable text below.
    pub fn code128(&mut self, data: &str, height: u8) -> Result<&mut Self, EncodeError> {
        if data.is_empty() || data.len() > 120 || !data.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(EncodeError::Barcode(data.to_string()));
        }
        let mut payload = b"{B".to_vec();
        for b in data.bytes() {
            // `{` introduces a code-set switch in ESC/POS Code 128; a literal one is `{{`.
            if b == b'{' {
                payload.push(b'{');
            }
            payload.push(b);
        }
        let n = u8::try_from(payload.len()).map_err(|_| EncodeError::Barcode(data.to_string()))?;
        self.buf.extend_from_slice(GS_BARCODE_HEIGHT);
        self.buf.push(height.max(1));
        self.buf.extend_from_slice(GS_BARCODE_WIDTH);
        self.buf.push(2);
        self.buf.extend_from_slice(GS_BARCODE_POSITION);
        self.buf.push(2);
        self.buf.extend_from_slice(GS_BARCODE_PRINT);
        self.buf.push(73);
        self.buf.push(n);
        self.buf.extend_from_slice(&payload);
        Ok(self)
    }

    /// Bytes passed through unchanged (presenter commands from a profile).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The finished job.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// `DLE EOT n`: the real-time status query for `n` in 1..=4.
pub fn status_query(n: u8) -> [u8; 3] {
    [DLE_REAL_TIME_STATUS[0], DLE_REAL_TIME_STATUS[1], n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile::named("epson-tm-t20iii").unwrap()
    }

    #[test]
    fn init_always_reselects_the_code_page() {
        let mut e = Encoder::new(&profile());
        e.init().line("Perché è già là").init();
        let b = e.finish();
        assert_eq!(&b[..5], &[0x1B, 0x40, 0x1B, 0x74, 19]);
        assert_eq!(&b[b.len() - 5..], &[0x1B, 0x40, 0x1B, 0x74, 19]);
        assert!(b.windows(3).any(|w| w == [b'r', b'c', b'h']));
        // è is 0x8A in PC858, never UTF-8 0xC3 0xA8.
        assert!(b.contains(&0x8A) && !b.contains(&0xC3));
    }

    #[test]
    fn native_qr_bytes_match_the_reference() {
        let mut e = Encoder::new(&profile());
        e.qr_native(
            "AB",
            QrOptions {
                module: 7,
                level: QrLevel::Q,
            },
        )
        .unwrap();
        assert_eq!(
            e.finish(),
            vec![
                0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, // model 2
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x07, // module 7
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x32, // level Q
                0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, b'A', b'B', // store
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30, // print
            ]
        );
    }

    #[test]
    fn style_cut_and_barcode_bytes() {
        let mut e = Encoder::new(&profile());
        e.bold(true)
            .size(2, 3)
            .align(Align::Center)
            .feed(4)
            .cut(Cut::Partial)
            .cut(Cut::Full);
        e.code128("N{1", 60).unwrap();
        assert_eq!(
            e.finish(),
            vec![
                0x1B, 0x45, 1, 0x1D, 0x21, 0x12, 0x1B, 0x61, 1, 0x1B, 0x64, 4, 0x1D, 0x56, 66, 0,
                0x1D, 0x56, 65, 0, 0x1D, 0x68, 60, 0x1D, 0x77, 2, 0x1D, 0x48, 2, 0x1D, 0x6B, 73, 6,
                b'{', b'B', b'N', b'{', b'{', b'1',
            ]
        );
        assert!(Encoder::new(&profile()).code128("è", 60).is_err());
        assert!(
            Encoder::new(&profile())
                .qr_native("", QrOptions::default())
                .is_err()
        );
    }

    #[test]
    fn raster_qr_is_banded_and_fits_the_paper() {
        let p = Profile::named("generic-58").unwrap();
        let mut e = Encoder::new(&p);
        e.align(Align::Center);
        e.qr_raster(
            "https://example.invalid/t/N012",
            QrOptions {
                module: 16,
                level: QrLevel::M,
            },
        )
        .unwrap();
        let b = e.finish();
        let bands = b.windows(3).filter(|w| *w == GS_RASTER).count();
        assert!(bands > 1, "{bands}");
        // The width field of the first band is at most the paper's 48 bytes.
        let i = b.windows(3).position(|w| w == GS_RASTER).unwrap();
        assert!(u16::from_le_bytes([b[i + 4], b[i + 5]]) <= 48);
        // Centre alignment is restored after the image.
        assert_eq!(&b[b.len() - 3..], &[0x1B, 0x61, 1]);
    }

    #[test]
    fn trimmed_raster_sends_white_rows_narrow_and_prints_the_same() {
        let p = Profile::named("generic-80").unwrap();
        let mut image = Bitmap::new(64, 41);
        for y in (5..10).chain(30..32) {
            for x in (3..60).step_by(3) {
                image.set(x, y);
            }
        }
        let mut e = Encoder::new(&p);
        e.align(Align::Center);
        e.raster_trimmed(&image).unwrap();
        let b = e.finish();
        let narrow = |rows: u8| {
            let mut band = vec![0x1D, 0x76, 0x30, 0, 1, 0, rows, 0];
            band.extend(vec![0; usize::from(rows)]);
            band
        };
        let mut expected = vec![0x1B, 0x61, 1, 0x1B, 0x61, 0];
        expected.extend(narrow(5));
        expected.extend([0x1D, 0x76, 0x30, 0, 8, 0, 5, 0]);
        expected.extend(image.rows(5, 10).data);
        expected.extend(narrow(20));
        expected.extend([0x1D, 0x76, 0x30, 0, 8, 0, 2, 0]);
        expected.extend(image.rows(30, 32).data);
        expected.extend(narrow(9));
        expected.extend([0x1B, 0x61, 1]);
        assert_eq!(b, expected);
        // On paper: the same picture as the plain raster.
        let picture = |bytes: &[u8]| {
            let mut v = crate::printer::emulator::VirtualPrinter::new(&p, None);
            v.keep_images(true);
            v.feed(bytes);
            v.tear_off();
            v.images()[0].clone()
        };
        let mut plain = Encoder::new(&p);
        plain.raster(&image).unwrap();
        let mut trimmed = Encoder::new(&p);
        trimmed.raster_trimmed(&image).unwrap();
        let (a, t) = (picture(plain.bytes()), picture(trimmed.bytes()));
        assert_eq!(a.dimensions(), t.dimensions());
        assert_eq!(a.as_raw(), t.as_raw());
        assert!(Encoder::new(&p).raster_trimmed(&Bitmap::new(0, 4)).is_err());
    }
}
