//! Issuing tickets (online, offline from a band, appointment check-in) and reading them.
//!
//! One write transaction does everything for an `op_id`: the replay check, the number,
//! the ticket row, the appointment link and the stored response. A replay therefore gets
//! the very same body, and a crash between two steps leaves nothing half-done.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::api::{IssueTicketRequest, TicketResponse, TicketStatus, TicketStatusResponse};
use super::auth::hex;
use super::clock::office_day;
use super::error::ApiError;
use super::numbering::{format_number, next_online, parse_number};
use super::queue;
use crate::catalogue::{Agency, Catalogue};

/// What issuing needs besides the request.
pub struct IssueContext<'a> {
    /// The kiosk sending the request.
    pub kiosk_id: &'a str,
    /// The services offered.
    pub catalogue: &'a Catalogue,
    /// The office's time zone.
    pub tz: Tz,
    /// The hub's current time.
    pub now: DateTime<Utc>,
    /// Default minutes per citizen, before real data.
    pub default_minutes: u32,
}

/// A ticket issued now (`replayed == false`, 201) or an earlier answer to the same op (200).
pub struct Issued {
    /// The response body.
    pub ticket: TicketResponse,
    /// Whether this op_id had already been applied.
    pub replayed: bool,
}

/// Normalises an appointment code as printed on a booking (case and spaces ignored).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn request_hash(req: &IssueTicketRequest) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(req).map_err(|e| ApiError::internal("request hash", e))?;
    Ok(hex(&Sha256::digest(bytes)))
}

fn check_lang(lang: &str) -> Result<(), ApiError> {
    let ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "bad_lang",
            "`lang` must be an ISO 639 code such as `it` or `en`",
        ))
    }
}

/// Applies `req` once; see the module documentation.
pub fn issue(
    conn: &mut Connection,
    ctx: &IssueContext<'_>,
    req: &IssueTicketRequest,
) -> Result<Issued, ApiError> {
    let hash = request_hash(req)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let previous: Option<(String, String, String)> = tx
        .query_row(
            "SELECT kiosk_id, request_hash, response FROM ops WHERE op_id = ?1",
            [req.op_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((kiosk, previous_hash, response)) = previous {
        if kiosk != ctx.kiosk_id || previous_hash != hash {
            return Err(ApiError::conflict(
                "op_id_reused",
                format!(
                    "operation {} was already applied with a different body",
                    req.op_id
                ),
            ));
        }
        let ticket: TicketResponse = serde_json::from_str(&response)
            .map_err(|e| ApiError::internal("stored response", e))?;
        return Ok(Issued {
            ticket,
            replayed: true,
        });
    }

    check_lang(&req.lang)?;
    let requested = ctx.catalogue.service(&req.service).ok_or_else(|| {
        ApiError::unprocessable(
            "unknown_service",
            format!("service `{}` is not in the catalogue", req.service),
        )
    })?;
    let today = office_day(ctx.now, ctx.tz);

    // An appointment check-in joins the booked service's queue.
    let mut service = requested;
    let mut appointment = None;
    if let Some(code) = &req.appointment {
        let code = normalise_code(code);
        let row: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT service, ticket_id FROM appointments WHERE day = ?1 AND code = ?2",
                params![today.to_string(), code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (booked, ticket) = row.ok_or_else(|| {
            ApiError::unprocessable("unknown_appointment", "no appointment with this code today")
        })?;
        if ticket.is_some() {
            return Err(ApiError::conflict(
                "appointment_used",
                "this appointment has already been checked in",
            ));
        }
        let booked_service = ctx.catalogue.service(&booked).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_service",
                format!("the appointment's service `{booked}` is no longer offered"),
            )
        })?;
        if requested.code != booked_service.code && requested.agency != Agency::Office {
            return Err(ApiError::unprocessable(
                "appointment_service_mismatch",
                format!(
                    "the appointment is for `{booked}`, not `{}`",
                    requested.code
                ),
            ));
        }
        service = booked_service;
        appointment = Some(code);
    }

    let (day, seq, offline, issued_at, queued_at) = match &req.offline_number {
        None => {
            // A number can only be taken already if the catalogue gave this prefix to
            // another service earlier today (a config change and a restart): skip it.
            let seq = loop {
                let seq = next_online(&tx, today, &service.code)?;
                if !number_taken(&tx, today, &format_number(service.prefix, seq))? {
                    break seq;
                }
            };
            (today, seq, false, ctx.now, ctx.now)
        }
        Some(number) => {
            let issued_at = req.issued_at.with_timezone(&Utc);
            let day = office_day(issued_at, ctx.tz);
            let seq = offline_seq(&tx, ctx.kiosk_id, day, service, number)?;
            // The citizen has waited since the kiosk printed the ticket, but the kiosk
            // clock is not trusted further than half a day back and never ahead.
            let queued_at = issued_at.clamp(ctx.now - TimeDelta::hours(12), ctx.now);
            (day, seq, true, issued_at, queued_at)
        }
    };
    let number = format_number(service.prefix, seq);
    let ticket_id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
             appointment, lang, kiosk_id, offline, status, issued_at, queued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, 'waiting', ?11, ?12)",
        params![
            ticket_id.to_string(),
            day.to_string(),
            number,
            seq,
            service.code,
            req.priority,
            appointment,
            req.lang,
            ctx.kiosk_id,
            offline,
            issued_at.to_rfc3339(),
            queued_at.timestamp_millis(),
        ],
    )?;
    if let Some(code) = &appointment {
        tx.execute(
            "UPDATE appointments SET ticket_id = ?3 WHERE day = ?1 AND code = ?2",
            params![today.to_string(), code, ticket_id.to_string()],
        )?;
    }
    let position = queue::position(&tx, &ticket_id.to_string())?;
    let average = queue::average_minutes(&tx, &service.code, ctx.default_minutes)?;
    let counters = queue::counters_open(&tx, &service.code, ctx.now.timestamp())?;
    let ticket = TicketResponse {
        ticket_id,
        number,
        service: service.code.clone(),
        priority: req.priority,
        position,
        eta_minutes: queue::eta_minutes(position, average, counters),
        issued_at,
        day,
    };
    let response = serde_json::to_string(&ticket).map_err(|e| ApiError::internal("response", e))?;
    tx.execute(
        "INSERT INTO ops (op_id, kiosk_id, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            req.op_id.to_string(),
            ctx.kiosk_id,
            hash,
            response,
            ctx.now.to_rfc3339()
        ],
    )?;
    tx.commit()?;
    Ok(Issued {
        ticket,
        replayed: false,
    })
}

/// Checks an offline number against the kiosk's bands and returns its sequence number.
fn offline_seq(
    tx: &rusqlite::Transaction<'_>,
    kiosk_id: &str,
    day: NaiveDate,
    service: &crate::catalogue::Service,
    number: &str,
) -> Result<u16, ApiError> {
    let (prefix, seq) = parse_number(number).ok_or_else(|| {
        ApiError::unprocessable(
            "bad_offline_number",
            "`offline_number` must be a prefix letter and three digits, e.g. N995",
        )
    })?;
    if prefix != service.prefix {
        return Err(ApiError::unprocessable(
            "bad_offline_number",
            format!(
                "`{number}` does not have the prefix `{}` of service `{}`",
                service.prefix, service.code
            ),
        ));
    }
    let leased: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3
             AND first <= ?4 AND last >= ?4)",
        params![kiosk_id, day.to_string(), service.code, seq],
        |r| r.get(0),
    )?;
    if !leased {
        return Err(ApiError::unprocessable(
            "number_not_leased",
            format!("`{number}` is not in a band leased to this kiosk for {day}"),
        ));
    }
    if number_taken(tx, day, number)? {
        return Err(ApiError::conflict(
            "number_taken",
            format!("`{number}` was already used on {day} by another operation"),
        ));
    }
    Ok(seq)
}

fn number_taken(
    tx: &rusqlite::Transaction<'_>,
    day: NaiveDate,
    number: &str,
) -> Result<bool, ApiError> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM tickets WHERE day = ?1 AND number = ?2)",
        params![day.to_string(), number],
        |r| r.get(0),
    )?)
}

/// A ticket's current state. A ticket still waiting when its day is over is `cancelled`.
pub fn status(
    conn: &Connection,
    ticket_id: Uuid,
    today: NaiveDate,
) -> Result<TicketStatusResponse, ApiError> {
    let row: Option<(String, String, String, Option<String>, String)> = conn
        .query_row(
            "SELECT number, status, service, counter, day FROM tickets WHERE id = ?1",
            [ticket_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (number, status, service, counter, day) =
        row.ok_or_else(|| ApiError::not_found("unknown_ticket", "no ticket with this id"))?;
    let mut status = TicketStatus::parse(&status)
        .ok_or_else(|| ApiError::internal("ticket status", format!("stored `{status}`")))?;
    let past = day < today.to_string();
    if past && matches!(status, TicketStatus::Waiting | TicketStatus::Called) {
        status = TicketStatus::Cancelled;
    }
    let position = if status == TicketStatus::Waiting {
        queue::position(conn, &ticket_id.to_string())?
    } else {
        0
    };
    Ok(TicketStatusResponse {
        number,
        status,
        position,
        counter,
        service,
    })
}
