//! `kiosk.toml` text through the shared loader (`config::parse`: TOML, unknown keys
//! refused, the kiosk's semantic rules). A maintainer's typo must give an error naming
//! the file and a line inside it, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::config::{self, kiosk::KioskConfig};

fuzz_target!(|text: &str| {
    if let Err(err) = config::parse::<KioskConfig>(text, "kiosk.toml") {
        assert_eq!(err.file, "kiosk.toml");
        if let Some(line) = err.line {
            assert!(line >= 1 && line <= text.split('\n').count(), "line {line}");
        }
        assert!(err.to_string().starts_with("kiosk.toml"));
    }
});
