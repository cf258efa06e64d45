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
//!
//! Written for both engines (`hub::sql`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::offices::{Day, OfficeId};
use super::queue::{self, QUEUE_ORDER};
use super::sql::{Sql, Value, args};
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
    sql: Sql<'_>,
    day: Day,
    counter: &str,
    session: &str,
) -> Result<Option<CounterTicket>, ApiError> {
    let Some(r) = sql.query_opt(
        "SELECT id, number, service, status, priority, appointment IS NOT NULL,
             CASE WHEN called_by = ?3 THEN codice_fiscale END
         FROM tickets WHERE office_id = ?4 AND day = ?1 AND counter = ?2
             AND status IN ('called', 'serving')
         ORDER BY called_at DESC LIMIT 1",
        args![day.text(), counter, session, day.office],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(CounterTicket {
        ticket_id: r.get(0)?,
        number: r.get(1)?,
        service: r.get(2)?,
        status: r.get(3)?,
        priority: r.get(4)?,
        appointment: r.get(5)?,
        codice_fiscale: r.get(6)?,
    }))
}

/// The ticket currently called or being served at `counter`, as the clerk session
/// `session` (a session token's hash) may see it.
pub fn current<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    counter: &str,
    session: &str,
) -> Result<Option<CounterTicket>, ApiError> {
    current_in(sql.into(), day, counter, session)
}

/// The live clerk session other than `session` that holds `counter` of `office`, if any:
/// its clerk's name. A session is live until it expires or has been idle `idle_seconds`.
pub fn counter_holder<'c>(
    sql: impl Into<Sql<'c>>,
    office: OfficeId,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
    idle_seconds: i64,
) -> Result<Option<String>, ApiError> {
    let now = now.timestamp();
    // The idle limit is computed here: `?3 - ?4` leaves PostgreSQL to guess both types.
    let used_after = now.saturating_sub(idle_seconds);
    Ok(sql
        .into()
        .query_opt(
            "SELECT o.name FROM sessions s JOIN operators o ON o.id = s.operator_id
             WHERE s.counter = ?1 AND s.token_hash <> ?2 AND s.expires_at > ?3
               AND COALESCE(s.last_used_at, s.created_at) > ?4 AND o.office_id = ?5
             LIMIT 1",
            args![counter, session, now, used_after, office],
        )?
        .map(|r| r.get(0))
        .transpose()?)
}

fn no_current() -> ApiError {
    ApiError::conflict("no_current_ticket", "this counter has no called ticket")
}

/// Calls the next ticket for `services` to `counter`, by `clerk` (their login name, for
/// the reports); `None` when nobody is waiting.
#[allow(clippy::too_many_arguments)]
pub fn call_next<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    counter: &str,
    session: &str,
    clerk: &str,
    services: &[String],
    now: DateTime<Utc>,
) -> Result<Option<CounterTicket>, ApiError> {
    if services.is_empty() {
        return Err(ApiError::unprocessable(
            "no_services",
            "choose the services this counter serves first",
        ));
    }
    sql.into().write_transaction(|sql| {
        if let Some(open) = current_in(sql, day, counter, session)? {
            return Err(ApiError::conflict(
                "finish_current",
                format!(
                    "{} is still open at this counter: mark it served or no-show first",
                    open.number
                ),
            ));
        }
        // The services as parameters ?2, ?3, ... (one statement per count of services,
        // which the catalogue bounds).
        let listed: Vec<String> = (0..services.len()).map(|i| format!("?{}", i + 3)).collect();
        let mut values = vec![Value::from(day.text()), Value::from(day.office)];
        values.extend(services.iter().map(Value::from));
        let next: Option<String> = sql
            .query_opt(
                &format!(
                    "SELECT id FROM tickets WHERE office_id = ?2 AND day = ?1
                     AND status = 'waiting'
                     AND service IN ({})
                     ORDER BY {QUEUE_ORDER} LIMIT 1",
                    listed.join(", ")
                ),
                &values,
            )?
            .map(|r| r.get(0))
            .transpose()?;
        let Some(id) = next else {
            return Ok(None);
        };
        let changed = sql.execute(
            "UPDATE tickets SET status = 'called', counter = ?2, called_at = ?3, called_by = ?4,
                 first_called_at = COALESCE(first_called_at, ?3), clerk = ?5
             WHERE id = ?1 AND status = 'waiting'",
            args![id, counter, now.timestamp_millis(), session, clerk],
        )?;
        if changed != 1 {
            // Unreachable under the write lock; refuse rather than hand out a taken ticket.
            return Err(ApiError::conflict("busy", "the queue changed; call again"));
        }
        current_in(sql, day, counter, session)
    })
}

/// Calls the counter's current ticket again (the board shows it once more).
pub fn recall<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
) -> Result<CounterTicket, ApiError> {
    sql.into().write_transaction(|sql| {
        let ticket = current_in(sql, day, counter, session)?.ok_or_else(no_current)?;
        if ticket.status != "called" {
            return Err(ApiError::conflict(
                "already_serving",
                format!("{} is already at the counter", ticket.number),
            ));
        }
        sql.execute(
            "UPDATE tickets SET called_at = ?2 WHERE id = ?1",
            args![&ticket.ticket_id, now.timestamp_millis()],
        )?;
        Ok(ticket)
    })
}

/// The citizen has arrived at the counter: `called` -> `serving`.
pub fn start_serving<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    counter: &str,
    session: &str,
    now: DateTime<Utc>,
) -> Result<CounterTicket, ApiError> {
    sql.into().write_transaction(|sql| {
        let ticket = current_in(sql, day, counter, session)?.ok_or_else(no_current)?;
        sql.execute(
            "UPDATE tickets SET status = 'serving', serving_at = ?2
             WHERE id = ?1 AND status = 'called'",
            args![ticket.ticket_id, now.timestamp_millis()],
        )?;
        current_in(sql, day, counter, session)?.ok_or_else(no_current)
    })
}

/// Ends the counter's current ticket as served or no-show; a served ticket's time feeds
/// the service's moving average.
pub fn finish<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    counter: &str,
    session: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
    default_minutes: u32,
) -> Result<CounterTicket, ApiError> {
    sql.into().write_transaction(|sql| {
        let ticket = current_in(sql, day, counter, session)?.ok_or_else(no_current)?;
        let status = match outcome {
            Outcome::Done => "done",
            Outcome::NoShow => "no_show",
        };
        let started: i64 = sql
            .query_one(
                "SELECT coalesce(serving_at, called_at, ?2) FROM tickets WHERE id = ?1",
                args![&ticket.ticket_id, now.timestamp_millis()],
            )?
            .get(0)?;
        sql.execute(
            "UPDATE tickets SET status = ?2, finished_at = ?3 WHERE id = ?1",
            args![&ticket.ticket_id, status, now.timestamp_millis()],
        )?;
        if outcome == Outcome::Done {
            let seconds = (now.timestamp_millis() - started) as f64 / 1000.0;
            queue::record_service_time(sql, day.office, &ticket.service, seconds, default_minutes)?;
        }
        Ok(ticket)
    })
}

/// Sends the counter's current ticket to another service's queue. It keeps its number
/// and its place in time, so it is called before later arrivals there.
pub fn transfer<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
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
    let mut ticket = sql.into().write_transaction(|sql| {
        let ticket = current_in(sql, day, counter, session)?.ok_or_else(no_current)?;
        sql.execute(
            "UPDATE tickets SET status = 'waiting', service = ?2, counter = NULL,
                 called_at = NULL, serving_at = NULL, called_by = NULL,
                 transfers = transfers + 1
             WHERE id = ?1",
            args![&ticket.ticket_id, to_service],
        )?;
        Ok::<_, ApiError>(ticket)
    })?;
    ticket.service = to_service.to_string();
    ticket.status = "waiting".to_string();
    Ok(ticket)
}

/// Waiting tickets per service today, for the counter page.
pub fn waiting_counts<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    catalogue: &Catalogue,
) -> Result<Vec<(String, u32)>, ApiError> {
    let sql = sql.into();
    catalogue
        .services()
        .iter()
        .map(|s| Ok((s.code.clone(), queue::waiting(sql, day, &s.code)?)))
        .collect()
}
