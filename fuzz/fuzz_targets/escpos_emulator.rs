//! Arbitrary bytes on the virtual printer's serial line (`printer::emulator`): the
//! emulator's parser and renderer must take anything a buggy host or line noise sends.
//! The same bytes fed at once and in small pieces give the same status replies and the
//! same receipts; a mid-stream state change (paper out, cover open) may come with them.
//! Rendering stays bounded: at most two receipts per input are drawn into pictures.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sportello::printer::Profile;
use sportello::printer::emulator::{Paper, VirtualPrinter, VirtualState, render_receipt};
use sportello::printer::profile;

fn profiles() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(profile::builtin)
}

fuzz_target!(|data: &[u8]| {
    let [which, piece, flags, when, stream @ ..] = data else {
        return;
    };
    let profile = &profiles()[usize::from(*which) % profiles().len()];
    let piece = usize::from(*piece % 64) + 1;
    let fault = VirtualState {
        paper: match flags & 3 {
            0 | 3 => Paper::Ok,
            1 => Paper::NearEnd,
            _ => Paper::Out,
        },
        cover_open: flags & 4 != 0,
        cutter_error: flags & 8 != 0,
        unrecoverable: flags & 16 != 0,
        silent: flags & 32 != 0,
    };
    let printer = || {
        let mut p = VirtualPrinter::new(profile, None);
        p.defer_rendering(true);
        if flags & 64 != 0 {
            p.set_state_after_bytes(usize::from(*when), fault);
        }
        p
    };

    let mut whole = printer();
    let replies = whole.feed(stream);
    let mut pieces = printer();
    let mut replies_in_pieces = Vec::new();
    for chunk in stream.chunks(piece) {
        replies_in_pieces.extend(pieces.feed(chunk));
    }
    assert_eq!(
        replies, replies_in_pieces,
        "status replies depend on chunking"
    );
    assert_eq!(whole.bytes_received(), stream.len());
    assert_eq!(pieces.bytes_received(), stream.len());
    assert_eq!(whole.has_pending(), pieces.has_pending());
    assert_eq!(whole.spoiled_count(), pieces.spoiled_count());
    for reply in &replies {
        assert!(sportello::printer::status::is_valid_reply(*reply));
    }

    for p in [&mut whole, &mut pieces] {
        p.drop_stalled();
        assert!(!p.has_pending());
        p.tear_off();
    }
    let sheets = whole.take_deferred();
    let sheets_in_pieces = pieces.take_deferred();
    assert_eq!(
        sheets.len(),
        sheets_in_pieces.len(),
        "receipts depend on chunking"
    );
    for ((n, sheet), (m, other)) in sheets.iter().zip(&sheets_in_pieces) {
        assert_eq!(n, m);
        assert_eq!(sheet.lines, other.lines);
        assert_eq!(sheet.qr_payloads, other.qr_payloads);
        assert_eq!(sheet.barcodes, other.barcodes);
        assert_eq!(sheet.canvas.height(), other.canvas.height());
    }
    for (number, sheet) in sheets.into_iter().take(2) {
        let (width, height) = (sheet.canvas.width(), sheet.canvas.height());
        let picture = sheet.canvas.to_image();
        assert_eq!(picture.dimensions(), (width as u32, height as u32));
        let receipt = render_receipt(number, sheet, None);
        assert_eq!(receipt.size, (width, height));
        assert!(receipt.png.is_none());
    }
});
