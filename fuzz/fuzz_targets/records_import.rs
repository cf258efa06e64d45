//! A back-office export as `sportello hub records import` reads it (`hub::records::parse`),
//! as CSV and as JSON: either every row is checked and kept, or the file is refused with
//! the rows at fault; a refusal names only lines that exist.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use sportello::hub::records::{self, ImportError};

fuzz_target!(|text: &str| {
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a date");
    for json in [false, true] {
        match records::parse(text, json, today) {
            Ok(found) => assert!(!found.is_empty(), "an empty import is refused"),
            Err(ImportError::Rejected(rows)) => {
                assert!(!rows.is_empty());
                for row in &rows {
                    let _ = row.to_string();
                }
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }
});
