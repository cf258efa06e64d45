//! Handlers of the kiosk API under `/api/v1` (bodies in [`super::api`]).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::auth::{KioskAuth, new_token, token_hash};
use super::bands;
use super::carried;
use super::error::{ApiError, ApiJson};
use super::offices::{CONFIGURED_OFFICE, Office};
use super::queue;
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use super::tickets::{self, IssueContext, StatusContext};
use super::updates;
use super::withdraw;
use crate::catalogue::Catalogue;
use crate::config::hub::HubConfig;
use crate::lang::Lang;
use crate::protocol::errors as code;
use crate::protocol::{
    BandsRequest, BandsResponse, CatalogueResponse, EnrollRequest, EnrollResponse,
    HeartbeatRequest, HeartbeatResponse, IssueTicketRequest, QueueInfo, QueuesResponse,
    TicketStatusResponse, WithdrawOutcome, WithdrawRequest, WithdrawResponse,
};

/// `POST /api/v1/kiosks/enroll`.
///
/// A token works once, within [`ENROLLMENT_TOKEN_DAYS`] of its making, with one
/// exception: if the kiosk it enrolled has not sent a heartbeat since, the same token enrolls
/// it again for [`ENROLL_AGAIN_MINUTES`] after the first use (same kiosk id and tag, a new
/// kiosk token; the first one stops working). A kiosk that lost the hub's answer, or was
/// killed before it stored the token, would otherwise need a new token from a maintainer;
/// the window is short so that whoever copies a card's token later cannot take the kiosk
/// over (security finding 13).
///
/// A kiosk that already belonged to a hub sends `previous` (`hub::carried`): this hub gives
/// it back its own row when it knows the old kiosk token, and otherwise keeps its tag when
/// free and takes the offline numbers it printed and never delivered.
pub async fn enroll(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<Response, ApiError> {
    let name = req.name.unwrap_or_default();
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "bad_name",
            "`name` must be at most 64 printable characters",
        ));
    }
    if let Some(previous) = &req.previous {
        carried::check(previous)?;
    }
    let previous = req.previous;
    let full = state.catalogue.clone();
    let offices = state.offices.clone();
    let hash = token_hash(req.enrollment_token.trim());
    let now_at = state.now();
    let now = now_at.to_rfc3339();
    let token = new_token();
    let kiosk_token_hash = token_hash(&token);
    let new_id = format!("k-{}", &new_token()[..10]);
    let enrolled = state
        .db
        .write(move |conn| {
            Sql::from(&*conn).write_transaction(|tx| {
                let found: Option<(String, Option<String>, Option<String>, i64)> = match tx
                    .query_opt(
                        "SELECT created_at, used_at, kiosk_id, office_id FROM enrollment_tokens
                         WHERE token_hash = ?1",
                        args![&hash],
                    )? {
                    Some(row) => Some((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                    None => None,
                };
                // The office the token was made for: the kiosk belongs to it.
                let office = match &found {
                    Some((.., office)) => Some(offices.get(tx, *office)?),
                    None => None,
                };
                let age = |at: &str| {
                    chrono::DateTime::parse_from_rfc3339(at)
                        .map(|at| now_at.signed_duration_since(at))
                        .unwrap_or(chrono::TimeDelta::MAX)
                };
                let found = found.map(|(created, used, kiosk, _)| {
                    let fresh = age(&created) <= chrono::TimeDelta::days(ENROLLMENT_TOKEN_DAYS);
                    let again_open = used.as_deref().is_some_and(|used| {
                        age(used) <= chrono::TimeDelta::minutes(ENROLL_AGAIN_MINUTES)
                    });
                    (fresh, used, again_open, kiosk)
                });
                let enrolled = match found {
                    Some((false, None, _, _)) => return Err(expired_token()),
                    Some((true, None, _, _)) => {
                        let returning = match &previous {
                            Some(previous) => carried::known_kiosk(tx, &previous.kiosk_token)?,
                            None => None,
                        };
                        let enrolled = match returning {
                            Some((kiosk_id, tag)) => {
                                give_token(tx, &kiosk_id, &kiosk_token_hash)?;
                                Enrolled {
                                    kiosk_id,
                                    tag,
                                    again: false,
                                    returning: true,
                                    refused: Vec::new(),
                                }
                            }
                            None => {
                                let name = if name.trim().is_empty() {
                                    new_id.clone()
                                } else {
                                    name
                                };
                                let wanted_tag = previous.as_ref().and_then(|p| p.tag.as_deref());
                                let tag = carried::tag_for(tx, wanted_tag)?;
                                let office = office.clone().ok_or_else(used_token)?;
                                tx.execute(
                                    "INSERT INTO kiosks (id, name, token_hash, enrolled_at, tag,
                                         office_id)
                                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                    args![&new_id, name, &kiosk_token_hash, &now, &tag, office.id],
                                )?;
                                let refused = match &previous {
                                    Some(previous) => carried::adopt(
                                        tx,
                                        &new_id,
                                        &offices.catalogue(&office, &full),
                                        &office,
                                        &previous.numbers,
                                        now_at,
                                    )?,
                                    None => Vec::new(),
                                };
                                Enrolled {
                                    kiosk_id: new_id.clone(),
                                    tag,
                                    again: false,
                                    returning: false,
                                    refused,
                                }
                            }
                        };
                        tx.execute(
                            "UPDATE enrollment_tokens SET used_at = ?2, kiosk_id = ?3
                         WHERE token_hash = ?1",
                            args![&hash, &now, &enrolled.kiosk_id],
                        )?;
                        enrolled
                    }
                    Some((_, Some(used_at), true, Some(kiosk_id))) => {
                        // Not heard from since this token enrolled it: a new kiosk that never
                        // reported, or one that came back to its restored hub (`hub::carried`)
                        // and lost that answer, its old kiosk token already replaced.
                        let kiosk = tx.query_opt(
                            "SELECT tag, last_heartbeat FROM kiosks WHERE id = ?1",
                            args![&kiosk_id],
                        )?;
                        let (tag, last_heartbeat): (Option<String>, Option<String>) = match kiosk {
                            Some(row) => (row.get(0)?, row.get(1)?),
                            None => return Err(used_token()),
                        };
                        // Both are RFC 3339 times the hub wrote; compared as instants.
                        let instant = |at: &str| chrono::DateTime::parse_from_rfc3339(at).ok();
                        let never_heard = match last_heartbeat.as_deref() {
                            None => true,
                            Some(last) => matches!(
                                (instant(last), instant(&used_at)),
                                (Some(last), Some(used)) if last < used
                            ),
                        };
                        let (true, Some(tag)) = (never_heard, tag) else {
                            return Err(used_token());
                        };
                        give_token(tx, &kiosk_id, &kiosk_token_hash)?;
                        Enrolled {
                            kiosk_id,
                            tag,
                            again: true,
                            returning: false,
                            refused: Vec::new(),
                        }
                    }
                    _ => return Err(used_token()),
                };
                Ok(enrolled)
            })
        })
        .await?;
    let Enrolled {
        kiosk_id,
        tag,
        again,
        returning,
        refused,
    } = enrolled;
    state.kiosk_tokens.forget(&kiosk_id);
    if returning {
        tracing::warn!(kiosk = %kiosk_id, %tag, "kiosk enrolled again with a new token and proved it was this kiosk: same id, tag and bands; its earlier kiosk token stops working");
    } else if again {
        tracing::warn!(kiosk = %kiosk_id, %tag, "kiosk enrolled again with its token (it never reported with the first answer); its earlier kiosk token stops working");
    } else {
        tracing::info!(kiosk = %kiosk_id, %tag, "kiosk enrolled");
    }
    state.saw_kiosk(&kiosk_id);
    let status = if again {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(EnrollResponse {
            kiosk_id,
            token,
            tag,
            refused_numbers: refused,
        }),
    )
        .into_response())
}

/// What an enrollment gave: the kiosk, its tag, and whether it was a repeat.
struct Enrolled {
    kiosk_id: String,
    tag: String,
    again: bool,
    /// A kiosk this hub knew by its previous kiosk token (`hub::carried`).
    returning: bool,
    /// Carried numbers this hub could not take.
    refused: Vec<String>,
}

/// How long an unused enrollment token works after `kiosk enroll-token` made it: long
/// enough for a provisioned card to reach its kiosk, short enough that a forgotten card or
/// printout stops being a key to the fleet.
pub const ENROLLMENT_TOKEN_DAYS: i64 = 30;

/// How long after its first use a token may enrol its kiosk again (while that kiosk has
/// never reported): a kiosk that lost the answer retries within seconds.
pub const ENROLL_AGAIN_MINUTES: i64 = 10;

fn expired_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        code::INVALID_ENROLLMENT_TOKEN,
        format!(
            "this enrollment token is older than {ENROLLMENT_TOKEN_DAYS} days: make a new one \
             (sportello hub kiosk enroll-token)"
        ),
    )
}

fn used_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        code::INVALID_ENROLLMENT_TOKEN,
        "unknown or already used enrollment token: ask for a new one",
    )
}

/// What `GET /api/v1/catalogue` answers for the configured office (the hub computes
/// its ETag once, at start).
pub fn catalogue_response(config: &HubConfig, catalogue: &Catalogue) -> CatalogueResponse {
    CatalogueResponse {
        office_name: config.office_name.clone(),
        time_zone: config.time_zone.clone(),
        services: catalogue.services().to_vec(),
        waiting_areas: config.waiting.areas(catalogue),
    }
}

/// The catalogue's ETag for a kiosk of `office`: the configured office's as computed at
/// start; another office's also covers its name and time zone, which its body carries.
pub fn catalogue_etag(state: &AppState, office: &Office) -> String {
    if office.id == CONFIGURED_OFFICE {
        return state.catalogue_etag.to_string();
    }
    let mixed = format!(
        "{}\n{}\n{}\n{:?}",
        state.catalogue_etag, office.name, office.time_zone, office.services
    );
    format!("\"{}\"", &token_hash(&mixed)[..32])
}

/// The catalogue body and its ETag, computed once at start.
pub fn catalogue_body(state_catalogue: &CatalogueResponse) -> (String, String) {
    let body = serde_json::to_string(state_catalogue).unwrap_or_default();
    let etag = format!("\"{}\"", &token_hash(&body)[..32]);
    (body, etag)
}

/// `?languages=it,en,fr`: the languages a kiosk can read, with Italian and English
/// always (unknown codes ignored). Kiosks from before languages were data send none and
/// get Italian and English only, the two they can parse.
fn catalogue_languages(query: Option<&str>) -> Vec<Lang> {
    let mut langs = vec![Lang::IT, Lang::EN];
    let named = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "languages")
        .map(|(_, value)| value.into_owned())
        .collect::<Vec<_>>()
        .join(",");
    for lang in named
        .split(',')
        .take(64)
        .filter_map(|c| c.parse::<Lang>().ok())
    {
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    langs
}

/// `GET /api/v1/catalogue`, honouring `If-None-Match`; names and descriptions only in
/// the languages the kiosk asked for. The ETag is the full catalogue's: a kiosk always
/// asks for the same languages, so it stays a faithful "has anything changed".
pub async fn catalogue(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let etag = catalogue_etag(&state, &kiosk.office);
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response();
    }
    let mut body = catalogue_response(&state.config, &state.catalogue_of(&kiosk.office));
    body.office_name = kiosk.office.name.clone();
    body.time_zone = kiosk.office.time_zone.clone();
    let langs = catalogue_languages(query.as_deref());
    for service in &mut body.services {
        service.keep_languages(&langs);
    }
    (StatusCode::OK, [(ETAG, etag)], Json(body)).into_response()
}

/// `POST /api/v1/tickets`: 201 when issued now, 200 for a replay (or a renumbering).
pub async fn issue_ticket(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<IssueTicketRequest>,
) -> Result<Response, ApiError> {
    // Numbers printed offline were leased in advance: only online numbering is limited.
    if req.offline_number.is_none()
        && let Err(seconds) = state.issue_limit.take(&kiosk.kiosk_id, state.now())
    {
        tracing::warn!(kiosk = %kiosk.kiosk_id, "kiosk over its online ticket rate: 429");
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            code::TOO_MANY_TICKETS,
            format!("more online tickets than a kiosk can print: number it from a band (retry in {seconds} s)"),
        )
        .into_response();
        if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let st = state.clone();
    let office_code = kiosk.office.code.clone();
    // Tickets come in bursts (a queue of kiosks at opening time): group commit.
    let issued = state
        .db
        .write_grouped(move |conn| {
            let ctx = IssueContext {
                kiosk_id: &kiosk.kiosk_id,
                catalogue: &st.catalogue_of(&kiosk.office),
                office: &kiosk.office,
                now: st.now(),
                default_minutes: st.config.queue.default_service_minutes,
                hours: st.hours_of(&kiosk.office),
            };
            tickets::issue(conn, &ctx, &req)
        })
        .await?;
    let status = if issued.replayed {
        StatusCode::OK
    } else {
        state
            .metrics
            .ticket_issued(&office_code, &issued.ticket.service);
        StatusCode::CREATED
    };
    Ok((status, Json(issued.ticket)).into_response())
}

/// `POST /api/v1/withdrawals`: a ticket operation the kiosk never handed over (see
/// [`super::withdraw`]). 200 whatever the outcome; withdrawing twice is harmless.
pub async fn withdraw(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<WithdrawRequest>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let now = state.now();
    let kiosk_id = kiosk.kiosk_id.clone();
    let answer = state
        .db
        .write_grouped(move |conn| withdraw::withdraw(conn, &kiosk_id, req.op_id, now))
        .await?;
    if answer.outcome == WithdrawOutcome::Voided {
        tracing::warn!(
            kiosk = %kiosk.kiosk_id,
            op_id = %answer.op_id,
            number = answer.number.as_deref().unwrap_or(""),
            "ticket withdrawn by its kiosk (never handed over): void, it will not be called"
        );
    }
    Ok(Json(answer))
}

/// The context of a status look-up now; shared by the kiosk look-ups and the tracking page.
pub fn status_context(state: &AppState) -> StatusContext<'_> {
    StatusContext {
        offices: &state.offices,
        now: state.now(),
        default_minutes: state.config.queue.default_service_minutes,
    }
}

/// A ticket's state by ticket id or op_id (the kiosk API and `/t/{id}` use the same
/// rule); `None` when no ticket has that reference.
pub async fn status_by_ref(
    state: &AppState,
    reference: Uuid,
) -> Result<Option<TicketStatusResponse>, ApiError> {
    let st = state.clone();
    state
        .db
        .read(move |conn| match tickets::find_by_ref(&*conn, reference)? {
            Some(id) => Ok(Some(tickets::status(conn, &id, status_context(&st))?)),
            None => Ok(None),
        })
        .await
}

fn unknown_ticket() -> ApiError {
    ApiError::not_found(code::UNKNOWN_TICKET, "no ticket with this reference")
}

/// `GET /api/v1/tickets/{ticket_id}`: by ticket id or by the op_id that issued it.
pub async fn ticket_status(
    State(state): State<AppState>,
    _kiosk: KioskAuth,
    reference: Result<Path<String>, PathRejection>,
) -> Result<Json<TicketStatusResponse>, ApiError> {
    let reference = reference
        .ok()
        .and_then(|Path(text)| Uuid::parse_str(&text).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                code::BAD_TICKET_ID,
                "the ticket reference must be a UUID (ticket id or op_id)",
            )
        })?;
    status_by_ref(&state, reference)
        .await?
        .map(Json)
        .ok_or_else(unknown_ticket)
}

/// `GET /api/v1/tickets/by-number/{number}`: today's ticket with that display number.
pub async fn ticket_by_number(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    number: Result<Path<String>, PathRejection>,
) -> Result<Json<TicketStatusResponse>, ApiError> {
    // Text that is not UTF-8 once decoded is as malformed as any other bad number.
    let text = number.map(|Path(text)| text).unwrap_or_default();
    let number = tickets::parse_display_number(&text)?;
    let st = state.clone();
    let today = kiosk.office.day_at(state.now());
    state
        .db
        .read(
            move |conn| match tickets::find_by_number(&*conn, today, &number)? {
                Some(id) => Ok(Some(tickets::status(conn, &id, status_context(&st))?)),
                None => Ok(None),
            },
        )
        .await?
        .map(Json)
        .ok_or_else(unknown_ticket)
}

/// `GET /api/v1/queues`.
pub async fn queues(
    State(state): State<AppState>,
    kiosk: KioskAuth,
) -> Result<Json<QueuesResponse>, ApiError> {
    let st = state.clone();
    let response = state
        .db
        .read(move |conn| queues_now(conn, &st, &kiosk.office))
        .await?;
    Ok(Json(response))
}

/// Waiting counts and estimates for every service of `office` now.
pub fn queues_now<'c>(
    sql: impl Into<Sql<'c>>,
    st: &AppState,
    office: &Office,
) -> Result<QueuesResponse, ApiError> {
    let conn = sql.into();
    let day = office.day_at(st.now());
    let local = st.now().with_timezone(&office.tz).time();
    let now = st.now().timestamp();
    let default = st.config.queue.default_service_minutes;
    let mut services = Vec::new();
    for s in st.catalogue_of(office).services() {
        let waiting = queue::waiting(conn, day, &s.code)?;
        let average = queue::average_minutes(conn, office.id, &s.code, default)?;
        let counters = queue::counters_open(conn, office.id, &s.code, now)?;
        services.push(QueueInfo {
            service: s.code.clone(),
            waiting,
            eta_minutes: queue::eta_minutes(waiting + 1, average, counters),
            average_service_minutes: (average * 10.0).round() / 10.0,
            counters_open: counters,
            open: st.hours_of(office).is_open(&s.code, local),
        });
    }
    Ok(QueuesResponse {
        day: day.date,
        services,
    })
}

/// `POST /api/v1/bands`.
pub async fn lease_bands(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<BandsRequest>,
) -> Result<Json<BandsResponse>, ApiError> {
    let st = state.clone();
    let sizing = bands::Sizing::from_config(&state.config.queue);
    let response = state
        .db
        .write(move |conn| {
            bands::lease(
                conn,
                &kiosk.kiosk_id,
                &st.catalogue_of(&kiosk.office),
                req.services.as_deref(),
                kiosk.office.day_at(st.now()),
                sizing,
                st.now(),
            )
        })
        .await?;
    Ok(Json(response))
}

/// `POST /api/v1/kiosks/heartbeat`.
pub async fn heartbeat(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    let limited = |s: &str, max: usize| s.chars().take(max).collect::<String>();
    let version = limited(&req.version, 64);
    let detail = req.printer_detail.as_deref().map(|d| limited(d, 200));
    let printer = serde_json::to_value(req.printer)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let now = state.now();
    let kiosk_time = req.kiosk_time.map(|t| t.to_rfc3339());
    let update_report = req.update.clone();
    let office = kiosk.office.clone();
    let offer = state
        .db
        .write(move |conn| {
            // One transaction: a kiosk's report and what it does to the rollout (stopped on a
            // rollback, done on the last good) are seen together or not at all.
            Sql::from(&*conn).write_transaction(|tx| {
                tx.execute(
                    "UPDATE kiosks SET version = ?2, printer = ?3, printer_detail = ?4,
                     outbox_depth = ?5, kiosk_time = ?6, last_heartbeat = ?7,
                     oldest_pending_seconds = ?8
                 WHERE id = ?1",
                    args![
                        &kiosk.kiosk_id,
                        &version,
                        &printer,
                        detail.clone(),
                        req.outbox_depth,
                        kiosk_time.clone(),
                        now.to_rfc3339(),
                        req.oldest_pending_seconds
                            .map(|s| s.min(i64::MAX as u64) as i64)
                    ],
                )?;
                Ok(updates::on_heartbeat(
                    tx,
                    &kiosk.kiosk_id,
                    update_report.as_ref(),
                    now,
                )?)
            })
        })
        .await?;
    Ok(Json(HeartbeatResponse {
        hub_time: now,
        day: office.day_at(now).date,
        catalogue_etag: catalogue_etag(&state, &office),
        update: offer,
    }))
}

/// `GET /api/v1/updates/{sha256}`: the bundle of the running rollout, only to a kiosk
/// it includes whose wave is open; `Range: bytes=N-` resumes a download cut short.
pub async fn update_bundle(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Ok(Path(sha256)) = path else {
        return Err(no_such_update());
    };
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(no_such_update());
    }
    let lookup = sha256.clone();
    let size = state
        .db
        .read(move |conn| Ok(updates::offered_bundle(conn, &kiosk.kiosk_id, &lookup)?))
        .await?
        .ok_or_else(no_such_update)?;
    let from = match headers.get(axum::http::header::RANGE) {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.strip_suffix('-'))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|from| *from < size)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "bad_range",
                    format!("only `Range: bytes=N-` with N below the size ({size}) is served"),
                )
            })?,
    };
    let file = updates::bundle_path(super::store::Location::of(&state.config), &sha256);
    let body = updates::stream_file(&file, from)
        .await
        .map_err(|e| ApiError::internal("update bundle", e))?;
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let header = |text: String| axum::http::HeaderValue::from_str(&text).ok();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        axum::http::header::ACCEPT_RANGES,
        axum::http::HeaderValue::from_static("bytes"),
    );
    if let Some(length) = header((size - from).to_string()) {
        headers.insert(axum::http::header::CONTENT_LENGTH, length);
    }
    if from > 0 {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Some(range) = header(format!("bytes {from}-{}/{size}", size - 1)) {
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_RANGE, range);
        }
    }
    Ok(response)
}

fn no_such_update() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_update",
        "no update with this SHA-256 is offered to this kiosk",
    )
}

/// Gives an existing kiosk row a new kiosk token (the old one stops working at once).
fn give_token(tx: Sql<'_>, kiosk_id: &str, token_hash: &str) -> Result<(), SqlError> {
    tx.execute(
        "UPDATE kiosks SET token_hash = ?2 WHERE id = ?1",
        args![kiosk_id, token_hash],
    )?;
    Ok(())
}
