//! Codice fiscale typed or sent by anyone: normalise, validate, check a partial code and
//! decode a valid one. A code that validates must be its own normal form, re-parse to
//! itself and decode without panicking; its base code and omocodes must validate too.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use sportello::identity::codice_fiscale::{self, CodiceFiscale};

fuzz_target!(|text: &str| {
    let normal = codice_fiscale::normalise(text);
    assert_eq!(
        codice_fiscale::normalise(&normal),
        normal,
        "normalise is idempotent"
    );
    let partial = codice_fiscale::check_partial(text);
    let parsed = text.parse::<CodiceFiscale>();
    if let Err(err) = &parsed {
        let _ = err.hint();
        let _ = err.message(sportello::lang::Lang::default());
    }
    let Ok(cf) = parsed else { return };
    assert!(
        partial.is_ok(),
        "a valid code passes the partial check: {partial:?}"
    );
    assert_eq!(cf.as_str(), normal, "a valid code is its normal form");
    assert_eq!(cf.as_str().parse::<CodiceFiscale>(), Ok(cf));
    assert_eq!(cf.to_string().len(), codice_fiscale::LEN);
    let masked = cf.masked().to_string();
    assert_eq!(masked.chars().count(), codice_fiscale::LEN);
    let _ = cf.sex();
    assert_eq!(cf.birthplace().len(), 4);
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a date");
    if let Some(born) = cf.birth_date_on(today) {
        assert!(born <= today, "born in the future: {born}");
    }
    let base = cf.base_code();
    assert_eq!(base.as_str().parse::<CodiceFiscale>(), Ok(base));
    assert!(!base.is_omocode());
    for position in CodiceFiscale::omocode_positions() {
        if let Some(omocode) = cf.with_omocode_at(position) {
            assert!(omocode.is_omocode());
            assert_eq!(omocode.as_str().parse::<CodiceFiscale>(), Ok(omocode));
            assert_eq!(omocode.base_code(), base);
        }
    }
});
