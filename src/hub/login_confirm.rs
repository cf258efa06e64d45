//! The phone's confirmation page for a sign-in link (security findings 2 and 3).
//!
//! Opening the link (`GET` or `HEAD /login/{token}`, as a chat app's link preview does)
//! changes nothing: the page says which kiosk of which office the sign-in is for and asks
//! for the four-digit code the kiosk shows beside its QR code. Only that form, posted from
//! this page (same origin, [`super::csrf::same_origin_form`]) with the right code, uses the
//! link, binds the sign-in to the browser with a cookie and sends the phone to the identity
//! provider. Someone sent the link from afar cannot see the kiosk's screen; the page also
//! tells them to stop. After [`MAX_CODE_ATTEMPTS`] wrong codes the link is spent and the
//! kiosk's session fails (`wrong_code`, which counts towards pausing the kiosk's logins).
//!
//! Written for both engines (`hub::sql`).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::audit::{self, AuditEvent, Entry};
use super::auth::{new_token, token_hash};
use super::csrf;
use super::error::ApiError;
use super::login::{
    ERASE, LOGIN_COOKIE, SESSION_COLUMNS, Session, Text, expire, fail, notice, phone_page,
    query_param, read_session, text, where_html,
};
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use super::tracking::{choose_lang, escape};
use crate::lang::Lang;
use crate::protocol::LoginState;

/// Wrong codes a link takes before it is spent.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// A link's session as found, with what the page needs.
struct Link {
    session: Session,
    deadline: i64,
    used_at: Option<i64>,
    binding_code: Option<String>,
    attempts: i64,
    place: Place,
}

/// Where a sign-in is for, as the phone page says it: the kiosk and its office.
#[derive(Debug, Clone)]
struct Place {
    kiosk: String,
    /// The kiosk's office's name (`None`: the kiosk row is gone; the configured office).
    office: Option<String>,
}

fn find_link(sql: Sql<'_>, hash: &str) -> Result<Option<Link>, SqlError> {
    let row = sql.query_opt(
        &format!(
            "SELECT {SESSION_COLUMNS}, link_used_at, binding_code, code_attempts,
                 (SELECT name FROM kiosks WHERE kiosks.id = auth_sessions.kiosk_id),
                 (SELECT o.name FROM kiosks k JOIN offices o ON o.id = k.office_id
                  WHERE k.id = auth_sessions.kiosk_id)
             FROM auth_sessions WHERE link_hash = ?1"
        ),
        args![hash],
    )?;
    let Some(r) = row else {
        return Ok(None);
    };
    let (session, deadline) = read_session(&r)?;
    let place = Place {
        kiosk: r
            .get::<Option<String>>(17)?
            .unwrap_or_else(|| session.kiosk_id.clone()),
        office: r.get(18)?,
    };
    Ok(Some(Link {
        session,
        deadline,
        used_at: r.get(14)?,
        binding_code: r.get(15)?,
        attempts: r.get(16)?,
        place,
    }))
}

/// The token of a well-formed link (64 hex digits).
fn link_token(token: Result<Path<String>, PathRejection>) -> Option<String> {
    token
        .ok()
        .map(|Path(t)| t)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The language the phone asked for in the query, and the one to use before the session
/// is known.
fn languages(query: Option<&str>, headers: &HeaderMap) -> (Option<Lang>, Lang) {
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let asked = query_param(query, "lang").and_then(|l| l.parse::<Lang>().ok());
    (asked, choose_lang(query, accept))
}

/// What the citizen typed, digits only: spaces and dashes dropped, the Arabic-Indic and
/// full-width digits a phone keyboard may give read as 0-9; anything else stays and so
/// never matches.
fn typed_code(body: &[u8]) -> String {
    let value = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    value
        .chars()
        .take(32)
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| {
            let zero = match c {
                '0'..='9' => '0',
                '\u{660}'..='\u{669}' => '\u{660}',
                '\u{6f0}'..='\u{6f9}' => '\u{6f0}',
                '\u{ff10}'..='\u{ff19}' => '\u{ff10}',
                _ => return c,
            };
            char::from(b'0' + (c as u32 - zero as u32) as u8)
        })
        .collect()
}

/// Compares without stopping at the first difference.
fn same_code(stored: Option<&str>, typed: &str) -> bool {
    let Some(stored) = stored else {
        return false;
    };
    stored.len() == typed.len()
        && stored
            .bytes()
            .zip(typed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The confirmation page: where the sign-in is for, the code field, and `error` above
/// the form after a wrong code.
fn form_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    token: &str,
    place: &Place,
    error: bool,
) -> Response {
    let office = place.office.as_deref().unwrap_or(&state.config.office_name);
    let action = format!("{token}?lang={}", lang.code());
    let mut body = format!(
        "<p class=\"where\">{}</p>\n<p>{}</p>\n",
        where_html(lang, Text::ConfirmFor, &place.kiosk, office),
        escape(text(lang, Text::ConfirmHow)),
    );
    if error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            escape(text(lang, Text::WrongCode))
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{action}\">\n\
<label for=\"code\">{label}</label>\n\
<input class=\"code\" id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
pattern=\"[0-9]*\" maxlength=\"8\" autocomplete=\"off\" dir=\"ltr\" required autofocus>\n\
<button type=\"submit\">{button}</button>\n</form>\n",
        action = escape(&action),
        label = escape(text(lang, Text::CodeLabel)),
        button = escape(text(lang, Text::Continue)),
    ));
    let token = token.to_string();
    let href = move |l: Lang| format!("{token}?lang={}", l.code());
    let mut response = phone_page(
        status,
        lang,
        office,
        text(lang, Text::Title),
        &body,
        Some(&href),
    );
    // A form POST from a `no-referrer` page carries `Origin: null`; from this one the
    // browser names the hub's origin, which the POST checks. Nothing leaves the origin.
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// `GET /login/{token}` (and `HEAD`): the confirmation page; nothing is written.
pub async fn confirm_page(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (asked, fallback) = languages(query.as_deref(), &headers);
    let Some(token) = link_token(token) else {
        return notice(&state, StatusCode::NOT_FOUND, fallback, Text::UnknownLink);
    };
    if state.oidc.is_none() {
        let status = StatusCode::SERVICE_UNAVAILABLE;
        return notice(&state, status, fallback, Text::Unavailable);
    }
    let now = state.now().timestamp();
    let hash = token_hash(&token);
    let found = state
        .db
        .read(move |conn| Ok(find_link(Sql::from(conn), &hash)?))
        .await;
    let link = match found {
        Err(e) => {
            tracing::warn!(code = e.code, "login link: database error");
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return notice(&state, status, fallback, Text::Unavailable);
        }
        Ok(None) => return notice(&state, StatusCode::NOT_FOUND, fallback, Text::UnknownLink),
        Ok(Some(link)) => link,
    };
    let lang = asked.unwrap_or(link.session.lang);
    if link.used_at.is_some() {
        notice(&state, StatusCode::GONE, lang, Text::UsedLink)
    } else if link.session.state != LoginState::Pending || now >= link.deadline {
        notice(&state, StatusCode::GONE, lang, Text::ExpiredLink)
    } else {
        form_page(&state, StatusCode::OK, lang, &token, &link.place, false)
    }
}

/// Outcome of posting a code, decided in one transaction.
enum Posted {
    Unknown,
    Expired(Lang),
    Used(Lang),
    Wrong(Lang, Place),
    Spent(Lang),
    Right(Session),
}

/// `POST /login/{token}`: with the kiosk's code, from the confirmation page, uses the link
/// and sends the phone to the provider.
pub async fn confirm(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (asked, fallback) = languages(query.as_deref(), &headers);
    let Some(token) = link_token(token) else {
        return notice(&state, StatusCode::NOT_FOUND, fallback, Text::UnknownLink);
    };
    if let Err(why) = csrf::same_origin_form(&headers) {
        tracing::info!(
            why,
            "login link: code not posted from the confirmation page"
        );
        let lang = asked.unwrap_or(fallback);
        return notice(&state, StatusCode::FORBIDDEN, lang, Text::BadCallback);
    }
    let Some(oidc) = state.oidc.clone() else {
        let status = StatusCode::SERVICE_UNAVAILABLE;
        return notice(&state, status, fallback, Text::Unavailable);
    };
    let typed = typed_code(&body);
    let now = state.now();
    let sign_in = i64::from(state.config.auth.sign_in_seconds);
    let hash = token_hash(&token);
    let posted = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                let Some(mut link) = find_link(sql, &hash)? else {
                    return Ok(Posted::Unknown);
                };
                let session = &mut link.session;
                let (kiosk_id, sid) = (session.kiosk_id.clone(), session.id.clone());
                let refuse = |detail: &str| {
                    audit::record(
                        sql,
                        now,
                        AuditEvent::LoginFailed,
                        &Entry {
                            kiosk_id: Some(&kiosk_id),
                            session_id: Some(&sid),
                            detail: Some(detail),
                            ..Entry::default()
                        },
                    )
                };
                let t = now.timestamp();
                let outcome = if link.used_at.is_some() {
                    refuse("link_reused")?;
                    Posted::Used(session.lang)
                } else if session.state != LoginState::Pending || t >= link.deadline {
                    expire(sql, session, link.deadline, now)?;
                    refuse("link_expired")?;
                    Posted::Expired(session.lang)
                } else if same_code(link.binding_code.as_deref(), &typed) {
                    sql.execute(
                        "UPDATE auth_sessions SET state = 'signing_in', link_used_at = ?2,
                             sign_in_expires_at = ?3, binding_code = NULL WHERE id = ?1",
                        args![&session.id, t, t + sign_in],
                    )?;
                    session.state = LoginState::SigningIn;
                    Posted::Right(link.session)
                } else if link.attempts + 1 >= MAX_CODE_ATTEMPTS {
                    sql.execute(
                        &format!(
                            "UPDATE auth_sessions SET state = 'failed', failure = 'wrong_code',
                                 link_used_at = ?2, finished_at = ?2,
                                 code_attempts = code_attempts + 1, {ERASE} WHERE id = ?1"
                        ),
                        args![&session.id, t],
                    )?;
                    refuse("wrong_code")?;
                    Posted::Spent(session.lang)
                } else {
                    sql.execute(
                        "UPDATE auth_sessions SET code_attempts = code_attempts + 1 WHERE id = ?1",
                        args![&session.id],
                    )?;
                    Posted::Wrong(session.lang, link.place)
                };
                Ok::<_, ApiError>(outcome)
            })
        })
        .await;
    let session = match posted {
        Err(e) => {
            tracing::warn!(code = e.code, "login link: database error");
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return notice(&state, status, fallback, Text::Unavailable);
        }
        Ok(Posted::Unknown) => {
            return notice(&state, StatusCode::NOT_FOUND, fallback, Text::UnknownLink);
        }
        Ok(Posted::Expired(lang)) => {
            let lang = asked.unwrap_or(lang);
            return notice(&state, StatusCode::GONE, lang, Text::ExpiredLink);
        }
        Ok(Posted::Used(lang)) => {
            let lang = asked.unwrap_or(lang);
            return notice(&state, StatusCode::GONE, lang, Text::UsedLink);
        }
        Ok(Posted::Spent(lang)) => {
            let lang = asked.unwrap_or(lang);
            return notice(&state, StatusCode::FORBIDDEN, lang, Text::TooManyCodes);
        }
        Ok(Posted::Wrong(lang, place)) => {
            let lang = asked.unwrap_or(lang);
            let status = StatusCode::BAD_REQUEST;
            return form_page(&state, status, lang, &token, &place, true);
        }
        Ok(Posted::Right(session)) => session,
    };
    let lang = asked.unwrap_or(session.lang);
    let started = match oidc.start(lang).await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(error = %e, "login: cannot reach the identity provider");
            let _ = fail(&state, &session.id, e.code()).await;
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return notice(&state, status, lang, Text::Unavailable);
        }
    };
    let browser = new_token();
    let browser_hash = token_hash(&browser);
    let state_hash = token_hash(&started.state);
    let id = session.id.clone();
    let kiosk_id = session.kiosk_id.clone();
    let stored = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                sql.execute(
                    "UPDATE auth_sessions SET oidc_state_hash = ?2, oidc_nonce = ?3,
                         pkce_verifier = ?4, browser_hash = ?5, lang = ?6
                     WHERE id = ?1 AND state = 'signing_in'",
                    args![
                        &id,
                        state_hash,
                        started.nonce,
                        started.pkce_verifier,
                        browser_hash,
                        lang.code()
                    ],
                )?;
                audit::record(
                    sql,
                    now,
                    AuditEvent::LoginStarted,
                    &Entry {
                        kiosk_id: Some(&kiosk_id),
                        session_id: Some(&id),
                        ..Entry::default()
                    },
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await;
    if let Err(e) = stored {
        tracing::warn!(code = e.code, "login link: database error");
        let status = StatusCode::SERVICE_UNAVAILABLE;
        return notice(&state, status, lang, Text::Unavailable);
    }
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{LOGIN_COOKIE}={browser}; Path=/login; HttpOnly; SameSite=Lax; Max-Age={sign_in}{secure}"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, started.url),
            (SET_COOKIE, cookie),
            (CACHE_CONTROL, "no-store".to_string()),
            (REFERRER_POLICY, "no-referrer".to_string()),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_code_is_read_as_digits_whatever_the_keyboard() {
        assert_eq!(typed_code(b"code=1234"), "1234");
        assert_eq!(typed_code(b"code=+12-34+"), "1234");
        assert_eq!(typed_code("code=١٢٣٤".as_bytes()), "1234");
        assert_eq!(typed_code("code=۱۲۳۴".as_bytes()), "1234");
        assert_eq!(typed_code("code=１２３４".as_bytes()), "1234");
        assert_eq!(typed_code(b"code=12a4"), "12a4");
        assert_eq!(typed_code(b"other=1234"), "");
    }

    #[test]
    fn only_the_stored_code_matches() {
        assert!(same_code(Some("0042"), "0042"));
        assert!(!same_code(Some("0042"), "042"));
        assert!(!same_code(Some("0042"), "0043"));
        assert!(!same_code(None, ""));
        assert!(!same_code(Some("0042"), ""));
    }

    #[test]
    fn the_confirmation_sentences_name_the_kiosk_and_the_office() {
        let html = where_html(Lang::EN, Text::ConfirmFor, "totem <1>", "Ufficio & Co");
        assert_eq!(
            html,
            "This sign-in is for the kiosk “<bdi>totem &lt;1&gt;</bdi>” at <bdi>Ufficio &amp; Co</bdi>."
        );
    }
}
