//! An ESC/POS byte stream split into whole commands (`printer::commands`): what the job
//! uses to poll status only between commands and the emulator reads with. Every command
//! takes at least one byte and no more than there are, the pieces re-join to the input,
//! data slices are the stream's own bytes, and `boundaries` agrees with `next`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::printer::commands::{self, MAX_RASTER_ROWS, Next, Token};

fuzz_target!(|data: &[u8]| {
    let Some((&width, stream)) = data.split_first() else {
        return;
    };
    // Paper widths in bytes per raster row: 48 (58 mm), 72 (80 mm) or anything.
    let max_width = match width % 4 {
        0 => 48,
        1 => 72,
        2 => u16::MAX,
        _ => u16::from(width),
    };
    let mut at = 0;
    let mut rejoined = Vec::with_capacity(stream.len());
    loop {
        let rest = &stream[at..];
        match commands::next(rest, max_width) {
            Next::Empty => {
                assert!(rest.is_empty());
                break;
            }
            Next::Incomplete => {
                assert!(!rest.is_empty());
                rejoined.extend_from_slice(rest);
                break;
            }
            Next::Token(token, used) => {
                assert!(
                    used > 0 && used <= rest.len(),
                    "{token:?} took {used} bytes"
                );
                let bytes = &rest[..used];
                check_token(&token, bytes, max_width);
                rejoined.extend_from_slice(bytes);
                at += used;
            }
        }
    }
    assert_eq!(rejoined, stream);

    let cuts = commands::boundaries(stream);
    assert!(cuts.windows(2).all(|w| w[0] < w[1]), "boundaries increase");
    assert_eq!(cuts.last().copied().unwrap_or(0), stream.len());
    if max_width == u16::MAX {
        // The same points `next` stopped at (boundaries reads with no width bound).
        let mut at = 0;
        let mut expected = Vec::new();
        while at < stream.len() {
            match commands::next(&stream[at..], u16::MAX) {
                Next::Token(_, n) => at += n,
                _ => at = stream.len(),
            }
            expected.push(at);
        }
        assert_eq!(cuts, expected);
    }
});

/// What each kind of token must say about the bytes it was read from.
fn check_token(token: &Token<'_>, bytes: &[u8], max_width: u16) {
    let within = |inner: &[u8]| {
        let start = inner.as_ptr() as usize;
        let base = bytes.as_ptr() as usize;
        start >= base && start + inner.len() <= base + bytes.len()
    };
    match token {
        Token::Text(text) => {
            assert_eq!(*text, bytes, "text is the whole token");
            assert!(!text.is_empty());
        }
        Token::Raster {
            width_bytes,
            height,
            data,
        } => {
            assert!(*width_bytes <= max_width && *height <= MAX_RASTER_ROWS);
            assert_eq!(data.len(), usize::from(*width_bytes) * usize::from(*height));
            assert!(within(data));
        }
        Token::QrStore(data) | Token::Barcode { data, .. } | Token::Other(data) => {
            assert!(within(data));
        }
        _ => {}
    }
}
