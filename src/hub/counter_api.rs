//! The counter page's JSON endpoints: clerk login, counter set-up and ticket actions.
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{
    ClientIp, OperatorAuth, dummy_hash, new_token, session_cookie, token_hash, verify_password,
};
use super::counter::{self, CounterTicket, Outcome};
use super::error::{ApiError, ApiJson};
use super::events::CallEvent;
use super::login_failures;
use super::offices::OfficeId;
use super::sql::{Sql, args};
use super::state::AppState;
use super::throttle::Refusal;
use super::withdraw::{VoidTicket, void_tickets};
use crate::protocol::errors as code;

/// Login form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Operator name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// `POST /counter/api/login`: checks the password, sets the session cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.name.len() > 64 || req.password.len() > 256 {
        return Err(bad_credentials());
    }
    let now = state.now();
    let asked = req.name.clone();
    let stored = state
        .db
        .read(move |conn| Ok(login_failures::load(conn.sql(), &asked, ip)?))
        .await?;
    let attempt = match state.login_throttle.admit(&req.name, ip, now, stored).await {
        Ok(attempt) => attempt,
        Err(refusal) => {
            tracing::warn!(clerk = %logged_name(&req.name), %ip, ?refusal, "clerk login refused before the password check");
            return Ok(refused(refusal));
        }
    };
    let name = req.name.trim().to_string();
    let clerk = logged_name(&name);
    let row: Option<(i64, String)> = state
        .db
        .read(move |conn| {
            let row = Sql::from(&*conn).query_opt(
                // A disabled clerk is checked like an unknown name: same work, same answer.
                "SELECT id, password_hash FROM operators WHERE name = ?1 AND disabled_at IS NULL",
                args![name],
            )?;
            Ok(match row {
                Some(r) => Some((r.get(0)?, r.get(1)?)),
                None => None,
            })
        })
        .await?;
    let password = req.password;
    let (operator_id, ok) = attempt
        .check(move || match row {
            Some((id, hash)) => (id, verify_password(&password, &hash)),
            None => {
                // Same work as for a real clerk, so timing does not reveal valid names.
                let _ = verify_password(&password, dummy_hash());
                (0, false)
            }
        })
        .await
        .ok_or_else(|| ApiError::internal("password check", "no password-check thread"))?;
    let asked = req.name.clone();
    if !ok {
        tracing::warn!(%clerk, %ip, "clerk login failed: wrong name or password, or a disabled clerk");
        attempt.failed(now);
        state
            .db
            .write(move |conn| Ok(login_failures::failed(conn.sql(), &asked, ip, now)?))
            .await?;
        return Err(bad_credentials());
    }
    attempt.succeeded();
    state
        .db
        .write(move |conn| Ok(login_failures::succeeded(conn.sql(), &asked, ip)?))
        .await?;
    tracing::info!(%clerk, %ip, "clerk logged in");
    let token = new_token();
    let hash = token_hash(&token);
    let now = now.timestamp();
    let max_age = i64::from(state.config.sessions.minutes) * 60;
    state
        .db
        .write(move |conn| {
            let sql = Sql::from(&*conn);
            sql.execute("DELETE FROM sessions WHERE expires_at <= ?1", args![now])?;
            sql.execute(
                "INSERT INTO sessions (token_hash, operator_id, created_at, expires_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?3)",
                args![hash, operator_id, now, now + max_age],
            )?;
            Ok(())
        })
        .await?;
    let cookie = session_cookie(&token, max_age, state.secure_cookies);
    Ok((
        StatusCode::OK,
        [(SET_COOKIE, cookie)],
        Json(serde_json::json!({ "ok": true })),
    )
        .into_response())
}

/// A login name as the log shows it (security finding 18: who tried, from where): the
/// name if it could be a clerk's (`admin::add_operator`'s rule), else a placeholder: a
/// "name" with spaces or symbols is more likely a password typed into the wrong field.
fn logged_name(name: &str) -> String {
    let name = name.trim();
    if !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        name.to_string()
    } else {
        "(not a clerk name)".to_string()
    }
}

/// 429 with `Retry-After` for a name or address that must wait, 503 when every
/// password check is busy.
fn refused(refusal: Refusal) -> Response {
    let (status, code, message, seconds) = match refusal {
        Refusal::Name(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many wrong passwords for this name: try again in {seconds} s"),
            seconds,
        ),
        Refusal::Address(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many login attempts from this computer: try again in {seconds} s"),
            seconds,
        ),
        Refusal::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "login_busy",
            "too many logins at once: try again in a moment".to_string(),
            2,
        ),
    };
    let mut response = ApiError::new(status, code, message).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "wrong name or password",
    )
}

/// `POST /counter/api/logout`: ends the session.
pub async fn logout(State(state): State<AppState>, op: OperatorAuth) -> Result<Response, ApiError> {
    let hash = op.session_hash;
    state
        .db
        .write(move |conn| {
            Sql::from(&*conn).execute("DELETE FROM sessions WHERE token_hash = ?1", args![hash])?;
            Ok(())
        })
        .await?;
    let cookie = session_cookie("", 0, state.secure_cookies);
    Ok((
        StatusCode::OK,
        [(SET_COOKIE, cookie)],
        Json(serde_json::json!({ "ok": true })),
    )
        .into_response())
}

/// A service as the counter page lists it.
#[derive(Debug, Serialize)]
pub struct ServiceChoice {
    code: String,
    prefix: char,
    name: String,
    waiting: u32,
}

/// Everything the counter page shows.
#[derive(Debug, Serialize)]
pub struct CounterState {
    operator: String,
    counters: Vec<String>,
    counter: Option<String>,
    services: Vec<ServiceChoice>,
    selected: Vec<String>,
    current: Option<CounterTicket>,
    /// Today's tickets of the chosen services that their kiosk withdrew (it stopped
    /// before handing them over): nobody holds them, they are never called.
    void: Vec<VoidTicket>,
}

/// `GET /counter/api/state`.
pub async fn counter_state(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<CounterState>, ApiError> {
    let st = state.clone();
    let counter_name = op.counter.clone();
    let session = op.session_hash.clone();
    let selected = op.services.clone();
    let office = op.office.clone();
    let (waiting, current, void) = state
        .db
        .read(move |conn| {
            let day = office.day_at(st.now());
            let sql = Sql::from(&*conn);
            let waiting = counter::waiting_counts(sql, day, &st.catalogue_of(&office))?;
            let current = match &counter_name {
                Some(c) => counter::current(sql, day, c, &session)?,
                None => None,
            };
            let void = void_tickets(&*conn, day, &selected)?;
            Ok((waiting, current, void))
        })
        .await?;
    let services = state
        .catalogue_of(&op.office)
        .services()
        .iter()
        .zip(waiting)
        .map(|(s, (_, waiting))| ServiceChoice {
            code: s.code.clone(),
            prefix: s.prefix,
            name: s.name(crate::lang::Lang::IT).to_string(),
            waiting,
        })
        .collect();
    Ok(Json(CounterState {
        operator: op.name,
        counters: op.office.counters.clone(),
        counter: op.counter,
        services,
        selected: op.services,
        current,
        void,
    }))
}

/// The counter and services a clerk chooses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// One of the configured counters.
    pub counter: String,
    /// Service codes served there.
    pub services: Vec<String>,
    /// Take the counter from the clerk who holds it now (their page loses it).
    #[serde(default)]
    pub take_over: bool,
}

/// `POST /counter/api/setup`.
pub async fn setup(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiJson(req): ApiJson<SetupRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !op.office.counters.contains(&req.counter) {
        return Err(ApiError::unprocessable(
            "unknown_counter",
            format!("`{}` is not one of this office's counters", req.counter),
        ));
    }
    if req.services.is_empty() {
        return Err(ApiError::unprocessable(
            "no_services",
            "choose at least one service",
        ));
    }
    if let Some(bad) = req
        .services
        .iter()
        .find(|s| state.catalogue_of(&op.office).service(s).is_none())
    {
        return Err(ApiError::unprocessable(
            code::UNKNOWN_SERVICE,
            format!("service `{bad}` is not offered in this office"),
        ));
    }
    let services =
        serde_json::to_string(&req.services).map_err(|e| ApiError::internal("services", e))?;
    let hash = op.session_hash;
    let now = state.now();
    let idle_seconds = i64::from(state.config.sessions.idle_minutes) * 60;
    let clerk = op.name;
    let office = op.office.id;
    let taken_from = state
        .db
        .write(move |conn| {
            let sql = Sql::from(&*conn);
            // One live session per counter: whoever holds it sees its called ticket.
            let holder =
                counter::counter_holder(sql, office, &req.counter, &hash, now, idle_seconds)?;
            if let Some(holder) = &holder {
                if !req.take_over {
                    return Err(ApiError::conflict(
                        "counter_taken",
                        format!("{} is working at {}: take it over?", holder, req.counter),
                    ));
                }
                sql.execute(
                    "UPDATE sessions SET counter = NULL
                     WHERE counter = ?1 AND token_hash <> ?2
                       AND operator_id IN (SELECT id FROM operators WHERE office_id = ?3)",
                    args![&req.counter, &hash, office],
                )?;
            }
            sql.execute(
                "UPDATE sessions SET counter = ?2, services = ?3 WHERE token_hash = ?1",
                args![&hash, &req.counter, services],
            )?;
            Ok(holder.map(|holder| (holder, req.counter)))
        })
        .await?;
    if let Some((holder, counter)) = taken_from {
        tracing::warn!(clerk = %clerk, from = %holder, counter = %counter, "counter taken over");
    }
    Ok(Json(serde_json::json!({ "ok": true })))
}

fn counter_of(op: &OperatorAuth) -> Result<String, ApiError> {
    op.counter.clone().ok_or_else(|| {
        ApiError::unprocessable("no_counter", "choose your counter and services first")
    })
}

/// Result of a counter action.
#[derive(Debug, Serialize)]
pub struct ActionResult {
    ticket: Option<CounterTicket>,
}

fn announce(
    state: &AppState,
    office: OfficeId,
    ticket: &CounterTicket,
    counter: &str,
    recall: bool,
) {
    state.events.publish(CallEvent {
        office,
        number: ticket.number.clone(),
        counter: counter.to_string(),
        recall,
        at: state.now(),
    });
}

/// `POST /counter/api/next`: calls the next ticket (priority, appointments, oldest).
pub async fn call_next(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<ActionResult>, ApiError> {
    let counter = counter_of(&op)?;
    let office = op.office.id;
    let st = state.clone();
    let c = counter.clone();
    let ticket = state
        .db
        .write(move |conn| {
            counter::call_next(
                conn,
                op.office.day_at(st.now()),
                &c,
                &op.session_hash,
                &op.name,
                &op.services,
                st.now(),
            )
        })
        .await?;
    if let Some(t) = &ticket {
        announce(&state, office, t, &counter, false);
    }
    Ok(Json(ActionResult { ticket }))
}

/// `POST /counter/api/recall`.
pub async fn recall(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<ActionResult>, ApiError> {
    let counter = counter_of(&op)?;
    let office = op.office.id;
    let st = state.clone();
    let c = counter.clone();
    let ticket = state
        .db
        .write(move |conn| {
            counter::recall(
                conn,
                op.office.day_at(st.now()),
                &c,
                &op.session_hash,
                st.now(),
            )
        })
        .await?;
    announce(&state, office, &ticket, &counter, true);
    Ok(Json(ActionResult {
        ticket: Some(ticket),
    }))
}

/// `POST /counter/api/serving`: the citizen is at the counter.
pub async fn serving(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<ActionResult>, ApiError> {
    let counter = counter_of(&op)?;
    let st = state.clone();
    let ticket = state
        .db
        .write(move |conn| {
            counter::start_serving(
                conn,
                op.office.day_at(st.now()),
                &counter,
                &op.session_hash,
                st.now(),
            )
        })
        .await?;
    Ok(Json(ActionResult {
        ticket: Some(ticket),
    }))
}

async fn finish(
    state: AppState,
    op: OperatorAuth,
    outcome: Outcome,
) -> Result<Json<ActionResult>, ApiError> {
    let counter = counter_of(&op)?;
    let st = state.clone();
    state
        .db
        .write(move |conn| {
            counter::finish(
                conn,
                op.office.day_at(st.now()),
                &counter,
                &op.session_hash,
                outcome,
                st.now(),
                st.config.queue.default_service_minutes,
            )
        })
        .await?;
    Ok(Json(ActionResult { ticket: None }))
}

/// `POST /counter/api/done`: served.
pub async fn done(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<ActionResult>, ApiError> {
    finish(state, op, Outcome::Done).await
}

/// `POST /counter/api/no-show`: did not come.
pub async fn no_show(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<ActionResult>, ApiError> {
    finish(state, op, Outcome::NoShow).await
}

/// Transfer target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The service whose queue the ticket joins.
    pub service: String,
}

/// `POST /counter/api/transfer`.
pub async fn transfer(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let counter = counter_of(&op)?;
    let st = state.clone();
    state
        .db
        .write(move |conn| {
            counter::transfer(
                conn,
                op.office.day_at(st.now()),
                &counter,
                &op.session_hash,
                &req.service,
                &st.catalogue_of(&op.office),
            )
        })
        .await?;
    Ok(Json(ActionResult { ticket: None }))
}
