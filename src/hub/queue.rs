//! Queue order, positions and waiting-time estimates.
//!
//! Order within a service: priority tickets first, then appointment check-ins, then
//! everyone else; within each group, the oldest first. Estimates use an exponential moving
//! average of real service times per service, starting from the configured default, and
//! the number of counters currently serving the service. Written for both engines
//! (`hub::sql`; `rowid`, SQLite's insertion order, is an identity column of that name on
//! PostgreSQL's `tickets`).

use super::error::ApiError;
use super::offices::{Day, OfficeId};
use super::sql::{Sql, args};

/// SQL `ORDER BY` for picking the next waiting ticket.
pub const QUEUE_ORDER: &str =
    "priority DESC, (appointment IS NOT NULL) DESC, queued_at ASC, rowid ASC";

/// Weight of the newest sample in the moving average.
const ALPHA: f64 = 0.2;

/// Service times outside this range (seconds) are mistakes, not data.
const PLAUSIBLE_SECONDS: std::ops::RangeInclusive<f64> = 20.0..=3.0 * 3600.0;

/// Where a waiting ticket stands: 1 = next. 0 when it is not waiting.
///
/// Everyone in the groups before the ticket's (`queue_waiting`, kept by triggers) and in
/// its own group, less those in its group queued after it: a fresh ticket, at the back,
/// costs a few index seeks however long the queue is.
pub fn position<'c>(sql: impl Into<Sql<'c>>, ticket_id: &str) -> Result<u32, ApiError> {
    let sql = sql.into();
    let Some(row) = sql.query_opt(
        "SELECT day, service, status, priority, appointment IS NOT NULL, queued_at, rowid,
                office_id
         FROM tickets WHERE id = ?1",
        args![ticket_id],
    )?
    else {
        return Ok(0);
    };
    let status: String = row.get(2)?;
    if status != "waiting" {
        return Ok(0);
    }
    let (day, service): (String, String) = (row.get(0)?, row.get(1)?);
    let (priority, appt): (i64, bool) = (row.get(3)?, row.get(4)?);
    let (queued_at, rowid, office): (i64, i64, i64) = (row.get(5)?, row.get(6)?, row.get(7)?);
    let up_to_own_group: i64 = sql
        .query_one(
            "SELECT CAST(coalesce(sum(waiting), 0) AS BIGINT) FROM queue_waiting
             WHERE office_id = ?5 AND day = ?1 AND service = ?2
               AND (priority > ?3 OR (priority = ?3 AND appointment >= ?4))",
            args![&day, &service, priority, appt, office],
        )?
        .get(0)?;
    let behind_in_group: i64 = sql
        .query_one(
            "SELECT count(*) FROM tickets
             WHERE office_id = ?7 AND day = ?1 AND service = ?2 AND status = 'waiting'
               AND priority = ?3 AND queued_at >= ?5 AND (appointment IS NOT NULL) = ?4
               AND (queued_at > ?5 OR rowid > ?6)",
            args![day, service, priority, appt, queued_at, rowid, office],
        )?
        .get(0)?;
    let position = up_to_own_group - behind_in_group;
    u32::try_from(position)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| ApiError::internal("queue position", format!("counted {position}")))
}

/// Tickets waiting for `service` on `day`.
pub fn waiting<'c>(sql: impl Into<Sql<'c>>, day: Day, service: &str) -> Result<u32, ApiError> {
    let waiting: i64 = sql
        .into()
        .query_one(
            "SELECT CAST(coalesce(sum(waiting), 0) AS BIGINT) FROM queue_waiting
             WHERE office_id = ?3 AND day = ?1 AND service = ?2",
            args![day.text(), service, day.office],
        )?
        .get(0)?;
    Ok(u32::try_from(waiting).unwrap_or(0))
}

/// The moving average of service times for `service` in `office`, in minutes.
pub fn average_minutes<'c>(
    sql: impl Into<Sql<'c>>,
    office: OfficeId,
    service: &str,
    default_minutes: u32,
) -> Result<f64, ApiError> {
    let seconds = sql.into().query_opt(
        "SELECT average_seconds FROM service_stats WHERE office_id = ?2 AND service = ?1",
        args![service, office],
    )?;
    Ok(match seconds {
        Some(row) => row.get::<f64>(0)? / 60.0,
        None => f64::from(default_minutes),
    })
}

/// Counters of `office` whose current session serves `service` (sessions not expired).
pub fn counters_open<'c>(
    sql: impl Into<Sql<'c>>,
    office: OfficeId,
    service: &str,
    now: i64,
) -> Result<u32, ApiError> {
    let rows = sql.into().query_all(
        "SELECT DISTINCT s.counter, s.services FROM sessions s
             JOIN operators o ON o.id = s.operator_id
         WHERE s.counter IS NOT NULL AND s.expires_at > ?1 AND o.office_id = ?2",
        args![now, office],
    )?;
    let mut counters = std::collections::HashSet::new();
    for row in rows {
        let (counter, services): (String, String) = (row.get(0)?, row.get(1)?);
        let services: Vec<String> = serde_json::from_str(&services).unwrap_or_default();
        if services.iter().any(|s| s == service) {
            counters.insert(counter);
        }
    }
    Ok(counters.len() as u32)
}

/// Minutes until the ticket at `position` is called.
pub fn eta_minutes(position: u32, average_minutes: f64, counters: u32) -> u32 {
    let ahead = f64::from(position.saturating_sub(1));
    let minutes = ahead * average_minutes / f64::from(counters.max(1));
    // Bounded: at most 999 tickets a day, at most 240 minutes each.
    minutes.ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// Feeds one measured service time into the moving average of `service` in `office`.
pub fn record_service_time<'c>(
    sql: impl Into<Sql<'c>>,
    office: OfficeId,
    service: &str,
    seconds: f64,
    default_minutes: u32,
) -> Result<(), ApiError> {
    if !PLAUSIBLE_SECONDS.contains(&seconds) {
        return Ok(());
    }
    let sql = sql.into();
    let previous = average_minutes(sql, office, service, default_minutes)? * 60.0;
    let next = previous * (1.0 - ALPHA) + seconds * ALPHA;
    sql.execute(
        "INSERT INTO service_stats (office_id, service, average_seconds, samples)
         VALUES (?3, ?1, ?2, 1)
         ON CONFLICT (office_id, service) DO UPDATE
             SET average_seconds = ?2, samples = service_stats.samples + 1",
        args![service, next, office],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params};

    #[test]
    fn eta_counts_the_people_ahead_per_counter() {
        assert_eq!(eta_minutes(1, 10.0, 1), 0);
        assert_eq!(eta_minutes(4, 10.0, 1), 30);
        assert_eq!(eta_minutes(4, 10.0, 2), 15);
        assert_eq!(eta_minutes(4, 10.0, 0), 30);
        assert_eq!(eta_minutes(2, 7.5, 2), 4);
    }

    /// The old way: count everyone ahead. The kept counts must always agree with it.
    fn position_by_counting(conn: &Connection, rowid: i64) -> u32 {
        conn.query_row(
            "SELECT 1 + (SELECT count(*) FROM tickets o
                 WHERE o.office_id = t.office_id AND o.day = t.day AND o.service = t.service AND o.status = 'waiting' AND (
                     o.priority > t.priority OR (o.priority = t.priority AND (
                         (o.appointment IS NOT NULL) > (t.appointment IS NOT NULL)
                         OR ((o.appointment IS NOT NULL) = (t.appointment IS NOT NULL) AND (
                             o.queued_at < t.queued_at
                             OR (o.queued_at = t.queued_at AND o.rowid < t.rowid)))))))
             FROM tickets t WHERE t.rowid = ?1",
            [rowid],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// One change to the tickets table, as the hub's paths make them.
    #[derive(Debug, Clone)]
    enum Change {
        Issue {
            office: u8,
            service: u8,
            priority: bool,
            appointment: bool,
            queued_at: u8,
        },
        SetStatus {
            ticket: u8,
            status: u8,
        },
        Transfer {
            ticket: u8,
            service: u8,
        },
        SetPriority {
            ticket: u8,
            priority: bool,
        },
        Delete {
            ticket: u8,
        },
    }

    fn change() -> impl proptest::strategy::Strategy<Value = Change> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1..3u8, 0..2u8, any::<bool>(), any::<bool>(), 0..6u8).prop_map(
                |(office, service, priority, appointment, queued_at)| Change::Issue {
                    office, service, priority, appointment, queued_at
                }
            ),
            2 => (any::<u8>(), 0..4u8).prop_map(|(ticket, status)| Change::SetStatus { ticket, status }),
            1 => (any::<u8>(), 0..2u8).prop_map(|(ticket, service)| Change::Transfer { ticket, service }),
            1 => (any::<u8>(), any::<bool>())
                .prop_map(|(ticket, priority)| Change::SetPriority { ticket, priority }),
            1 => any::<u8>().prop_map(|ticket| Change::Delete { ticket }),
        ]
    }

    fn apply(conn: &Connection, n: usize, change: &Change) {
        let ids: Vec<i64> = conn
            .prepare("SELECT rowid FROM tickets ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let pick = |t: u8| ids.get(usize::from(t) % ids.len().max(1)).copied();
        match *change {
            Change::Issue {
                office,
                service,
                priority,
                appointment,
                queued_at,
            } => {
                conn.execute(
                    "INSERT INTO tickets (id, day, number, seq, number_service, service,
                         priority, appointment, lang, kiosk_id, offline, status, issued_at,
                         queued_at, office_id)
                     VALUES (?1, '2026-12-02', ?1, 1, ?2, ?2, ?3, ?4, 'it', 'k', 0,
                         'waiting', '', ?5, ?6)",
                    params![
                        format!("t{n}"),
                        format!("s{service}"),
                        priority,
                        appointment.then_some("B-1"),
                        i64::from(queued_at),
                        office
                    ],
                )
                .unwrap();
            }
            Change::SetStatus { ticket, status } => {
                let status = ["waiting", "called", "served", "no_show"][usize::from(status)];
                conn.execute(
                    "UPDATE tickets SET status = ?2 WHERE rowid = ?1",
                    params![pick(ticket), status],
                )
                .unwrap();
            }
            Change::Transfer { ticket, service } => {
                conn.execute(
                    "UPDATE tickets SET status = 'waiting', service = ?2 WHERE rowid = ?1",
                    params![pick(ticket), format!("s{service}")],
                )
                .unwrap();
            }
            Change::SetPriority { ticket, priority } => {
                conn.execute(
                    "UPDATE tickets SET priority = ?2 WHERE rowid = ?1",
                    params![pick(ticket), priority],
                )
                .unwrap();
            }
            Change::Delete { ticket } => {
                conn.execute("DELETE FROM tickets WHERE rowid = ?1", [pick(ticket)])
                    .unwrap();
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Positions and waiting counts from the kept counts equal counting everyone,
        /// after any mix of issues, calls, transfers, priority changes and deletions.
        #[test]
        fn kept_counts_agree_with_counting(changes in proptest::collection::vec(change(), 1..60)) {
            let dir = tempfile::tempdir().unwrap();
            let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
            let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
            for (n, change) in changes.iter().enumerate() {
                apply(&conn, n, change);
                let tickets: Vec<(i64, String, String, String, i64)> = conn
                    .prepare("SELECT rowid, id, service, status, office_id FROM tickets")
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                for (rowid, id, _, status, _) in &tickets {
                    let expected = if status == "waiting" { position_by_counting(&conn, *rowid) } else { 0 };
                    proptest::prop_assert_eq!(position(&conn, id).unwrap(), expected, "after {:?}", change);
                }
                for (office, service) in [(1, "s0"), (1, "s1"), (2, "s0"), (2, "s1")] {
                    let counted = tickets
                        .iter()
                        .filter(|t| t.4 == office && t.2 == service && t.3 == "waiting")
                        .count();
                    let day = Day { office, date };
                    proptest::prop_assert_eq!(waiting(&conn, day, service).unwrap() as usize, counted);
                }
            }
        }
    }

    #[test]
    fn moving_average_starts_from_the_default_and_ignores_nonsense() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        assert_eq!(average_minutes(&conn, 1, "a", 10).unwrap(), 10.0);
        record_service_time(&conn, 1, "a", 300.0, 10).unwrap();
        // 600 * 0.8 + 300 * 0.2 = 540 s.
        assert!((average_minutes(&conn, 1, "a", 10).unwrap() - 9.0).abs() < 1e-9);
        record_service_time(&conn, 1, "a", 2.0, 10).unwrap();
        record_service_time(&conn, 1, "a", 86_400.0, 10).unwrap();
        assert!((average_minutes(&conn, 1, "a", 10).unwrap() - 9.0).abs() < 1e-9);
        // Another office measures its own.
        assert_eq!(average_minutes(&conn, 2, "a", 10).unwrap(), 10.0);
    }
}
