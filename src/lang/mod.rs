//! The languages a citizen can choose, as data.
//!
//! Each language is one folder, `languages/<code>/` (README, "Adding a language"): its
//! manifest (`language.toml`: own name, direction, voice, how receipts carry it, fonts),
//! every sentence in one `messages.po` (the kiosk's screens and voice, the phone pages,
//! the printed ticket, the documents), the catalogue's names and descriptions
//! (`catalogue.toml`) and the office terms kept in Italian (`glossary.toml`). build.rs
//! checks the folders and compiles them in, so adding a language changes no code.
//!
//! Italian is the office's language; English is the source every message is written in
//! (the `msgid`), so a sentence missing from a language falls back to English.

mod po;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use po::parse_po;

/// Which way a language is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Left to right.
    Ltr,
    /// Right to left (Arabic): the kiosk mirrors its layout.
    Rtl,
}

/// One row of the compiled table: a language folder.
#[derive(Debug)]
pub struct Language {
    code: &'static str,
    name: &'static str,
    english_name: &'static str,
    direction: Direction,
    script: &'static str,
    voice: &'static str,
    aliases: &'static [&'static str],
    code_pages: &'static [&'static str],
    fonts: &'static [&'static str],
    font_family: &'static str,
    font_package: &'static str,
    messages: &'static str,
    catalogue: &'static str,
    glossary: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/languages.rs"));

/// A language the product ships: an index into the table build.rs writes, in the order
/// of the language screen. Cheap to copy; on the wire and in files it is its code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lang(u8);

impl Lang {
    /// Italian, the office's language, the default (build.rs keeps it first).
    pub const IT: Lang = Lang(0);
    /// English, the source of every message (build.rs keeps it second).
    pub const EN: Lang = Lang(1);

    /// Every shipped language, in the order of the language screen.
    pub fn all() -> impl ExactSizeIterator<Item = Lang> + Clone {
        (0..LANGUAGES.len()).map(|i| Lang(i as u8))
    }

    /// Its place in [`Lang::all`], for tables kept per language.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    fn row(self) -> &'static Language {
        &LANGUAGES[usize::from(self.0)]
    }

    /// The tag used in files, URLs and the hub API (`it`, `fr`, `zh-Hans`).
    pub fn code(self) -> &'static str {
        self.row().code
    }

    /// The language's own name in its own script, as on its button.
    pub fn native_name(self) -> &'static str {
        self.row().name
    }

    /// Its name in English (logs, maintainer pages).
    pub fn english_name(self) -> &'static str {
        self.row().english_name
    }

    /// Which way it is read.
    pub fn direction(self) -> Direction {
        self.row().direction
    }

    /// True for right-to-left languages.
    pub fn is_rtl(self) -> bool {
        self.direction() == Direction::Rtl
    }

    /// The ISO 15924 script (`Latn`, `Cyrl`, `Arab`, `Hans`).
    pub fn script(self) -> &'static str {
        self.row().script
    }

    /// The espeak-ng voice, or `None` when espeak-ng has none for it.
    pub fn voice(self) -> Option<&'static str> {
        Some(self.row().voice).filter(|v| !v.is_empty())
    }

    /// The printer code pages that hold its letters, best first; empty when receipts
    /// carry it as raster text.
    pub fn code_pages(self) -> &'static [&'static str] {
        self.row().code_pages
    }

    /// Font files (on the image) for a script the UI's fonts lack; regular first.
    pub fn fonts(self) -> &'static [&'static str] {
        self.row().fonts
    }

    /// The family to take from [`Lang::fonts`] when they are collections ("" for all).
    pub fn font_family(self) -> &'static str {
        self.row().font_family
    }

    /// The Debian package that installs [`Lang::fonts`] ("" when it needs none).
    pub fn font_package(self) -> &'static str {
        self.row().font_package
    }

    /// The folder's `catalogue.toml`: service names and descriptions by code.
    pub fn catalogue_source(self) -> &'static str {
        self.row().catalogue
    }

    /// The folder's `glossary.toml`: the office terms kept in Italian.
    pub fn glossary_source(self) -> &'static str {
        self.row().glossary
    }

    /// The folder's `messages.po`.
    pub fn messages_source(self) -> &'static str {
        self.row().messages
    }

    /// The language's sentences, parsed once.
    fn messages(self) -> &'static HashMap<String, String> {
        static TABLES: OnceLock<Vec<HashMap<String, String>>> = OnceLock::new();
        let tables =
            TABLES.get_or_init(|| LANGUAGES.iter().map(|l| parse_po(l.messages)).collect());
        &tables[usize::from(self.0)]
    }

    /// The best shipped language for a browser's `Accept-Language` header: the first
    /// tag by preference (`q`) that names one, else `None`.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (position, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 || !q.is_finite() {
                continue;
            }
            let Some(lang) = Lang::from_tag(tag) else {
                continue;
            };
            // Highest q wins; among equals, the earlier tag.
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, position, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }

    /// A shipped language for a BCP 47 tag: its code or an alias (case-insensitive), else
    /// its primary subtag (`fr-CA` → `fr`).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        if tag.is_empty() {
            return None;
        }
        let exact = |t: &str| {
            Lang::all().find(|l| {
                l.code().eq_ignore_ascii_case(t)
                    || l.row().aliases.iter().any(|a| a.eq_ignore_ascii_case(t))
            })
        };
        exact(tag).or_else(|| tag.split('-').next().and_then(exact))
    }
}

/// `msgid` (an English sentence, a literal: `tests/translations.rs` collects the calls)
/// in `lang`; English, or a sentence the language lacks, gives the msgid itself.
pub fn tr(lang: Lang, msgid: &'static str) -> &'static str {
    lang.messages()
        .get(msgid)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(msgid)
}

/// `text` from data (an office's room name, a code) set apart from the sentence around
/// it for the bidi algorithm (Unicode FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE):
/// "Sala INPS (sportelli 1-4)" inside an Arabic sentence keeps its own order and its
/// brackets. Only right-to-left languages need it; others get the text unchanged.
pub fn isolate(lang: Lang, text: &str) -> String {
    if lang.is_rtl() && !text.is_empty() {
        format!("\u{2068}{text}\u{2069}")
    } else {
        text.to_string()
    }
}

/// `template` with each `{}` replaced by the next of `args`, as Slint's `@tr` does.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(args.next().copied().unwrap_or_default());
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Returned when a language code is not one the product ships.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{given}`: expected one of {expected}")]
pub struct UnknownLang {
    /// What was given.
    pub given: String,
    /// The shipped codes, comma-separated.
    pub expected: String,
}

impl FromStr for Lang {
    type Err = UnknownLang;

    /// A shipped language's code or alias, case-insensitive (`EN`, `zh-hans`, `zh`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Lang::all()
            .find(|l| {
                l.code().eq_ignore_ascii_case(s)
                    || l.row().aliases.iter().any(|a| a.eq_ignore_ascii_case(s))
            })
            .ok_or_else(|| UnknownLang {
                given: s.chars().take(32).collect(),
                expected: Lang::all().map(Lang::code).collect::<Vec<_>>().join(", "),
            })
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in Lang::all() {
            assert_eq!(lang.code().parse::<Lang>(), Ok(lang));
            assert_eq!(Lang::from_tag(lang.code()), Some(lang));
        }
        assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::EN));
        assert_eq!(Lang::all().next(), Some(Lang::IT));
        let err = "xx".parse::<Lang>().unwrap_err().to_string();
        assert!(err.contains("`xx`") && err.contains("it, en"), "{err}");
    }

    #[test]
    fn accept_language_picks_the_preferred_shipped_one() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Some(Lang::EN));
        assert_eq!(Lang::from_accept_language("de, it;q=0.5"), Some(Lang::IT));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
        assert_eq!(Lang::from_accept_language(";;,,=q"), None);
    }

    #[test]
    fn messages_translate_and_fall_back_to_english() {
        assert_eq!(tr(Lang::IT, "Print my ticket"), "Stampa il mio numero");
        assert_eq!(tr(Lang::EN, "Print my ticket"), "Print my ticket");
        assert_eq!(tr(Lang::IT, "not a message"), "not a message");
        assert_eq!(
            fill(tr(Lang::IT, "Your number is {}"), &["N012"]),
            "Il tuo numero è N012"
        );
        assert_eq!(fill("{} · {}", &["a"]), "a · ");
    }

    #[test]
    fn italian_and_english_are_left_to_right_latin() {
        for lang in [Lang::IT, Lang::EN] {
            assert_eq!(lang.direction(), Direction::Ltr);
            assert_eq!(lang.script(), "Latn");
            assert!(lang.voice().is_some());
        }
        assert_eq!(Lang::IT.native_name(), "Italiano");
    }
}
