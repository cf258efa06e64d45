//! Printer profiles: what each model can do, as data.
//!
//! Models differ in width, columns, `ESC t` numbering, native QR, cutter and presenter.
//! Keeping that in `data/printers.toml` (compiled in) means layouts and the encoder never
//! test a model name; adding a printer is adding a table, checked on load.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::codepage::CodePage;
use crate::lang::Lang;

/// The profiles shipped in the binary.
pub const BUILTIN_PROFILES: &str = include_str!("../../data/printers.toml");

/// How a printer cuts the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cutter {
    /// Cuts through.
    Full,
    /// Leaves a small bridge (the ticket hangs until taken).
    Partial,
    /// No cutter: the citizen tears the ticket off.
    None,
}

/// Raw command bytes of a kiosk printer's presenter (the mouth that holds the ticket).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presenter {
    /// Pushes the cut ticket out to the citizen.
    pub present: Vec<u8>,
    /// Pulls a ticket left in the mouth back in.
    pub retract: Vec<u8>,
    /// Ejects the ticket.
    pub eject: Vec<u8>,
}

/// One printer model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The key used in configs and on the command line (e.g. `epson-tm-t20iii`).
    pub name: String,
    /// The model as a person would name it.
    pub model: String,
    /// Printable dots across the paper.
    pub dots_per_line: u16,
    /// Columns of font A at normal size.
    pub chars_per_line: u8,
    /// The code page text is printed in.
    pub text_page: CodePage,
    /// `ESC t n` for each code page this model has.
    pub code_pages: BTreeMap<CodePage, u8>,
    /// Whether QR codes are printed natively (`GS ( k`) rather than as a raster image.
    pub native_qr: bool,
    /// The cutter fitted.
    pub cutter: Cutter,
    /// Presenter commands, for kiosk printers that have one.
    #[serde(default)]
    pub presenter: Option<Presenter>,
    /// Paper speed; bounds how long the job waits for the last line to print.
    pub speed_mm_s: u16,
    /// What was checked against the vendor's manual and what is assumed.
    pub verified: String,
}

/// How a language's sentences go on paper with one printer model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    /// As text in this code page (selected with `ESC t` at init): the first of the
    /// language's pages the model has, or for a Latin-script language without one,
    /// the model's text page with the readable ASCII fallback.
    Page(CodePage),
    /// As raster images drawn from a font: no page of the model holds the script
    /// (Arabic, Chinese; Cyrillic on a model without Windows-1251).
    Raster,
}

impl Profile {
    /// The `ESC t n` number selecting `page` on this model, if it has the page.
    pub fn page_number(&self, page: CodePage) -> Option<u8> {
        self.code_pages.get(&page).copied()
    }

    /// How `lang`'s texts print on this model (see [`TextMode`]): the model's own text
    /// page when the language lists it and it holds every letter of the language's
    /// translations (so Italian and English keep the page the profile chose), else the
    /// first page of the language's list the model has; else, for a Latin-script
    /// language, the text page with the ASCII fallback; else raster. Page names no
    /// encoder knows are skipped.
    pub fn text_mode(&self, lang: Lang) -> TextMode {
        let listed: Vec<CodePage> = lang
            .code_pages()
            .iter()
            .filter_map(|name| CodePage::from_name(name))
            .filter(|page| self.code_pages.contains_key(page))
            .collect();
        if listed.contains(&self.text_page)
            && letters(lang)
                .iter()
                .all(|&c| self.text_page.encode_char(c).is_some())
        {
            return TextMode::Page(self.text_page);
        }
        if let Some(page) = listed.first() {
            return TextMode::Page(*page);
        }
        if !lang.code_pages().is_empty() && lang.script() == "Latn" {
            // Every page holds ASCII: accents fall back to readable forms.
            TextMode::Page(self.text_page)
        } else {
            TextMode::Raster
        }
    }

    /// The `ESC t n` number selecting [`Profile::text_page`] on this model.
    pub fn text_page_number(&self) -> u8 {
        // Load-time validation guarantees the entry exists; 19 (Epson PC858) otherwise.
        self.code_pages.get(&self.text_page).copied().unwrap_or(19)
    }

    /// Width of one character cell of font A, in dots.
    pub fn char_width_dots(&self) -> u16 {
        self.dots_per_line / u16::from(self.chars_per_line.max(1))
    }

    /// The built-in profile with this name.
    pub fn named(name: &str) -> Result<Profile, ProfileError> {
        builtin()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::Unknown(name.to_string()))
    }
}

/// The letters beyond ASCII of `lang`'s own name, translations and service names, each
/// once (read once per process).
fn letters(lang: Lang) -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<Vec<char>>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        Lang::all()
            .map(|l| {
                let messages = crate::lang::parse_po(l.messages_source());
                let texts = messages
                    .values()
                    .map(String::as_str)
                    .chain([l.native_name(), l.catalogue_source()]);
                let seen: std::collections::BTreeSet<char> = texts
                    .flat_map(str::chars)
                    .filter(|c| !c.is_ascii() && c.is_alphabetic())
                    .collect();
                seen.into_iter().collect()
            })
            .collect()
    });
    table.get(lang.index()).map_or(&[], Vec::as_slice)
}

/// Why a profile list or name is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The name is not a known profile.
    #[error("unknown printer profile `{0}`: expected one of {list}", list = names().join(", "))]
    Unknown(String),
    /// The TOML did not parse.
    #[error("printer profiles: {0}")]
    Syntax(String),
    /// A profile breaks a rule.
    #[error("printer profile `{name}`: {problem}")]
    Invalid {
        /// The profile at fault.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for Cutter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cutter::Full => "full",
            Cutter::Partial => "partial",
            Cutter::None => "none",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    printer: Vec<Profile>,
}

/// Parses and checks a profile list in the `data/printers.toml` format.
pub fn parse(text: &str) -> Result<Vec<Profile>, ProfileError> {
    let file: ProfileFile =
        toml::from_str(text).map_err(|e| ProfileError::Syntax(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for p in &file.printer {
        let invalid = |problem: &str| ProfileError::Invalid {
            name: p.name.clone(),
            problem: problem.to_string(),
        };
        if !seen.insert(p.name.as_str()) {
            return Err(invalid("name is used twice"));
        }
        if !(128..=2048).contains(&p.dots_per_line) || p.dots_per_line % 8 != 0 {
            return Err(invalid(
                "dots_per_line must be a multiple of 8 in 128..=2048",
            ));
        }
        if !(16..=80).contains(&p.chars_per_line) {
            return Err(invalid("chars_per_line must be in 16..=80"));
        }
        if !p.code_pages.contains_key(&p.text_page) {
            return Err(invalid("code_pages has no number for text_page"));
        }
        if p.speed_mm_s == 0 {
            return Err(invalid("speed_mm_s must be positive"));
        }
        if let Some(pr) = &p.presenter
            && (pr.present.is_empty() || pr.retract.is_empty())
        {
            return Err(invalid("presenter commands must not be empty"));
        }
    }
    Ok(file.printer)
}

/// Every built-in profile. The shipped file is checked by a unit test, so this is never
/// empty in a release; should it fail, it logs and returns no profiles rather than panic.
pub fn builtin() -> Vec<Profile> {
    parse(BUILTIN_PROFILES).unwrap_or_else(|err| {
        tracing::error!(%err, "built-in printer profiles are invalid");
        Vec::new()
    })
}

/// Names of the built-in profiles, in file order.
pub fn names() -> Vec<String> {
    builtin().into_iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_are_valid_and_cover_the_issue() {
        let all = parse(BUILTIN_PROFILES).unwrap();
        let names: Vec<_> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "epson-tm-t20iii",
                "epson-tm-t88vi",
                "custom-vkp80iii",
                "generic-58",
                "generic-80"
            ]
        );
        let epson = Profile::named("epson-tm-t20iii").unwrap();
        assert_eq!(epson.code_pages[&CodePage::Pc858], 19);
        assert_eq!(epson.code_pages[&CodePage::Wpc1252], 16);
        assert_eq!(epson.char_width_dots(), 12);
        assert!(
            Profile::named("custom-vkp80iii")
                .unwrap()
                .presenter
                .is_some()
        );
        assert!(!Profile::named("generic-58").unwrap().native_qr);
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = Profile::named("tm-t20").unwrap_err().to_string();
        assert!(
            err.contains("tm-t20") && err.contains("generic-80"),
            "{err}"
        );
    }

    #[test]
    fn rules_are_checked() {
        let bad = BUILTIN_PROFILES.replacen("dots_per_line = 576", "dots_per_line = 570", 1);
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("epson-tm-t20iii") && err.contains("dots_per_line"),
            "{err}"
        );
        let bad = BUILTIN_PROFILES.replacen(
            "code_pages = { pc858 = 19, wpc1252 = 16 }",
            "code_pages = { wpc1252 = 16 }",
            1,
        );
        assert!(parse(&bad).unwrap_err().to_string().contains("text_page"));
    }

    #[test]
    fn epson_models_document_the_central_european_and_cyrillic_pages() {
        for name in ["epson-tm-t20iii", "epson-tm-t88vi"] {
            let p = Profile::named(name).unwrap();
            assert_eq!(p.page_number(CodePage::Wpc1250), Some(45), "{name}");
            assert_eq!(p.page_number(CodePage::Wpc1251), Some(46), "{name}");
        }
        // The 58 mm clones' numbering is unknown: those pages are not assumed.
        let clone = Profile::named("generic-58").unwrap();
        assert_eq!(clone.page_number(CodePage::Wpc1251), None);
        assert!(clone.verified.contains("WPC1251"), "{}", clone.verified);
    }

    #[test]
    fn every_language_gets_a_page_it_lists_or_raster() {
        for profile in builtin() {
            for lang in Lang::all() {
                let listed: Vec<CodePage> = lang
                    .code_pages()
                    .iter()
                    .filter_map(|n| CodePage::from_name(n))
                    .collect();
                match profile.text_mode(lang) {
                    TextMode::Page(page) => {
                        assert!(profile.page_number(page).is_some());
                        let has: Vec<CodePage> = listed
                            .iter()
                            .copied()
                            .filter(|p| profile.page_number(*p).is_some())
                            .collect();
                        if has.is_empty() {
                            assert_eq!(lang.script(), "Latn", "{} {lang}", profile.name);
                            assert_eq!(page, profile.text_page);
                        } else {
                            // The first listed page the model has, or its own text page
                            // when that is listed and holds every letter.
                            assert!(
                                page == has[0] || page == profile.text_page && has.contains(&page),
                                "{} {lang}: {page:?}",
                                profile.name
                            );
                        }
                    }
                    TextMode::Raster => assert!(
                        listed.iter().all(|p| profile.page_number(*p).is_none()),
                        "{} {lang}",
                        profile.name
                    ),
                }
            }
        }
        let t20 = Profile::named("epson-tm-t20iii").unwrap();
        assert_eq!(t20.text_mode(Lang::IT), TextMode::Page(CodePage::Pc858));
        assert_eq!(t20.text_mode(Lang::EN), TextMode::Page(CodePage::Pc858));
        // The TM-T88VI prints Italian and English in its WPC1252, as before languages.
        let t88 = Profile::named("epson-tm-t88vi").unwrap();
        assert_eq!(t88.text_mode(Lang::IT), TextMode::Page(CodePage::Wpc1252));
        assert_eq!(t88.text_mode(Lang::EN), TextMode::Page(CodePage::Wpc1252));
        for lang in Lang::all() {
            let expected = match lang.code() {
                "ro" => Some((
                    TextMode::Page(CodePage::Wpc1250),
                    TextMode::Page(CodePage::Wpc1252),
                )),
                "uk" => Some((TextMode::Page(CodePage::Wpc1251), TextMode::Raster)),
                "ar" | "zh-Hans" => Some((TextMode::Raster, TextMode::Raster)),
                _ => None,
            };
            if let Some((epson, clone)) = expected {
                assert_eq!(t20.text_mode(lang), epson, "{lang}");
                assert_eq!(t88.text_mode(lang), epson, "{lang}");
                let generic = Profile::named("generic-58").unwrap();
                assert_eq!(generic.text_mode(lang), clone, "{lang}");
            }
        }
    }
}
