//! Helpers shared by the printer integration tests.

use image::GrayImage;
use sportello::printer::emulator::{Canvas, Styled};
use sportello::printer::profile::Profile;

/// Decodes every QR code in a rendered receipt.
pub fn decode_qr(img: &GrayImage) -> Vec<String> {
    let (w, h) = img.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            img.get_pixel(x as u32, y as u32).0[0]
        });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

/// Renders `text` as the emulator draws one centred line at normal size.
pub fn reference_line(profile: &Profile, text: &str, bold: bool) -> GrayImage {
    reference_line_at(profile, text, bold, 1)
}

/// Renders `text` as one line at normal size, aligned (0 left, 1 centre, 2 right).
pub fn reference_line_at(profile: &Profile, text: &str, bold: bool, align: u8) -> GrayImage {
    let mut canvas = Canvas::new(profile.dots_per_line);
    let line: Vec<Styled> = text
        .chars()
        .map(|c| Styled {
            c,
            w: 1,
            h: 1,
            bold,
        })
        .collect();
    canvas.text_line(&line, align, profile.char_width_dots());
    canvas.to_image()
}

/// Whether `needle` (full width) appears, pixel for pixel, as a band of `haystack`.
/// This is how a test "reads" a line of the PNG: the same glyphs at the same place.
pub fn contains_band(haystack: &GrayImage, needle: &GrayImage) -> bool {
    if haystack.width() != needle.width() || needle.height() > haystack.height() {
        return false;
    }
    let rows = |img: &GrayImage| -> Vec<Vec<u8>> {
        img.rows().map(|r| r.map(|p| p.0[0]).collect()).collect()
    };
    let hay = rows(haystack);
    let pin = rows(needle);
    (0..=hay.len() - pin.len()).any(|top| pin.iter().enumerate().all(|(i, r)| &hay[top + i] == r))
}

/// A deterministic stream of pseudo-random bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (s >> 16) as u8
        })
        .collect()
}
