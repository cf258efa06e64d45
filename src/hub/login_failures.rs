//! Wrong clerk passwords per name and address, kept in the database: every hub process
//! on it (a region's, issue 19) counts them together, so a guesser spreading attempts
//! over the processes behind a balancer earns the same waits as against one.
//!
//! [`super::throttle`] keeps the rest in memory on purpose: attempts in flight, the
//! per-address bucket and the password checks at once protect that process's own memory
//! and threads. Written for both engines (`hub::sql`).

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use super::sql::{Sql, SqlError, args};
use super::throttle::{self, Stored};

/// What the database holds for `name` (as the throttle keys it) at `ip`.
pub fn load(sql: Sql<'_>, name: &str, ip: IpAddr) -> Result<Stored, SqlError> {
    let row = sql.query_opt(
        "SELECT in_a_row, wait_until FROM login_failures WHERE name = ?1 AND address = ?2",
        args![throttle::key(name), ip.to_string()],
    )?;
    let Some(row) = row else {
        return Ok(Stored::default());
    };
    let in_a_row: i64 = row.get(0)?;
    let wait_until: Option<String> = row.get(1)?;
    Ok(Stored {
        in_a_row: u32::try_from(in_a_row).unwrap_or(u32::MAX),
        wait_until: wait_until
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
    })
}

/// One more wrong password for `name` at `ip` (in a write transaction of its own, so
/// two processes counting at once both count); what is stored now.
pub fn failed(
    sql: Sql<'_>,
    name: &str,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Stored, SqlError> {
    sql.write_transaction(|sql| {
        let before = load(sql, name, ip)?;
        let in_a_row = before.in_a_row.saturating_add(1);
        let stored = Stored {
            in_a_row,
            wait_until: throttle::wait_after(in_a_row, now),
        };
        sql.execute(
            "INSERT INTO login_failures (name, address, in_a_row, wait_until, last_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name, address) DO UPDATE SET in_a_row = excluded.in_a_row,
                 wait_until = excluded.wait_until, last_at = excluded.last_at",
            args![
                throttle::key(name),
                ip.to_string(),
                i64::from(in_a_row),
                stored.wait_until.map(|t| t.to_rfc3339()),
                now.to_rfc3339()
            ],
        )?;
        Ok(stored)
    })
}

/// A correct password: `name` starts afresh at `ip`.
pub fn succeeded(sql: Sql<'_>, name: &str, ip: IpAddr) -> Result<(), SqlError> {
    sql.execute(
        "DELETE FROM login_failures WHERE name = ?1 AND address = ?2",
        args![throttle::key(name), ip.to_string()],
    )?;
    Ok(())
}

/// Forgets failures older than twice the longest wait (housekeeping); how many.
pub fn prune(sql: Sql<'_>, now: DateTime<Utc>) -> Result<usize, SqlError> {
    let before = now - TimeDelta::seconds(2 * throttle::LONGEST_WAIT_SECONDS);
    // RFC 3339 times in UTC sort as text.
    let pruned = sql.execute(
        "DELETE FROM login_failures WHERE last_at < ?1",
        args![before.to_rfc3339()],
    )?;
    Ok(pruned as usize)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn failures_count_up_earn_a_wait_and_a_success_clears_them() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let sql = Sql::from(&conn);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for n in 1..throttle::FREE_FAILURES {
            let stored = failed(sql, " Anna ", ip, now).unwrap();
            assert_eq!((stored.in_a_row, stored.wait_until), (n, None));
        }
        let stored = failed(sql, "anna", ip, now).unwrap();
        assert_eq!(stored.wait_until, Some(now + TimeDelta::seconds(30)));
        assert_eq!(
            load(sql, "ANNA", ip).unwrap(),
            stored,
            "names alike in case"
        );
        assert_eq!(
            load(sql, "anna", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))).unwrap(),
            Stored::default(),
            "another address starts afresh"
        );
        assert_eq!(prune(sql, now).unwrap(), 0);
        succeeded(sql, "anna", ip).unwrap();
        assert_eq!(load(sql, "anna", ip).unwrap(), Stored::default());
        failed(sql, "anna", ip, now).unwrap();
        assert_eq!(prune(sql, now + TimeDelta::hours(1)).unwrap(), 1);
    }
}
