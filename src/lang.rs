//! The languages a citizen can choose at the kiosk.
//!
//! Italian is the office's language and the fallback for everything; English is the
//! second complete language. Texts that live in data files (the service catalogue) are
//! keyed by [`Lang::code`], so a data file can be checked for completeness.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language the kiosk speaks, identified on the wire by its ISO 639-1 code.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Italian, the default and the fallback.
    #[default]
    It,
    /// English.
    En,
}

impl Lang {
    /// Every language the product ships complete; data files must cover all of them.
    pub const ALL: [Lang; 2] = [Lang::It, Lang::En];

    /// The ISO 639-1 code used in files, URLs and the hub API.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// The alternative a two-language page (the phone pages) links to: English from
    /// Italian, Italian from English.
    pub fn other(self) -> Lang {
        match self {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        }
    }

    /// The language's own name, as shown on the language button.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::It => "Italiano",
            Lang::En => "English",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Returned when a language code is not one the kiosk ships.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`: expected one of it, en")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "it" => Ok(Lang::It),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(lang.code().parse::<Lang>(), Ok(lang));
        }
        assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
    }
}
