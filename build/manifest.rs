//! `languages/<code>/language.toml`: what a language is besides its texts. Read by
//! build.rs (with the build's own `toml` and `serde`), which turns every folder into one
//! row of the table `src/lang` serves.

use serde::Deserialize;

/// The files every language folder holds.
pub const FILES: [&str; 4] = [
    "language.toml",
    "messages.po",
    "catalogue.toml",
    "glossary.toml",
];

/// Which way the language is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ltr,
    Rtl,
}

/// One `language.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// BCP 47 tag, the folder's name: `it`, `fr`, `zh-Hans`.
    pub code: String,
    /// The language's name in itself, in its own script: the language button.
    pub name: String,
    /// Its name in English, for maintainers and logs.
    pub english_name: String,
    /// Place on the language screen; Italian 0, English 1.
    pub order: u32,
    pub direction: Direction,
    /// ISO 15924 script code (`Latn`, `Cyrl`, `Arab`, `Hans`).
    pub script: String,
    /// The espeak-ng voice, or "" when espeak-ng has none.
    pub voice: String,
    /// Other tags a browser may send for it (`zh`, `zh-CN`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub printing: Printing,
    #[serde(default)]
    pub fonts: Fonts,
}

/// How receipts carry the language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Printing {
    /// The printer code pages that hold its letters, best first (`pc858`, `wpc1252`,
    /// `wpc1250`, `wpc1251`). Empty: printed as raster text with `fonts`.
    pub code_pages: Vec<String>,
}

/// Fonts for scripts the UI's own fonts lack, loaded from the image at start.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fonts {
    /// The Debian package that installs them (the image and scripts/setup install it).
    #[serde(default)]
    pub package: String,
    /// Font files, regular first then bold.
    #[serde(default)]
    pub files: Vec<String>,
    /// The family to use when a file is a collection of several (`Noto Sans CJK SC`);
    /// empty: every family in the files.
    #[serde(default)]
    pub family: String,
}

impl Manifest {
    /// Parses and checks one manifest.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        let tag_ok = !manifest.code.is_empty()
            && manifest
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !tag_ok {
            return Err(format!("code `{}` is not a language tag", manifest.code));
        }
        if manifest.name.trim().is_empty() || manifest.english_name.trim().is_empty() {
            return Err("name and english_name must not be empty".into());
        }
        if manifest.script.len() != 4 || !manifest.script.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "script `{}` is not an ISO 15924 code",
                manifest.script
            ));
        }
        const PAGES: [&str; 4] = ["pc858", "wpc1252", "wpc1250", "wpc1251"];
        if let Some(page) = manifest
            .printing
            .code_pages
            .iter()
            .find(|p| !PAGES.contains(&p.as_str()))
        {
            return Err(format!(
                "printing.code_pages: `{page}` is not one of {PAGES:?}"
            ));
        }
        if manifest.printing.code_pages.is_empty() && manifest.fonts.files.is_empty() {
            return Err(
                "a language printed as raster text (no code_pages) needs fonts.files".into(),
            );
        }
        Ok(manifest)
    }
}
