//! Offices as data (issue 19): one hub database holds the offices of a region, each with
//! its name, time zone and counters. Kiosks, clerks, enrolment tokens, tickets, numbers,
//! bands, bookings, service times and audit rows each belong to one office, and every
//! request works inside the office of the kiosk or clerk making it.
//!
//! Office 1 is the one hub.toml describes: [`sync_configured`] writes `office_name`,
//! `time_zone` and `counters` into its row at every start, so a single-office hub needs
//! no set-up and changes nothing. More offices come from `sportello hub office add`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::clock::office_day;
use super::error::ApiError;
use super::sql::{Sql, SqlError, args};
use crate::catalogue::{Catalogue, Service};
use crate::config::hub::{HoursConfig, HubConfig};

/// An office's row id.
pub type OfficeId = i64;

/// The office hub.toml describes.
pub const CONFIGURED_OFFICE: OfficeId = 1;

/// The code of the configured office (`--office default`).
pub const CONFIGURED_CODE: &str = "default";

/// One office.
#[derive(Debug, Clone, PartialEq)]
pub struct Office {
    /// Its row id.
    pub id: OfficeId,
    /// The short name admin commands and page addresses use (`/display?office=CODE`).
    pub code: String,
    /// Its name on tickets, the display board and certificates.
    pub name: String,
    /// The IANA zone whose local midnight turns its day.
    pub time_zone: String,
    /// `time_zone`, parsed.
    pub tz: Tz,
    /// The counters a clerk of this office can choose.
    pub counters: Vec<String>,
    /// The services it offers, each `code` or `code=PREFIX` (its own letter for the
    /// numbers); `None`: the whole catalogue, with the catalogue's letters.
    pub services: Option<Vec<String>>,
    /// Until when each service takes walk-in tickets; `None`: hub.toml's `[hours]`.
    pub hours: Option<HoursConfig>,
}

impl Office {
    /// This office's day at `now`.
    pub fn day_at(&self, at: DateTime<Utc>) -> Day {
        Day {
            office: self.id,
            date: office_day(at, self.tz),
        }
    }

    /// This office's `date`.
    pub fn day(&self, date: NaiveDate) -> Day {
        Day {
            office: self.id,
            date,
        }
    }
}

/// One office's day: what numbers, queues and bookings are kept per. Deliberately not
/// `Display`: a query binds both halves (`office_id = ? AND day = ?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    /// The office.
    pub office: OfficeId,
    /// Its local date.
    pub date: NaiveDate,
}

impl Day {
    /// The date as stored (`YYYY-MM-DD`).
    pub fn text(&self) -> String {
        self.date.to_string()
    }
}

/// Why an office could not be added or found.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// A code that is not a short lowercase name.
    #[error(
        "office code `{0}`: use 1-32 lowercase letters, digits and `-` (it appears in page addresses)"
    )]
    BadCode(String),
    /// An unknown time zone.
    #[error("time zone `{0}` is not an IANA zone such as Europe/Rome")]
    BadTimeZone(String),
    /// No name or no counters.
    #[error("{0}")]
    Incomplete(&'static str),
    /// The code is taken.
    #[error("an office with the code `{0}` already exists")]
    Exists(String),
    /// No such office.
    #[error("no office with the code `{0}` (sportello hub office list)")]
    Unknown(String),
    /// Services the catalogue cannot give.
    #[error("--service: {0}")]
    Services(String),
    /// The database.
    #[error(transparent)]
    Sql(#[from] SqlError),
}

fn check_code(code: &str) -> Result<(), OfficeError> {
    let fine = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if fine {
        Ok(())
    } else {
        Err(OfficeError::BadCode(code.chars().take(40).collect()))
    }
}

fn parse_zone(zone: &str) -> Result<Tz, OfficeError> {
    zone.parse()
        .map_err(|_| OfficeError::BadTimeZone(zone.chars().take(60).collect()))
}

const COLUMNS: &str = "id, code, name, time_zone, counters, services, hours";

fn from_row(row: &super::sql::Row) -> Result<Office, SqlError> {
    let time_zone: String = row.get(3)?;
    let counters: String = row.get(4)?;
    Ok(Office {
        id: row.get(0)?,
        code: row.get(1)?,
        name: row.get(2)?,
        // Rows are checked when written; a zone a later tz database dropped reads as Rome.
        tz: time_zone.parse().unwrap_or(chrono_tz::Europe::Rome),
        time_zone,
        counters: serde_json::from_str(&counters).unwrap_or_default(),
        services: row
            .get::<Option<String>>(5)?
            .and_then(|text| serde_json::from_str(&text).ok()),
        hours: row
            .get::<Option<String>>(6)?
            .and_then(|text| serde_json::from_str(&text).ok()),
    })
}

/// An office's `[hours]` from `office add`'s `--last-ticket HH:MM` and `--last-ticket-for
/// code=HH:MM`: the JSON stored, checked against `catalogue`. `None` when neither is given
/// (the office keeps hub.toml's hours).
pub fn hours_json(
    last_ticket: Option<&str>,
    per_service: &[String],
    catalogue: &Catalogue,
) -> Result<Option<String>, String> {
    if last_ticket.is_none() && per_service.is_empty() {
        return Ok(None);
    }
    let mut services = serde_json::Map::new();
    for entry in per_service {
        let Some((code, time)) = entry.split_once('=') else {
            return Err(format!(
                "`{entry}`: write a service and a time, e.g. naspi=12:30"
            ));
        };
        services.insert(code.trim().to_owned(), time.trim().into());
    }
    let json = serde_json::json!({ "last_ticket": last_ticket, "services": services });
    let hours: HoursConfig =
        serde_json::from_value(json.clone()).map_err(|e| format!("hours: {e}"))?;
    hours
        .check_services(catalogue)
        .map_err(|e| format!("{}: {}", e.key(), e.problem()))?;
    Ok(Some(json.to_string()))
}

/// The catalogue of an office offering `services` (`code` or `code=PREFIX`; all of
/// `full` when `None`): the catalogue's services in its order, each with the office's
/// letter where it names one. An error names an unknown service or a letter two
/// services would share.
pub fn catalogue_for(full: &Catalogue, services: Option<&[String]>) -> Result<Catalogue, String> {
    let Some(services) = services else {
        return Ok(full.clone());
    };
    let mut chosen: Vec<(String, Option<char>)> = Vec::new();
    for entry in services {
        let (code, prefix) = match entry.split_once('=') {
            None => (entry.trim(), None),
            Some((code, letter)) => {
                let mut chars = letter.trim().chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_uppercase() => (code.trim(), Some(c)),
                    _ => {
                        return Err(format!(
                            "`{entry}`: the letter after `=` must be one capital letter A-Z"
                        ));
                    }
                }
            }
        };
        if full.service(code).is_none() {
            return Err(format!("service `{code}` is not in the catalogue"));
        }
        chosen.push((code.to_owned(), prefix));
    }
    let picked: Vec<Service> = full
        .services()
        .iter()
        .filter_map(|s| {
            let (_, prefix) = chosen.iter().find(|(code, _)| *code == s.code)?;
            let mut service = s.clone();
            if let Some(prefix) = prefix {
                service.prefix = *prefix;
            }
            Some(service)
        })
        .collect();
    if picked.is_empty() {
        return Err("an office offers at least one service".to_owned());
    }
    Catalogue::from_services(picked, "the office's services").map_err(|e| e.to_string())
}

/// Writes hub.toml's office into office 1 (at every start: the file is its truth).
pub fn sync_configured<'c>(sql: impl Into<Sql<'c>>, config: &HubConfig) -> Result<(), SqlError> {
    let counters = serde_json::to_string(&config.counters).unwrap_or_else(|_| "[]".into());
    sql.into().execute(
        "UPDATE offices SET name = ?2, time_zone = ?3, counters = ?4 WHERE id = ?1",
        args![
            CONFIGURED_OFFICE,
            &config.office_name,
            &config.time_zone,
            counters
        ],
    )?;
    Ok(())
}

/// What an office is made of (`office add`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NewOffice<'a> {
    /// Its code.
    pub code: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its time zone.
    pub time_zone: &'a str,
    /// Its counters.
    pub counters: &'a [String],
    /// Its services (`code` or `code=PREFIX`), all of the catalogue when `None`.
    pub services: Option<&'a [String]>,
    /// Its hours as [`hours_json`] made them; hub.toml's when `None`.
    pub hours: Option<&'a str>,
}

/// Adds an office; its services are checked against `catalogue`.
pub fn add<'c>(
    sql: impl Into<Sql<'c>>,
    new: &NewOffice<'_>,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
) -> Result<Office, OfficeError> {
    let NewOffice {
        code,
        name,
        time_zone,
        counters,
        services,
        hours,
    } = *new;
    let sql = sql.into();
    check_code(code)?;
    parse_zone(time_zone)?;
    if name.trim().is_empty() || name.len() > 200 {
        return Err(OfficeError::Incomplete(
            "an office needs a name of at most 200 bytes (--name)",
        ));
    }
    if counters.is_empty() || counters.iter().any(|c| c.trim().is_empty() || c.len() > 60) {
        return Err(OfficeError::Incomplete(
            "an office needs at least one counter, each named in at most 60 bytes (--counter, repeated)",
        ));
    }
    catalogue_for(catalogue, services).map_err(OfficeError::Services)?;
    if by_code(sql, code)?.is_some() {
        return Err(OfficeError::Exists(code.to_owned()));
    }
    let counters_json = serde_json::to_string(counters).unwrap_or_else(|_| "[]".into());
    let services_json = services.map(|s| serde_json::to_string(s).unwrap_or_default());
    let row = sql.query_one(
        &format!(
            "INSERT INTO offices (code, name, time_zone, counters, services, hours, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING {COLUMNS}"
        ),
        args![
            code,
            name.trim(),
            time_zone,
            counters_json,
            services_json,
            hours,
            now.to_rfc3339()
        ],
    )?;
    Ok(from_row(&row)?)
}

/// The office with `code`.
pub fn by_code<'c>(sql: impl Into<Sql<'c>>, code: &str) -> Result<Option<Office>, SqlError> {
    sql.into()
        .query_opt(
            &format!("SELECT {COLUMNS} FROM offices WHERE code = ?1"),
            args![code],
        )?
        .map(|row| from_row(&row))
        .transpose()
}

/// The office with `code`, or an error naming it.
pub fn find<'c>(sql: impl Into<Sql<'c>>, code: &str) -> Result<Office, OfficeError> {
    by_code(sql, code)?.ok_or_else(|| OfficeError::Unknown(code.chars().take(40).collect()))
}

/// The office with row id `id`.
pub fn by_id<'c>(sql: impl Into<Sql<'c>>, id: OfficeId) -> Result<Option<Office>, SqlError> {
    sql.into()
        .query_opt(
            &format!("SELECT {COLUMNS} FROM offices WHERE id = ?1"),
            args![id],
        )?
        .map(|row| from_row(&row))
        .transpose()
}

/// Every office, by id.
pub fn list<'c>(sql: impl Into<Sql<'c>>) -> Result<Vec<Office>, SqlError> {
    sql.into()
        .query_all(
            &format!("SELECT {COLUMNS} FROM offices ORDER BY id"),
            args![],
        )?
        .iter()
        .map(from_row)
        .collect()
}

/// The offices a running hub has looked up: an office's row changes only when the hub
/// starts (office 1) or never (`office add` makes new rows), so each is read once.
#[derive(Debug)]
pub struct Offices {
    /// Office 1 as hub.toml describes it.
    configured: Arc<Office>,
    known: Mutex<HashMap<OfficeId, Arc<Office>>>,
    catalogues: Mutex<HashMap<OfficeId, Arc<Catalogue>>>,
}

impl Offices {
    /// Starts with `configured`, office 1 as hub.toml describes it.
    pub fn new(configured: Office) -> Offices {
        let configured = Arc::new(configured);
        let known = HashMap::from([(configured.id, configured.clone())]);
        Offices {
            configured,
            known: Mutex::new(known),
            catalogues: Mutex::new(HashMap::new()),
        }
    }

    /// Office 1, the one hub.toml describes.
    pub fn configured(&self) -> Arc<Office> {
        self.configured.clone()
    }

    /// The office `id`, if it was looked up before.
    pub fn cached(&self, id: OfficeId) -> Option<Arc<Office>> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The office with `code`, if it was looked up before.
    pub fn cached_code(&self, code: &str) -> Option<Arc<Office>> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|o| o.code == code)
            .cloned()
    }

    /// Keeps `office` for later requests.
    pub fn remember(&self, office: Office) -> Arc<Office> {
        let office = Arc::new(office);
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(office.id, office.clone());
        office
    }

    /// The catalogue `office` offers, made from `full` the first time. Services the
    /// catalogue no longer has are left out (and said in the log); should nothing valid
    /// be left, the office offers the whole catalogue rather than nothing.
    pub fn catalogue(&self, office: &Office, full: &Arc<Catalogue>) -> Arc<Catalogue> {
        if office.services.is_none() {
            return full.clone();
        }
        let mut catalogues = self
            .catalogues
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        catalogues
            .entry(office.id)
            .or_insert_with(|| office_catalogue(office, full))
            .clone()
    }

    /// The office `id`, read from `sql` the first time.
    pub fn get<'c>(&self, sql: impl Into<Sql<'c>>, id: OfficeId) -> Result<Arc<Office>, ApiError> {
        if let Some(office) = self.cached(id) {
            return Ok(office);
        }
        let office = by_id(sql, id)?.ok_or_else(|| {
            ApiError::internal(
                "office",
                format!("office {id} named by a row does not exist"),
            )
        })?;
        Ok(self.remember(office))
    }
}

fn office_catalogue(office: &Office, full: &Arc<Catalogue>) -> Arc<Catalogue> {
    let offered: Vec<String> = office
        .services
        .iter()
        .flatten()
        .filter(|entry| {
            let code = entry.split('=').next().unwrap_or_default();
            let known = full.service(code).is_some();
            if !known {
                tracing::warn!(office = %office.code, service = code, "the office offers a service the catalogue no longer has: left out");
            }
            known
        })
        .cloned()
        .collect();
    match catalogue_for(full, Some(&offered)) {
        Ok(catalogue) => Arc::new(catalogue),
        Err(problem) => {
            tracing::warn!(office = %office.code, %problem, "the office's services do not fit the catalogue: it offers the whole catalogue");
            full.clone()
        }
    }
}

/// Office 1 as hub.toml describes it (before the database is read).
pub fn configured(config: &HubConfig, tz: Tz) -> Office {
    Office {
        id: CONFIGURED_OFFICE,
        code: CONFIGURED_CODE.to_owned(),
        name: config.office_name.clone(),
        time_zone: config.time_zone.clone(),
        tz,
        counters: config.counters.clone(),
        services: None,
        hours: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offices_are_added_checked_and_found() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let now = "2026-12-04T09:00:00Z".parse().unwrap();
        let counters = vec!["Sportello 1".to_string()];
        let catalogue = Catalogue::builtin();
        let office = |code, name, time_zone, counters| NewOffice {
            code,
            name,
            time_zone,
            counters,
            services: None,
            hours: None,
        };
        let add = |new: NewOffice<'_>| add(&conn, &new, &catalogue, now);
        let added = add(office(
            "milano-nord",
            "Milano Nord",
            "Europe/Rome",
            &counters,
        ))
        .unwrap();
        assert_eq!(added.id, 2, "office 1 is the configured one");
        assert_eq!(find(&conn, "milano-nord").unwrap(), added);
        assert!(matches!(
            add(office("milano-nord", "Again", "Europe/Rome", &counters)),
            Err(OfficeError::Exists(_))
        ));
        assert!(matches!(
            add(office("Milano Nord", "x", "Europe/Rome", &counters)),
            Err(OfficeError::BadCode(_))
        ));
        assert!(matches!(
            add(office("x", "x", "Europe/Milano", &counters)),
            Err(OfficeError::BadTimeZone(_))
        ));
        assert!(matches!(
            add(office("x", "x", "Europe/Rome", &[])),
            Err(OfficeError::Incomplete(_))
        ));
        let unknown = ["naspi".to_string(), "nope".to_string()];
        assert!(matches!(
            add(NewOffice {
                services: Some(&unknown),
                ..office("x", "x", "Europe/Rome", &counters)
            }),
            Err(OfficeError::Services(_))
        ));
        assert!(matches!(find(&conn, "roma"), Err(OfficeError::Unknown(_))));
        let codes: Vec<String> = list(&conn).unwrap().into_iter().map(|o| o.code).collect();
        assert_eq!(codes, ["default", "milano-nord"]);
    }

    #[test]
    fn an_office_s_hours_are_checked_before_they_are_kept() {
        let catalogue = Catalogue::builtin();
        assert_eq!(hours_json(None, &[], &catalogue).unwrap(), None);
        let kept = hours_json(Some("15:30"), &["naspi=12:30".into()], &catalogue)
            .unwrap()
            .unwrap();
        let hours: HoursConfig = serde_json::from_str(&kept).unwrap();
        let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(hours.is_open("isee", at(15, 30)) && !hours.is_open("isee", at(15, 31)));
        assert!(!hours.is_open("naspi", at(12, 31)));
        for (last, per_service) in [
            (Some("25:99"), vec![]),
            (None, vec!["naspi".to_string()]),
            (None, vec!["nope=10:00".to_string()]),
        ] {
            assert!(
                hours_json(last, &per_service, &catalogue).is_err(),
                "{last:?} {per_service:?}"
            );
        }
    }

    #[test]
    fn an_office_offers_a_subset_with_its_own_letters() {
        let full = Catalogue::builtin();
        let services = ["isee".to_string(), "naspi=Q".to_string()];
        let ours = catalogue_for(&full, Some(&services)).unwrap();
        let codes: Vec<(&str, char)> = ours
            .services()
            .iter()
            .map(|s| (s.code.as_str(), s.prefix))
            .collect();
        let isee = full.service("isee").unwrap().prefix;
        // In the catalogue's order, whatever the order given.
        let position = |code: &str| full.services().iter().position(|s| s.code == code);
        let expected = if position("naspi") < position("isee") {
            vec![("naspi", 'Q'), ("isee", isee)]
        } else {
            vec![("isee", isee), ("naspi", 'Q')]
        };
        assert_eq!(codes, expected);
        // A letter two services would share, a malformed letter, an unknown service.
        let shared = ["isee".to_string(), format!("naspi={isee}")];
        assert!(catalogue_for(&full, Some(&shared)).is_err());
        assert!(catalogue_for(&full, Some(&["naspi=q".to_string()])).is_err());
        assert!(catalogue_for(&full, Some(&["nope".to_string()])).is_err());
        assert_eq!(catalogue_for(&full, None).unwrap(), full);
    }
}
