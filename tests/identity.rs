//! The codice fiscale against public test vectors and generated codes.

use std::collections::HashSet;

use chrono::NaiveDate;
use proptest::prelude::*;
use serde::Deserialize;
use sportello::identity::codice_fiscale::check_letter;
use sportello::identity::{CfError, CodiceFiscale, Sex, parse_health_card_scan};

#[derive(Deserialize)]
struct Fixtures {
    valid: Vec<String>,
    valid_decoded: Vec<Decoded>,
    invalid: Vec<Invalid>,
    check_letter: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Decoded {
    code: String,
    sex: String,
    birth_date: String,
    birthplace: String,
    omocode_of: Option<String>,
}

#[derive(Deserialize)]
struct Invalid {
    code: String,
    why: String,
}

fn fixtures() -> Fixtures {
    let text = include_str!("fixtures/codice_fiscale_public.json");
    serde_json::from_str(text).expect("fixture file parses")
}

#[test]
fn public_valid_codes_are_accepted() {
    let fx = fixtures();
    assert!(fx.valid.len() >= 19);
    for code in &fx.valid {
        let cf: CodiceFiscale = code.parse().unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(cf.as_str(), code);
    }
}

#[test]
fn public_codes_decode_as_published() {
    // Resolve two-digit years against a fixed day so the test does not age.
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    for d in fixtures().valid_decoded {
        let cf: CodiceFiscale = d.code.parse().unwrap();
        let sex = match cf.sex() {
            Sex::Male => "M",
            Sex::Female => "F",
        };
        assert_eq!(sex, d.sex, "{}", d.code);
        assert_eq!(
            cf.birth_date_on(today).map(|b| b.to_string()),
            Some(d.birth_date.clone()),
            "{}",
            d.code
        );
        assert_eq!(cf.birthplace(), d.birthplace, "{}", d.code);
        if let Some(base) = d.omocode_of {
            assert!(cf.is_omocode());
            assert_eq!(cf.base_code().as_str(), base);
            assert_ne!(cf, cf.base_code(), "an omocode is a different identity");
        }
    }
}

#[test]
fn public_invalid_codes_are_rejected_for_the_right_reason() {
    for inv in fixtures().invalid {
        let err = inv
            .code
            .parse::<CodiceFiscale>()
            .expect_err(&format!("{} must be rejected ({})", inv.code, inv.why));
        let expected_kind = match inv.why.as_str() {
            w if w.contains("check letter") && !w.contains("matches") => {
                matches!(err, CfError::CheckLetter)
            }
            w if w.contains("day 32") => matches!(err, CfError::InvalidDay { day: 32 }),
            w if w.contains("month") => matches!(
                err,
                CfError::WrongCharacter {
                    position: 9,
                    found: 'I',
                    ..
                }
            ),
            w if w.contains("15 characters") => matches!(err, CfError::TooShort { len: 15 }),
            w if w.contains("17 characters") => matches!(err, CfError::TooLong { len: 17 }),
            w if w.contains("letter O") => matches!(
                err,
                CfError::WrongCharacter {
                    position: 10,
                    found: 'O',
                    ..
                }
            ),
            other => panic!("fixture reason not mapped: {other}"),
        };
        assert!(expected_kind, "{}: got {err:?} for '{}'", inv.code, inv.why);
    }
}

#[test]
fn public_check_letters() {
    for (first15, letter) in fixtures().check_letter {
        assert_eq!(check_letter(first15.as_bytes()).to_string(), letter);
    }
}

#[test]
fn scanned_fixture_codes_round_trip() {
    for code in fixtures().valid {
        let scanned = parse_health_card_scan(&format!("*{code}*\r\n")).unwrap();
        assert_eq!(scanned.as_str(), code);
    }
}

const MONTHS: &[u8] = b"ABCDEHLMPRST";

/// Valid base codes (no omocode letters) built field by field.
fn base_code() -> impl Strategy<Value = CodiceFiscale> {
    (
        proptest::collection::vec(b'A'..=b'Z', 6),
        0u32..100,
        0usize..12,
        1u32..=28,
        any::<bool>(),
        b'A'..=b'Z',
        0u32..1000,
    )
        .prop_map(|(letters, yy, month, day, female, place, digits)| {
            let day = if female { day + 40 } else { day };
            let mut first15 = String::from_utf8(letters).unwrap();
            first15.push_str(&format!("{yy:02}"));
            first15.push(char::from(MONTHS[month]));
            first15.push_str(&format!("{day:02}"));
            first15.push(char::from(place));
            first15.push_str(&format!("{digits:03}"));
            let code = format!("{first15}{}", check_letter(first15.as_bytes()));
            code.parse().unwrap()
        })
}

fn apply_omocode(code: CodiceFiscale, mask: u8) -> CodiceFiscale {
    let mut out = code;
    for (bit, &pos) in CodiceFiscale::omocode_positions().iter().enumerate() {
        if mask & (1 << bit) != 0 {
            out = out.with_omocode_at(pos).unwrap();
        }
    }
    out
}

proptest! {
    #[test]
    fn every_omocode_of_a_valid_code_is_valid(code in base_code(), mask in 0u8..128) {
        let omocode = apply_omocode(code, mask);
        let reparsed: CodiceFiscale = omocode.as_str().parse().unwrap();
        prop_assert_eq!(reparsed, omocode);
        prop_assert_eq!(omocode.base_code(), code);
        prop_assert_eq!(omocode.sex(), code.sex());
        prop_assert_eq!(omocode.birthplace(), code.birthplace());
        prop_assert_eq!(omocode.birth_date(), code.birth_date());
        prop_assert_eq!(omocode.is_omocode(), mask != 0);
    }

    #[test]
    fn one_changed_character_is_invalid_or_an_omocode_of_the_same_code(
        code in base_code(),
        mask in 0u8..128,
        position in 0usize..16,
        replacement in proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_vec()
        ),
    ) {
        let original = apply_omocode(code, mask);
        let mut bytes = original.as_str().as_bytes().to_vec();
        prop_assume!(bytes[position] != replacement);
        bytes[position] = replacement;
        let mutated = String::from_utf8(bytes).unwrap();
        if let Ok(other) = mutated.parse::<CodiceFiscale>() {
            prop_assert_eq!(other.base_code(), original.base_code());
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,40}") {
        let _ = text.parse::<CodiceFiscale>();
        let _ = parse_health_card_scan(&text);
    }
}

#[test]
fn all_128_omocodes_are_distinct_identities() {
    let code: CodiceFiscale = "RSSMRA45C12F205C".parse().unwrap();
    let all: HashSet<CodiceFiscale> = (0u8..128).map(|m| apply_omocode(code, m)).collect();
    assert_eq!(all.len(), 128);
}
