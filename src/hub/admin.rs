//! Set-up commands run on the hub machine: clerks, kiosk enrollment tokens, bookings.
//!
//! They open the same database file as the running server (SQLite with WAL allows it),
//! so a maintainer can add a clerk or an enrollment token without stopping the hub.

use std::path::Path;

use chrono::{NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::appointments;
use super::auth::{hash_password, new_token, token_hash};
use super::store;
use crate::catalogue::Catalogue;
use crate::sqlite::DbError;

/// Why a set-up command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] DbError),
    /// A statement failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
}

/// Creates clerk `name` with `password`, or sets a new password for an existing one.
pub fn add_operator(
    database: &Path,
    name: &str,
    password: &str,
) -> Result<OperatorChange, AdminError> {
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
    let hash = hash_password(password).map_err(AdminError::Invalid)?;
    let conn = store::open(database)?;
    let existing: Option<i64> = conn
        .query_row("SELECT id FROM operators WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    match existing {
        Some(id) => {
            conn.execute(
                "UPDATE operators SET password_hash = ?2 WHERE id = ?1",
                params![id, hash],
            )?;
            // A new password ends the clerk's open sessions.
            conn.execute("DELETE FROM sessions WHERE operator_id = ?1", [id])?;
            Ok(OperatorChange::PasswordChanged)
        }
        None => {
            conn.execute(
                "INSERT INTO operators (name, password_hash, created_at) VALUES (?1, ?2, ?3)",
                params![name, hash, Utc::now().to_rfc3339()],
            )?;
            Ok(OperatorChange::Added)
        }
    }
}

/// Creates a one-time enrollment token; only its hash is stored.
pub fn create_enrollment_token(database: &Path) -> Result<String, AdminError> {
    let conn = store::open(database)?;
    let token = new_token();
    conn.execute(
        "INSERT INTO enrollment_tokens (token_hash, created_at) VALUES (?1, ?2)",
        params![token_hash(&token), Utc::now().to_rfc3339()],
    )?;
    Ok(token)
}

/// Imports a bookings CSV for `day`; returns how many bookings were stored.
pub fn import_appointments(
    database: &Path,
    catalogue: &Catalogue,
    file: &Path,
    day: NaiveDate,
) -> Result<usize, AdminError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| AdminError::Invalid(format!("{}: {e}", file.display())))?;
    let bookings = appointments::parse_csv(&text, catalogue)
        .map_err(|e| AdminError::Invalid(format!("{}, {e}", file.display())))?;
    let mut conn = store::open(database)?;
    Ok(appointments::store(&mut conn, day, &bookings)?)
}
