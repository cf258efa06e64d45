//! Keeping the hub's database small over years of service, and personal data short-lived.
//!
//! Stored replies to kiosk operations are needed only while a kiosk might still retry
//! (hours, at worst days), and expired clerk sessions are useless, as are those unused
//! for `[sessions] idle_minutes` (refused on sight anyway); all are pruned hourly. A ticket's codice fiscale is needed only while the ticket can still be called:
//! it is erased (set to NULL, overwritten on disk by `secure_delete`) once the ticket's
//! office day is over, and in any case 24 hours after issue; that check runs every five
//! minutes, so a code outlives its day by at most five minutes. Tickets, bands and
//! appointments are kept: they are the office's history.
//!
//! Citizen logins: every five minutes sessions past their deadline are expired, which
//! erases the person's code and names from them (requests expire them on sight too);
//! hourly, finished sessions older than two days are deleted, the content of
//! certificates older than `auth.certificate_retention_days` is erased (id, kind, date
//! and digest stay) and audit rows older than `auth.audit_retention_days` are deleted.
//!
//! Written for both engines (`hub::sql`).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::login_failures;
use super::offices;
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use super::{audit, certificates, login};

/// How long the reply to an operation is kept for replays.
pub const KEEP_REPLIES: TimeDelta = TimeDelta::days(30);

/// Longest time a ticket keeps its codice fiscale, whatever its day.
pub const KEEP_PERSONAL: TimeDelta = TimeDelta::hours(24);

/// How often personal data is looked for; the rest runs every twelfth time (hourly).
pub const PERIOD: Duration = Duration::from_secs(300);

/// Deletes replies older than [`KEEP_REPLIES`] and expired sessions; returns how many
/// rows went.
pub fn prune<'c>(sql: impl Into<Sql<'c>>, now: DateTime<Utc>) -> Result<usize, SqlError> {
    let sql = sql.into();
    let cutoff = (now - KEEP_REPLIES).to_rfc3339();
    let replies = sql.execute("DELETE FROM ops WHERE created_at < ?1", args![cutoff])?;
    let sessions = sql.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        args![now.timestamp()],
    )?;
    Ok((replies + sessions) as usize)
}

/// Deletes clerk sessions last used at or before `cutoff` (security finding 19); returns
/// how many.
pub fn prune_idle_sessions<'c>(
    sql: impl Into<Sql<'c>>,
    cutoff: DateTime<Utc>,
) -> Result<usize, SqlError> {
    let deleted = sql.into().execute(
        "DELETE FROM sessions WHERE COALESCE(last_used_at, created_at) <= ?1",
        args![cutoff.timestamp()],
    )?;
    Ok(deleted as usize)
}

/// Erases the codice fiscale of tickets of days before their office's today (each
/// office's own time zone) or issued more than [`KEEP_PERSONAL`] before `now`; returns
/// how many tickets had one. When any did, the WAL is checkpointed so the old pages do
/// not linger there either.
pub fn purge_personal<'c>(sql: impl Into<Sql<'c>>, now: DateTime<Utc>) -> Result<usize, SqlError> {
    let sql = sql.into();
    let cutoff = now - KEEP_PERSONAL;
    let purged = sql.write_transaction(|sql| {
        let mut purged = 0;
        for office in offices::list(sql)? {
            let today = office.day_at(now);
            purged += sql.execute(
                "UPDATE tickets SET codice_fiscale = NULL
                 WHERE codice_fiscale IS NOT NULL AND office_id = ?2 AND day < ?1",
                args![today.text(), today.office],
            )?;
        }
        // The issue times are compared as instants in Rust: stored as RFC 3339 text, with
        // or without fractions of a second, they do not sort as text. What is left is
        // today's (the partial index `tickets_personal` holds only these rows).
        let recent = sql.query_all(
            "SELECT id, issued_at FROM tickets WHERE codice_fiscale IS NOT NULL",
            args![],
        )?;
        for row in recent {
            let (id, issued_at): (String, String) = (row.get(0)?, row.get(1)?);
            let stale = DateTime::parse_from_rfc3339(&issued_at).is_ok_and(|t| t <= cutoff);
            if stale {
                purged += sql.execute(
                    "UPDATE tickets SET codice_fiscale = NULL
                     WHERE id = ?1 AND codice_fiscale IS NOT NULL",
                    args![id],
                )?;
            }
        }
        Ok::<_, SqlError>(purged)
    })?;
    if purged > 0
        && let Sql::Sqlite(_) = sql
    {
        // SQLite maintenance, so the erased codes do not linger in the WAL either (on
        // PostgreSQL the server recycles its WAL itself). Best effort: a reader in the
        // middle of a transaction only delays it.
        let _ = sql.query_one("PRAGMA wal_checkpoint(TRUNCATE)", args![]);
    }
    Ok(purged as usize)
}

/// Runs [`purge_personal`] now and every [`PERIOD`], and [`prune`] now and hourly, and
/// writes each office's summary of a day once it is over
/// ([`super::daily_reports`]), for as long as the runtime lives.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        let mut round: u64 = 0;
        loop {
            tick.tick().await;
            let now = state.now();
            let hourly = round.is_multiple_of(12);
            round += 1;
            let auth = state.config.auth.clone();
            let idle = TimeDelta::minutes(i64::from(state.config.sessions.idle_minutes));
            let result = state
                .db
                .write(move |conn| {
                    let sql = Sql::from(conn);
                    let mut personal = purge_personal(sql, now)?;
                    personal += login::expire_due(sql, now)?;
                    let pruned = if hourly {
                        prune(sql, now)?
                            + prune_idle_sessions(sql, now - idle)?
                            + login::prune(sql, now)?
                            + login_failures::prune(sql, now)?
                            + certificates::erase_old_content(
                                sql,
                                now - TimeDelta::days(i64::from(auth.certificate_retention_days)),
                                now,
                            )?
                            + audit::prune(
                                sql,
                                now - TimeDelta::days(i64::from(auth.audit_retention_days)),
                            )?
                    } else {
                        0
                    };
                    Ok((personal, pruned))
                })
                .await;
            // Yesterday's figures for the archive, once per office and day.
            match super::daily_reports::write_closed_days(&state, now).await {
                Ok(written) => {
                    for path in written {
                        tracing::info!(file = %path.display(), "daily report written");
                    }
                }
                Err(e) => tracing::warn!(code = e.code, "daily report not written"),
            }
            match result {
                Ok((personal, pruned)) => {
                    if personal > 0 {
                        tracing::info!(rows = personal, "housekeeping erased personal data");
                    }
                    if pruned > 0 {
                        tracing::info!(rows = pruned, "housekeeping pruned old rows");
                    }
                }
                Err(e) => tracing::warn!(code = e.code, "housekeeping failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    #[test]
    fn old_replies_and_expired_sessions_go_tickets_stay() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let now: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
        for (id, age) in [("old", 31), ("recent", 29)] {
            conn.execute(
                "INSERT INTO ops (op_id, kiosk_id, request_hash, response, created_at)
                 VALUES (?1, 'k', 'h', '{}', ?2)",
                params![id, (now - TimeDelta::days(age)).to_rfc3339()],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO operators (id, name, password_hash, created_at) VALUES (1, 'a', 'x', 'y')",
            [],
        )
        .unwrap();
        for (hash, expires) in [
            ("gone", now.timestamp() - 1),
            ("live", now.timestamp() + 60),
        ] {
            conn.execute(
                "INSERT INTO sessions (token_hash, operator_id, created_at, expires_at)
                 VALUES (?1, 1, 0, ?2)",
                params![hash, expires],
            )
            .unwrap();
        }
        assert_eq!(prune(&conn, now).unwrap(), 2);
        let ops: Vec<String> = conn
            .prepare("SELECT op_id FROM ops")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ops, ["recent"]);
        let sessions: i64 = conn
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sessions, 1);
        // Unused for the idle time: gone too (last use, or the login when never used).
        conn.execute(
            "UPDATE sessions SET created_at = ?1, last_used_at = ?2",
            params![now.timestamp() - 3600, now.timestamp() - 1800],
        )
        .unwrap();
        let cutoff = now - TimeDelta::minutes(30);
        assert_eq!(
            prune_idle_sessions(&conn, cutoff - TimeDelta::seconds(1)).unwrap(),
            0
        );
        assert_eq!(prune_idle_sessions(&conn, cutoff).unwrap(), 1);
    }

    #[test]
    fn codici_fiscali_go_after_their_day_or_24_hours() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let now: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
        // (id, day, issued_at): yesterday's; today's but 25 h old (a long DST day, a
        // wrong day); today's from this morning, with nanoseconds as chrono writes them.
        let rows = [
            ("yesterday", "2026-11-26", "2026-11-26T16:00:00+00:00"),
            ("stale", "2026-11-27", "2026-11-26T09:00:00.123456789+00:00"),
            ("fresh", "2026-11-27", "2026-11-27T08:00:00.5+00:00"),
        ];
        for (n, (id, day, issued)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                     lang, kiosk_id, offline, status, issued_at, queued_at, codice_fiscale,
                     office_id)
                 VALUES (?1, ?2, ?3, ?4, 'naspi', 'naspi', 0, 'it', 'k', 0, 'done', ?5, 0,
                     'RSSMRA45C12F205C', 1)",
                params![id, day, format!("N{n:03}"), n as i64, issued],
            )
            .unwrap();
        }
        assert_eq!(purge_personal(&conn, now).unwrap(), 2);
        let kept: Vec<String> = conn
            .prepare("SELECT id FROM tickets WHERE codice_fiscale IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, ["fresh"]);
        assert_eq!(purge_personal(&conn, now).unwrap(), 0);
    }
}
