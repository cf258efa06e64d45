//! Withdrawing a ticket operation its kiosk never handed over.
//!
//! A kiosk that dies between the hub numbering a ticket and the ticket reaching the
//! printer or the screen leaves a ticket nobody holds: a clerk would call it and wait.
//! On restart the kiosk withdraws every such operation. A waiting ticket becomes `void`:
//! never called, out of every count, listed as such on the counter page. An operation
//! the hub has not applied yet (its request may still be on the way) is remembered as
//! withdrawn in `ops`, so when it arrives it is refused instead of applied. A ticket
//! already called is left alone: someone answered to it.
//!
//! Written for both engines (`hub::sql`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use super::offices::Day;
use super::sql::{Sql, args};
use crate::protocol::errors as code;
use crate::protocol::{WithdrawOutcome, WithdrawResponse};

/// The status of a ticket withdrawn by its kiosk.
pub const VOID: &str = "void";

/// The `request_hash` that marks an op_id as withdrawn before the hub applied it (a real
/// hash is 64 hex digits, so none can equal it).
pub const WITHDRAWN_HASH: &str = "withdrawn";

/// Withdraws `op_id` for `kiosk_id`, inside the caller's transaction.
pub fn withdraw<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_id: &str,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<WithdrawResponse, ApiError> {
    let tx = sql.into();
    let op = op_id.to_string();
    let answer = |outcome, number| WithdrawResponse {
        op_id,
        outcome,
        number,
    };
    let applied = tx.query_opt(
        "SELECT kiosk_id, request_hash FROM ops WHERE op_id = ?1",
        args![&op],
    )?;
    let Some(applied) = applied else {
        tx.execute(
            "INSERT INTO ops (op_id, kiosk_id, request_hash, response, created_at)
             VALUES (?1, ?2, ?3, '{}', ?4)",
            args![&op, kiosk_id, WITHDRAWN_HASH, now.to_rfc3339()],
        )?;
        return Ok(answer(WithdrawOutcome::NeverApplied, None));
    };
    let (owner, hash): (String, String) = (applied.get(0)?, applied.get(1)?);
    if owner != kiosk_id {
        // Another kiosk's operation: as if it did not exist, and nothing changes.
        return Err(ApiError::not_found(
            code::UNKNOWN_TICKET,
            "this kiosk has no operation with this op_id",
        ));
    }
    if hash == WITHDRAWN_HASH {
        return Ok(answer(WithdrawOutcome::AlreadyWithdrawn, None));
    }
    let ticket = tx.query_opt(
        "SELECT id, number, status FROM tickets WHERE op_id = ?1",
        args![&op],
    )?;
    let Some(ticket) = ticket else {
        return Err(ApiError::internal(
            "withdrawal",
            format!("operation {op} is applied but has no ticket"),
        ));
    };
    let (ticket_id, number, status): (String, String, String) =
        (ticket.get(0)?, ticket.get(1)?, ticket.get(2)?);
    let outcome = match status.as_str() {
        "waiting" => {
            tx.execute(
                "UPDATE tickets SET status = ?2, finished_at = ?3 WHERE id = ?1",
                args![&ticket_id, VOID, now.timestamp_millis()],
            )?;
            // The booking can be checked in again by the citizen who holds it.
            tx.execute(
                "UPDATE appointments SET ticket_id = NULL WHERE ticket_id = ?1",
                args![&ticket_id],
            )?;
            WithdrawOutcome::Voided
        }
        VOID => WithdrawOutcome::AlreadyWithdrawn,
        _ => WithdrawOutcome::AlreadyCalled,
    };
    Ok(answer(outcome, Some(number)))
}

/// A ticket of the day withdrawn by its kiosk, for the counter page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoidTicket {
    /// Display number.
    pub number: String,
    /// Service code.
    pub service: String,
    /// The kiosk that issued it.
    pub kiosk_id: String,
}

/// Today's void tickets of `services`, newest first (at most 50).
pub fn void_tickets<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    services: &[String],
) -> Result<Vec<VoidTicket>, ApiError> {
    // The day's void tickets are few (only kiosks that died mid-ticket make them): the
    // services are picked here rather than with a list bound into the statement.
    let rows = sql.into().query_all(
        "SELECT number, service, kiosk_id FROM tickets
         WHERE office_id = ?3 AND day = ?1 AND status = ?2
         ORDER BY finished_at DESC",
        args![day.text(), VOID, day.office],
    )?;
    let mut void = Vec::new();
    for row in rows {
        let service: String = row.get(1)?;
        if services.contains(&service) {
            void.push(VoidTicket {
                number: row.get(0)?,
                service,
                kiosk_id: row.get(2)?,
            });
        }
        if void.len() == 50 {
            break;
        }
    }
    Ok(void)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::config::hub::HoursConfig;
    use crate::hub::tickets::{self, IssueContext};
    use crate::protocol::IssueTicketRequest;
    use rusqlite::Connection;

    fn request(service: &str) -> IssueTicketRequest {
        IssueTicketRequest {
            op_id: Uuid::new_v4(),
            service: service.to_string(),
            priority: false,
            lang: "it".into(),
            appointment: None,
            codice_fiscale: None,
            codice_fiscale_from_card: false,
            offline_number: None,
            issued_at: Utc::now().fixed_offset(),
        }
    }

    fn issue(
        conn: &Connection,
        kiosk_id: &str,
        req: &IssueTicketRequest,
    ) -> Result<String, String> {
        let catalogue = Catalogue::builtin();
        let hours = HoursConfig::default();
        let ctx = IssueContext {
            kiosk_id,
            catalogue: &catalogue,
            office: &crate::hub::offices::configured(
                &crate::config::hub::HubConfig::default(),
                chrono_tz::Europe::Rome,
            ),
            now: Utc::now(),
            default_minutes: 10,
            hours: &hours,
        };
        tickets::issue(conn, &ctx, req)
            .map(|i| i.ticket.number)
            .map_err(|e| e.code.to_string())
    }

    fn status(conn: &Connection, number: &str) -> String {
        conn.query_row(
            "SELECT status FROM tickets WHERE number = ?1",
            [number],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn a_waiting_ticket_becomes_void_and_leaves_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::hub::store::open(&dir.path().join("h.sqlite")).unwrap();
        let held = request("naspi");
        let ghost = request("naspi");
        assert_eq!(issue(&conn, "k-1", &held).unwrap(), "N001");
        assert_eq!(issue(&conn, "k-1", &ghost).unwrap(), "N002");
        let today = crate::hub::offices::Day {
            office: 1,
            date: crate::hub::clock::office_day(Utc::now(), chrono_tz::Europe::Rome),
        };
        assert_eq!(
            crate::hub::queue::waiting(&conn, today, "naspi").unwrap(),
            2
        );

        let answer = withdraw(&conn, "k-1", ghost.op_id, Utc::now()).unwrap();
        assert_eq!(answer.outcome, WithdrawOutcome::Voided);
        assert_eq!(answer.number.as_deref(), Some("N002"));
        assert_eq!(status(&conn, "N002"), VOID);
        assert_eq!(status(&conn, "N001"), "waiting", "the held ticket stays");
        assert_eq!(
            crate::hub::queue::waiting(&conn, today, "naspi").unwrap(),
            1
        );
        let listed = void_tickets(&conn, today, &["naspi".into()]).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].number, "N002");

        // Twice is harmless; the op stays applied once: a replay gets the stored body.
        let again = withdraw(&conn, "k-1", ghost.op_id, Utc::now()).unwrap();
        assert_eq!(again.outcome, WithdrawOutcome::AlreadyWithdrawn);
        assert_eq!(issue(&conn, "k-1", &ghost).unwrap(), "N002");
        assert_eq!(status(&conn, "N002"), VOID);
        // The next number is not given again.
        assert_eq!(issue(&conn, "k-1", &request("naspi")).unwrap(), "N003");
    }

    #[test]
    fn an_op_withdrawn_before_it_arrives_is_refused_when_it_does() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::hub::store::open(&dir.path().join("h.sqlite")).unwrap();
        let late = request("naspi");
        let answer = withdraw(&conn, "k-1", late.op_id, Utc::now()).unwrap();
        assert_eq!(answer.outcome, WithdrawOutcome::NeverApplied);
        assert_eq!(
            issue(&conn, "k-1", &late),
            Err(code::OP_WITHDRAWN.to_string())
        );
        let again = withdraw(&conn, "k-1", late.op_id, Utc::now()).unwrap();
        assert_eq!(again.outcome, WithdrawOutcome::AlreadyWithdrawn);
        let tickets: i64 = conn
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tickets, 0);
        assert_eq!(
            issue(&conn, "k-1", &request("naspi")).unwrap(),
            "N001",
            "no gap"
        );
    }

    #[test]
    fn a_called_ticket_and_another_kiosks_op_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::hub::store::open(&dir.path().join("h.sqlite")).unwrap();
        let called = request("naspi");
        issue(&conn, "k-1", &called).unwrap();
        conn.execute("UPDATE tickets SET status = 'called'", [])
            .unwrap();
        let answer = withdraw(&conn, "k-1", called.op_id, Utc::now()).unwrap();
        assert_eq!(answer.outcome, WithdrawOutcome::AlreadyCalled);
        assert_eq!(status(&conn, "N001"), "called");

        let other = request("naspi");
        issue(&conn, "k-2", &other).unwrap();
        let refused = withdraw(&conn, "k-1", other.op_id, Utc::now()).unwrap_err();
        assert_eq!(refused.code, code::UNKNOWN_TICKET);
        assert_eq!(status(&conn, "N002"), "waiting");
    }
}
