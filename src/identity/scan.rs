//! Turning what a barcode scanner delivers into a codice fiscale.
//!
//! The Tessera Sanitaria carries the codice fiscale as a Code 39 barcode. Scanners differ
//! in what they send around it: `*` start/stop characters, an AIM symbology identifier
//! such as `]A0`, a configured prefix or suffix, a trailing CR and/or LF. Code 39 has no
//! check digit, so the codice fiscale's own check letter is what catches a misread.

use super::codice_fiscale::{self, CfError, CodiceFiscale};
use crate::lang::{Lang, fill, tr};

/// Why a scan did not yield a codice fiscale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The scan held nothing but framing characters.
    #[error("the scan was empty")]
    Empty,
    /// Nothing in the scan looks like a codice fiscale (for example another barcode).
    #[error("this barcode does not contain a codice fiscale")]
    NoCodiceFiscale,
    /// Something shaped like a codice fiscale was found but it does not validate: a
    /// misread or a damaged card.
    #[error("the codice fiscale read from the card is not valid ({0}): please scan again")]
    Invalid(CfError),
}

impl ScanError {
    /// The message for a citizen, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ScanError::Empty => tr(lang, "the scan was empty").to_string(),
            ScanError::NoCodiceFiscale => {
                tr(lang, "this barcode does not contain a codice fiscale").to_string()
            }
            ScanError::Invalid(err) => fill(
                tr(
                    lang,
                    "the codice fiscale read from the card is not valid ({}): please scan again",
                ),
                &[&err.message(lang)],
            ),
        }
    }
}

/// Reads a codice fiscale out of one scanner delivery (one barcode's worth of text).
///
/// Accepts the bare code, the code between `*` start/stop characters, with any
/// non-alphanumeric prefix or suffix (AIM identifiers, CR/LF), and with alphanumeric
/// scanner prefixes or suffixes as long as exactly one valid code is found inside.
pub fn parse_health_card_scan(raw: &str) -> Result<CodiceFiscale, ScanError> {
    // Anything that is not a letter or a digit separates runs: `*`, `]`, CR, LF, tabs.
    let runs: Vec<String> = raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(codice_fiscale::normalise)
        .collect();
    if runs.is_empty() {
        return Err(ScanError::Empty);
    }
    // The common case: one run of exactly 16 characters is the code, valid or not.
    let exact: Vec<&String> = runs
        .iter()
        .filter(|r| r.len() == codice_fiscale::LEN)
        .collect();
    if let [only] = exact.as_slice() {
        return only.parse().map_err(ScanError::Invalid);
    }
    // Otherwise look for a valid code inside longer runs (prefixes glued to the code).
    let mut found: Vec<CodiceFiscale> = Vec::new();
    let mut near_miss: Option<CfError> = None;
    for run in runs.iter().filter(|r| r.len() >= codice_fiscale::LEN) {
        for start in 0..=run.len() - codice_fiscale::LEN {
            let window = &run[start..start + codice_fiscale::LEN];
            match window.parse::<CodiceFiscale>() {
                Ok(cf) if !found.contains(&cf) => found.push(cf),
                Ok(_) => {}
                Err(err @ CfError::CheckLetter) if near_miss.is_none() => near_miss = Some(err),
                Err(_) => {}
            }
        }
    }
    match (found.as_slice(), near_miss) {
        ([only], _) => Ok(*only),
        ([], Some(err)) => Err(ScanError::Invalid(err)),
        _ => Err(ScanError::NoCodiceFiscale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "RSSMRA45C12F205C";

    #[test]
    fn accepts_common_scanner_framings() {
        let expected: CodiceFiscale = CODE.parse().unwrap();
        for raw in [
            "RSSMRA45C12F205C",
            "*RSSMRA45C12F205C*",
            "RSSMRA45C12F205C\r\n",
            "*RSSMRA45C12F205C*\r",
            "]A0RSSMRA45C12F205C\n",
            "TS:RSSMRA45C12F205C;",
            "rssmra45c12f205c\r",
            "PFXRSSMRA45C12F205C",
            "\u{2}RSSMRA45C12F205C\u{3}",
        ] {
            assert_eq!(parse_health_card_scan(raw), Ok(expected), "scan {raw:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_code() {
        assert_eq!(parse_health_card_scan("**\r\n"), Err(ScanError::Empty));
        assert_eq!(
            parse_health_card_scan("80380001234567890123"),
            Err(ScanError::NoCodiceFiscale)
        );
        assert_eq!(
            parse_health_card_scan("*RSSMRA45C12F205D*"),
            Err(ScanError::Invalid(CfError::CheckLetter))
        );
        assert_eq!(
            parse_health_card_scan("XXRSSMRA45C12F205D"),
            Err(ScanError::Invalid(CfError::CheckLetter))
        );
    }

    #[test]
    fn messages_in_both_languages() {
        let err = parse_health_card_scan("*RSSMRA45C12F205D*").unwrap_err();
        assert!(err.message(Lang::IT).contains("non è valido"));
        assert!(err.message(Lang::EN).contains("not valid"));
    }
}
