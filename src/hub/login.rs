//! Cross-device citizen login: the kiosk shows a one-time link as a QR code, the citizen
//! opens it on their phone and signs in with the office's identity provider, and the
//! kiosk's session becomes authenticated for that person, for a few minutes.
//!
//! Kiosk side (bearer token, `/api/v1/auth/sessions...`): create a session, poll its
//! state (pending → signing_in → authenticated, or failed / expired / ended), read the
//! person's applications and certificates, issue one, end the session. Only the kiosk that
//! created a session can see it (another kiosk gets 404). Nothing is readable before the
//! sign-in completes (409 `not_authenticated`) or after the session ended or expired (410).
//!
//! Phone side (plain HTML in the session's language, no JavaScript): `/login/{token}` is a
//! confirmation page asking for the kiosk's binding code, and only its same-origin `POST`
//! with the right code uses the link ([`super::login_confirm`]); `GET /login/callback`
//! checks state, cookie and deadline, completes the code flow and says "go back to the
//! kiosk", naming the kiosk and the office.
//!
//! Stored: the link token and OIDC state and cookie as SHA-256 hashes; nonce and PKCE
//! verifier until the callback; the person's code, names and initials only while the
//! session is authenticated (erased when it ends, fails or expires — on sight and by
//! housekeeping). Nothing here logs a code or a name.
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use super::appointments::cf_hash;
use super::audit::{self, AuditEvent, Entry};
use super::auth::{KioskAuth, new_token, token_hash};
use super::certificates;
use super::error::{ApiError, ApiJson};
use super::oidc::{Identity, OidcError};
use super::records;
use super::sql::{Row, Sql, SqlError, args};
use super::state::AppState;
use super::tracking::{
    PHONE_STYLE, choose_lang, escape, html_open, language_links, ltr, phone_response,
};
use crate::config::hub::AuthConfig;
use crate::identity::CodiceFiscale;
use crate::lang::{Lang, tr};
use crate::protocol::errors as code;
use crate::protocol::{
    ApplicationStatus, CertificateOffer, CreateLoginSessionRequest, IssueCertificateRequest,
    IssuedCertificate, LoginSessionCreated, LoginSessionStatus, LoginState,
};

/// Name of the cookie binding a sign-in to the phone's browser.
pub const LOGIN_COOKIE: &str = "sportello_login";

/// Failures that look like abuse and count towards pausing a kiosk's logins: a sign-in
/// finished in another browser, refused by the provider, an invalid fiscal number, wrong
/// binding codes. A citizen cancelling, a link running out, a missing fiscal number or a
/// low SPID level are ordinary and do not (security finding 15), nor is an unreachable
/// provider the citizen's failure.
pub const ABUSE_FAILURES: [&str; 4] = [
    "other_browser",
    "provider_rejected",
    "invalid_fiscal_number",
    "wrong_code",
];

/// A new binding code: four random digits. Digits because every phone offers a digit
/// keypad (`inputmode="numeric"`) in every language and script, and the kiosk's voice
/// reads them one by one; four because a guesser has [`super::login_confirm::MAX_CODE_ATTEMPTS`]
/// tries out of 10 000 before the link is spent.
pub fn new_binding_code() -> String {
    use rand::Rng;
    format!("{:04}", rand::rng().random_range(0..10_000u32))
}

/// A login session as stored, with its state as of now.
#[derive(Clone)]
pub struct Session {
    /// The id.
    pub id: String,
    /// The kiosk that created it.
    pub kiosk_id: String,
    /// The kiosk's language when it was created.
    pub lang: Lang,
    /// The state now (expiry applied).
    pub state: LoginState,
    /// When the current state runs out, or when it ended.
    pub deadline: DateTime<Utc>,
    /// Why a sign-in failed.
    pub failure: Option<String>,
    /// Keyed hash of the person's code, once signed in.
    pub subject: Option<String>,
    /// The person's code, while authenticated.
    pub codice_fiscale: Option<CodiceFiscale>,
    /// Names, while authenticated.
    pub given_name: Option<String>,
    /// Names, while authenticated.
    pub family_name: Option<String>,
    /// `M.R.`, while authenticated.
    pub initials: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("kiosk_id", &self.kiosk_id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The signed-in person, while authenticated.
    pub fn identity(&self) -> Option<Identity> {
        Some(Identity {
            codice_fiscale: self.codice_fiscale?,
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
        })
    }
}

fn parse_state(code: &str) -> LoginState {
    match code {
        "pending" => LoginState::Pending,
        "signing_in" => LoginState::SigningIn,
        "authenticated" => LoginState::Authenticated,
        "failed" => LoginState::Failed,
        "ended" => LoginState::Ended,
        _ => LoginState::Expired,
    }
}

pub(super) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

pub(super) const SESSION_COLUMNS: &str =
    "id, kiosk_id, lang, state, link_expires_at, sign_in_expires_at,
    expires_at, finished_at, failure, cf_hash, codice_fiscale, given_name, family_name, initials";

pub(super) fn read_session(r: &Row) -> Result<(Session, i64), SqlError> {
    let state = parse_state(&r.get::<String>(3)?);
    let link: i64 = r.get(4)?;
    let sign_in: Option<i64> = r.get(5)?;
    let expires: Option<i64> = r.get(6)?;
    let finished: Option<i64> = r.get(7)?;
    let deadline = match state {
        LoginState::Pending => link,
        LoginState::SigningIn => sign_in.unwrap_or(link),
        LoginState::Authenticated => expires.unwrap_or(link),
        _ => finished.or(expires).or(sign_in).unwrap_or(link),
    };
    let lang = r.get::<String>(2)?.parse::<Lang>().unwrap_or_default();
    Ok((
        Session {
            id: r.get(0)?,
            kiosk_id: r.get(1)?,
            lang,
            state,
            deadline: at(deadline),
            failure: r.get(8)?,
            subject: r.get(9)?,
            codice_fiscale: r.get::<Option<String>>(10)?.and_then(|c| c.parse().ok()),
            given_name: r.get(11)?,
            family_name: r.get(12)?,
            initials: r.get(13)?,
        },
        deadline,
    ))
}

pub(super) const ERASE: &str = "codice_fiscale = NULL, given_name = NULL, family_name = NULL,
    initials = NULL, oidc_nonce = NULL, pkce_verifier = NULL, browser_hash = NULL,
    binding_code = NULL";

/// Marks a live session whose deadline has passed as expired (erasing its personal data
/// and secrets); an authenticated one gets a `session_ended` audit row.
pub(super) fn expire(
    sql: Sql<'_>,
    session: &mut Session,
    deadline: i64,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    if !is_live(session) || now.timestamp() < deadline {
        return Ok(());
    }
    close(sql, session, Closing::Expired, deadline, now)?;
    session.state = LoginState::Expired;
    session.deadline = at(deadline);
    session.codice_fiscale = None;
    session.given_name = None;
    session.family_name = None;
    session.initials = None;
    Ok(())
}

fn is_live(session: &Session) -> bool {
    matches!(
        session.state,
        LoginState::Pending | LoginState::SigningIn | LoginState::Authenticated
    )
}

/// How a live session closes: its deadline passed, or the kiosk ended it.
#[derive(Clone, Copy)]
enum Closing {
    Expired,
    Ended,
}

/// Closes a live session in the database at `finished_at`: personal data and secrets
/// erased, and for a signed-in one a `session_ended` audit row saying why.
fn close(
    sql: Sql<'_>,
    session: &Session,
    how: Closing,
    finished_at: i64,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    let (state, reason) = match how {
        Closing::Expired => ("expired", "expired"),
        Closing::Ended => ("ended", "finished"),
    };
    sql.execute(
        &format!("UPDATE auth_sessions SET state = ?3, finished_at = ?2, {ERASE} WHERE id = ?1"),
        args![&session.id, finished_at, state],
    )?;
    if session.state == LoginState::Authenticated {
        audit::record(
            sql,
            now,
            AuditEvent::SessionEnded,
            &Entry {
                kiosk_id: Some(&session.kiosk_id),
                session_id: Some(&session.id),
                subject: session.subject.as_deref(),
                detail: Some(reason),
                ..Entry::default()
            },
        )?;
    }
    Ok(())
}

/// Expires every live session past its deadline; returns how many. Run by housekeeping,
/// so personal data does not wait for the next request.
pub fn expire_due<'c>(sql: impl Into<Sql<'c>>, now: DateTime<Utc>) -> Result<usize, SqlError> {
    let sql = sql.into();
    let t = now.timestamp();
    let due = sql
        .query_all(
            &format!(
                "SELECT {SESSION_COLUMNS} FROM auth_sessions
                 WHERE (state = 'pending' AND link_expires_at <= ?1)
                    OR (state = 'signing_in' AND sign_in_expires_at <= ?1)
                    OR (state = 'authenticated' AND expires_at <= ?1)"
            ),
            args![t],
        )?
        .iter()
        .map(read_session)
        .collect::<Result<Vec<_>, _>>()?;
    let n = due.len();
    for (mut session, deadline) in due {
        expire(sql, &mut session, deadline, now)?;
    }
    Ok(n)
}

/// Deletes finished sessions older than two days (they only serve rate limits and the
/// "already used" page); returns how many.
pub fn prune<'c>(sql: impl Into<Sql<'c>>, now: DateTime<Utc>) -> Result<usize, SqlError> {
    let deleted = sql.into().execute(
        "DELETE FROM auth_sessions WHERE created_at < ?1
           AND state NOT IN ('pending', 'signing_in', 'authenticated')",
        args![(now - TimeDelta::days(2)).timestamp()],
    )?;
    Ok(deleted as usize)
}

/// Loads a session of `kiosk_id` by id, with expiry applied (and written back).
pub fn load<'c>(
    sql: impl Into<Sql<'c>>,
    id: &str,
    kiosk_id: &str,
    now: DateTime<Utc>,
) -> Result<Session, ApiError> {
    let sql = sql.into();
    let row = sql.query_opt(
        &format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE id = ?1 AND kiosk_id = ?2"),
        args![id, kiosk_id],
    )?;
    let (mut session, deadline) = read_session(&row.ok_or_else(unknown_session)?)?;
    expire(sql, &mut session, deadline, now)?;
    Ok(session)
}

fn unknown_session() -> ApiError {
    ApiError::not_found(
        code::UNKNOWN_SESSION,
        "no login session with this id for this kiosk",
    )
}

/// The session if it is authenticated; otherwise the error that says why not.
pub fn require_authenticated(session: &Session) -> Result<(), ApiError> {
    match session.state {
        LoginState::Authenticated => Ok(()),
        LoginState::Pending | LoginState::SigningIn => Err(ApiError::conflict(
            code::NOT_AUTHENTICATED,
            "the citizen has not signed in yet",
        )),
        LoginState::Expired => Err(ApiError::new(
            StatusCode::GONE,
            code::SESSION_EXPIRED,
            "the login session expired: start a new one",
        )),
        LoginState::Ended => Err(ApiError::new(
            StatusCode::GONE,
            code::SESSION_ENDED,
            "the login session was ended",
        )),
        LoginState::Failed => Err(ApiError::new(
            StatusCode::GONE,
            code::LOGIN_FAILED,
            "the sign-in failed: start a new session to try again",
        )),
    }
}

fn session_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.ok()
        .and_then(|Path(text)| Uuid::parse_str(text.trim()).ok())
        .map(|id| id.to_string())
        .ok_or_else(|| ApiError::bad_request(code::BAD_SESSION_ID, "the session id must be a UUID"))
}

fn lang_query(query: Option<&str>) -> Result<Lang, ApiError> {
    let asked = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.into_owned());
    match asked {
        None => Ok(Lang::IT),
        Some(code) => code.parse::<Lang>().map_err(|e| {
            ApiError::bad_request(
                code::BAD_LANG,
                format!("`lang` must be one of {}", e.expected),
            )
        }),
    }
}

fn login_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code::LOGIN_UNAVAILABLE,
        "this hub has no identity provider configured ([oidc] in hub.toml)",
    )
}

fn too_many(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
}

/// Refuses a new session when the kiosk started too many in the last minute or too many
/// of its sign-ins failed in an abuse-like way ([`ABUSE_FAILURES`]) within the window.
fn check_rate(
    sql: Sql<'_>,
    kiosk_id: &str,
    now: DateTime<Utc>,
    auth: &AuthConfig,
) -> Result<(), ApiError> {
    let t = now.timestamp();
    let recent: i64 = sql
        .query_one(
            "SELECT count(*) FROM auth_sessions WHERE kiosk_id = ?1 AND created_at > ?2",
            args![kiosk_id, t - 60],
        )?
        .get(0)?;
    if recent >= i64::from(auth.logins_per_minute) {
        return Err(too_many(
            "too_many_logins",
            format!(
                "this kiosk started {recent} logins in the last minute (limit {}): wait a minute",
                auth.logins_per_minute
            ),
        ));
    }
    let window = i64::from(auth.failed_login_window_minutes) * 60;
    let failed: i64 = sql
        .query_one(
            "SELECT count(*) FROM auth_sessions
             WHERE kiosk_id = ?1 AND state = 'failed' AND finished_at > ?2
               AND failure IN (?3, ?4, ?5, ?6)",
            args![
                kiosk_id,
                t - window,
                ABUSE_FAILURES[0],
                ABUSE_FAILURES[1],
                ABUSE_FAILURES[2],
                ABUSE_FAILURES[3]
            ],
        )?
        .get(0)?;
    if failed >= i64::from(auth.failed_logins) {
        return Err(too_many(
            "too_many_failed_logins",
            format!(
                "{failed} sign-ins at this kiosk failed in the last {} minutes: logins are paused",
                auth.failed_login_window_minutes
            ),
        ));
    }
    Ok(())
}

/// `POST /api/v1/auth/sessions`: 201 with the one-time link.
pub async fn create_session(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<CreateLoginSessionRequest>,
) -> Result<Response, ApiError> {
    if state.oidc.is_none() {
        return Err(login_unavailable());
    }
    let now = state.now();
    let auth = state.config.auth.clone();
    let session_id = Uuid::new_v4();
    let id = session_id.to_string();
    let token = new_token();
    let link_hash = token_hash(&token);
    let binding_code = new_binding_code();
    let stored_code = binding_code.clone();
    let lang = req.lang.unwrap_or_default();
    let expires = now.timestamp() + i64::from(auth.link_seconds);
    let sid = id.clone();
    state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                check_rate(sql, &kiosk.kiosk_id, now, &auth)?;
                sql.execute(
                    "INSERT INTO auth_sessions (id, kiosk_id, link_hash, lang, state, created_at,
                         link_expires_at, binding_code)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7)",
                    args![
                        sid,
                        &kiosk.kiosk_id,
                        link_hash,
                        lang.code(),
                        now.timestamp(),
                        expires,
                        stored_code
                    ],
                )?;
                Ok(())
            })
        })
        .await?;
    let body = LoginSessionCreated {
        session_id,
        login_url: format!("{}/login/{token}", state.public_base),
        expires_at: at(expires),
        binding_code: Some(binding_code),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /api/v1/auth/sessions/{session_id}`: the state the kiosk polls.
pub async fn session_status(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<LoginSessionStatus>, ApiError> {
    let id = session_id(path)?;
    let now = state.now();
    let session = state
        .db
        .write(move |conn| load(conn, &id, &kiosk.kiosk_id, now))
        .await?;
    Ok(Json(LoginSessionStatus {
        state: session.state,
        initials: session
            .initials
            .clone()
            .filter(|_| session.state == LoginState::Authenticated),
        expires_at: session.deadline,
        failure: session
            .failure
            .clone()
            .filter(|_| session.state == LoginState::Failed),
    }))
}

/// `GET /api/v1/auth/sessions/{session_id}/applications?lang=`.
pub async fn applications(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ApplicationStatus>>, ApiError> {
    let id = session_id(path)?;
    let lang = lang_query(query.as_deref())?;
    let now = state.now();
    let catalogue = state.catalogue.clone();
    let list = state
        .db
        .write(move |conn| {
            let sql = Sql::from(conn);
            let session = load(sql, &id, &kiosk.kiosk_id, now)?;
            require_authenticated(&session)?;
            let subject = session.subject.unwrap_or_default();
            Ok(records::applications(sql, &subject, lang, &catalogue)?)
        })
        .await?;
    Ok(Json(list))
}

/// `GET /api/v1/auth/sessions/{session_id}/certificates?lang=`.
pub async fn certificate_offers(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<CertificateOffer>>, ApiError> {
    let id = session_id(path)?;
    let lang = lang_query(query.as_deref())?;
    let now = state.now();
    let list = state
        .db
        .write(move |conn| {
            let sql = Sql::from(conn);
            let session = load(sql, &id, &kiosk.kiosk_id, now)?;
            require_authenticated(&session)?;
            let subject = session.subject.unwrap_or_default();
            Ok(records::certificate_offers(sql, &subject, lang)?)
        })
        .await?;
    Ok(Json(list))
}

/// `POST /api/v1/auth/sessions/{session_id}/certificates`: 201 with the signed
/// certificate. The session stays open; the kiosk ends it after printing.
pub async fn issue_certificate(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<IssueCertificateRequest>,
) -> Result<Response, ApiError> {
    let id = session_id(path)?;
    let now = state.now();
    let st = state.clone();
    let issued = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let session = load(sql, &id, &kiosk.kiosk_id, now)?;
                require_authenticated(&session)?;
                certificates::issue(sql, &st, &kiosk.office, &session, &req, now)
            })
        })
        .await?;
    tracing::info!(certificate = %issued.certificate_id, "certificate issued");
    Ok((StatusCode::CREATED, Json::<IssuedCertificate>(issued)).into_response())
}

/// `DELETE /api/v1/auth/sessions/{session_id}`: 204; ends the session (idempotent) and
/// erases the person's data from it.
pub async fn end_session(
    State(state): State<AppState>,
    kiosk: KioskAuth,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(path)?;
    let now = state.now();
    state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let session = load(sql, &id, &kiosk.kiosk_id, now)?;
                if is_live(&session) {
                    close(sql, &session, Closing::Ended, now.timestamp(), now)?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// The phone's pages.

/// The sentences of the phone's sign-in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    Title,
    UnknownLink,
    ExpiredLink,
    UsedLink,
    Unavailable,
    SignedInTitle,
    SignedIn,
    Initials,
    FailedTitle,
    Cancelled,
    OtherBrowser,
    NoFiscalNumber,
    InsufficientLevel,
    Rejected,
    Ended,
    BadCallback,
    Back,
    ConfirmFor,
    ConfirmHow,
    CodeLabel,
    Continue,
    WrongCode,
    TooManyCodes,
    SignedInAt,
}

/// `t` in `lang`.
pub(super) fn text(lang: Lang, t: Text) -> &'static str {
    match t {
        Text::Title => tr(lang, "Kiosk sign-in"),
        Text::UnknownLink => tr(
            lang,
            "This sign-in link is not valid. Please scan the QR code shown on the kiosk.",
        ),
        Text::ExpiredLink => tr(
            lang,
            "This sign-in link has expired. Go back to the kiosk and choose “My documents” again for a new QR code.",
        ),
        Text::UsedLink => tr(
            lang,
            "This sign-in link has already been used and is no longer valid. Go back to the kiosk for a new QR code.",
        ),
        Text::Unavailable => tr(
            lang,
            "The sign-in service is not answering right now. Please try again from the kiosk in a few minutes.",
        ),
        Text::SignedInTitle => tr(lang, "Signed in"),
        Text::SignedIn => tr(
            lang,
            "You are signed in. Go back to the kiosk: your initials will appear on the screen.",
        ),
        Text::Initials => tr(lang, "Your initials:"),
        Text::FailedTitle => tr(lang, "Sign-in failed"),
        Text::Cancelled => tr(
            lang,
            "The sign-in was cancelled. To try again, go back to the kiosk.",
        ),
        Text::OtherBrowser => tr(
            lang,
            "The sign-in was completed in a different browser from the one that opened the link, so for safety it is not valid. Try again from the kiosk, opening the link on this phone.",
        ),
        Text::NoFiscalNumber => tr(
            lang,
            "The identity provider did not send your codice fiscale, so your documents cannot be shown.",
        ),
        Text::InsufficientLevel => tr(
            lang,
            "The sign-in's security level is not high enough (SPID level 2 or CIE is needed).",
        ),
        Text::Rejected => tr(
            lang,
            "The identity provider did not confirm the sign-in. Please try again from the kiosk.",
        ),
        Text::Ended => tr(
            lang,
            "The kiosk session has already ended or expired. To try again, go back to the kiosk.",
        ),
        Text::BadCallback => tr(lang, "This page does not match a sign-in in progress."),
        Text::Back => tr(lang, "You can close this page."),
        Text::ConfirmFor => tr(lang, "This sign-in is for the kiosk “{}” at {}."),
        Text::ConfirmHow => tr(
            lang,
            "Type the code shown on the kiosk screen beside the QR code. Go on only if you are standing in front of this kiosk: if someone sent you this link, stop here.",
        ),
        Text::CodeLabel => tr(lang, "Code shown on the kiosk"),
        Text::Continue => tr(lang, "Continue"),
        Text::WrongCode => tr(
            lang,
            "This code is not right. Type the code shown on the kiosk screen beside the QR code.",
        ),
        Text::TooManyCodes => tr(
            lang,
            "Too many wrong codes: this sign-in link no longer works. Go back to the kiosk for a new QR code.",
        ),
        Text::SignedInAt => tr(lang, "Your session is open at the kiosk “{}” at {}."),
    }
}

/// The sign-in pages' stylesheet, served as `/assets/phone-login.css` (no inline
/// styles: the Content-Security-Policy allows none).
pub(crate) fn stylesheet() -> String {
    format!("{PHONE_STYLE}{STYLE}")
}

const STYLE: &str = "h1{font-size:30px}\
.initials{font-size:64px;font-weight:bold;margin:8px 0}a{color:#036}\
.where{font-weight:bold}.error{border:3px solid #c00;padding:8px 12px}\
label{display:block;margin:16px 0 8px}\
input.code{font-size:48px;width:5.5em;letter-spacing:8px;padding:4px 8px;direction:ltr}\
button{display:block;margin:24px 0;font-size:26px;padding:12px 32px;background:#0066cc;\
color:#fff;border:0;border-radius:4px}";

/// `t` (a sentence naming a kiosk and an office) with both filled in, escaped, the
/// names kept in their own direction.
pub(super) fn where_html(lang: Lang, t: Text, kiosk: &str, office: &str) -> String {
    let marker = "\u{1}";
    escape(&crate::lang::fill(text(lang, t), &[marker, marker]))
        .replacen(marker, &ltr(kiosk), 1)
        .replacen(marker, &ltr(office), 1)
}

/// A phone page: status, language, title and body (already escaped HTML), ending with
/// the list of the other languages when `languages` gives each one's address.
pub fn phone_page(
    status: StatusCode,
    lang: Lang,
    office: &str,
    title: &str,
    body: &str,
    languages: Option<&dyn Fn(Lang) -> String>,
) -> Response {
    let links = languages
        .map(|href| language_links(lang, href))
        .unwrap_or_default();
    let page = format!(
        "<!DOCTYPE html>\n{html}\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<link rel=\"stylesheet\" href=\"/assets/phone-login.css\">\n\
</head>\n<body>\n<header>{office}</header>\n<main>\n<h1>{title}</h1>\n{body}{links}</main>\n\
</body>\n</html>\n",
        html = html_open(lang),
        title = escape(title),
        office = escape(office),
    );
    phone_response(status, page)
}

/// A page under the sign-in title with one of the page's messages.
pub(super) fn notice(state: &AppState, status: StatusCode, lang: Lang, message: Text) -> Response {
    message_page(state, status, lang, Text::Title, message)
}

pub(super) fn message_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    title: Text,
    message: Text,
) -> Response {
    let body = format!(
        "<p>{}</p>\n<p>{}</p>\n",
        escape(text(lang, message)),
        escape(text(lang, Text::Back))
    );
    phone_page(
        status,
        lang,
        &state.config.office_name,
        text(lang, title),
        &body,
        None,
    )
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Marks a signing-in session failed (erasing its secrets) with an audit row.
pub(super) async fn fail(state: &AppState, id: &str, code: &'static str) -> Result<(), ApiError> {
    let now = state.now();
    let id = id.to_string();
    state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let kiosk = sql.query_opt(
                    "SELECT kiosk_id FROM auth_sessions WHERE id = ?1 AND state = 'signing_in'",
                    args![&id],
                )?;
                if let Some(kiosk) = kiosk {
                    let kiosk: String = kiosk.get(0)?;
                    sql.execute(
                        &format!(
                            "UPDATE auth_sessions SET state = 'failed', failure = ?2,
                                 finished_at = ?3, {ERASE} WHERE id = ?1"
                        ),
                        args![&id, code, now.timestamp()],
                    )?;
                    audit::record(
                        sql,
                        now,
                        AuditEvent::LoginFailed,
                        &Entry {
                            kiosk_id: Some(&kiosk),
                            session_id: Some(&id),
                            detail: Some(code),
                            ..Entry::default()
                        },
                    )?;
                }
                Ok::<_, ApiError>(())
            })
        })
        .await
}

/// What the callback found, decided in one transaction.
enum Callback {
    Unknown,
    Gone(Lang),
    Failed(Lang, &'static str),
    Proceed {
        session: Box<Session>,
        nonce: String,
        pkce_verifier: String,
    },
}

/// The message for a sign-in that failed with `code`.
fn failure_text(code: &str) -> Text {
    match code {
        "cancelled" => Text::Cancelled,
        "other_browser" => Text::OtherBrowser,
        "no_fiscal_number" | "invalid_fiscal_number" => Text::NoFiscalNumber,
        "insufficient_level" => Text::InsufficientLevel,
        "provider_unavailable" => Text::Unavailable,
        _ => Text::Rejected,
    }
}

/// `GET /login/callback`: completes the code flow and authenticates the kiosk session.
pub async fn login_callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let fallback = choose_lang(None, accept);
    let query = query.unwrap_or_default();
    let (Some(oidc), Some(oidc_state)) = (state.oidc.clone(), query_param(Some(&query), "state"))
    else {
        return notice(&state, StatusCode::BAD_REQUEST, fallback, Text::BadCallback);
    };
    let code = query_param(Some(&query), "code");
    let error = query_param(Some(&query), "error");
    // RFC 9207: an answer naming another issuer is not this provider's.
    let wrong_issuer = query_param(Some(&query), "iss").is_some_and(|iss| !oidc.is_issuer(&iss));
    let browser = cookie_value(&headers, LOGIN_COOKIE).map(|c| token_hash(&c));
    let now = state.now();
    let state_hash = token_hash(&oidc_state);
    let found = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let row = sql.query_opt(
                    &format!(
                        "SELECT {SESSION_COLUMNS}, oidc_nonce, pkce_verifier, browser_hash
                         FROM auth_sessions WHERE oidc_state_hash = ?1"
                    ),
                    args![&state_hash],
                )?;
                let Some(row) = row else {
                    return Ok(Callback::Unknown);
                };
                let (mut session, deadline) = read_session(&row)?;
                let nonce: Option<String> = row.get(14)?;
                let pkce: Option<String> = row.get(15)?;
                let stored_browser: Option<String> = row.get(16)?;
                expire(sql, &mut session, deadline, now)?;
                let lang = session.lang;
                let outcome = match (session.state, nonce, pkce) {
                    (LoginState::SigningIn, Some(nonce), Some(pkce_verifier)) => {
                        let failure = if stored_browser.is_none() || stored_browser != browser {
                            Some("other_browser")
                        } else if wrong_issuer {
                            Some("provider_rejected")
                        } else if let Some(error) = &error {
                            Some(if error == "access_denied" {
                                "cancelled"
                            } else {
                                "provider_rejected"
                            })
                        } else if code.is_none() {
                            Some("provider_rejected")
                        } else {
                            None
                        };
                        match failure {
                            Some(failure) => {
                                sql.execute(
                                    &format!(
                                        "UPDATE auth_sessions SET state = 'failed', failure = ?2,
                                             finished_at = ?3, {ERASE} WHERE id = ?1"
                                    ),
                                    args![&session.id, failure, now.timestamp()],
                                )?;
                                audit::record(
                                    sql,
                                    now,
                                    AuditEvent::LoginFailed,
                                    &Entry {
                                        kiosk_id: Some(&session.kiosk_id),
                                        session_id: Some(&session.id),
                                        detail: Some(failure),
                                        ..Entry::default()
                                    },
                                )?;
                                Callback::Failed(lang, failure)
                            }
                            None => {
                                // The verifier and nonce are used once: a second callback
                                // with the same state finds them gone.
                                sql.execute(
                                    "UPDATE auth_sessions SET oidc_nonce = NULL,
                                         pkce_verifier = NULL
                                     WHERE id = ?1",
                                    args![&session.id],
                                )?;
                                Callback::Proceed {
                                    session: Box::new(session),
                                    nonce,
                                    pkce_verifier,
                                }
                            }
                        }
                    }
                    _ => Callback::Gone(lang),
                };
                Ok::<_, ApiError>(outcome)
            })
        })
        .await;
    let (session, nonce, pkce_verifier) = match found {
        Err(e) => {
            tracing::warn!(code = e.code, "login callback: database error");
            return notice(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                fallback,
                Text::Unavailable,
            );
        }
        Ok(Callback::Unknown) => {
            return notice(&state, StatusCode::BAD_REQUEST, fallback, Text::BadCallback);
        }
        Ok(Callback::Gone(lang)) => {
            return message_page(
                &state,
                StatusCode::GONE,
                lang,
                Text::FailedTitle,
                Text::Ended,
            );
        }
        Ok(Callback::Failed(lang, failure)) => {
            return message_page(
                &state,
                StatusCode::FORBIDDEN,
                lang,
                Text::FailedTitle,
                failure_text(failure),
            );
        }
        Ok(Callback::Proceed {
            session,
            nonce,
            pkce_verifier,
        }) => (session, nonce, pkce_verifier),
    };
    let lang = session.lang;
    let code = query_param(Some(&query), "code").unwrap_or_default();
    let identity = match oidc.finish(&code, &pkce_verifier, &nonce).await {
        Ok(identity) => identity,
        Err(e) => {
            match &e {
                OidcError::Unavailable(_) | OidcError::Rejected(_) | OidcError::Config(_) => {
                    tracing::warn!(error = %e, "login callback: sign-in not completed");
                }
                _ => tracing::info!(reason = e.code(), "login callback: identity refused"),
            }
            let _ = fail(&state, &session.id, e.code()).await;
            let status = if matches!(e, OidcError::Unavailable(_)) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::FORBIDDEN
            };
            return message_page(
                &state,
                status,
                lang,
                Text::FailedTitle,
                failure_text(e.code()),
            );
        }
    };
    let now = state.now();
    let session_seconds = i64::from(state.config.auth.session_seconds);
    let id = session.id.clone();
    let initials = identity.initials();
    let stored_initials = initials.clone();
    let done = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let live = sql.query_opt(
                    "SELECT kiosk_id, sign_in_expires_at FROM auth_sessions
                     WHERE id = ?1 AND state = 'signing_in'",
                    args![&id],
                )?;
                let Some(live) = live else {
                    return Ok(None);
                };
                let (kiosk_id, deadline): (String, Option<i64>) = (live.get(0)?, live.get(1)?);
                if deadline.is_some_and(|d| now.timestamp() >= d) {
                    sql.execute(
                        &format!("UPDATE auth_sessions SET state = 'expired', finished_at = ?2, {ERASE} WHERE id = ?1"),
                        args![&id, deadline],
                    )?;
                    return Ok(None);
                }
                let subject = cf_hash(sql, &identity.codice_fiscale)?;
                sql.execute(
                    "UPDATE auth_sessions SET state = 'authenticated', authenticated_at = ?2,
                         expires_at = ?3, cf_hash = ?4, codice_fiscale = ?5, given_name = ?6,
                         family_name = ?7, initials = ?8, oidc_nonce = NULL, pkce_verifier = NULL,
                         browser_hash = NULL
                     WHERE id = ?1",
                    args![
                        &id,
                        now.timestamp(),
                        now.timestamp() + session_seconds,
                        &subject,
                        identity.codice_fiscale.as_str(),
                        identity.given_name.as_deref(),
                        identity.family_name.as_deref(),
                        stored_initials.as_deref()
                    ],
                )?;
                audit::record(
                    sql,
                    now,
                    AuditEvent::LoginSucceeded,
                    &Entry {
                        kiosk_id: Some(&kiosk_id),
                        session_id: Some(&id),
                        subject: Some(&subject),
                        ..Entry::default()
                    },
                )?;
                // Where the sign-in was for: the kiosk and its office.
                let place: Option<(String, String)> = match sql.query_opt(
                    "SELECT k.name, o.name FROM kiosks k JOIN offices o ON o.id = k.office_id
                     WHERE k.id = ?1",
                    args![&kiosk_id],
                )? {
                    Some(row) => Some((row.get(0)?, row.get(1)?)),
                    None => None,
                };
                Ok::<_, ApiError>(Some(place.unwrap_or_else(|| (kiosk_id, String::new()))))
            })
        })
        .await;
    match done {
        Ok(Some((kiosk_name, office_name))) => {
            let office_name = if office_name.is_empty() {
                state.config.office_name.clone()
            } else {
                office_name
            };
            tracing::info!(session = %session.id, "citizen signed in at a kiosk");
            let mut body = format!(
                "<p>{}</p>\n<p class=\"where\">{}</p>\n",
                escape(text(lang, Text::SignedIn)),
                where_html(lang, Text::SignedInAt, &kiosk_name, &office_name)
            );
            if let Some(initials) = &initials {
                body.push_str(&format!(
                    "<p>{}</p>\n<p class=\"initials\">{}</p>\n",
                    escape(text(lang, Text::Initials)),
                    ltr(initials)
                ));
            }
            body.push_str(&format!("<p>{}</p>\n", escape(text(lang, Text::Back))));
            phone_page(
                StatusCode::OK,
                lang,
                &office_name,
                text(lang, Text::SignedInTitle),
                &body,
                None,
            )
        }
        Ok(None) => message_page(
            &state,
            StatusCode::GONE,
            lang,
            Text::FailedTitle,
            Text::Ended,
        ),
        Err(e) => {
            tracing::warn!(code = e.code, "login callback: database error");
            message_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                Text::Title,
                Text::Unavailable,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_query_takes_any_shipped_language_and_names_them_all_when_wrong() {
        assert_eq!(lang_query(None).unwrap(), Lang::IT);
        for lang in Lang::all() {
            let query = format!("x=1&lang={}", lang.code());
            assert_eq!(lang_query(Some(&query)).unwrap(), lang);
        }
        let err = lang_query(Some("lang=xx")).unwrap_err();
        assert_eq!(
            (err.status, err.code),
            (StatusCode::BAD_REQUEST, code::BAD_LANG)
        );
        let all = Lang::all().map(Lang::code).collect::<Vec<_>>().join(", ");
        assert_eq!(err.message, format!("`lang` must be one of {all}"));
        assert!(err.message.starts_with("`lang` must be one of it, en"));
    }

    #[test]
    fn sign_in_failures_have_their_message() {
        assert_eq!(failure_text("cancelled"), Text::Cancelled);
        assert_eq!(failure_text("invalid_fiscal_number"), Text::NoFiscalNumber);
        assert_eq!(failure_text("whatever"), Text::Rejected);
        assert_eq!(text(Lang::EN, Text::Back), "You can close this page.");
    }
}
