//! What the agencies' back-office systems export to the hub, and what a citizen sees of it.
//!
//! `sportello hub records import FILE` loads a CSV or JSON export (by extension) of three
//! kinds of rows, told apart by the `type` field:
//!
//! | `type` | fields |
//! |---|---|
//! | `application` | `codice_fiscale`, `kind` (see [`APPLICATION_KINDS`]), `status` (see [`STATUSES`]), `last_change` (YYYY-MM-DD), optional `reference` |
//! | `employment` (CPI) | `codice_fiscale`, `employment_status` (`unemployed`, `suspended`, `employed`), optional `did_date`, `as_of` |
//! | `contributions` (INPS) | `codice_fiscale`, `fund` (e.g. `FPLD`, `GS`), `period_from`, `period_to`, `weeks`, `as_of` |
//!
//! CSV: a header line naming the columns (any order; `,` or `;`), `#` comments; JSON: an
//! array of objects (or `{"records": [...]}`) with the same field names. Every row is
//! checked (codice fiscale with [`CodiceFiscale`], codes, dates not in the future, periods,
//! duplicates) and every fault is reported with its line (or record number), field and
//! reason, never repeating the code itself; if any row is rejected nothing is imported.
//! Otherwise all rows go in one transaction: a row replaces the stored row with the same
//! key (person + kind + reference; person; person + fund + period start), and
//! `--replace` first empties the records (for full daily exports).
//!
//! The hub stores records under the keyed hash of the codice fiscale (as bookings), never
//! the code: the code and name printed on a certificate come from the identity provider
//! at sign-in.
//!
//! Written for both engines (`hub::sql`).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use super::appointments::cf_hash;
use super::sql::{Sql, SqlError, args};
use super::store::{self, Location};
use crate::catalogue::{Agency, Catalogue};
use crate::identity::CodiceFiscale;
use crate::lang::{Lang, fill, tr};
use crate::protocol::{ApplicationStatus, CertificateOffer};

/// A kind of application the agencies report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationKind {
    /// Stable code used in exports and the API.
    pub code: &'static str,
    /// Whose it is.
    pub agency: Agency,
    /// The catalogue service to take a ticket for when something is to be done.
    pub service: &'static str,
}

/// Every application kind, in display order.
pub const APPLICATION_KINDS: &[ApplicationKind] = &[
    ApplicationKind {
        code: "naspi",
        agency: Agency::Inps,
        service: "naspi",
    },
    ApplicationKind {
        code: "dis-coll",
        agency: Agency::Inps,
        service: "naspi",
    },
    ApplicationKind {
        code: "isee",
        agency: Agency::Inps,
        service: "isee",
    },
    ApplicationKind {
        code: "adi",
        agency: Agency::Inps,
        service: "sfl-adi",
    },
    ApplicationKind {
        code: "sfl",
        agency: Agency::Inps,
        service: "sfl-adi",
    },
    ApplicationKind {
        code: "did",
        agency: Agency::Cpi,
        service: "did-patto",
    },
    ApplicationKind {
        code: "patto",
        agency: Agency::Cpi,
        service: "did-patto",
    },
    ApplicationKind {
        code: "collocamento-mirato",
        agency: Agency::Cpi,
        service: "collocamento-mirato",
    },
];

/// An application status: its stable code; [`StatusInfo::text`] and
/// [`StatusInfo::next_step`] say it in a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusInfo {
    /// Stable code.
    pub code: &'static str,
}

/// Every status an application can have.
pub const STATUSES: &[StatusInfo] = &[
    StatusInfo { code: "received" },
    StatusInfo { code: "in_review" },
    StatusInfo {
        code: "needs_documents",
    },
    StatusInfo { code: "approved" },
    StatusInfo { code: "in_payment" },
    StatusInfo { code: "rejected" },
    StatusInfo { code: "suspended" },
    StatusInfo { code: "closed" },
];

impl StatusInfo {
    /// The status in `lang`.
    pub fn text(&self, lang: Lang) -> &'static str {
        match self.code {
            "received" => tr(lang, "Received"),
            "in_review" => tr(lang, "Being examined"),
            "needs_documents" => tr(lang, "Documents needed"),
            "approved" => tr(lang, "Approved"),
            "in_payment" => tr(lang, "Being paid"),
            "rejected" => tr(lang, "Rejected"),
            "suspended" => tr(lang, "Suspended"),
            "closed" => tr(lang, "Closed"),
            other => other,
        }
    }

    /// What to do next, in `lang`; `{}` is the name of the service to take a ticket for.
    pub fn next_step(&self, lang: Lang) -> &'static str {
        match self.code {
            "received" => tr(
                lang,
                "Nothing to do: your application is waiting to be examined.",
            ),
            "in_review" => tr(lang, "Nothing to do: you will be told the outcome."),
            "needs_documents" => tr(
                lang,
                "More documents are needed: take a ticket for “{}” and bring those listed in the letter you received.",
            ),
            "approved" => tr(lang, "Nothing to do. Keep your contact details up to date."),
            "in_payment" => tr(lang, "Payments are being made: nothing to do."),
            "rejected" => tr(
                lang,
                "For an explanation or to ask for a review, take a ticket for “{}”; the time limit for an appeal is in the decision letter.",
            ),
            "suspended" => tr(lang, "Take a ticket for “{}” to find out how to resume it."),
            "closed" => tr(lang, "This case is closed: nothing to do."),
            _ => "",
        }
    }
}

/// A person's employment status as the Centro per l'impiego records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmploymentStatus {
    /// Unemployed (art. 19 D.Lgs. 150/2015).
    Unemployed,
    /// Unemployment status suspended by a short job (up to six months).
    Suspended,
    /// Employed.
    Employed,
}

impl EmploymentStatus {
    /// Every status.
    pub const ALL: [EmploymentStatus; 3] = [
        EmploymentStatus::Unemployed,
        EmploymentStatus::Suspended,
        EmploymentStatus::Employed,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            EmploymentStatus::Unemployed => "unemployed",
            EmploymentStatus::Suspended => "suspended",
            EmploymentStatus::Employed => "employed",
        }
    }

    /// As printed on a certificate.
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            EmploymentStatus::Unemployed => tr(
                lang,
                "unemployed within the meaning of art. 19 of Legislative Decree 150/2015",
            ),
            EmploymentStatus::Suspended => tr(
                lang,
                "unemployed, with that status suspended by a job lasting no more than six months",
            ),
            EmploymentStatus::Employed => tr(lang, "employed"),
        }
    }

    /// Parses a stored or exported code.
    pub fn parse(code: &str) -> Option<EmploymentStatus> {
        EmploymentStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// The CPI's record of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employment {
    /// Employment status.
    pub status: EmploymentStatus,
    /// When the DID was made, if it was.
    pub did_date: Option<NaiveDate>,
    /// The date the record refers to.
    pub as_of: NaiveDate,
}

/// One contribution period in INPS's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The fund (e.g. `FPLD`).
    pub fund: String,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Weeks credited.
    pub weeks: u32,
    /// The date the summary refers to.
    pub as_of: NaiveDate,
}

/// A fund's name, when it is a well-known code; the code itself otherwise.
pub fn fund_name(code: &str, lang: Lang) -> String {
    let name = match code {
        "FPLD" => tr(lang, "Employees' pension fund"),
        "GS" => tr(lang, "Separate scheme (gestione separata)"),
        "ART" => tr(lang, "Craftspeople's scheme"),
        "COM" => tr(lang, "Traders' scheme"),
        _ => return code.to_string(),
    };
    format!("{name} ({code})")
}

/// A certificate kind a person can print, from imported records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateKind {
    /// Stable code.
    pub code: &'static str,
    /// Issuing agency.
    pub agency: Agency,
}

/// Every certificate kind.
pub const CERTIFICATE_KINDS: &[CertificateKind] = &[
    CertificateKind {
        code: "stato-occupazionale",
        agency: Agency::Cpi,
    },
    CertificateKind {
        code: "did",
        agency: Agency::Cpi,
    },
    CertificateKind {
        code: "estratto-contributivo",
        agency: Agency::Inps,
    },
];

impl ApplicationKind {
    /// The title in `lang`.
    pub fn title(&self, lang: Lang) -> &'static str {
        match self.code {
            "naspi" => tr(lang, "NASpI unemployment benefit"),
            "dis-coll" => tr(lang, "DIS-COLL unemployment benefit"),
            "isee" => tr(lang, "DSU and ISEE certificate"),
            "adi" => tr(lang, "Inclusion allowance (ADI)"),
            "sfl" => tr(lang, "Training and work support (SFL)"),
            "did" => tr(lang, "Availability for work declaration (DID)"),
            "patto" => tr(lang, "Personal service agreement"),
            "collocamento-mirato" => tr(lang, "Targeted placement registration (Law 68/99)"),
            other => other,
        }
    }
}

impl CertificateKind {
    /// The kind with this code.
    pub fn find(code: &str) -> Option<&'static CertificateKind> {
        CERTIFICATE_KINDS.iter().find(|k| k.code == code)
    }

    /// The title in `lang`.
    pub fn title(&self, lang: Lang) -> &'static str {
        match self.code {
            "stato-occupazionale" => tr(lang, "Employment status certificate"),
            "did" => tr(
                lang,
                "Certificate of availability for work declaration (DID)",
            ),
            "estratto-contributivo" => tr(lang, "Contribution record (summary)"),
            other => other,
        }
    }
}

/// A person's applications (by keyed hash), most recently changed first, in `lang`.
pub fn applications<'c>(
    sql: impl Into<Sql<'c>>,
    subject: &str,
    lang: Lang,
    catalogue: &Catalogue,
) -> Result<Vec<ApplicationStatus>, SqlError> {
    let rows = sql.into().query_all(
        "SELECT kind, reference, status, last_change FROM record_applications
         WHERE cf_hash = ?1 ORDER BY last_change DESC, kind, reference",
        args![subject],
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, reference, status, last_change): (String, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        // Only valid rows are imported; anything else (a newer hub's code) is skipped.
        let (Some(k), Some(s), Ok(date)) = (
            APPLICATION_KINDS.iter().find(|k| k.code == kind),
            STATUSES.iter().find(|s| s.code == status),
            NaiveDate::parse_from_str(&last_change, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let service = catalogue
            .service(k.service)
            .map_or(k.service.to_string(), |s| s.name(lang).to_string());
        out.push(ApplicationStatus {
            kind: k.code.to_string(),
            agency: k.agency,
            title: k.title(lang).to_string(),
            status: s.code.to_string(),
            status_text: s.text(lang).to_string(),
            last_change: date,
            next_step: fill(s.next_step(lang), &[&service]),
            reference: (!reference.is_empty()).then_some(reference),
        });
    }
    Ok(out)
}

/// The CPI record of a person, if imported.
pub fn employment<'c>(
    sql: impl Into<Sql<'c>>,
    subject: &str,
) -> Result<Option<Employment>, SqlError> {
    let row = sql.into().query_opt(
        "SELECT status, did_date, as_of FROM record_employment WHERE cf_hash = ?1",
        args![subject],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (status, did, as_of): (String, Option<String>, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    Ok((|| {
        Some(Employment {
            status: EmploymentStatus::parse(&status)?,
            did_date: did.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
            as_of: NaiveDate::parse_from_str(&as_of, "%Y-%m-%d").ok()?,
        })
    })())
}

/// The INPS contribution periods of a person, oldest first.
pub fn contributions<'c>(
    sql: impl Into<Sql<'c>>,
    subject: &str,
) -> Result<Vec<Contribution>, SqlError> {
    let rows = sql.into().query_all(
        "SELECT fund, period_from, period_to, weeks, as_of FROM record_contributions
         WHERE cf_hash = ?1 ORDER BY period_from, fund",
        args![subject],
    )?;
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let mut out = Vec::new();
    for row in rows {
        let (fund, from, to, weeks, as_of): (String, String, String, i64, String) = (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        );
        let contribution = (|| {
            Some(Contribution {
                fund,
                from: date(&from)?,
                to: date(&to)?,
                weeks: u32::try_from(weeks).ok()?,
                as_of: date(&as_of)?,
            })
        })();
        out.extend(contribution);
    }
    Ok(out)
}

/// The certificates a person can print now, in `lang`.
pub fn certificate_offers<'c>(
    sql: impl Into<Sql<'c>>,
    subject: &str,
    lang: Lang,
) -> Result<Vec<CertificateOffer>, SqlError> {
    let sql = sql.into();
    let employment = employment(sql, subject)?;
    let has_contributions = !contributions(sql, subject)?.is_empty();
    Ok(CERTIFICATE_KINDS
        .iter()
        .filter(|k| match k.code {
            "stato-occupazionale" => employment.is_some(),
            "did" => employment.as_ref().is_some_and(|e| e.did_date.is_some()),
            "estratto-contributivo" => has_contributions,
            _ => false,
        })
        .map(|k| CertificateOffer {
            kind: k.code.to_string(),
            agency: k.agency,
            title: k.title(lang).to_string(),
        })
        .collect())
}

/// A row that was not accepted: where, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `line 7` (CSV) or `record 3` (JSON).
    pub location: String,
    /// The field at fault, when it is one field.
    pub field: Option<String>,
    /// What is wrong, without repeating a codice fiscale.
    pub problem: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}, field `{field}`: {}", self.location, self.problem),
            None => write!(f, "{}: {}", self.location, self.problem),
        }
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read or is not CSV/JSON at all.
    #[error("{0}")]
    File(String),
    /// Some rows are wrong; nothing was imported.
    #[error("{} rejected row(s); nothing was imported", .0.len())]
    Rejected(Vec<Rejection>),
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] store::OpenError),
    /// A statement failed (nothing was imported: the transaction rolled back).
    #[error("database: {0}")]
    Database(#[from] SqlError),
}

/// A checked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An application's status.
    Application {
        /// Whose.
        codice_fiscale: CodiceFiscale,
        /// Kind code.
        kind: &'static str,
        /// Protocol number, or empty.
        reference: String,
        /// Status code.
        status: &'static str,
        /// When it last changed.
        last_change: NaiveDate,
    },
    /// The CPI's employment record.
    Employment {
        /// Whose.
        codice_fiscale: CodiceFiscale,
        /// The status and dates.
        employment: Employment,
    },
    /// One INPS contribution period.
    Contribution {
        /// Whose.
        codice_fiscale: CodiceFiscale,
        /// The period.
        contribution: Contribution,
    },
}

/// How many rows of each type were imported (or, with a dry run, would be).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Application rows.
    pub applications: usize,
    /// Employment rows.
    pub employment: usize,
    /// Contribution rows.
    pub contributions: usize,
}

const FIELDS: [&str; 13] = [
    "type",
    "codice_fiscale",
    "kind",
    "status",
    "last_change",
    "reference",
    "employment_status",
    "did_date",
    "as_of",
    "fund",
    "period_from",
    "period_to",
    "weeks",
];

fn fields_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "application" => &["kind", "status", "last_change", "reference"],
        "employment" => &["employment_status", "did_date", "as_of"],
        _ => &["fund", "period_from", "period_to", "weeks", "as_of"],
    }
}

/// One raw row: where it is and its non-empty fields.
struct RawRow {
    location: String,
    fields: HashMap<String, String>,
}

/// Parses CSV text into raw rows; a bad header is a file error, a bad row a rejection.
fn raw_csv(text: &str, rejected: &mut Vec<Rejection>) -> Result<Vec<RawRow>, ImportError> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::File(format!("cannot read the header line: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(unknown) = header.iter().find(|h| !FIELDS.contains(&h.as_str())) {
        return Err(ImportError::File(format!(
            "line 1: unknown column `{unknown}` (columns: {})",
            FIELDS.join(", ")
        )));
    }
    if !header.iter().any(|h| h == "type") || !header.iter().any(|h| h == "codice_fiscale") {
        return Err(ImportError::File(
            "line 1: the header must name at least the `type` and `codice_fiscale` columns"
                .to_string(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(ImportError::File(format!(
            "line 1: column `{twice}` appears twice"
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rejected.push(Rejection {
                    location: format!("line {line}"),
                    field: None,
                    problem: "not readable as CSV (unbalanced quotes or not UTF-8)".to_string(),
                });
            }
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let location = format!("line {line}");
                if record.iter().all(str::is_empty) {
                    continue;
                }
                if record.len() != header.len() {
                    rejected.push(Rejection {
                        location,
                        field: None,
                        problem: format!(
                            "{} fields, but the header has {}",
                            record.len(),
                            header.len()
                        ),
                    });
                    continue;
                }
                let fields = header
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| (h.clone(), v.to_string()))
                    .collect();
                rows.push(RawRow { location, fields });
            }
        }
    }
    Ok(rows)
}

/// Parses JSON text into raw rows.
fn raw_json(text: &str, rejected: &mut Vec<Rejection>) -> Result<Vec<RawRow>, ImportError> {
    let value: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| ImportError::File(format!("not valid JSON: {e}")))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(mut map) => match map.remove("records") {
            Some(serde_json::Value::Array(items)) => items,
            _ => {
                return Err(ImportError::File(
                    "expected an array of records, or {\"records\": [...]}".to_string(),
                ));
            }
        },
        _ => {
            return Err(ImportError::File(
                "expected an array of records, or {\"records\": [...]}".to_string(),
            ));
        }
    };
    let mut rows = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let location = format!("record {}", i + 1);
        let serde_json::Value::Object(map) = item else {
            rejected.push(Rejection {
                location,
                field: None,
                problem: "not an object".to_string(),
            });
            continue;
        };
        let mut fields = HashMap::new();
        let mut ok = true;
        for (key, value) in map {
            if !FIELDS.contains(&key.as_str()) {
                rejected.push(Rejection {
                    location: location.clone(),
                    field: Some(key.chars().take(40).collect()),
                    problem: "unknown field".to_string(),
                });
                ok = false;
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => s.trim().to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Null => String::new(),
                _ => {
                    rejected.push(Rejection {
                        location: location.clone(),
                        field: Some(key),
                        problem: "must be text or a number".to_string(),
                    });
                    ok = false;
                    continue;
                }
            };
            if !text.is_empty() {
                fields.insert(key, text);
            }
        }
        if ok {
            rows.push(RawRow { location, fields });
        }
    }
    Ok(rows)
}

/// A required field whose text must name one of a fixed set: its value, or what is wrong
/// with it (`allowed` lists the choices, built only for the message).
fn one_of<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    allowed: impl Fn() -> String,
) -> Result<T, String> {
    let text = text.ok_or_else(|| "missing".to_string())?;
    parse(text).ok_or_else(|| {
        format!(
            "`{}` is not one of {}",
            text.chars().take(40).collect::<String>(),
            allowed()
        )
    })
}

fn list<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    codes.collect::<Vec<_>>().join(", ")
}

/// Checks raw rows; returns the records, or every rejection.
fn check(
    rows: Vec<RawRow>,
    today: NaiveDate,
    rejected: &mut Vec<Rejection>,
) -> Vec<(String, Record)> {
    let mut records = Vec::new();
    let mut keys: HashMap<String, String> = HashMap::new();
    for row in rows {
        let mut faults = Vec::new();
        let mut fault = |field: &str, problem: String| {
            faults.push(Rejection {
                location: row.location.clone(),
                field: Some(field.to_string()),
                problem,
            })
        };
        let get = |field: &str| row.fields.get(field).map(String::as_str);
        let kind = get("type").unwrap_or("");
        let kind = match kind {
            "application" | "employment" | "contributions" => kind,
            "contribution" => "contributions",
            "" => {
                fault("type", "missing".to_string());
                ""
            }
            other => {
                fault(
                    "type",
                    format!(
                        "`{}` is not one of application, employment, contributions",
                        other.chars().take(40).collect::<String>()
                    ),
                );
                ""
            }
        };
        let code = match get("codice_fiscale") {
            None => {
                fault("codice_fiscale", "missing".to_string());
                None
            }
            Some(text) => match text.parse::<CodiceFiscale>() {
                Ok(code) => Some(code),
                Err(e) => {
                    fault("codice_fiscale", e.message(Lang::EN));
                    None
                }
            },
        };
        if kind.is_empty() {
            rejected.append(&mut faults);
            continue;
        }
        let allowed = fields_of(kind);
        for field in row.fields.keys() {
            if field != "type" && field != "codice_fiscale" && !allowed.contains(&field.as_str()) {
                fault(field, format!("does not belong to a `{kind}` row"));
            }
        }
        let mut date = |field: &str, required: bool| -> Option<NaiveDate> {
            match get(field) {
                None if required => {
                    fault(field, "missing".to_string());
                    None
                }
                None => None,
                Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    Err(_) => {
                        fault(
                            field,
                            format!(
                                "`{}` is not a date written YYYY-MM-DD",
                                text.chars().take(20).collect::<String>()
                            ),
                        );
                        None
                    }
                    Ok(d) if d > today => {
                        fault(field, format!("{d} is in the future"));
                        None
                    }
                    Ok(d) => Some(d),
                },
            }
        };
        let record = match kind {
            "application" => {
                let last_change = date("last_change", true);
                let app_kind = one_of(
                    get("kind"),
                    |k| APPLICATION_KINDS.iter().find(|a| a.code == k),
                    || list(APPLICATION_KINDS.iter().map(|a| a.code)),
                )
                .map_err(|problem| fault("kind", problem))
                .ok();
                let status = one_of(
                    get("status"),
                    |code| STATUSES.iter().find(|x| x.code == code),
                    || list(STATUSES.iter().map(|x| x.code)),
                )
                .map_err(|problem| fault("status", problem))
                .ok();
                let reference = get("reference").unwrap_or("").to_string();
                if reference.chars().count() > 40
                    || !reference
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
                {
                    fault(
                        "reference",
                        "must be at most 40 letters, digits, `-`, `_`, `/` or `.`".to_string(),
                    );
                }
                match (code, app_kind, status, last_change) {
                    (Some(codice_fiscale), Some(k), Some(s), Some(last_change)) => {
                        Some(Record::Application {
                            codice_fiscale,
                            kind: k.code,
                            reference,
                            status: s.code,
                            last_change,
                        })
                    }
                    _ => None,
                }
            }
            "employment" => {
                let as_of = date("as_of", true);
                let did_date = date("did_date", false);
                if let (Some(did), Some(as_of)) = (did_date, as_of)
                    && did > as_of
                {
                    fault("did_date", "is after `as_of`".to_string());
                }
                let status = one_of(get("employment_status"), EmploymentStatus::parse, || {
                    "unemployed, suspended, employed".to_string()
                })
                .map_err(|problem| fault("employment_status", problem))
                .ok();
                match (code, status, as_of) {
                    (Some(codice_fiscale), Some(status), Some(as_of)) => Some(Record::Employment {
                        codice_fiscale,
                        employment: Employment {
                            status,
                            did_date,
                            as_of,
                        },
                    }),
                    _ => None,
                }
            }
            _ => {
                let from = date("period_from", true);
                let to = date("period_to", true);
                let as_of = date("as_of", true);
                let fund = get("fund").unwrap_or("").to_string();
                if fund.is_empty()
                    || fund.len() > 12
                    || !fund
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                {
                    fault(
                        "fund",
                        "must be 1-12 capital letters, digits or `-` (e.g. FPLD, GS)".to_string(),
                    );
                }
                let weeks = match get("weeks").map(str::parse::<u32>) {
                    None => {
                        fault("weeks", "missing".to_string());
                        None
                    }
                    Some(Err(_)) => {
                        fault("weeks", "must be a whole number".to_string());
                        None
                    }
                    Some(Ok(w)) => Some(w),
                };
                if let (Some(from), Some(to)) = (from, to) {
                    if from > to {
                        fault("period_to", "is before `period_from`".to_string());
                    } else if let Some(w) = weeks {
                        let most = (to - from).num_days() / 7 + 1;
                        if i64::from(w) > most {
                            fault(
                                "weeks",
                                format!("{w} weeks do not fit in the period ({most} at most)"),
                            );
                        }
                    }
                }
                if let (Some(to), Some(as_of)) = (to, as_of)
                    && to > as_of
                {
                    fault("period_to", "is after `as_of`".to_string());
                }
                match (code, from, to, weeks, as_of) {
                    (Some(codice_fiscale), Some(from), Some(to), Some(weeks), Some(as_of))
                        if !fund.is_empty() =>
                    {
                        Some(Record::Contribution {
                            codice_fiscale,
                            contribution: Contribution {
                                fund,
                                from,
                                to,
                                weeks,
                                as_of,
                            },
                        })
                    }
                    _ => None,
                }
            }
        };
        if !faults.is_empty() {
            rejected.append(&mut faults);
            continue;
        }
        let Some(record) = record else { continue };
        let key = match &record {
            Record::Application {
                codice_fiscale,
                kind,
                reference,
                ..
            } => format!("a|{}|{kind}|{reference}", codice_fiscale.as_str()),
            Record::Employment { codice_fiscale, .. } => {
                format!("e|{}", codice_fiscale.as_str())
            }
            Record::Contribution {
                codice_fiscale,
                contribution,
            } => format!(
                "c|{}|{}|{}",
                codice_fiscale.as_str(),
                contribution.fund,
                contribution.from
            ),
        };
        if let Some(first) = keys.get(&key) {
            rejected.push(Rejection {
                location: row.location.clone(),
                field: None,
                problem: format!("repeats the row at {first} (same person and key)"),
            });
            continue;
        }
        keys.insert(key, row.location.clone());
        records.push((row.location, record));
    }
    records
}

/// Parses and checks a whole export. `json` picks the format.
pub fn parse(text: &str, json: bool, today: NaiveDate) -> Result<Vec<Record>, ImportError> {
    let mut rejected = Vec::new();
    let rows = if json {
        raw_json(text, &mut rejected)?
    } else {
        raw_csv(text, &mut rejected)?
    };
    let records = check(rows, today, &mut rejected);
    if !rejected.is_empty() {
        return Err(ImportError::Rejected(rejected));
    }
    if records.is_empty() {
        return Err(ImportError::File("the file holds no records".to_string()));
    }
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

/// Stores checked records in one transaction; with `replace`, the stored records are
/// emptied first.
pub fn store<'c>(
    sql: impl Into<Sql<'c>>,
    records: &[Record],
    replace: bool,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ImportError> {
    sql.into()
        .write_transaction(|sql| store_in(sql, records, replace, now))
}

fn store_in(
    sql: Sql<'_>,
    records: &[Record],
    replace: bool,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ImportError> {
    if replace {
        sql.batch(
            "DELETE FROM record_applications; DELETE FROM record_employment;
             DELETE FROM record_contributions;",
        )?;
    }
    let imported_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut summary = ImportSummary::default();
    let mut hashes: HashMap<String, String> = HashMap::new();
    for record in records {
        let code = match record {
            Record::Application { codice_fiscale, .. }
            | Record::Employment { codice_fiscale, .. }
            | Record::Contribution { codice_fiscale, .. } => codice_fiscale,
        };
        let subject = match hashes.get(code.as_str()) {
            Some(h) => h.clone(),
            None => {
                let h = cf_hash(sql, code)?;
                hashes.insert(code.as_str().to_string(), h.clone());
                h
            }
        };
        match record {
            Record::Application {
                kind,
                reference,
                status,
                last_change,
                ..
            } => {
                sql.execute(
                    "INSERT INTO record_applications
                         (cf_hash, kind, reference, status, last_change, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (cf_hash, kind, reference) DO UPDATE
                     SET status = ?4, last_change = ?5, imported_at = ?6",
                    args![
                        &subject,
                        *kind,
                        reference,
                        *status,
                        last_change.to_string(),
                        &imported_at
                    ],
                )?;
                summary.applications += 1;
            }
            Record::Employment { employment, .. } => {
                sql.execute(
                    "INSERT INTO record_employment (cf_hash, status, did_date, as_of, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (cf_hash) DO UPDATE
                     SET status = ?2, did_date = ?3, as_of = ?4, imported_at = ?5",
                    args![
                        &subject,
                        employment.status.code(),
                        employment.did_date.map(|d| d.to_string()),
                        employment.as_of.to_string(),
                        &imported_at
                    ],
                )?;
                summary.employment += 1;
            }
            Record::Contribution { contribution, .. } => {
                sql.execute(
                    "INSERT INTO record_contributions
                         (cf_hash, fund, period_from, period_to, weeks, as_of, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (cf_hash, fund, period_from) DO UPDATE
                     SET period_to = ?4, weeks = ?5, as_of = ?6, imported_at = ?7",
                    args![
                        &subject,
                        &contribution.fund,
                        contribution.from.to_string(),
                        contribution.to.to_string(),
                        contribution.weeks,
                        contribution.as_of.to_string(),
                        &imported_at
                    ],
                )?;
                summary.contributions += 1;
            }
        }
    }
    Ok(summary)
}

/// `sportello hub records import FILE`: reads (CSV or JSON by extension), checks and,
/// unless `dry_run`, stores. `today` is the office day (no date may be after it).
pub fn import_file(
    location: impl Into<Location>,
    file: &Path,
    today: NaiveDate,
    replace: bool,
    dry_run: bool,
) -> Result<ImportSummary, ImportError> {
    let location = &location.into();
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match extension.as_deref() {
        Some("json") => true,
        Some("csv") | Some("txt") => false,
        _ => {
            return Err(ImportError::File(
                "the file name must end in .csv or .json".to_string(),
            ));
        }
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| ImportError::File(format!("cannot read the file: {e}")))?;
    let records = parse(&text, json, today)?;
    if dry_run {
        let mut summary = ImportSummary::default();
        for r in &records {
            match r {
                Record::Application { .. } => summary.applications += 1,
                Record::Employment { .. } => summary.employment += 1,
                Record::Contribution { .. } => summary.contributions += 1,
            }
        }
        return Ok(summary);
    }
    let conn = store::connect(location)?;
    store(&conn, &records, replace, Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(first15: &str) -> String {
        let letter = crate::identity::codice_fiscale::check_letter(first15.as_bytes());
        format!("{first15}{letter}")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn a_good_csv_and_the_same_in_json() {
        let a = cf("VRDGLI90C55H501");
        let csv = format!(
            "\u{feff}type;codice_fiscale;kind;status;last_change;reference;employment_status;did_date;as_of;fund;period_from;period_to;weeks\n\
             # a comment\n\
             application;{a};naspi;in_review;2026-11-02;INPS-2026-1;;;;;;;\n\
             employment;{a};;;;;unemployed;2026-10-15;2026-11-20;;;;\n\
             contributions;{a};;;;;;;2026-11-20;FPLD;2015-01-01;2020-12-31;300\n"
        );
        let records = parse(&csv, false, today()).unwrap();
        assert_eq!(records.len(), 3);
        let json = format!(
            r#"{{"records":[{{"type":"application","codice_fiscale":"{a}","kind":"naspi","status":"in_review","last_change":"2026-11-02","reference":"INPS-2026-1"}},
               {{"type":"employment","codice_fiscale":"{a}","employment_status":"unemployed","did_date":"2026-10-15","as_of":"2026-11-20","fund":null}},
               {{"type":"contributions","codice_fiscale":"{a}","fund":"FPLD","period_from":"2015-01-01","period_to":"2020-12-31","weeks":300,"as_of":"2026-11-20"}}]}}"#
        );
        assert_eq!(parse(&json, true, today()).unwrap(), records);
    }

    #[test]
    fn every_bad_row_is_reported_with_line_field_and_reason() {
        let a = cf("VRDGLI90C55H501");
        let bad_cf = format!("{}A", &a[..15]);
        let wrong = if bad_cf == a {
            format!("{}B", &a[..15])
        } else {
            bad_cf
        };
        let csv = format!(
            "type,codice_fiscale,kind,status,last_change,weeks\n\
             application,{a},naspi,approved,2026-11-01,\n\
             application,{wrong},naspi,approved,2026-11-01,\n\
             application,{a},pension,approved,2026-11-01,\n\
             application,{a},isee,lost,2027-01-01,\n\
             application,{a},isee,approved,2026-11-01,3\n\
             application,{a},naspi,approved,2026-11-02,\n\
             visit,{a},,,,\n\
             application,{a},naspi\n"
        );
        let Err(ImportError::Rejected(rejected)) = parse(&csv, false, today()) else {
            panic!("rejected");
        };
        let text: Vec<String> = rejected.iter().map(ToString::to_string).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("line 3, field `codice_fiscale`: the last letter"),
            "{text:#?}"
        );
        assert!(has("line 4, field `kind`: `pension`"), "{text:#?}");
        assert!(has("line 5, field `status`: `lost`"), "{text:#?}");
        assert!(
            has("line 5, field `last_change`: 2027-01-01 is in the future"),
            "{text:#?}"
        );
        assert!(has("line 6, field `weeks`: does not belong"), "{text:#?}");
        assert!(has("line 7: repeats the row at line 2"), "{text:#?}");
        assert!(has("line 8, field `type`: `visit`"), "{text:#?}");
        assert!(has("line 9: 3 fields, but the header has 6"), "{text:#?}");
        assert!(
            !text.iter().any(|t| t.contains(&wrong) || t.contains(&a)),
            "{text:#?}"
        );
    }

    #[test]
    fn contribution_and_employment_rules() {
        let a = cf("BNCMRC85S02F205");
        let json = format!(
            r#"[{{"type":"contributions","codice_fiscale":"{a}","fund":"fpld","period_from":"2020-01-01","period_to":"2019-01-01","weeks":"x","as_of":"2026-01-01"}},
               {{"type":"contributions","codice_fiscale":"{a}","fund":"GS","period_from":"2020-01-01","period_to":"2020-01-31","weeks":9,"as_of":"2026-01-01"}},
               {{"type":"employment","codice_fiscale":"{a}","employment_status":"retired","did_date":"2026-02-01","as_of":"2026-01-01"}},
               {{"type":"employment","codice_fiscale":"{a}","extra":1,"employment_status":"employed","as_of":"2026-01-01"}},
               {{"type":"employment","codice_fiscale":["x"],"employment_status":"employed","as_of":"2026-01-01"}},
               "x"]"#
        );
        let Err(ImportError::Rejected(rejected)) = parse(&json, true, today()) else {
            panic!("rejected");
        };
        let text: Vec<String> = rejected.iter().map(ToString::to_string).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(has("record 1, field `fund`"), "{text:#?}");
        assert!(
            has("record 1, field `weeks`: must be a whole number"),
            "{text:#?}"
        );
        assert!(has("record 1, field `period_to`: is before"), "{text:#?}");
        assert!(
            has("record 2, field `weeks`: 9 weeks do not fit"),
            "{text:#?}"
        );
        assert!(has("record 3, field `employment_status`"), "{text:#?}");
        assert!(has("record 3, field `did_date`: is after"), "{text:#?}");
        assert!(has("record 4, field `extra`: unknown field"), "{text:#?}");
        assert!(
            has("record 5, field `codice_fiscale`: must be text"),
            "{text:#?}"
        );
        assert!(has("record 6: not an object"), "{text:#?}");
    }

    #[test]
    fn file_level_problems() {
        for (text, json) in [
            ("type,name\napplication,x\n", false),
            ("kind,status\n", false),
            ("type,type,codice_fiscale\n", false),
            ("type,codice_fiscale\n", false),
            ("{", true),
            ("{\"rows\":[]}", true),
            ("[]", true),
        ] {
            assert!(
                matches!(parse(text, json, today()), Err(ImportError::File(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn stored_by_keyed_hash_and_replaced_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let a = cf("VRDGLI90C55H501");
        let first = parse(
            &format!("type,codice_fiscale,kind,status,last_change\napplication,{a},naspi,received,2026-11-01\napplication,{a},isee,approved,2026-10-01\n"),
            false,
            today(),
        )
        .unwrap();
        let now = Utc::now();
        let summary = store(&mut conn, &first, false, now).unwrap();
        assert_eq!(summary.applications, 2);
        let update = parse(
            &format!("type,codice_fiscale,kind,status,last_change\napplication,{a},naspi,approved,2026-11-20\n"),
            false,
            today(),
        )
        .unwrap();
        store(&mut conn, &update, false, now).unwrap();
        let code: CodiceFiscale = a.parse().unwrap();
        let subject = cf_hash(&conn, &code).unwrap();
        let apps = applications(&conn, &subject, Lang::EN, &Catalogue::builtin()).unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].kind, "naspi");
        assert_eq!(apps[0].status, "approved");
        assert_eq!(apps[0].status_text, "Approved");
        let it = applications(&conn, &subject, Lang::IT, &Catalogue::builtin()).unwrap();
        assert_eq!(it[0].status_text, "Accolta");
        store(&mut conn, &update, true, now).unwrap();
        assert_eq!(
            applications(&conn, &subject, Lang::EN, &Catalogue::builtin())
                .unwrap()
                .len(),
            1
        );
        drop(conn);
        let bytes = std::fs::read(dir.path().join("h.sqlite")).unwrap();
        assert!(!bytes.windows(16).any(|w| w == a.as_bytes()));
    }

    #[test]
    fn next_steps_name_the_service_to_queue_for() {
        for s in STATUSES {
            assert_ne!(s.text(Lang::EN), s.code, "{}", s.code);
            for lang in Lang::all() {
                assert!(!s.next_step(lang).is_empty(), "{} {lang}", s.code);
            }
        }
        let needs = STATUSES
            .iter()
            .find(|s| s.code == "needs_documents")
            .unwrap();
        assert!(needs.next_step(Lang::EN).contains("{}"));
        assert_eq!(
            fill(needs.next_step(Lang::EN), &["ISEE"]),
            "More documents are needed: take a ticket for “ISEE” and bring those listed in the letter you received."
        );
        for k in APPLICATION_KINDS {
            assert!(
                Catalogue::builtin().service(k.service).is_some(),
                "{}",
                k.code
            );
            assert_ne!(k.title(Lang::EN), k.code, "{}", k.code);
        }
        for k in CERTIFICATE_KINDS {
            assert_ne!(k.title(Lang::EN), k.code, "{}", k.code);
        }
        for s in EmploymentStatus::ALL {
            assert!(!s.text(Lang::EN).is_empty(), "{}", s.code());
        }
        assert_eq!(
            fund_name("GS", Lang::EN),
            "Separate scheme (gestione separata) (GS)"
        );
        assert_eq!(fund_name("XYZ", Lang::EN), "XYZ");
    }
}
