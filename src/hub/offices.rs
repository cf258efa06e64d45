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
use crate::config::hub::HubConfig;

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

const COLUMNS: &str = "id, code, name, time_zone, counters";

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
    })
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

/// Adds an office.
pub fn add<'c>(
    sql: impl Into<Sql<'c>>,
    code: &str,
    name: &str,
    time_zone: &str,
    counters: &[String],
    now: DateTime<Utc>,
) -> Result<Office, OfficeError> {
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
    if by_code(sql, code)?.is_some() {
        return Err(OfficeError::Exists(code.to_owned()));
    }
    let counters_json = serde_json::to_string(counters).unwrap_or_else(|_| "[]".into());
    let row = sql.query_one(
        &format!(
            "INSERT INTO offices (code, name, time_zone, counters, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {COLUMNS}"
        ),
        args![
            code,
            name.trim(),
            time_zone,
            counters_json,
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
#[derive(Debug, Default)]
pub struct Offices {
    known: Mutex<HashMap<OfficeId, Arc<Office>>>,
}

impl Offices {
    /// Starts with `configured`, office 1 as hub.toml describes it.
    pub fn new(configured: Office) -> Offices {
        let offices = Offices::default();
        offices.remember(configured);
        offices
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

/// Office 1 as hub.toml describes it (before the database is read).
pub fn configured(config: &HubConfig, tz: Tz) -> Office {
    Office {
        id: CONFIGURED_OFFICE,
        code: CONFIGURED_CODE.to_owned(),
        name: config.office_name.clone(),
        time_zone: config.time_zone.clone(),
        tz,
        counters: config.counters.clone(),
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
        let added = add(
            &conn,
            "milano-nord",
            "Milano Nord",
            "Europe/Rome",
            &counters,
            now,
        )
        .unwrap();
        assert_eq!(added.id, 2, "office 1 is the configured one");
        assert_eq!(find(&conn, "milano-nord").unwrap(), added);
        assert!(matches!(
            add(&conn, "milano-nord", "Again", "Europe/Rome", &counters, now),
            Err(OfficeError::Exists(_))
        ));
        assert!(matches!(
            add(&conn, "Milano Nord", "x", "Europe/Rome", &counters, now),
            Err(OfficeError::BadCode(_))
        ));
        assert!(matches!(
            add(&conn, "x", "x", "Europe/Milano", &counters, now),
            Err(OfficeError::BadTimeZone(_))
        ));
        assert!(matches!(
            add(&conn, "x", "x", "Europe/Rome", &[], now),
            Err(OfficeError::Incomplete(_))
        ));
        assert!(matches!(find(&conn, "roma"), Err(OfficeError::Unknown(_))));
        let codes: Vec<String> = list(&conn).unwrap().into_iter().map(|o| o.code).collect();
        assert_eq!(codes, ["default", "milano-nord"]);
    }
}
