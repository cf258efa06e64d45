//! The printer's four `DLE EOT` reply bytes decoded into a `PrinterState`
//! (`printer::status`). Any byte that is not a valid reply means "not responding"; a
//! state the kiosk may print in is only ever decoded from four valid replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::printer::PrinterState;
use sportello::printer::status::{self, StatusBytes};

fuzz_target!(|bytes: [u8; 4]| {
    let [printer, offline, error, paper] = bytes;
    let state = status::decode(StatusBytes {
        printer,
        offline,
        error,
        paper,
    });
    let valid = bytes.iter().all(|&b| status::is_valid_reply(b));
    assert_eq!(
        valid,
        state != PrinterState::NotResponding,
        "{bytes:02x?}: {state:?}"
    );
    if state.can_print() {
        assert!(valid);
    }
    assert!(!state.describe().is_empty());
    assert_eq!(state.to_string(), state.describe());
});
