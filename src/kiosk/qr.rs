//! QR codes drawn for the screen: the ticket's tracking link, to follow the queue on a
//! phone (and to keep the ticket when the printer cannot print it).

use qrcode::{EcLevel, QrCode};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

/// Pixels per QR module; Slint scales the image to its on-screen size without smoothing.
const MODULE_PX: u32 = 8;
/// Light modules around the code, as the standard asks for reliable scanning.
const QUIET_ZONE: u32 = 4;

/// Renders `text` as a QR code image, black on white. An empty image if the text is too
/// long for a QR code (never the case for a tracking link).
pub fn image(text: &str) -> Image {
    let Ok(code) = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) else {
        return Image::default();
    };
    let modules = code.width() as u32;
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let colors = code.to_colors();
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side, side);
    for (i, pixel) in buffer.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = (i as u32 % side, i as u32 / side);
        let (mx, my) = (x / MODULE_PX, y / MODULE_PX);
        let dark = mx >= QUIET_ZONE
            && my >= QUIET_ZONE
            && mx < QUIET_ZONE + modules
            && my < QUIET_ZONE + modules
            && colors[((my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)) as usize]
                == qrcode::Color::Dark;
        let v = if dark { 0 } else { 255 };
        *pixel = Rgb8Pixel { r: v, g: v, b: v };
    }
    Image::from_rgb8(buffer)
}
