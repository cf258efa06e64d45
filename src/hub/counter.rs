//! What a clerk does at a counter: call the next ticket, recall, serve, no-show, transfer.
//!
//! Every change runs in an immediate (write-locking) transaction and moves a ticket only
//! from the state it was read in (`... WHERE status = 'waiting'`), so two clerks calling
//! at the same moment never get the same ticket, and a double click changes nothing twice.
//!
//! A called ticket remembers the clerk session that called it (`called_by`): its codice
//! fiscale goes to that session only, never to whoever chooses the same counter later
//! (security finding 10). A counter is held by one live session at a time
//! ([`counter_holder`]); another clerk takes it over only explicitly.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::queue::{self, QUEUE_ORDER};
use crate::catalogue::Catalogue;
use crate::protocol::errors as code;

/// The ticket at a counter, as the counter page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterTicket {
    /// The ticket's id.
    pub ticket_id: String,
    /// Display number.
    pub number: String,
    /// Service code.
    pub service: String,
    /// `called` or `serving`.
    pub status: String,
    /// Priority access.
    pub priority: bool,
    /// Appointment check-in.
    pub appointment: bool,
    /// The citizen's codice fiscale, when given at the kiosk: only the clerk session that
    /// called the ticket sees it (this struct is never sent to the board).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
}

/// How a called ticket ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Served.
    Done,
    /// Did not come.
    NoShow,
}

fn current_in(
    conn: &Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
) -> Result<Option<CounterTicket>, ApiError> {
    Ok(conn
        .query_row(
            "SELECT id, number, service, status, priority, appointment IS NOT NULL,
                 CASE WHEN called_by = ?3 THEN codice_fiscale END
             FROM tickets WHERE day = ?1 AND counter = ?2 AND status IN ('called', 'serving')
             ORDER BY called_at DESC LIMIT 1",
            params![day.to_string(), counter, session],
            |r| {
                Ok(CounterTicket {
                    ticket_id: r.get(0)?,
                    number: r.get(1)?,
                    service: r.get(2)?,
                    status: r.get(3)?,
                    priority: r.get(4)?,
                    appointment: r.get(5)?,
                    codice_fiscale: r.get(6)?,
                })
            },
        )
        .optional()?)
}

/// The ticket currently called or being served at `counter`, as the clerk session
/// `session` (a session token's hash) may see it.
pub fn current(
    conn: &Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
) -> Result<Option<CounterTicket>, ApiError> {
    current_in(conn, day, counter, session)
}

/// The live clerk session other than `session` that holds `counter`, if any: its clerk's
/// name. A session is live until it expires or has been idle `idle_seconds`.
pub fn counter_holder(
    conn: &Connection,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
    idle_seconds: i64,
) -> Result<Option<String>, ApiError> {
    let now = now.timestamp();
    Ok(conn
        .query_row(
            "SELECT o.name FROM sessions s JOIN operators o ON o.id = s.operator_id
             WHERE s.counter = ?1 AND s.token_hash <> ?2 AND s.expires_at > ?3
               AND COALESCE(s.last_used_at, s.created_at) > ?3 - ?4
             LIMIT 1",
            params![counter, session, now, idle_seconds],
            |r| r.get(0),
        )
        .optional()?)
}

fn no_current() -> ApiError {
    ApiError::conflict("no_current_ticket", "this counter has no called ticket")
}

/// Calls the next ticket for `services` to `counter`; `None` when nobody is waiting.
pub fn call_next(
    conn: &mut Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
    services: &[String],
    now: DateTime<Utc>,
) -> Result<Option<CounterTicket>, ApiError> {
    if services.is_empty() {
        return Err(ApiError::unprocessable(
            "no_services",
            "choose the services this counter serves first",
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(open) = current_in(&tx, day, counter, session)? {
        return Err(ApiError::conflict(
            "finish_current",
            format!(
                "{} is still open at this counter: mark it served or no-show first",
                open.number
            ),
        ));
    }
    let services_json =
        serde_json::to_string(services).map_err(|e| ApiError::internal("services", e))?;
    let next: Option<String> = tx
        .query_row(
            &format!(
                "SELECT id FROM tickets WHERE day = ?1 AND status = 'waiting'
                 AND service IN (SELECT value FROM json_each(?2))
                 ORDER BY {QUEUE_ORDER} LIMIT 1"
            ),
            params![day.to_string(), services_json],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = next else {
        return Ok(None);
    };
    let changed = tx.execute(
        "UPDATE tickets SET status = 'called', counter = ?2, called_at = ?3, called_by = ?4
         WHERE id = ?1 AND status = 'waiting'",
        params![id, counter, now.timestamp_millis(), session],
    )?;
    if changed != 1 {
        // Unreachable under the write lock; refuse rather than hand out a taken ticket.
        return Err(ApiError::conflict("busy", "the queue changed; call again"));
    }
    let ticket = current_in(&tx, day, counter, session)?;
    tx.commit()?;
    Ok(ticket)
}

/// Calls the counter's current ticket again (the board shows it once more).
pub fn recall(
    conn: &mut Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
) -> Result<CounterTicket, ApiError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ticket = current_in(&tx, day, counter, session)?.ok_or_else(no_current)?;
    if ticket.status != "called" {
        return Err(ApiError::conflict(
            "already_serving",
            format!("{} is already at the counter", ticket.number),
        ));
    }
    tx.execute(
        "UPDATE tickets SET called_at = ?2 WHERE id = ?1",
        params![ticket.ticket_id, now.timestamp_millis()],
    )?;
    tx.commit()?;
    Ok(ticket)
}

/// The citizen has arrived at the counter: `called` -> `serving`.
pub fn start_serving(
    conn: &mut Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
) -> Result<CounterTicket, ApiError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ticket = current_in(&tx, day, counter, session)?.ok_or_else(no_current)?;
    tx.execute(
        "UPDATE tickets SET status = 'serving', serving_at = ?2
         WHERE id = ?1 AND status = 'called'",
        params![ticket.ticket_id, now.timestamp_millis()],
    )?;
    let ticket = current_in(&tx, day, counter, session)?.ok_or_else(no_current)?;
    tx.commit()?;
    Ok(ticket)
}

/// Ends the counter's current ticket as served or no-show; a served ticket's time feeds
/// the service's moving average.
pub fn finish(
    conn: &mut Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
    default_minutes: u32,
) -> Result<CounterTicket, ApiError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ticket = current_in(&tx, day, counter, session)?.ok_or_else(no_current)?;
    let status = match outcome {
        Outcome::Done => "done",
        Outcome::NoShow => "no_show",
    };
    let started: i64 = tx.query_row(
        "SELECT coalesce(serving_at, called_at, ?2) FROM tickets WHERE id = ?1",
        params![ticket.ticket_id, now.timestamp_millis()],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE tickets SET status = ?2, finished_at = ?3 WHERE id = ?1",
        params![ticket.ticket_id, status, now.timestamp_millis()],
    )?;
    if outcome == Outcome::Done {
        let seconds = (now.timestamp_millis() - started) as f64 / 1000.0;
        queue::record_service_time(&tx, &ticket.service, seconds, default_minutes)?;
    }
    tx.commit()?;
    Ok(ticket)
}

/// Sends the counter's current ticket to another service's queue. It keeps its number
/// and its place in time, so it is called before later arrivals there.
pub fn transfer(
    conn: &mut Connection,
    day: NaiveDate,
    counter: &str,
    session: &str,
    to_service: &str,
    catalogue: &Catalogue,
) -> Result<CounterTicket, ApiError> {
    if catalogue.service(to_service).is_none() {
        return Err(ApiError::unprocessable(
            code::UNKNOWN_SERVICE,
            format!("service `{to_service}` is not in the catalogue"),
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ticket = current_in(&tx, day, counter, session)?.ok_or_else(no_current)?;
    tx.execute(
        "UPDATE tickets SET status = 'waiting', service = ?2, counter = NULL,
             called_at = NULL, serving_at = NULL, called_by = NULL
         WHERE id = ?1",
        params![ticket.ticket_id, to_service],
    )?;
    tx.commit()?;
    ticket.service = to_service.to_string();
    ticket.status = "waiting".to_string();
    Ok(ticket)
}

/// Waiting tickets per service today, for the counter page.
pub fn waiting_counts(
    conn: &Connection,
    day: NaiveDate,
    catalogue: &Catalogue,
) -> Result<Vec<(String, u32)>, ApiError> {
    catalogue
        .services()
        .iter()
        .map(|s| Ok((s.code.clone(), queue::waiting(conn, day, &s.code)?)))
        .collect()
}
