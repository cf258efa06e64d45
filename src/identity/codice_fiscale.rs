//! The Italian codice fiscale: parsing, validation, decoding and masking.
//!
//! A codice fiscale *identifies* a person; it never authenticates one. The kiosk uses it
//! to route a ticket or match a booking, so what matters here is: accept every code the
//! Agenzia delle Entrate can issue (omocodes included), reject typos with a message a
//! citizen can act on, and never let the code reach a log in clear.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lang::{Lang, fill, tr};

/// Number of characters in a personal codice fiscale.
pub const LEN: usize = 16;

/// Month letters, January to December.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// Letters that replace the digits 0-9 in an omocode.
const OMOCODE_LETTERS: &[u8; 10] = b"LMNPQRSTUV";

/// Zero-based positions whose digits may be replaced by omocode letters.
const OMOCODE_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// Check-letter values of characters in odd (1st, 3rd, ... 15th) positions, indexed by
/// digit value or letter index (`0`/`A` share an entry, and so on up to `9`/`J`).
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// A valid, normalised codice fiscale (16 uppercase ASCII characters).
///
/// Equality and hashing use the full code: an omocode is a different person.
/// `Display` and `as_str` give the code in clear, for the hub and for certificates;
/// `Debug` and [`CodiceFiscale::masked`] hide it, for logs and screens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale([u8; LEN]);

/// Sex as encoded in the day field (women have 40 added to the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// Day field 01-31.
    #[serde(rename = "M")]
    Male,
    /// Day field 41-71.
    #[serde(rename = "F")]
    Female,
}

/// What kind of character a position of the code expects, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A letter A-Z.
    Letter,
    /// A digit (or, in an omocode, one of the letters L M N P Q R S T U V).
    Digit,
    /// One of the month letters A B C D E H L M P R S T.
    MonthLetter,
}

/// Why a text is not a valid codice fiscale. Each variant says what the citizen can fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfError {
    /// Nothing was typed or scanned.
    #[error("no code was entered")]
    Empty,
    /// Fewer than 16 characters after removing spaces and dashes.
    #[error("the code has {len} characters: it must have 16")]
    TooShort {
        /// Characters found.
        len: usize,
    },
    /// More than 16 characters after removing spaces and dashes.
    #[error("the code has {len} characters: it must have 16")]
    TooLong {
        /// Characters found.
        len: usize,
    },
    /// A character that is neither a letter nor a digit.
    #[error("character {position} ('{found}') is not a letter or a digit")]
    NotAlphanumeric {
        /// One-based position in the normalised code.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A letter where a digit belongs, or the other way round.
    #[error("character {position} ('{found}') should be {}", expected_en(*expected))]
    WrongCharacter {
        /// One-based position in the normalised code.
        position: usize,
        /// The offending character.
        found: char,
        /// What that position takes.
        expected: Expected,
    },
    /// The day of birth field is not 01-31 (men) or 41-71 (women).
    #[error("characters 10 and 11 give day {day}, which is not a valid day of birth")]
    InvalidDay {
        /// The decoded two-digit day field.
        day: u32,
    },
    /// Every character is in its place but the last letter does not match the others.
    #[error("the last letter does not match the others: check every character")]
    CheckLetter,
}

fn expected_in(expected: Expected, lang: Lang) -> &'static str {
    match expected {
        Expected::Letter => tr(lang, "a letter"),
        Expected::Digit => tr(lang, "a digit"),
        Expected::MonthLetter => tr(lang, "a month letter (A B C D E H L M P R S T)"),
    }
}

fn expected_en(expected: Expected) -> &'static str {
    match expected {
        Expected::Letter => "a letter",
        Expected::Digit => "a digit",
        Expected::MonthLetter => "a month letter (A B C D E H L M P R S T)",
    }
}

/// A hint for the commonest typos: the letter O for a zero, the letter I for a one.
fn look_alike(found: char, expected: Expected) -> Option<char> {
    match (found, expected) {
        ('O', Expected::Digit) => Some('0'),
        ('I', Expected::Digit) => Some('1'),
        ('0', Expected::Letter | Expected::MonthLetter) => Some('O'),
        ('1', Expected::Letter) => Some('I'),
        _ => None,
    }
}

impl CfError {
    /// The message for a citizen, in their language (`messages.po`; English is the
    /// `Display` text).
    pub fn message(&self, lang: Lang) -> String {
        let mut text = match self {
            CfError::Empty => tr(lang, "no code was entered").to_string(),
            CfError::TooShort { len } | CfError::TooLong { len } => fill(
                tr(lang, "the code has {} characters: it must have 16"),
                &[&len.to_string()],
            ),
            CfError::NotAlphanumeric { position, found } => fill(
                tr(lang, "character {} ('{}') is not a letter or a digit"),
                &[&position.to_string(), &found.to_string()],
            ),
            CfError::WrongCharacter {
                position,
                found,
                expected,
            } => fill(
                tr(lang, "character {} ('{}') should be {}"),
                &[
                    &position.to_string(),
                    &found.to_string(),
                    expected_in(*expected, lang),
                ],
            ),
            CfError::InvalidDay { day } => fill(
                tr(
                    lang,
                    "characters 10 and 11 give day {}, which is not a valid day of birth",
                ),
                &[&day.to_string()],
            ),
            CfError::CheckLetter => tr(
                lang,
                "the last letter does not match the others: check every character",
            )
            .to_string(),
        };
        if let Some(hint) = self.hint() {
            text.push_str(&fill(
                tr(lang, " (did you mean '{}'?)"),
                &[&hint.to_string()],
            ));
        }
        text
    }

    /// The character the citizen probably meant, when the mistake is a classic look-alike.
    pub fn hint(&self) -> Option<char> {
        match self {
            CfError::WrongCharacter {
                found, expected, ..
            } => look_alike(*found, *expected),
            _ => None,
        }
    }
}

/// What a given zero-based position of the code accepts.
pub(crate) fn expected_at(index: usize) -> Expected {
    match index {
        0..=5 | 11 | 15 => Expected::Letter,
        8 => Expected::MonthLetter,
        _ => Expected::Digit,
    }
}

/// Whether `byte` (uppercase ASCII) may stand at a position expecting `expected`.
pub(crate) fn accepts(expected: Expected, byte: u8) -> bool {
    match expected {
        Expected::Letter => byte.is_ascii_uppercase(),
        Expected::Digit => byte.is_ascii_digit() || OMOCODE_LETTERS.contains(&byte),
        Expected::MonthLetter => MONTHS.contains(&byte),
    }
}

/// The digit a digit-position character stands for (omocode letters mapped back).
fn digit_value(byte: u8) -> u32 {
    if byte.is_ascii_digit() {
        u32::from(byte - b'0')
    } else {
        OMOCODE_LETTERS
            .iter()
            .position(|&l| l == byte)
            .map_or(0, |p| p as u32)
    }
}

/// Index of a character in the check-letter tables: digits 0-9, letters 0-25.
fn table_index(byte: u8) -> usize {
    if byte.is_ascii_digit() {
        usize::from(byte - b'0')
    } else {
        usize::from(byte - b'A')
    }
}

/// Computes the check letter for the first 15 characters of a code.
///
/// The input must already hold only uppercase ASCII letters and digits.
pub fn check_letter(first15: &[u8]) -> char {
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let idx = table_index(b);
            if i % 2 == 0 {
                ODD_VALUES[idx]
            } else {
                idx as u32
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

/// Removes what people and scanners add around a code: spaces and dashes; uppercases.
pub fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

impl CodiceFiscale {
    /// The code in clear, e.g. for a request to the hub.
    pub fn as_str(&self) -> &str {
        // The bytes were checked to be ASCII letters and digits on construction.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// A form safe for logs and screens: first three and last character, the rest hidden.
    pub fn masked(&self) -> Masked {
        Masked(*self)
    }

    /// Sex as encoded in the day field.
    pub fn sex(&self) -> Sex {
        if self.day_field() > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Belfiore code of the birthplace (a municipality, or `Z###` for a foreign country),
    /// with omocode letters mapped back to digits.
    pub fn birthplace(&self) -> String {
        let letter = char::from(self.0[11]);
        let digits: String = self.0[12..15]
            .iter()
            .map(|&b| char::from_digit(digit_value(b), 10).unwrap_or('0'))
            .collect();
        format!("{letter}{digits}")
    }

    /// Date of birth, resolving the two-digit year against today's date.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        self.birth_date_on(chrono::Local::now().date_naive())
    }

    /// Date of birth, resolving the two-digit year against `today`: the most recent year
    /// that is not in the future. Centenarians are therefore read as infants born this
    /// century only if that date is still to come; ambiguity beyond 100 years is inherent
    /// in the code. `None` when the fields do not form a calendar date (a few irregular
    /// codes exist, and the kiosk does not reject them for it).
    pub fn birth_date_on(&self, today: NaiveDate) -> Option<NaiveDate> {
        let yy = self.digits(6) as i32;
        let month = MONTHS.iter().position(|&m| m == self.0[8])? as u32 + 1;
        let day = self.day_field() % 40;
        let this_century = (today.year() / 100) * 100;
        let recent = NaiveDate::from_ymd_opt(this_century + yy, month, day);
        match recent {
            Some(date) if date <= today => Some(date),
            _ => NaiveDate::from_ymd_opt(this_century - 100 + yy, month, day),
        }
    }

    /// True when at least one digit has been replaced by an omocode letter.
    pub fn is_omocode(&self) -> bool {
        OMOCODE_POSITIONS
            .iter()
            .any(|&i| !self.0[i].is_ascii_digit())
    }

    /// The code with every omocode letter turned back into its digit and the check
    /// letter recomputed: the code the omocode was derived from. Only for decoding and
    /// tests; identity always uses the full code.
    pub fn base_code(&self) -> CodiceFiscale {
        let mut bytes = self.0;
        for i in OMOCODE_POSITIONS {
            if !bytes[i].is_ascii_digit() {
                bytes[i] = b'0' + digit_value(bytes[i]) as u8;
            }
        }
        bytes[15] = check_letter(&bytes[..15]) as u8;
        CodiceFiscale(bytes)
    }

    /// The same person's code with the digit at zero-based `position` replaced by its
    /// omocode letter, and a new check letter. `None` if `position` is not one of the
    /// seven omocode positions or already holds a letter.
    pub fn with_omocode_at(&self, position: usize) -> Option<CodiceFiscale> {
        if !OMOCODE_POSITIONS.contains(&position) || !self.0[position].is_ascii_digit() {
            return None;
        }
        let mut bytes = self.0;
        bytes[position] = OMOCODE_LETTERS[usize::from(bytes[position] - b'0')];
        bytes[15] = check_letter(&bytes[..15]) as u8;
        Some(CodiceFiscale(bytes))
    }

    /// The zero-based positions where omocode letters may appear.
    pub fn omocode_positions() -> [usize; 7] {
        OMOCODE_POSITIONS
    }

    fn digits(&self, start: usize) -> u32 {
        digit_value(self.0[start]) * 10 + digit_value(self.0[start + 1])
    }

    fn day_field(&self) -> u32 {
        self.digits(9)
    }
}

/// Checks a code still being typed: every character so far must suit its position.
///
/// Lets the on-screen keyboard say "character 7 should be a digit" as soon as the
/// mistake is made, instead of after the sixteenth character. `Ok` says nothing about
/// the check letter, which needs the whole code.
pub fn check_partial(input: &str) -> Result<(), CfError> {
    let code = normalise(input);
    for (i, c) in code.chars().enumerate() {
        if !c.is_ascii_alphanumeric() {
            return Err(CfError::NotAlphanumeric {
                position: i + 1,
                found: c,
            });
        }
        if i >= LEN {
            return Err(CfError::TooLong {
                len: code.chars().count(),
            });
        }
        let expected = expected_at(i);
        if !accepts(expected, c as u8) {
            return Err(CfError::WrongCharacter {
                position: i + 1,
                found: c,
                expected,
            });
        }
    }
    Ok(())
}

impl FromStr for CodiceFiscale {
    type Err = CfError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let code = normalise(input);
        if code.is_empty() {
            return Err(CfError::Empty);
        }
        if let Some((i, c)) = code
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
        {
            return Err(CfError::NotAlphanumeric {
                position: i + 1,
                found: c,
            });
        }
        let bytes = code.as_bytes();
        // Report a misplaced character before a wrong length only when the code is
        // complete: with missing characters every later position shifts.
        match bytes.len() {
            len if len < LEN => return Err(CfError::TooShort { len }),
            len if len > LEN => return Err(CfError::TooLong { len }),
            _ => {}
        }
        for (i, &b) in bytes.iter().enumerate() {
            let expected = expected_at(i);
            if !accepts(expected, b) {
                return Err(CfError::WrongCharacter {
                    position: i + 1,
                    found: char::from(b),
                    expected,
                });
            }
        }
        let mut array = [0u8; LEN];
        array.copy_from_slice(bytes);
        let cf = CodiceFiscale(array);
        let day = cf.day_field();
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(CfError::InvalidDay { day });
        }
        if check_letter(&array[..15]) as u8 != array[15] {
            return Err(CfError::CheckLetter);
        }
        Ok(cf)
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodiceFiscale({})", self.masked())
    }
}

/// A codice fiscale shown as `RSS***********C`: enough for a clerk to recognise it on a
/// screen or in a support log, not enough to identify anyone.
#[derive(Clone, Copy)]
pub struct Masked(CodiceFiscale);

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_str();
        write!(f, "{}{}{}", &s[..3], "*".repeat(LEN - 4), &s[LEN - 1..])
    }
}

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for CodiceFiscale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CodiceFiscale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(s: &str) -> CodiceFiscale {
        s.parse().expect("valid test code")
    }

    #[test]
    fn normalises_case_spaces_and_dashes() {
        assert_eq!(cf(" rss mra-45c12 f205c\t"), cf("RSSMRA45C12F205C"));
    }

    #[test]
    fn check_letter_matches_public_vector() {
        assert_eq!(check_letter(b"BNCSFN85T58G702"), 'W');
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!("".parse::<CodiceFiscale>(), Err(CfError::Empty));
        assert_eq!(
            "RSSMRA45C12F205".parse::<CodiceFiscale>(),
            Err(CfError::TooShort { len: 15 })
        );
        assert_eq!(
            "RSSMRA45C12F2O5C".parse::<CodiceFiscale>(),
            Err(CfError::WrongCharacter {
                position: 14,
                found: 'O',
                expected: Expected::Digit
            })
        );
        assert_eq!(
            "RSSMRA45C12F205C!".parse::<CodiceFiscale>(),
            Err(CfError::NotAlphanumeric {
                position: 17,
                found: '!'
            })
        );
        assert_eq!(
            "RSSMRA45C12F205D".parse::<CodiceFiscale>(),
            Err(CfError::CheckLetter)
        );
    }

    #[test]
    fn messages_exist_in_both_languages_with_hints() {
        let err = "RSSMRA45C12F2O5C".parse::<CodiceFiscale>().unwrap_err();
        assert_eq!(err.hint(), Some('0'));
        let it = err.message(Lang::IT);
        let en = err.message(Lang::EN);
        assert!(it.contains("carattere 14") && it.contains("cifra") && it.contains("'0'"));
        assert!(en.contains("character 14") && en.contains("digit") && en.contains("'0'"));
    }

    #[test]
    fn debug_and_masked_hide_the_code() {
        let code = cf("RSSMRA45C12F205C");
        assert_eq!(code.masked().to_string(), "RSS************C");
        assert_eq!(format!("{code:?}"), "CodiceFiscale(RSS************C)");
        assert_eq!(code.to_string(), "RSSMRA45C12F205C");
    }

    #[test]
    fn year_resolves_to_most_recent_past() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let code = cf("RSSMRA45C12F205C");
        assert_eq!(
            code.birth_date_on(today),
            NaiveDate::from_ymd_opt(1945, 3, 12)
        );
        // Born 2026-11-27 is today, so this century; 2026-11-28 would be the future.
        let base = b"RSSMRA26S27F205";
        let today_code = cf(&format!(
            "{}{}",
            std::str::from_utf8(base).unwrap(),
            check_letter(base)
        ));
        assert_eq!(today_code.birth_date_on(today), Some(today));
        let base = b"RSSMRA26S28F205";
        let tomorrow_code = cf(&format!(
            "{}{}",
            std::str::from_utf8(base).unwrap(),
            check_letter(base)
        ));
        assert_eq!(
            tomorrow_code.birth_date_on(today),
            NaiveDate::from_ymd_opt(1926, 11, 28)
        );
    }

    #[test]
    fn partial_input_is_checked_as_typed() {
        assert_eq!(check_partial(""), Ok(()));
        assert_eq!(check_partial("RSSMRA4"), Ok(()));
        assert_eq!(
            check_partial("RSSMRAX"),
            Err(CfError::WrongCharacter {
                position: 7,
                found: 'X',
                expected: Expected::Digit
            })
        );
        assert_eq!(check_partial("RSSMRA45C12F205C"), Ok(()));
        assert!(matches!(
            check_partial("RSSMRA45C12F205CX"),
            Err(CfError::TooLong { len: 17 })
        ));
    }

    #[test]
    fn serde_round_trip_validates() {
        let code = cf("MRSMSR81D60Z611H");
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"MRSMSR81D60Z611H\"");
        assert_eq!(serde_json::from_str::<CodiceFiscale>(&json).unwrap(), code);
        assert!(serde_json::from_str::<CodiceFiscale>("\"MRSMSR81D60Z611A\"").is_err());
    }
}
