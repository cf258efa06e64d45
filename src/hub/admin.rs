//! Set-up commands run on the hub machine: offices, clerks, kiosk enrollment tokens,
//! bookings. Clerks, enrollment tokens (and so kiosks) and bookings belong to one office
//! (`--office CODE`; the configured office, `default`, when not named).
//!
//! They open the same database file as the running server (SQLite with WAL allows it),
//! so a maintainer can add a clerk or an enrollment token without stopping the hub.
//! Ending access takes effect at once in the running hub too (security finding 19): a
//! clerk's sessions are looked up on every request, and a removed kiosk's token is
//! dropped from the hub's token cache through [`kiosk_tokens::announce_change`].
//! Written for both engines (`hub::sql`).

use std::path::Path;

use chrono::{NaiveDate, Utc};

use super::appointments;
use super::auth::{Role, hash_password, new_token, token_hash};
use super::kiosk_tokens;
use super::offices::{self, CONFIGURED_CODE, Office, OfficeError};
use super::sql::{Sql, SqlError, args};
use super::store::{self, Location};
use crate::catalogue::Catalogue;

/// Why a set-up command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] store::OpenError),
    /// A statement failed.
    #[error("database: {0}")]
    Sql(#[from] SqlError),
    /// An office could not be added or found.
    #[error(transparent)]
    Office(#[from] OfficeError),

    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// Whether `add_operator` created the clerk or changed an existing clerk's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorChange {
    /// A new clerk.
    Added,
    /// The clerk existed; the password was replaced.
    PasswordChanged,
    /// The clerk had been disabled; the new password enables them again.
    Enabled,
}

/// Adds an office (`sportello hub office add`); its services are checked against
/// `catalogue`, the hub's.
pub fn add_office(
    location: impl Into<Location>,
    office: &offices::NewOffice<'_>,
    catalogue: &Catalogue,
) -> Result<Office, AdminError> {
    let conn = store::connect(&location.into())?;
    Ok(offices::add(&conn, office, catalogue, Utc::now())?)
}

/// Writes hub.toml's office into office 1, as a starting hub does.
pub fn sync_configured_office(
    location: impl Into<Location>,
    config: &crate::config::hub::HubConfig,
) -> Result<(), AdminError> {
    let conn = store::connect(&location.into())?;
    Ok(offices::sync_configured(&conn, config)?)
}

/// Every office (`sportello hub office list`).
pub fn list_offices(location: impl Into<Location>) -> Result<Vec<Office>, AdminError> {
    let conn = store::connect(&location.into())?;
    Ok(offices::list(&conn)?)
}

/// Creates clerk `name` with `password` in the configured office, or sets a new
/// password for an existing one.
pub fn add_operator(
    location: impl Into<Location>,
    name: &str,
    password: &str,
) -> Result<OperatorChange, AdminError> {
    add_operator_in(location, CONFIGURED_CODE, name, password)
}

/// Creates clerk `name` with `password` in office `office`, or sets a new password for
/// an existing clerk of that office (a clerk of another office is refused: login names
/// are unique across the database).
pub fn add_operator_in(
    location: impl Into<Location>,
    office: &str,
    name: &str,
    password: &str,
) -> Result<OperatorChange, AdminError> {
    let location = &location.into();
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(AdminError::Invalid(
            "the name must be 1-64 letters, digits, `.`, `-` or `_`".to_string(),
        ));
    }
    if password.chars().count() < 8 {
        return Err(AdminError::Invalid(
            "the password must have at least 8 characters".to_string(),
        ));
    }
    let conn = store::connect(location)?;
    let sql = Sql::from(&conn);
    let office = offices::find(sql, office)?;
    let hash = hash_password(password).map_err(AdminError::Invalid)?;
    let existing = sql.query_opt(
        "SELECT id, disabled_at, office_id FROM operators WHERE name = ?1",
        args![name],
    )?;
    match existing {
        Some(row) => {
            let (id, disabled): (i64, Option<String>) = (row.get(0)?, row.get(1)?);
            if row.get::<i64>(2)? != office.id {
                return Err(AdminError::Invalid(format!(
                    "a clerk named `{name}` works in another office: choose another name"
                )));
            }
            sql.execute(
                "UPDATE operators SET password_hash = ?2, disabled_at = NULL WHERE id = ?1",
                args![id, hash],
            )?;
            // A new password ends the clerk's open sessions.
            sql.execute("DELETE FROM sessions WHERE operator_id = ?1", args![id])?;
            Ok(if disabled.is_some() {
                OperatorChange::Enabled
            } else {
                OperatorChange::PasswordChanged
            })
        }
        None => {
            sql.execute(
                "INSERT INTO operators (name, password_hash, created_at, office_id)
                 VALUES (?1, ?2, ?3, ?4)",
                args![name, hash, Utc::now().to_rfc3339(), office.id],
            )?;
            Ok(OperatorChange::Added)
        }
    }
}

/// Disables clerk `name`: no login, and every open session ends at once (the row stays,
/// so `operator add NAME` with a new password enables the clerk again). Returns how
/// many sessions ended.
pub fn disable_operator(location: impl Into<Location>, name: &str) -> Result<usize, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    Sql::from(&conn).write_transaction(|sql| {
        let id = operator_id(sql, name)?;
        sql.execute(
            "UPDATE operators SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
            args![id, Utc::now().to_rfc3339()],
        )?;
        Ok(count(sql.execute(
            "DELETE FROM sessions WHERE operator_id = ?1",
            args![id],
        )?))
    })
}

/// Gives clerk `name` the role `role` (a clerk's sessions end, so a lost role takes
/// effect at once). `role` is a [`Role`] name: `clerk` or `maintainer`.
pub fn set_role(location: impl Into<Location>, name: &str, role: &str) -> Result<(), AdminError> {
    let location = &location.into();
    let Some(role) = Role::parse(role) else {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        return Err(AdminError::Invalid(format!(
            "no role `{role}`: one of {}",
            known.join(", ")
        )));
    };
    let conn = store::connect(location)?;
    Sql::from(&conn).write_transaction(|sql| {
        let id = operator_id(sql, name)?;
        let before: String = sql
            .query_one("SELECT role FROM operators WHERE id = ?1", args![id])?
            .get(0)?;
        if before != role.as_str() {
            sql.execute(
                "UPDATE operators SET role = ?2 WHERE id = ?1",
                args![id, role.as_str()],
            )?;
            sql.execute("DELETE FROM sessions WHERE operator_id = ?1", args![id])?;
        }
        Ok(())
    })
}

/// Removes clerk `name` and ends every open session at once. Returns how many ended.
pub fn remove_operator(location: impl Into<Location>, name: &str) -> Result<usize, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    Sql::from(&conn).write_transaction(|sql| {
        let id = operator_id(sql, name)?;
        let ended = sql.execute("DELETE FROM sessions WHERE operator_id = ?1", args![id])?;
        sql.execute("DELETE FROM operators WHERE id = ?1", args![id])?;
        Ok(count(ended))
    })
}

fn operator_id(sql: Sql<'_>, name: &str) -> Result<i64, AdminError> {
    match sql.query_opt(
        "SELECT id FROM operators WHERE name = ?1",
        args![name.trim()],
    )? {
        Some(row) => Ok(row.get(0)?),
        None => Err(AdminError::Invalid(format!(
            "no operator named `{}`",
            name.trim()
        ))),
    }
}

/// Rows changed, as the commands report them.
fn count(changed: u64) -> usize {
    usize::try_from(changed).unwrap_or(usize::MAX)
}

/// Removes kiosk `kiosk_id` (a kiosk lost, stolen or retired): its token stops working
/// at once, also in a running hub, and its enrollment token cannot bring it back. The
/// row stays, marked removed and off the fleet page: tickets and audit rows name it, and
/// its tag is never given to another kiosk. Returns the kiosk's name.
pub fn remove_kiosk(location: impl Into<Location>, kiosk_id: &str) -> Result<String, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    let name = Sql::from(&conn).write_transaction(|sql| {
        let name: String = sql
            .query_opt(
                "SELECT name FROM kiosks WHERE id = ?1 AND removed_at IS NULL",
                args![kiosk_id],
            )?
            .ok_or_else(|| AdminError::Invalid(format!("no kiosk with id `{kiosk_id}`")))?
            .get(0)?;
        // No token hashes to this value (a hash is 64 hex digits), and it stays unique.
        sql.execute(
            "UPDATE kiosks SET removed_at = ?2, disabled = 1, token_hash = 'removed:' || id
             WHERE id = ?1",
            args![kiosk_id, Utc::now().to_rfc3339()],
        )?;
        // A used enrollment token without its kiosk is refused (kiosk_api::enroll).
        sql.execute(
            "UPDATE enrollment_tokens SET kiosk_id = NULL WHERE kiosk_id = ?1",
            args![kiosk_id],
        )?;
        Ok::<_, AdminError>(name)
    })?;
    kiosk_tokens::announce_change(&location.kiosks_stamp()).map_err(|e| {
        AdminError::Invalid(format!(
            "the kiosk is removed, but a running hub may accept its token for up to {} s more: cannot write {}: {e}",
            kiosk_tokens::KioskTokens::FRESH_FOR.as_secs(),
            location.kiosks_stamp().display()
        ))
    })?;
    Ok(name)
}

/// Creates a one-time enrollment token for the configured office; only its hash is
/// stored.
pub fn create_enrollment_token(location: impl Into<Location>) -> Result<String, AdminError> {
    create_enrollment_token_in(location, CONFIGURED_CODE)
}

/// Creates a one-time enrollment token for office `office`: the kiosk it enrols belongs
/// to that office.
pub fn create_enrollment_token_in(
    location: impl Into<Location>,
    office: &str,
) -> Result<String, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    let office = offices::find(&conn, office)?;
    let token = new_token();
    Sql::from(&conn).execute(
        "INSERT INTO enrollment_tokens (token_hash, created_at, office_id) VALUES (?1, ?2, ?3)",
        args![token_hash(&token), Utc::now().to_rfc3339(), office.id],
    )?;
    Ok(token)
}

/// Deletes an enrollment token that has not enrolled a kiosk yet; false when none matches
/// (unknown, or already used: remove that kiosk instead).
pub fn revoke_enrollment_token(
    location: impl Into<Location>,
    token: &str,
) -> Result<bool, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    let deleted = Sql::from(&conn).execute(
        "DELETE FROM enrollment_tokens WHERE token_hash = ?1 AND used_at IS NULL",
        args![token_hash(token.trim())],
    )?;
    Ok(deleted == 1)
}

/// Imports a bookings CSV of the configured office for `day`; returns how many
/// bookings were stored.
pub fn import_appointments(
    location: impl Into<Location>,
    catalogue: &Catalogue,
    file: &Path,
    day: NaiveDate,
) -> Result<usize, AdminError> {
    import_appointments_in(location, CONFIGURED_CODE, catalogue, file, Some(day)).map(|(n, _)| n)
}

/// Imports a bookings CSV of office `office` for `day` (its today when `None`); returns
/// how many bookings were stored and the day.
pub fn import_appointments_in(
    location: impl Into<Location>,
    office: &str,
    catalogue: &Catalogue,
    file: &Path,
    day: Option<NaiveDate>,
) -> Result<(usize, NaiveDate), AdminError> {
    let location = &location.into();
    let text = std::fs::read_to_string(file)
        .map_err(|e| AdminError::Invalid(format!("{}: {e}", file.display())))?;
    let bookings = appointments::parse_csv(&text, catalogue)
        .map_err(|e| AdminError::Invalid(format!("{}, {e}", file.display())))?;
    let conn = store::connect(location)?;
    let office = offices::find(&conn, office)?;
    let day = match day {
        Some(date) => office.day(date),
        None => office.day_at(Utc::now()),
    };
    Ok((appointments::store(&conn, day, &bookings)?, day.date))
}
