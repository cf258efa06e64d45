//! Issuing tickets (online, offline from a band, appointment check-in) and reading them.
//!
//! One write transaction does everything for an `op_id`: the replay check, the number,
//! the ticket row, the appointment link and the stored response. A replay therefore gets
//! the very same body, and a crash between two steps leaves nothing half-done. [`issue`]
//! runs inside a transaction its caller owns: the hub's group commit
//! ([`super::writer`]), where it is one savepoint among the group's writes.
//!
//! One difference from the stored request is accepted: an op applied online whose answer
//! was lost, sent again with the `offline_number` the kiosk then printed. The ticket takes
//! that number (see [`issue`]); any other difference is a conflict.
//!
//! Written for both engines (`hub::sql`).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::appointments::cf_hash;
use super::auth::hex;
use super::error::ApiError;
use super::numbering::{EMERGENCY_SEQ_BASE, next_online};
use super::offices::{Day, Office, Offices};
use super::queue;
use super::sql::{Sql, args};
use super::withdraw::{VOID, WITHDRAWN_HASH};
use crate::catalogue::{Agency, Catalogue, Service};
use crate::config::hub::HoursConfig;
use crate::identity::codice_fiscale::Expected;
use crate::identity::{CfError, CodiceFiscale};
use crate::protocol::errors as code;
use crate::protocol::numbers::{format_emergency, format_number, parse_emergency, parse_number};
use crate::protocol::{IssueTicketRequest, TicketResponse, TicketStatus, TicketStatusResponse};

/// What issuing needs besides the request.
pub struct IssueContext<'a> {
    /// The kiosk sending the request.
    pub kiosk_id: &'a str,
    /// The services offered.
    pub catalogue: &'a Catalogue,
    /// The kiosk's office: its day, its numbers, its queues.
    pub office: &'a Office,
    /// The hub's current time.
    pub now: DateTime<Utc>,
    /// Default minutes per citizen, before real data.
    pub default_minutes: u32,
    /// Until when each service takes walk-in tickets.
    pub hours: &'a HoursConfig,
}

/// A ticket issued now (`replayed == false`, 201) or an earlier answer to the same op (200).
#[derive(Debug)]
pub struct Issued {
    /// The response body.
    pub ticket: TicketResponse,
    /// Whether this op_id had already been applied (also when this answer renumbered
    /// its ticket).
    pub replayed: bool,
}

/// Normalises an appointment code as printed on a booking (case and spaces ignored).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The request's hash and the hash of the same request without `offline_number`.
///
/// A codice fiscale enters them only as its keyed hash, so the stored hashes cannot be
/// searched for a code by someone without the database's key. `offline_number` is left
/// out of the serialised body when absent, so the two hashes are equal exactly when the
/// request had no offline number.
fn request_hashes(
    req: &IssueTicketRequest,
    cf_key: Option<&str>,
) -> Result<(String, String), ApiError> {
    let mut hashed = req.clone();
    hashed.codice_fiscale = cf_key.map(str::to_string);
    let digest = |r: &IssueTicketRequest| -> Result<String, ApiError> {
        let bytes = serde_json::to_vec(r).map_err(|e| ApiError::internal("request hash", e))?;
        Ok(hex(&Sha256::digest(bytes)))
    };
    let full = digest(&hashed)?;
    hashed.offline_number = None;
    let base = digest(&hashed)?;
    Ok((full, base))
}

fn check_lang(lang: &str) -> Result<(), ApiError> {
    let ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            code::BAD_LANG,
            "`lang` must be an ISO 639 code such as `it` or `en`",
        ))
    }
}

/// Parses the request's codice fiscale; the error says what is wrong without repeating
/// any character of it (error bodies end up in kiosk logs).
fn check_codice_fiscale(text: &str) -> Result<CodiceFiscale, ApiError> {
    text.parse::<CodiceFiscale>().map_err(|e| {
        let problem = match e {
            CfError::Empty => "it is empty".to_string(),
            CfError::TooShort { len } | CfError::TooLong { len } => {
                format!("it has {len} letters and digits instead of 16")
            }
            CfError::NotAlphanumeric { position, .. } => {
                format!("character {position} is not a letter or a digit")
            }
            CfError::WrongCharacter {
                position, expected, ..
            } => format!(
                "character {position} must be {}",
                match expected {
                    Expected::Letter => "a letter",
                    Expected::Digit => "a digit (or an omocode letter)",
                    Expected::MonthLetter => "a month letter",
                }
            ),
            CfError::InvalidDay { .. } => {
                "characters 10-11 are not a day of birth (01-31, or 41-71 for women)".to_string()
            }
            CfError::CheckLetter => "the check letter (character 16) does not match".to_string(),
        };
        ApiError::unprocessable(
            "bad_codice_fiscale",
            format!("`codice_fiscale` is not valid: {problem}"),
        )
    })
}

/// A booking of `day` made with this codice fiscale (keyed hash) and not yet checked in,
/// for `requested`, or for any service when `requested` is the front desk: (code, service).
fn booking_by_cf(
    sql: Sql<'_>,
    day: Day,
    requested: &Service,
    cf_key: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let any_service = requested.agency == Agency::Office;
    let Some(row) = sql.query_opt(
        "SELECT code, service FROM appointments
         WHERE office_id = ?5 AND day = ?1 AND cf_hash = ?2 AND ticket_id IS NULL
           AND (?3 OR service = ?4)
         ORDER BY time, code LIMIT 1",
        args![day.text(), cf_key, any_service, &requested.code, day.office],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((row.get(0)?, row.get(1)?)))
}

/// Applies `req` once.
///
/// Order of checks: the codice fiscale's form; the replay (same op_id: the stored body,
/// or a renumbering, or 409); language and service; the appointment, by code or else by
/// codice fiscale; service hours (walk-ins only: a check-in or a ticket already printed
/// offline is accepted after closing); then the number.
pub fn issue<'c>(
    sql: impl Into<Sql<'c>>,
    ctx: &IssueContext<'_>,
    req: &IssueTicketRequest,
) -> Result<Issued, ApiError> {
    let tx = sql.into();
    let codice_fiscale = req
        .codice_fiscale
        .as_deref()
        .map(check_codice_fiscale)
        .transpose()?;
    let cf_key = match &codice_fiscale {
        Some(cf) => Some(cf_hash(tx, cf)?),
        None => None,
    };
    let (hash, base_hash) = request_hashes(req, cf_key.as_deref())?;
    let previous = tx.query_opt(
        "SELECT kiosk_id, request_hash, base_hash, response FROM ops WHERE op_id = ?1",
        args![req.op_id.to_string()],
    )?;
    if let Some(row) = previous {
        let (kiosk, previous_hash): (String, String) = (row.get(0)?, row.get(1)?);
        let (previous_base, response): (Option<String>, String) = (row.get(2)?, row.get(3)?);
        let same_kiosk = kiosk == ctx.kiosk_id;
        if same_kiosk && previous_hash == WITHDRAWN_HASH {
            return Err(ApiError::conflict(
                code::OP_WITHDRAWN,
                format!(
                    "operation {} was withdrawn by its kiosk: its ticket was never handed over",
                    req.op_id
                ),
            ));
        }
        if same_kiosk && previous_hash == hash {
            let ticket: TicketResponse = serde_json::from_str(&response)
                .map_err(|e| ApiError::internal("stored response", e))?;
            return Ok(Issued {
                ticket,
                replayed: true,
            });
        }
        // Applied online (its hash equals its base hash), now sent with an offline
        // number and otherwise the same body: the answer was lost and the kiosk printed
        // a number from its band. The citizen holds that number, so the ticket takes it.
        let lost_online_answer = same_kiosk
            && req.offline_number.is_some()
            && previous_base.as_deref() == Some(previous_hash.as_str())
            && previous_base.as_deref() == Some(base_hash.as_str());
        if lost_online_answer {
            let stored: TicketResponse = serde_json::from_str(&response)
                .map_err(|e| ApiError::internal("stored response", e))?;
            return renumber(tx, ctx, req, stored, &hash);
        }
        return Err(ApiError::conflict(
            code::OP_ID_REUSED,
            format!(
                "operation {} was already applied with a different body",
                req.op_id
            ),
        ));
    }

    check_lang(&req.lang)?;
    let requested = ctx.catalogue.service(&req.service).ok_or_else(|| {
        ApiError::unprocessable(
            code::UNKNOWN_SERVICE,
            format!("service `{}` is not in the catalogue", req.service),
        )
    })?;
    let today = ctx.office.day_at(ctx.now);

    // An appointment check-in joins the booked service's queue.
    let mut service = requested;
    let mut appointment = None;
    if let Some(code) = &req.appointment {
        let code = normalise_code(code);
        let row = tx
            .query_opt(
                "SELECT service, ticket_id FROM appointments
                 WHERE office_id = ?3 AND day = ?1 AND code = ?2",
                args![today.text(), &code, today.office],
            )?
            .ok_or_else(|| {
                ApiError::unprocessable(
                    code::UNKNOWN_APPOINTMENT,
                    "no appointment with this code today",
                )
            })?;
        let (booked, ticket): (String, Option<String>) = (row.get(0)?, row.get(1)?);
        if ticket.is_some() {
            return Err(ApiError::conflict(
                code::APPOINTMENT_USED,
                "this appointment has already been checked in",
            ));
        }
        let booked_service = ctx.catalogue.service(&booked).ok_or_else(|| {
            ApiError::unprocessable(
                code::UNKNOWN_SERVICE,
                format!("the appointment's service `{booked}` is no longer offered"),
            )
        })?;
        if requested.code != booked_service.code && requested.agency != Agency::Office {
            return Err(ApiError::unprocessable(
                code::APPOINTMENT_SERVICE_MISMATCH,
                format!(
                    "the appointment is for `{booked}`, not `{}`",
                    requested.code
                ),
            ));
        }
        service = booked_service;
        appointment = Some(code);
    } else if let Some(key) = cf_key.as_ref().filter(|_| req.codice_fiscale_from_card) {
        // Identified by the health card without a code: a booking of today with the same
        // codice fiscale makes this a check-in, exactly as if the code had been typed. A
        // typed codice fiscale never does (security finding 7): it is no secret.
        if let Some((code, booked)) = booking_by_cf(tx, today, requested, key)?
            && let Some(booked_service) = ctx.catalogue.service(&booked)
        {
            service = booked_service;
            appointment = Some(code);
        }
    }

    let local = ctx.now.with_timezone(&ctx.office.tz).time();
    if appointment.is_none()
        && req.offline_number.is_none()
        && !ctx.hours.is_open(&requested.code, local)
    {
        let last = ctx
            .hours
            .last_ticket_for(&requested.code)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default();
        return Err(ApiError::unprocessable(
            code::SERVICE_CLOSED,
            format!(
                "service `{}` takes no more tickets today (last ticket at {last})",
                requested.code
            ),
        ));
    }

    let (number_service, day, seq, offline, issued_at, queued_at, number) =
        match &req.offline_number {
            None => {
                // A number can only be taken already if the catalogue gave this prefix to
                // another service earlier today (a config change and a restart): skip it.
                let seq = loop {
                    let seq = next_online(tx, today, &service.code)?;
                    if !number_taken(tx, today, &format_number(service.prefix, seq))? {
                        break seq;
                    }
                };
                let number = format_number(service.prefix, seq);
                (service, today, seq, false, ctx.now, ctx.now, number)
            }
            Some(number) => {
                let issued_at = req.issued_at.with_timezone(&Utc);
                let day = ctx.office.day_at(issued_at);
                // The kiosk printed the number from its band of the service it was asked
                // for; a check-in from the front desk still queues for the booked service.
                let seq = offline_seq(tx, ctx.kiosk_id, day, requested, number)?;
                // The citizen has waited since the kiosk printed the ticket, but the kiosk
                // clock is not trusted further than half a day back and never ahead.
                let queued_at = issued_at.clamp(ctx.now - TimeDelta::hours(12), ctx.now);
                (
                    requested,
                    day,
                    seq,
                    true,
                    issued_at,
                    queued_at,
                    number.clone(),
                )
            }
        };
    // Time-ordered (v7): each new ticket's id goes to the end of the id index. Without a
    // context the 74 bits after the milliseconds are all random (`now_v7` would put a
    // counter there, making the next ticket's id guessable from this one's): the
    // tracking page's ids stay unguessable.
    let ticket_id = Uuid::new_v7(uuid::Timestamp::now(uuid::NoContext));
    tx.execute(
        "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
             appointment, lang, kiosk_id, offline, status, issued_at, queued_at,
             codice_fiscale, op_id, office_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'waiting', ?12, ?13, ?14, ?15,
             ?16)",
        args![
            ticket_id.to_string(),
            day.text(),
            &number,
            seq,
            &number_service.code,
            &service.code,
            req.priority,
            appointment.clone(),
            &req.lang,
            ctx.kiosk_id,
            offline,
            issued_at.to_rfc3339(),
            queued_at.timestamp_millis(),
            codice_fiscale.as_ref().map(CodiceFiscale::as_str),
            req.op_id.to_string(),
            day.office,
        ],
    )?;
    if let Some(code) = &appointment {
        tx.execute(
            "UPDATE appointments SET ticket_id = ?3 WHERE office_id = ?4 AND day = ?1 AND code = ?2",
            args![today.text(), code, ticket_id.to_string(), today.office],
        )?;
    }
    let (position, eta_minutes) = estimate(tx, ctx, &ticket_id.to_string(), &service.code)?;
    let ticket = TicketResponse {
        ticket_id,
        number,
        service: service.code.clone(),
        priority: req.priority,
        position,
        eta_minutes,
        issued_at,
        day: day.date,
    };
    let response = serde_json::to_string(&ticket).map_err(|e| ApiError::internal("response", e))?;
    tx.execute(
        "INSERT INTO ops (op_id, kiosk_id, request_hash, base_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            req.op_id.to_string(),
            ctx.kiosk_id,
            hash,
            base_hash,
            response,
            ctx.now.to_rfc3339()
        ],
    )?;
    Ok(Issued {
        ticket,
        replayed: false,
    })
}

/// Position and estimated wait of a ticket now.
fn estimate(
    tx: Sql<'_>,
    ctx: &IssueContext<'_>,
    ticket_id: &str,
    service: &str,
) -> Result<(u32, u32), ApiError> {
    let position = queue::position(tx, ticket_id)?;
    let office = ctx.office.id;
    let average = queue::average_minutes(tx, office, service, ctx.default_minutes)?;
    let counters = queue::counters_open(tx, office, service, ctx.now.timestamp())?;
    Ok((position, queue::eta_minutes(position, average, counters)))
}

/// Gives the ticket of an op applied online the offline number the kiosk printed after
/// the answer was lost (see [`issue`]).
///
/// The number is checked like any offline number (this kiosk's band, the ticket's day,
/// the requested service, unused). The online number is retired: it is already below the
/// day's online counter and `retired_numbers` keeps any other path from reusing it. A
/// ticket called or marked no-show under the number nobody held waits again, keeping
/// its place in time. The stored answer and hash become the new ones, so replays of the
/// new body get this answer.
fn renumber(
    tx: Sql<'_>,
    ctx: &IssueContext<'_>,
    req: &IssueTicketRequest,
    stored: TicketResponse,
    hash: &str,
) -> Result<Issued, ApiError> {
    let Some(number) = req.offline_number.as_deref() else {
        return Err(ApiError::internal("renumber", "no offline number"));
    };
    let requested = ctx.catalogue.service(&req.service).ok_or_else(|| {
        ApiError::unprocessable(
            code::UNKNOWN_SERVICE,
            format!("service `{}` is not in the catalogue", req.service),
        )
    })?;
    let ticket_id = stored.ticket_id.to_string();
    let row = tx
        .query_opt(
            "SELECT day, number, service FROM tickets WHERE id = ?1",
            args![&ticket_id],
        )?
        .ok_or_else(|| ApiError::internal("renumber", "the op's ticket is missing"))?;
    let (day_text, online_number, service): (String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    let date: NaiveDate = day_text
        .parse()
        .map_err(|e| ApiError::internal("ticket day", e))?;
    let day = ctx.office.day(date);
    let seq = offline_seq(tx, ctx.kiosk_id, day, requested, number)?;
    tx.execute(
        "INSERT INTO retired_numbers (office_id, day, number, ticket_id, retired_at)
         VALUES (?5, ?1, ?2, ?3, ?4)",
        args![
            &day_text,
            &online_number,
            &ticket_id,
            ctx.now.to_rfc3339(),
            day.office
        ],
    )?;
    // SET expressions read the row as it was, so every CASE sees the old status.
    tx.execute(
        "UPDATE tickets SET number = ?2, seq = ?3, number_service = ?4, offline = 1,
             status = CASE WHEN status IN ('called', 'no_show') THEN 'waiting' ELSE status END,
             counter = CASE WHEN status IN ('called', 'no_show') THEN NULL ELSE counter END,
             called_at = CASE WHEN status IN ('called', 'no_show') THEN NULL ELSE called_at END,
             finished_at = CASE WHEN status IN ('called', 'no_show') THEN NULL ELSE finished_at END
         WHERE id = ?1",
        args![&ticket_id, number, seq, &requested.code],
    )?;
    let (position, eta_minutes) = estimate(tx, ctx, &ticket_id, &service)?;
    let ticket = TicketResponse {
        number: number.to_string(),
        position,
        eta_minutes,
        ..stored
    };
    let response = serde_json::to_string(&ticket).map_err(|e| ApiError::internal("response", e))?;
    tx.execute(
        "UPDATE ops SET request_hash = ?2, response = ?3 WHERE op_id = ?1",
        args![req.op_id.to_string(), hash, response],
    )?;
    tracing::info!(
        kiosk = ctx.kiosk_id,
        from = %online_number,
        to = %number,
        "online answer lost: ticket renumbered to the kiosk's offline number"
    );
    Ok(Issued {
        ticket,
        replayed: true,
    })
}

/// Checks an offline number against the kiosk's bands and returns its sequence number.
fn offline_seq(
    tx: Sql<'_>,
    kiosk_id: &str,
    day: Day,
    service: &Service,
    number: &str,
) -> Result<u16, ApiError> {
    if let Some((prefix, tag, n)) = parse_emergency(number) {
        return emergency_seq(tx, kiosk_id, day, service, number, prefix, &tag, n);
    }
    let (prefix, seq) = parse_number(number).ok_or_else(|| {
        ApiError::unprocessable(
            code::BAD_OFFLINE_NUMBER,
            "`offline_number` must be a prefix letter and three digits (e.g. N995), \
             or an emergency number (e.g. N-A01)",
        )
    })?;
    if prefix != service.prefix {
        return Err(ApiError::unprocessable(
            code::BAD_OFFLINE_NUMBER,
            format!(
                "`{number}` does not have the prefix `{}` of service `{}`",
                service.prefix, service.code
            ),
        ));
    }
    let leased: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3
                 AND first <= ?4 AND last >= ?4)",
            args![kiosk_id, day.text(), &service.code, seq],
        )?
        .get(0)?;
    if !leased {
        return Err(ApiError::unprocessable(
            code::NUMBER_NOT_LEASED,
            format!(
                "`{number}` is not in a band leased to this kiosk for {}",
                day.date
            ),
        ));
    }
    ensure_unused(tx, day, number)?;
    Ok(seq)
}

/// Checks an emergency number (`N-A01`: the kiosk had no band left) and returns the
/// sequence stored for it: 1000 + n, outside every band and every online number.
#[allow(clippy::too_many_arguments)]
fn emergency_seq(
    tx: Sql<'_>,
    kiosk_id: &str,
    day: Day,
    service: &Service,
    number: &str,
    prefix: char,
    tag: &str,
    n: u16,
) -> Result<u16, ApiError> {
    if prefix != service.prefix {
        return Err(ApiError::unprocessable(
            code::BAD_OFFLINE_NUMBER,
            format!(
                "`{number}` does not have the prefix `{}` of service `{}`",
                service.prefix, service.code
            ),
        ));
    }
    let own: Option<String> =
        match tx.query_opt("SELECT tag FROM kiosks WHERE id = ?1", args![kiosk_id])? {
            Some(row) => row.get(0)?,
            None => None,
        };
    if own.as_deref() != Some(tag) {
        return Err(ApiError::unprocessable(
            code::NUMBER_NOT_LEASED,
            format!("`{number}` does not carry this kiosk's tag"),
        ));
    }
    ensure_unused(tx, day, number)?;
    Ok(EMERGENCY_SEQ_BASE + n)
}

/// Whether `number` was used on `day`: by a ticket, or retired by a renumbering.
/// `number_taken` (409) when another operation already used `number` on `day`.
fn ensure_unused(tx: Sql<'_>, day: Day, number: &str) -> Result<(), ApiError> {
    if number_taken(tx, day, number)? {
        return Err(ApiError::conflict(
            code::NUMBER_TAKEN,
            format!(
                "`{number}` was already used on {} by another operation",
                day.date
            ),
        ));
    }
    Ok(())
}

pub(super) fn number_taken<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    number: &str,
) -> Result<bool, ApiError> {
    Ok(sql
        .into()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM tickets
                            WHERE office_id = ?3 AND day = ?1 AND number = ?2)
                 OR EXISTS (SELECT 1 FROM retired_numbers
                            WHERE office_id = ?3 AND day = ?1 AND number = ?2)",
            args![day.text(), number, day.office],
        )?
        .get(0)?)
}

/// The ticket a reference names: a ticket id, or the op_id of the kiosk operation that
/// issued it (the kiosk's tracking id, known even for a ticket printed offline).
pub fn find_by_ref<'c>(
    sql: impl Into<Sql<'c>>,
    reference: Uuid,
) -> Result<Option<String>, ApiError> {
    let row = sql.into().query_opt(
        "SELECT id FROM tickets WHERE id = ?1
         UNION ALL SELECT id FROM tickets WHERE op_id = ?1
         LIMIT 1",
        args![reference.to_string()],
    )?;
    Ok(row.map(|r| r.get(0)).transpose()?)
}

/// Parses a display number typed by a person (`n007` is `N007`); 400 when malformed.
pub fn parse_display_number(text: &str) -> Result<String, ApiError> {
    let upper = text.trim().to_ascii_uppercase();
    if let Some((prefix, tag, n)) = parse_emergency(&upper) {
        return Ok(format_emergency(prefix, &tag, n));
    }
    match parse_number(&upper) {
        Some((prefix, seq)) => Ok(format_number(prefix, seq)),
        None => Err(ApiError::bad_request(
            code::BAD_NUMBER,
            "a ticket number is a letter and three digits (e.g. N007), or an emergency number (e.g. N-A01)",
        )),
    }
}

/// The ticket with display number `number` (already normalised) on `day`.
pub fn find_by_number<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    number: &str,
) -> Result<Option<String>, ApiError> {
    let row = sql.into().query_opt(
        "SELECT id FROM tickets WHERE office_id = ?3 AND day = ?1 AND number = ?2",
        args![day.text(), number, day.office],
    )?;
    Ok(row.map(|r| r.get(0)).transpose()?)
}

/// What a status look-up needs besides the ticket.
#[derive(Debug, Clone, Copy)]
pub struct StatusContext<'a> {
    /// The offices (a ticket still waiting after its office's day read as cancelled).
    pub offices: &'a Offices,
    /// The hub's current time (which counters are open).
    pub now: DateTime<Utc>,
    /// Default minutes per citizen, before real data.
    pub default_minutes: u32,
}

/// A ticket's current state. A ticket still waiting when its day is over is `cancelled`.
pub fn status<'c>(
    sql: impl Into<Sql<'c>>,
    ticket_id: &str,
    ctx: StatusContext<'_>,
) -> Result<TicketStatusResponse, ApiError> {
    let conn = sql.into();
    let unknown = || ApiError::not_found(code::UNKNOWN_TICKET, "no such ticket");
    let row = conn
        .query_opt(
            "SELECT number, status, service, counter, day, priority, office_id
             FROM tickets WHERE id = ?1",
            args![ticket_id],
        )?
        .ok_or_else(unknown)?;
    let (number, status, service): (String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    let (counter, day, priority): (Option<String>, String, bool) =
        (row.get(3)?, row.get(4)?, row.get(5)?);
    let id = Uuid::parse_str(ticket_id).map_err(|e| ApiError::internal("ticket id", e))?;
    // Withdrawn by its kiosk: to anyone asking, it will never be served.
    let stored = if status == VOID { "cancelled" } else { &status };
    let mut status = TicketStatus::parse(stored)
        .ok_or_else(|| ApiError::internal("ticket status", format!("stored `{status}`")))?;
    let office = ctx.offices.get(conn, row.get(6)?)?;
    let past = day < office.day_at(ctx.now).text();
    if past && matches!(status, TicketStatus::Waiting | TicketStatus::Called) {
        status = TicketStatus::Cancelled;
    }
    let (position, eta_minutes) = if status == TicketStatus::Waiting {
        let position = queue::position(conn, ticket_id)?;
        let average = queue::average_minutes(conn, office.id, &service, ctx.default_minutes)?;
        let counters = queue::counters_open(conn, office.id, &service, ctx.now.timestamp())?;
        (position, queue::eta_minutes(position, average, counters))
    } else {
        (0, 0)
    };
    Ok(TicketStatusResponse {
        ticket_id: id,
        number,
        status,
        priority,
        position,
        eta_minutes,
        counter,
        service,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hub::store::Db;

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

    /// Issues `req` as the hub's handler does: a grouped write.
    async fn issue_grouped(
        db: &Db,
        catalogue: &Arc<Catalogue>,
        hours: &Arc<HoursConfig>,
        req: IssueTicketRequest,
    ) -> Result<Issued, ApiError> {
        let (catalogue, hours) = (catalogue.clone(), hours.clone());
        db.write_grouped(move |conn| {
            let ctx = IssueContext {
                kiosk_id: "k-1",
                catalogue: &catalogue,
                office: &crate::hub::offices::configured(
                    &crate::config::hub::HubConfig::default(),
                    chrono_tz::Europe::Rome,
                ),
                now: Utc::now(),
                default_minutes: 10,
                hours: &hours,
            };
            issue(conn, &ctx, &req)
        })
        .await
    }

    /// The writer is held by an alone write until everything below is queued, so all of
    /// it lands in one group: the same op three times, a reused op_id with another body,
    /// an unknown service, and good tickets around them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_group_applies_each_op_once_and_fails_only_the_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.sqlite").as_path().into()).unwrap();
        let catalogue = Arc::new(Catalogue::builtin());
        let hours = Arc::new(HoursConfig::default());
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let held = db.clone();
        let blocker = tokio::spawn(async move {
            held.write(move |_| {
                let _ = hold.recv();
                Ok(())
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;

        let twice = request("naspi");
        let mut reused = twice.clone();
        reused.service = "isee".into();
        let requests = vec![
            request("naspi"),
            twice.clone(),
            twice.clone(),
            reused,
            request("no-such-service"),
            twice.clone(),
            request("naspi"),
        ];
        // join_all polls them in order, so they are queued in this order.
        let sends = futures_util::future::join_all(
            requests
                .into_iter()
                .map(|req| issue_grouped(&db, &catalogue, &hours, req)),
        );
        let (commits_before, _) = db.group_commit_stats();
        let release_later = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            release.send(()).unwrap();
        };
        let (results, ()) = tokio::join!(sends, release_later);
        blocker.await.unwrap().unwrap();
        let (commits_after, writes) = db.group_commit_stats();
        assert_eq!(
            (commits_after - commits_before, writes),
            (1, 7),
            "one group"
        );

        let number = |i: usize| results[i].as_ref().unwrap().ticket.number.clone();
        assert_eq!(number(0), "N001");
        let first = results[1].as_ref().unwrap();
        assert!(!first.replayed);
        assert_eq!(first.ticket.number, "N002");
        for i in [2, 5] {
            let again = results[i].as_ref().unwrap();
            assert!(again.replayed, "a replay inside the group");
            assert_eq!(again.ticket, first.ticket, "the very same body");
        }
        assert_eq!(results[3].as_ref().unwrap_err().code, code::OP_ID_REUSED);
        assert_eq!(results[4].as_ref().unwrap_err().code, code::UNKNOWN_SERVICE);
        assert_eq!(number(6), "N003", "no gap left by the failures");
    }
}
