//! The services the office offers: one ticket category each.
//!
//! The list ships as `data/catalogue.toml` and is checked on load, so a typo in a data
//! file stops the kiosk or hub at start with a message naming the service and the field,
//! instead of printing a ticket with a missing name. The hub may replace the list; the
//! kiosk then caches the hub's version.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lang::{Lang, tr};

/// The catalogue built into the binary, used when neither config nor hub supplies one.
pub const DEFAULT_CATALOGUE: &str = include_str!("../data/catalogue.toml");

/// Which agency a service belongs to; the kiosk groups services by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agency {
    /// Istituto Nazionale della Previdenza Sociale.
    Inps,
    /// Centro per l'impiego (public job centre).
    Cpi,
    /// The shared front desk itself (reception, appointment check-in).
    Office,
}

impl Agency {
    /// The agency's name as shown to citizens.
    pub fn display_name(self, lang: Lang) -> &'static str {
        match self {
            Agency::Inps => "INPS",
            Agency::Cpi => tr(lang, "Job centre (Centro per l'impiego)"),
            Agency::Office => tr(lang, "Front desk"),
        }
    }
}

/// A text per language. Italian and English are always there; a language without its
/// own shows the English one.
pub type Texts = BTreeMap<Lang, String>;

/// Longest service name, in characters: what fits on one line of the kiosk's home
/// screen at the body text size of a 21.5" panel (two lines in large text).
pub const MAX_NAME_CHARS: usize = 32;

/// The pictogram on a service's tile, from a fixed set the kiosk can draw. Offices pick
/// the one closest to the citizen's need; the name next to it always says it in words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pictogram {
    /// Lost a job: unemployment benefits.
    Unemployment,
    /// Contributions, savings.
    Contributions,
    /// Pensions and payslips.
    Pension,
    /// Household means (ISEE), family support.
    Family,
    /// A certificate or a document.
    Certificate,
    /// Looking for work, job offers.
    Work,
    /// Registering as available for work.
    Registration,
    /// Disability.
    Disability,
    /// Support and training.
    Support,
    /// Employers and companies.
    Employer,
    /// A booked appointment.
    Appointment,
    /// General information (the default).
    #[default]
    Information,
}

/// One service, i.e. one ticket category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable identifier used by kiosks, the hub and reports (lowercase, digits, dashes).
    pub code: String,
    /// The letter in front of the ticket's three digits.
    pub prefix: char,
    /// The agency that provides the service.
    pub agency: Agency,
    /// Whether the kiosk asks about priority access for this service.
    pub priority: bool,
    /// Whether the kiosk offers to identify the citizen for this service.
    pub identification: bool,
    /// Short name, per language: inline, or from `languages/<code>/catalogue.toml`.
    #[serde(default)]
    pub name: Texts,
    /// One-line description, per language, as `name`.
    #[serde(default)]
    pub description: Texts,
    /// The pictogram on the kiosk's tile.
    #[serde(default)]
    pub pictogram: Pictogram,
}

impl Service {
    /// The name in `lang`, falling back to English, then Italian.
    pub fn name(&self, lang: Lang) -> &str {
        text_in(&self.name, lang)
    }

    /// The description in `lang`, falling back to English, then Italian.
    pub fn description(&self, lang: Lang) -> &str {
        text_in(&self.description, lang)
    }

    /// Adds, for every language this service has no text in, the text its folder's
    /// `catalogue.toml` gives for this code (inline texts win).
    fn fill_from_languages(&mut self) {
        for lang in Lang::all() {
            let Some(texts) = folder_texts(lang).get(&self.code) else {
                continue;
            };
            self.name.entry(lang).or_insert_with(|| texts.name.clone());
            self.description
                .entry(lang)
                .or_insert_with(|| texts.description.clone());
        }
    }

    /// Keeps only the texts in `langs` (what a kiosk said it can read).
    pub fn keep_languages(&mut self, langs: &[Lang]) {
        self.name.retain(|l, _| langs.contains(l));
        self.description.retain(|l, _| langs.contains(l));
    }
}

fn text_in(texts: &Texts, lang: Lang) -> &str {
    texts
        .get(&lang)
        .or_else(|| texts.get(&Lang::EN))
        .or_else(|| texts.get(&Lang::IT))
        .map_or("", String::as_str)
}

/// One service's texts in a language folder's `catalogue.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderTexts {
    /// The service's name.
    pub name: String,
    /// Its one-line description.
    pub description: String,
}

/// A language folder's `catalogue.toml`, by service code, parsed once. A folder that does
/// not parse gives nothing (the catalogue then falls back to English); tests/translations.rs
/// holds every shipped folder to parse and to cover the built-in catalogue.
pub fn folder_texts(lang: Lang) -> &'static BTreeMap<String, FolderTexts> {
    static TABLES: std::sync::OnceLock<Vec<BTreeMap<String, FolderTexts>>> =
        std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        Lang::all()
            .map(|l| match toml::from_str(l.catalogue_source()) {
                Ok(table) => table,
                Err(err) => {
                    tracing::error!(lang = l.code(), %err, "languages/<code>/catalogue.toml does not parse");
                    BTreeMap::new()
                }
            })
            .collect()
    });
    &tables[lang.index()]
}

/// A validated list of services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    #[serde(rename = "service")]
    services: Vec<Service>,
}

/// Why a catalogue could not be loaded. Names the source and, where it can, the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("{source_name}: cannot read the catalogue: {message}")]
    Read {
        /// File path or other origin.
        source_name: String,
        /// The operating system's reason.
        message: String,
    },
    /// The text is not well-formed or a field has the wrong type.
    #[error("{source_name}: {message}")]
    Syntax {
        /// File path or other origin.
        source_name: String,
        /// What the parser reported, with line and key.
        message: String,
    },
    /// The text parsed but breaks a rule (duplicate code, missing language...).
    #[error("{source_name}: {problem}")]
    Invalid {
        /// File path or other origin.
        source_name: String,
        /// The broken rule, naming the service.
        problem: CatalogueProblem,
    },
}

/// A rule a parsed catalogue breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueProblem {
    /// No services at all.
    Empty,
    /// A code that is empty or has characters other than `a-z`, `0-9` and `-`.
    BadCode(String),
    /// Two services share a code.
    DuplicateCode(String),
    /// A prefix that is not an uppercase ASCII letter.
    BadPrefix { code: String, prefix: char },
    /// Two services share a prefix.
    DuplicatePrefix {
        prefix: char,
        first: String,
        second: String,
    },
    /// A name or description is missing or blank in a shipped language.
    MissingText {
        code: String,
        field: &'static str,
        lang: Lang,
    },
    /// A name longer than a kiosk tile holds.
    LongName {
        code: String,
        lang: Lang,
        chars: usize,
    },
}

impl fmt::Display for CatalogueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogueProblem::Empty => write!(f, "the catalogue lists no services"),
            CatalogueProblem::BadCode(code) => write!(
                f,
                "service code `{code}` must be non-empty and use only a-z, 0-9 and -"
            ),
            CatalogueProblem::DuplicateCode(code) => {
                write!(f, "service code `{code}` is used twice")
            }
            CatalogueProblem::BadPrefix { code, prefix } => write!(
                f,
                "service `{code}`: prefix `{prefix}` must be one uppercase letter A-Z"
            ),
            CatalogueProblem::DuplicatePrefix {
                prefix,
                first,
                second,
            } => write!(
                f,
                "prefix `{prefix}` is used by both `{first}` and `{second}`"
            ),
            CatalogueProblem::MissingText { code, field, lang } => write!(
                f,
                "service `{code}`: `{field}.{lang}` is missing or blank (every service needs it)"
            ),
            CatalogueProblem::LongName { code, lang, chars } => write!(
                f,
                "service `{code}`: `name.{lang}` has {chars} characters; at most \
                 {MAX_NAME_CHARS} fit on the kiosk's tile (say more in the description)"
            ),
        }
    }
}

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn builtin() -> Catalogue {
        // The built-in data is checked by a unit test, so this cannot fail in a release;
        // should it ever, fall back to an empty-but-valid shape rather than panic.
        Catalogue::from_toml(DEFAULT_CATALOGUE, "built-in catalogue").unwrap_or_else(|err| {
            tracing::error!(%err, "built-in catalogue is invalid");
            Catalogue {
                services: Vec::new(),
            }
        })
    }

    /// Reads and validates a catalogue file.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogueError::Read {
            source_name: source_name.clone(),
            message: e.to_string(),
        })?;
        Catalogue::from_toml(&text, &source_name)
    }

    /// Parses and validates catalogue text in TOML; `source_name` appears in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| CatalogueError::Syntax {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })?;
        catalogue.validated(source_name)
    }

    /// Builds a catalogue from services received elsewhere (the hub's JSON), validating it.
    pub fn from_services(
        services: Vec<Service>,
        source_name: &str,
    ) -> Result<Catalogue, CatalogueError> {
        Catalogue { services }.validated(source_name)
    }

    fn validated(mut self, source_name: &str) -> Result<Catalogue, CatalogueError> {
        for service in &mut self.services {
            service.fill_from_languages();
        }
        match self.problem() {
            None => Ok(self),
            Some(problem) => Err(CatalogueError::Invalid {
                source_name: source_name.to_string(),
                problem,
            }),
        }
    }

    fn problem(&self) -> Option<CatalogueProblem> {
        if self.services.is_empty() {
            return Some(CatalogueProblem::Empty);
        }
        let mut codes = HashSet::new();
        let mut prefixes: BTreeMap<char, &str> = BTreeMap::new();
        for s in &self.services {
            let good_code = !s.code.is_empty()
                && s.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !good_code {
                return Some(CatalogueProblem::BadCode(s.code.clone()));
            }
            if !codes.insert(s.code.as_str()) {
                return Some(CatalogueProblem::DuplicateCode(s.code.clone()));
            }
            if !s.prefix.is_ascii_uppercase() {
                return Some(CatalogueProblem::BadPrefix {
                    code: s.code.clone(),
                    prefix: s.prefix,
                });
            }
            if let Some(first) = prefixes.insert(s.prefix, &s.code) {
                return Some(CatalogueProblem::DuplicatePrefix {
                    prefix: s.prefix,
                    first: first.to_string(),
                    second: s.code.clone(),
                });
            }
            for (field, texts) in [("name", &s.name), ("description", &s.description)] {
                for lang in [Lang::IT, Lang::EN] {
                    if texts.get(&lang).is_none_or(|t| t.trim().is_empty()) {
                        return Some(CatalogueProblem::MissingText {
                            code: s.code.clone(),
                            field,
                            lang,
                        });
                    }
                }
            }
            for (lang, name) in &s.name {
                let chars = name.chars().count();
                if chars > MAX_NAME_CHARS {
                    return Some(CatalogueProblem::LongName {
                        code: s.code.clone(),
                        lang: *lang,
                        chars,
                    });
                }
            }
        }
        None
    }

    /// Every service, in the order of the file.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service with this code, if offered.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// The services of one agency, in file order.
    pub fn by_agency(&self, agency: Agency) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.agency == agency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_is_valid_and_covers_both_agencies() {
        let catalogue = Catalogue::from_toml(DEFAULT_CATALOGUE, "built-in").unwrap();
        assert!(catalogue.by_agency(Agency::Inps).count() >= 5);
        assert!(catalogue.by_agency(Agency::Cpi).count() >= 6);
        let naspi = catalogue.service("naspi").unwrap();
        assert_eq!(naspi.prefix, 'N');
        assert!(naspi.name(Lang::EN).contains("NASpI"));
        assert_eq!(Catalogue::builtin(), catalogue);
    }

    fn one_service(extra: &str) -> String {
        format!(
            r#"
[[service]]
code = "a"
prefix = "A"
agency = "inps"
priority = true
identification = false
name.it = "A"
name.en = "A"
description.it = "A"
description.en = "A"
{extra}"#
        )
    }

    #[test]
    fn rejects_a_name_too_long_for_a_tile_and_an_unknown_pictogram() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let text = one_service("").replace("name.en = \"A\"", &format!("name.en = \"{long}\""));
        let err = Catalogue::from_toml(&text, "x.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml: service `a`: `name.en` has 33 characters; at most 32 fit on the kiosk's \
             tile (say more in the description)"
        );
        let err = Catalogue::from_toml(&one_service("pictogram = \"rocket\""), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pictogram") && err.contains("rocket"), "{err}");
        let ok = Catalogue::from_toml(&one_service("pictogram = \"family\""), "x.toml").unwrap();
        assert_eq!(ok.services()[0].pictogram, Pictogram::Family);
    }

    #[test]
    fn rejects_duplicate_prefix_naming_both_services() {
        let text = one_service(&one_service("").replace("code = \"a\"", "code = \"b\""));
        let err = Catalogue::from_toml(&text, "x.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml: prefix `A` is used by both `a` and `b`"
        );
    }

    #[test]
    fn rejects_missing_language() {
        let text = one_service("").replace("description.en = \"A\"", "");
        let err = Catalogue::from_toml(&text, "x.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml: service `a`: `description.en` is missing or blank (every service needs it)"
        );
    }

    #[test]
    fn rejects_unknown_field_and_bad_type_with_location() {
        let err = Catalogue::from_toml(&one_service("colour = 3"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let text = one_service("").replace("priority = true", "priority = \"yes\"");
        let err = Catalogue::from_toml(&text, "x.toml").unwrap_err();
        assert!(err.to_string().contains("priority"), "{err}");
    }
}
