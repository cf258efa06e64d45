//! Draws a receipt as a 1-bit picture at the profile's width and saves it as PNG.
//!
//! Text uses the public-domain `font8x8` glyphs (ASCII and Latin-1, so every Italian
//! accent), scaled to the printer's 12×24 font A cell and to the `GS !` multipliers;
//! `€`, missing from that font, is drawn from an 8×8 bitmap defined here; any other
//! character the font lacks (Cyrillic of WPC1251, Romanian ş ţ of WPC1250) is an empty
//! box, as on a printer without the glyph, while the transcript keeps the letter.
//! Output is deterministic: the same bytes give the same PNG.

use std::path::Path;

use font8x8::UnicodeFonts;

/// Dots between the top of one text line and the next at normal size (Epson's default
/// 1/6 inch is 30-34 dots).
pub const LINE_PITCH: u16 = 30;
/// Height of font A's cell.
pub const CELL_HEIGHT: u16 = 24;
/// Longest picture, in dots (2 m at 203 dpi); garbage feeds cannot exhaust memory. The
/// virtual printer starts a new picture at half this length.
pub const MAX_HEIGHT: usize = 16_000;

/// The euro sign (U+20AC), 8×8, bit 0 leftmost like font8x8.
const EURO: [u8; 8] = [0x38, 0x44, 0x02, 0x1F, 0x02, 0x1F, 0x44, 0x38];

/// The empty box drawn for characters font8x8 lacks.
const MISSING: [u8; 8] = [0x00, 0x7E, 0x42, 0x42, 0x42, 0x42, 0x7E, 0x00];

/// The 8×8 glyph for `c`; an empty box for characters the font lacks.
pub fn glyph(c: char) -> [u8; 8] {
    if c == '€' {
        return EURO;
    }
    font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::BOX_FONTS.get(c))
        .or_else(|| font8x8::BLOCK_FONTS.get(c))
        .or_else(|| font8x8::MISC_FONTS.get(c))
        .unwrap_or(MISSING)
}

/// A growing 1-bit canvas, one byte per dot (1 = black). A row nothing was drawn on is
/// an empty `Vec`: paper fed by a host (up to [`MAX_HEIGHT`] rows) costs no memory until
/// something is printed on it.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: usize,
    rows: Vec<Vec<u8>>,
}

/// A character with the style it is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Styled {
    /// The character.
    pub c: char,
    /// Width multiplier 1..=8.
    pub w: u8,
    /// Height multiplier 1..=8.
    pub h: u8,
    /// Emphasis.
    pub bold: bool,
}

/// A row's dots to draw on, allocating the row (white) on its first dot: rows nothing was
/// drawn on stay empty, which [`Canvas::is_blank`] relies on.
fn dots_of(row: &mut Vec<u8>, width: usize) -> &mut [u8] {
    if row.is_empty() {
        row.resize(width, 0);
    }
    row
}

impl Canvas {
    /// An empty receipt `width` dots wide.
    pub fn new(width: u16) -> Canvas {
        Canvas {
            width: usize::from(width),
            rows: Vec::new(),
        }
    }

    /// Dots across.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows drawn so far.
    pub fn height(&self) -> usize {
        self.rows.len()
    }

    /// Whether anything black was drawn.
    pub fn is_blank(&self) -> bool {
        // A row is allocated by the first dot drawn on it.
        self.rows.iter().all(Vec::is_empty)
    }

    /// Adds `dots` white rows.
    pub fn feed(&mut self, dots: usize) {
        let room = MAX_HEIGHT.saturating_sub(self.rows.len());
        let height = self.rows.len() + dots.min(room);
        self.rows.resize_with(height, Vec::new);
    }

    /// Appends a block `height` rows tall and lets `draw` set dots in it (x, y relative).
    pub fn block(&mut self, height: usize, mut draw: impl FnMut(&mut dyn FnMut(usize, usize))) {
        let top = self.rows.len();
        self.feed(height);
        let rows = &mut self.rows;
        let width = self.width;
        let mut set = |x: usize, y: usize| {
            if x < width
                && let Some(row) = rows.get_mut(top + y)
            {
                dots_of(row, width)[x] = 1;
            }
        };
        draw(&mut set);
    }

    /// Draws one line of styled text, aligned (0 left, 1 centre, 2 right), with a cell
    /// `cell_width` dots wide at normal size.
    ///
    /// Each glyph bit becomes a run of dots filled at once rather than dot by dot: the
    /// same picture, and a line of eight-times-wide letters stays cheap to draw.
    pub fn text_line(&mut self, line: &[Styled], align: u8, cell_width: u16) {
        let cell_w = usize::from(cell_width.max(8));
        let tall = line.iter().map(|s| usize::from(s.h)).max().unwrap_or(1);
        let total: usize = line.iter().map(|s| cell_w * usize::from(s.w)).sum();
        let mut x = match align {
            1 => self.width.saturating_sub(total) / 2,
            2 => self.width.saturating_sub(total),
            _ => 0,
        };
        let pitch = usize::from(LINE_PITCH) + usize::from(CELL_HEIGHT) * (tall - 1);
        let base = usize::from(CELL_HEIGHT) * tall;
        let first_row = self.rows.len();
        self.feed(pitch);
        for s in line {
            let gw = cell_w * usize::from(s.w);
            let gh = usize::from(CELL_HEIGHT) * usize::from(s.h);
            // The glyph fills the cell less a margin: 1/6 at the sides, 1/6 on top.
            let (mx, my) = (gw / 12, gh / 6);
            let (iw, ih) = (gw - 2 * mx, gh - my - gh / 12);
            let top = first_row + base - gh + my;
            let left = x + mx;
            let bold_shift = 1 + usize::from(s.w) / 2;
            let bits = glyph(s.c);
            for py in 0..ih {
                let row_bits = bits[py * 8 / ih];
                for bit in (0..8).filter(|b| row_bits & (1 << b) != 0) {
                    // The dots px with px * 8 / iw == bit.
                    let (from, to) = ((bit * iw).div_ceil(8), ((bit + 1) * iw).div_ceil(8));
                    self.fill(top + py, left + from, left + to);
                    if s.bold {
                        self.fill(top + py, left + from + bold_shift, left + to + bold_shift);
                    }
                }
            }
            x += gw;
        }
    }

    /// Blackens dots `from..to` of row `y`, clipped to the paper.
    fn fill(&mut self, y: usize, from: usize, to: usize) {
        let width = self.width;
        let to = to.min(width);
        if from >= to {
            return;
        }
        if let Some(row) = self.rows.get_mut(y) {
            dots_of(row, width)[from..to].fill(1);
        }
    }

    /// Draws a square matrix (`n`×`n` modules, row-major, true = dark) with `module`
    /// dots per module, aligned, with no quiet zone (the paper around it is white).
    pub fn matrix(&mut self, modules: &[bool], n: usize, module: usize, align: u8) {
        let side = n * module;
        let left = match align {
            1 => self.width.saturating_sub(side) / 2,
            2 => self.width.saturating_sub(side),
            _ => 0,
        };
        self.block(side, |set| {
            for y in 0..side {
                for x in 0..side {
                    if modules.get((y / module) * n + x / module) == Some(&true) {
                        set(left + x, y);
                    }
                }
            }
        });
    }

    /// Draws `GS v 0` raster rows (MSB first), aligned.
    pub fn raster(&mut self, data: &[u8], width_bytes: usize, height: usize, align: u8) {
        let w = width_bytes * 8;
        let left = match align {
            1 => self.width.saturating_sub(w) / 2,
            2 => self.width.saturating_sub(w),
            _ => 0,
        };
        self.block(height, |set| {
            for (y, row) in data.chunks(width_bytes.max(1)).take(height).enumerate() {
                for (i, byte) in row.iter().enumerate() {
                    for bit in 0..8 {
                        if byte & (0x80 >> bit) != 0 {
                            set(left + i * 8 + bit, y);
                        }
                    }
                }
            }
        });
    }

    /// The picture as an 8-bit greyscale image (black on white).
    pub fn to_image(&self) -> image::GrayImage {
        let w = u32::try_from(self.width).unwrap_or(0);
        let h = u32::try_from(self.rows.len()).unwrap_or(0);
        let mut pixels = vec![255u8; self.width * self.rows.len()];
        for (row, line) in self.rows.iter().zip(pixels.chunks_mut(self.width.max(1))) {
            for (dot, pixel) in row.iter().zip(line) {
                if *dot == 1 {
                    *pixel = 0;
                }
            }
        }
        image::GrayImage::from_raw(w, h, pixels).unwrap_or_else(|| image::GrayImage::new(0, 0))
    }

    /// Saves the picture as PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), image::ImageError> {
        self.to_image()
            .save_with_format(path, image::ImageFormat::Png)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_italian_letter_and_the_euro_has_a_glyph() {
        let question = glyph('?');
        for c in "àèéìòùÀÈÉÌÒÙ€".chars() {
            let g = glyph(c);
            assert_ne!(g, question, "{c}");
            assert_ne!(g, [0; 8], "{c}");
        }
        assert_ne!(glyph('è'), glyph('e'));
        // Letters of the other pages the font lacks are boxes, not `?`.
        assert_eq!(glyph('Ж'), MISSING);
        assert_eq!(glyph('ş'), MISSING);
        assert_ne!(glyph('?'), MISSING);
    }

    #[test]
    fn text_is_drawn_aligned() {
        let mut c = Canvas::new(96);
        let s = Styled {
            c: 'I',
            w: 1,
            h: 1,
            bold: false,
        };
        c.text_line(&[s], 2, 12);
        assert_eq!(c.height(), usize::from(LINE_PITCH));
        let img = c.to_image();
        let black_x: Vec<u32> = img
            .enumerate_pixels()
            .filter(|p| p.2.0[0] == 0)
            .map(|p| p.0)
            .collect();
        assert!(!black_x.is_empty() && black_x.iter().all(|&x| x >= 84));
    }

    /// The drawing dot by dot, as it was before runs: the reference the runs must match.
    fn text_dot_by_dot(c: &mut Canvas, line: &[Styled], align: u8, cell_width: u16) {
        let cell_w = usize::from(cell_width.max(8));
        let tall = line.iter().map(|s| usize::from(s.h)).max().unwrap_or(1);
        let total: usize = line.iter().map(|s| cell_w * usize::from(s.w)).sum();
        let mut x = match align {
            1 => c.width.saturating_sub(total) / 2,
            2 => c.width.saturating_sub(total),
            _ => 0,
        };
        let pitch = usize::from(LINE_PITCH) + usize::from(CELL_HEIGHT) * (tall - 1);
        let base = usize::from(CELL_HEIGHT) * tall;
        c.block(pitch, |set| {
            for s in line {
                let gw = cell_w * usize::from(s.w);
                let gh = usize::from(CELL_HEIGHT) * usize::from(s.h);
                let (mx, my) = (gw / 12, gh / 6);
                let (iw, ih) = (gw - 2 * mx, gh - my - gh / 12);
                let top = base - gh + my;
                let bits = glyph(s.c);
                for py in 0..ih {
                    let row = bits[py * 8 / ih];
                    for px in 0..iw {
                        if row & (1 << (px * 8 / iw)) != 0 {
                            set(x + mx + px, top + py);
                            if s.bold {
                                set(x + mx + px + 1 + usize::from(s.w) / 2, top + py);
                            }
                        }
                    }
                }
                x += gw;
            }
        });
    }

    #[test]
    fn text_in_runs_matches_text_dot_by_dot() {
        for (w, h) in [(1, 1), (2, 2), (3, 5), (8, 8), (1, 8), (7, 2)] {
            for bold in [false, true] {
                for align in [0, 1, 2] {
                    let line: Vec<Styled> =
                        "Aè€Ж|W".chars().map(|c| Styled { c, w, h, bold }).collect();
                    for (width, cell) in [(576, 12), (384, 12), (100, 9)] {
                        let mut runs = Canvas::new(width);
                        runs.feed(3);
                        runs.text_line(&line, align, cell);
                        let mut dots = Canvas::new(width);
                        dots.feed(3);
                        text_dot_by_dot(&mut dots, &line, align, cell);
                        assert_eq!(
                            runs.to_image(),
                            dots.to_image(),
                            "{w}x{h} bold {bold} align {align} on {width} dots"
                        );
                        assert!(!runs.is_blank());
                    }
                }
            }
        }
    }
}
