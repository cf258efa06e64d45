//! Importing the day's bookings from a CSV file, and the booking's privacy.
//!
//! One line per booking: `code,time,service[,codice_fiscale]` (`;` also accepted, as
//! Italian spreadsheets write it; a first line starting with `code` is a header). The
//! whole file is checked before anything is stored, and errors name the line. A codice
//! fiscale is never stored: only a keyed SHA-256 of it, with a random key kept in the
//! database, so that the hub can later match a health card without holding the code.
//! Written for both engines (`hub::sql`).

use chrono::NaiveTime;
use sha2::{Digest, Sha256};

use super::auth::{hex, new_token};
use super::offices::Day;
use super::sql::{Sql, SqlError, args};
use super::tickets::normalise_code;
use crate::catalogue::Catalogue;
use crate::identity::CodiceFiscale;

/// One booking, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Normalised booking code.
    pub code: String,
    /// Booked time (local).
    pub time: NaiveTime,
    /// Service code.
    pub service: String,
    /// The citizen's code, when the booking has one.
    pub codice_fiscale: Option<CodiceFiscale>,
}

/// A line of the file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct CsvError {
    /// One-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Parses and checks every line; the first bad one is the error.
pub fn parse_csv(text: &str, catalogue: &Catalogue) -> Result<Vec<Booking>, CsvError> {
    let mut bookings = Vec::new();
    let mut codes = std::collections::HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |problem: String| CsvError { line, problem };
        let raw = raw.trim().trim_start_matches('\u{feff}');
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let separator = if raw.contains(';') { ';' } else { ',' };
        let fields: Vec<&str> = raw
            .split(separator)
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        if line == 1 && fields[0].eq_ignore_ascii_case("code") {
            continue;
        }
        if !(3..=4).contains(&fields.len()) {
            return Err(err(format!(
                "expected `code,time,service[,codice_fiscale]`, found {} fields",
                fields.len()
            )));
        }
        let code = normalise_code(fields[0]);
        if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(err(format!(
                "booking code `{}` must be 1-32 letters and digits",
                fields[0]
            )));
        }
        if !codes.insert(code.clone()) {
            return Err(err(format!("booking code `{code}` appears twice")));
        }
        let time = NaiveTime::parse_from_str(fields[1], "%H:%M")
            .map_err(|_| err(format!("time `{}` must be HH:MM", fields[1])))?;
        let service = catalogue
            .service(fields[2])
            .ok_or_else(|| err(format!("service `{}` is not in the catalogue", fields[2])))?;
        let codice_fiscale = match fields.get(3).filter(|f| !f.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<CodiceFiscale>()
                    .map_err(|_| err("the codice fiscale is not valid".to_string()))?,
            ),
        };
        bookings.push(Booking {
            code,
            time,
            service: service.code.clone(),
            codice_fiscale,
        });
    }
    Ok(bookings)
}

/// The file beside the hub's database holding the key of the codice fiscale hashes
/// (mode 0600). Kept out of the database, so that a copy of the database alone (a backup,
/// a stray download) cannot test candidate codici fiscali against the hashes in it
/// (security finding 16).
pub const CF_KEY_FILE: &str = "hub-cf-hash-key";

/// The key of the codice fiscale hashes: from [`CF_KEY_FILE`] beside the database; an
/// older hub's key is moved there out of the `settings` table (so its hashes still
/// match); else a new one. An in-memory database keeps it in `settings`.
pub(crate) fn cf_hash_key<'c>(sql: impl Into<Sql<'c>>) -> Result<String, SqlError> {
    let sql = sql.into();
    let in_settings = || -> Result<Option<String>, SqlError> {
        match sql.query_opt(
            "SELECT value FROM settings WHERE key = 'cf_hash_key'",
            args![],
        )? {
            Some(row) => Ok(Some(row.get(0)?)),
            None => Ok(None),
        }
    };
    let Some(file) = sql.files_dir().map(|dir| dir.join(CF_KEY_FILE)) else {
        return match in_settings()? {
            Some(key) => Ok(key),
            None => {
                let key = new_token();
                sql.execute(
                    "INSERT INTO settings (key, value) VALUES ('cf_hash_key', ?1)",
                    args![&key],
                )?;
                Ok(key)
            }
        };
    };
    let io = |source: std::io::Error| SqlError::File {
        path: format!("the codice fiscale hash key {}", file.display()),
        source,
    };
    let read = || -> Option<String> {
        let key = std::fs::read_to_string(&file).ok()?.trim().to_string();
        (!key.is_empty()).then_some(key)
    };
    if let Some(key) = read() {
        return Ok(key);
    }
    let key = in_settings()?.unwrap_or_else(new_token);
    // Written aside, then linked into place only if no file is there yet: hub processes
    // starting together on one PostgreSQL database (and one data directory) agree on the
    // first key published, never on two.
    let fresh = file.with_extension(format!("new-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&fresh).map_err(io)?;
    std::io::Write::write_all(&mut out, key.as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)?;
    if std::fs::metadata(&file).is_ok_and(|m| m.len() == 0) {
        // An empty file left by a crash of an older hub between create and write.
        let _ = std::fs::remove_file(&file);
    }
    let published = std::fs::hard_link(&fresh, &file);
    let _ = std::fs::remove_file(&fresh);
    let key = match published {
        Ok(()) => key,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read()
            .ok_or_else(|| io(std::io::Error::other("another hub wrote an unreadable key")))?,
        Err(e) => return Err(io(e)),
    };
    sql.execute("DELETE FROM settings WHERE key = 'cf_hash_key'", args![])?;
    Ok(key)
}

/// The keyed hash stored instead of a codice fiscale.
pub fn cf_hash<'c>(sql: impl Into<Sql<'c>>, code: &CodiceFiscale) -> Result<String, SqlError> {
    let key = cf_hash_key(sql)?;
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(code.as_str().as_bytes());
    Ok(hex(&h.finalize()))
}

/// Stores bookings of an office's `day` in one transaction. A booking already checked in is kept
/// as it is; others are replaced. Returns how many were stored.
pub fn store<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    bookings: &[Booking],
) -> Result<usize, SqlError> {
    sql.into().write_transaction(|sql| {
        let mut stored = 0;
        for b in bookings {
            let hash = match &b.codice_fiscale {
                Some(cf) => Some(cf_hash(sql, cf)?),
                None => None,
            };
            stored += sql.execute(
                "INSERT INTO appointments (office_id, day, code, time, service, cf_hash)
                 VALUES (?6, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (office_id, day, code) DO UPDATE
                     SET time = ?3, service = ?4, cf_hash = ?5
                     WHERE appointments.ticket_id IS NULL",
                args![
                    day.text(),
                    &b.code,
                    b.time.format("%H:%M").to_string(),
                    &b.service,
                    hash,
                    day.office
                ],
            )?;
        }
        Ok(usize::try_from(stored).unwrap_or(usize::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_separators_and_names_the_bad_line() {
        let cat = Catalogue::builtin();
        let text = "code,time,service,codice_fiscale\nab-12,09:30,naspi,RSSMRA45C12F205C\nX2;10:00;isee;\n";
        let b = parse_csv(text, &cat).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].code, "AB12");
        assert!(b[0].codice_fiscale.is_some());
        assert_eq!(b[1].service, "isee");
        assert!(b[1].codice_fiscale.is_none());
        let err = parse_csv("A1,09:30,naspi\nA2,9.30,naspi\n", &cat).unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_csv("A1,09:30,nope\n", &cat).unwrap_err();
        assert!(err.problem.contains("nope"));
        let err = parse_csv("A1,09:30,naspi,RSSMRA45C12F205D\n", &cat).unwrap_err();
        assert!(!err.to_string().contains("RSSMRA45C12F205D"));
    }

    #[test]
    fn stores_a_keyed_hash_never_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let cat = Catalogue::builtin();
        let b = parse_csv("A1,09:30,naspi,RSSMRA45C12F205C\n", &cat).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let day = Day { office: 1, date };
        assert_eq!(store(&mut conn, day, &b).unwrap(), 1);
        let stored: String = conn
            .query_row("SELECT cf_hash FROM appointments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored.len(), 64);
        let plain = hex(&Sha256::digest(b"RSSMRA45C12F205C"));
        assert_ne!(stored, plain, "the hash is keyed");
        drop(conn);
        let bytes = std::fs::read(dir.path().join("h.sqlite")).unwrap();
        assert!(!bytes.windows(16).any(|w| w == b"RSSMRA45C12F205C"));
    }

    /// Security finding 16: the key is not in the database (a copy of the file alone
    /// cannot test candidate codes), but in a 0600 file beside it; an older hub's key moves
    /// there and its hashes keep matching.
    #[test]
    fn the_hash_key_lives_beside_the_database_not_in_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite");
        let code: CodiceFiscale = "RSSMRA45C12F205C".parse().unwrap();
        // An older hub kept the key in `settings`.
        let conn = super::super::store::open(&db).unwrap();
        std::fs::remove_file(dir.path().join(CF_KEY_FILE)).unwrap();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('cf_hash_key', 'old-key')",
            [],
        )
        .unwrap();
        drop(conn);
        let old_hash = {
            let mut h = Sha256::new();
            h.update(b"old-key");
            h.update(code.as_str().as_bytes());
            hex(&h.finalize())
        };
        let conn = super::super::store::open(&db).unwrap();
        assert_eq!(
            cf_hash(&conn, &code).unwrap(),
            old_hash,
            "old hashes still match"
        );
        let in_db: i64 = conn
            .query_row(
                "SELECT count(*) FROM settings WHERE key = 'cf_hash_key'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(in_db, 0, "the key left the database");
        let file = dir.path().join(CF_KEY_FILE);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old-key");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
