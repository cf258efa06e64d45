//! One barcode scanner delivery (Code 39 with `*` framing, AIM prefixes, CR/LF, glued
//! scanner prefixes) read as a codice fiscale. A code read from a scan is a valid code
//! that was in the scan, and reading it alone gives it back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::identity::codice_fiscale::CodiceFiscale;
use sportello::identity::scan::parse_health_card_scan;

fuzz_target!(|raw: &str| {
    match parse_health_card_scan(raw) {
        Ok(cf) => {
            assert_eq!(cf.as_str().parse::<CodiceFiscale>(), Ok(cf));
            assert!(
                raw.to_uppercase().contains(cf.as_str()),
                "{cf} is not in the scan"
            );
            assert_eq!(parse_health_card_scan(cf.as_str()), Ok(cf));
        }
        Err(err) => {
            let _ = err.message(sportello::lang::Lang::default());
        }
    }
});
