//! The bookings CSV an office imports (`hub::appointments::parse_csv`) against the
//! built-in catalogue: a bad line is an error naming a line of the file, never a panic;
//! what is accepted has one booking per code and only the catalogue's services.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sportello::catalogue::Catalogue;
use sportello::hub::appointments;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

fuzz_target!(|text: &str| {
    match appointments::parse_csv(text, catalogue()) {
        Ok(bookings) => {
            let codes: HashSet<_> = bookings.iter().map(|b| b.code.as_str()).collect();
            assert_eq!(codes.len(), bookings.len(), "a booking code twice");
        }
        Err(err) => {
            assert!(err.line >= 1 && err.line <= text.lines().count(), "{err}");
        }
    }
});
