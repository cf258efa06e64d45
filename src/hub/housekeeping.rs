//! Keeping the hub's database small over years of service.
//!
//! Stored replies to kiosk operations are needed only while a kiosk might still retry
//! (hours, at worst days), and expired clerk sessions are useless; both are pruned
//! hourly. Tickets, bands and appointments are kept: they are the office's history.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, params};

use super::state::AppState;

/// How long the reply to an operation is kept for replays.
pub const KEEP_REPLIES: TimeDelta = TimeDelta::days(30);

/// Deletes replies older than [`KEEP_REPLIES`] and expired sessions; returns how many
/// rows went.
pub fn prune(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    let cutoff = (now - KEEP_REPLIES).to_rfc3339();
    let replies = conn.execute("DELETE FROM ops WHERE created_at < ?1", params![cutoff])?;
    let sessions = conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        params![now.timestamp()],
    )?;
    Ok(replies + sessions)
}

/// Runs [`prune`] now and then every hour, for as long as the runtime lives.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = state.now();
            match state.db.write(move |conn| Ok(prune(conn, now)?)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "housekeeping pruned old rows"),
                Err(e) => tracing::warn!(code = e.code, "housekeeping failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
