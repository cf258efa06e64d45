//! Who is calling: kiosks by bearer token, clerks by password and session cookie.
//!
//! Kiosk and enrollment tokens are 256-bit random values, so a SHA-256 of them is enough
//! to store; a stolen database does not give working tokens. Clerk passwords are chosen by
//! people, so they get Argon2id. Session tokens are random, stored hashed, and expire.
//!
//! Written for both engines (`hub::sql`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::error::ApiError;
use super::kiosk_tokens::KnownKiosk;
use super::offices::Office;
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use crate::protocol::errors as code;

/// Name of the clerk's session cookie.
pub const SESSION_COOKIE: &str = "sportello_session";

/// A fresh random token: 32 bytes as 64 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored for a high-entropy token: its SHA-256 in hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Hashes a clerk's password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let hash: argon2::password_hash::phc::PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// A PHC string of a password nobody has, verified against when the name is unknown so
/// that a wrong name and a wrong password take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_token()).unwrap_or_default())
}

/// The address the request came from (the TCP peer). Unspecified when the router runs
/// without connection info (a test calling it directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientIp(peer.unwrap_or(std::net::IpAddr::V4(
            std::net::Ipv4Addr::UNSPECIFIED,
        ))))
    }
}

/// An authenticated, enabled kiosk.
#[derive(Debug, Clone)]
pub struct KioskAuth {
    /// The kiosk's id.
    pub kiosk_id: String,
    /// The office it belongs to.
    pub office: Arc<Office>,
}

impl FromRequestParts<AppState> for KioskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized =
            |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, msg);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing `Authorization: Bearer <token>`"))?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(|| unauthorized("expected `Authorization: Bearer <token>`"))?;
        let hash = token_hash(token);
        let known = match state.kiosk_tokens.get(&hash) {
            Some(known) => Some(known),
            None => {
                let stamp = state.kiosk_tokens.stamp();
                let looked_up = hash.clone();
                let row: Option<KnownKiosk> = state
                    .db
                    .read(move |conn| {
                        Ok(Sql::from(&*conn)
                            .query_opt(
                                "SELECT id, disabled, office_id FROM kiosks WHERE token_hash = ?1",
                                args![looked_up],
                            )?
                            .map(|r| {
                                Ok::<_, SqlError>(KnownKiosk {
                                    kiosk_id: r.get(0)?,
                                    disabled: r.get(1)?,
                                    office: r.get(2)?,
                                })
                            })
                            .transpose()?)
                    })
                    .await?;
                if let Some(kiosk) = &row {
                    state.kiosk_tokens.remember(hash, kiosk.clone(), stamp);
                }
                row
            }
        };
        let KnownKiosk {
            kiosk_id,
            disabled,
            office,
        } = known.ok_or_else(|| unauthorized("unknown kiosk token"))?;
        state.saw_kiosk(&kiosk_id);
        if disabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                code::KIOSK_DISABLED,
                "this kiosk has been disabled by the office; show the out-of-service screen",
            ));
        }
        let office = state.office(office).await?;
        Ok(KioskAuth { kiosk_id, office })
    }
}

/// What a clerk may do beyond calling tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The counter, the display, the fleet page (seeing it, disabling a kiosk), the audit.
    Clerk,
    /// Also rolling software out to the kiosks from the fleet page.
    Maintainer,
    /// Also the office's reports: waits, service times, per counter and per clerk.
    Manager,
}

impl Role {
    /// Every role, for messages.
    pub const ALL: [Role; 3] = [Role::Clerk, Role::Maintainer, Role::Manager];

    /// The name stored and typed (`operator add --role maintainer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Maintainer => "maintainer",
            Role::Manager => "manager",
        }
    }

    /// The role with this name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// A logged-in clerk, with the counter and services chosen for this session.
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// The operator's id.
    pub operator_id: i64,
    /// The operator's login name.
    pub name: String,
    /// Hash of the session token (the session's key).
    pub session_hash: String,
    /// The counter chosen, if any.
    pub counter: Option<String>,
    /// Service codes this counter serves.
    pub services: Vec<String>,
    /// What the clerk may do beyond the counter.
    pub role: Role,
    /// The office the clerk works in: the only one whose tickets, kiosks and audit the
    /// clerk sees or acts on.
    pub office: Arc<Office>,
}

impl OperatorAuth {
    /// 403 unless the clerk has `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role == role {
            return Ok(());
        }
        tracing::warn!(clerk = %self.name, needed = role.as_str(), "clerk action refused: role");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "role_required",
            format!(
                "only a clerk with the role `{}` may do this (sportello hub operator add NAME --role {})",
                role.as_str(),
                role.as_str()
            ),
        ))
    }
}

/// The value of the session cookie in a request, if any.
pub fn session_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// A clerk session's last use is written at most this often (seconds): the idle
/// timeout needs minutes, not a database write per request.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    /// A session is valid until `expires_at`, while its clerk is not disabled, and while
    /// it was used within `[sessions] idle_minutes` (security finding 19); an idle one is
    /// deleted.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(parts).ok_or_else(not_logged_in)?;
        let hash = token_hash(&token);
        let now = state.now().timestamp();
        let row = state
            .db
            .read(move |conn| {
                let Some(r) = Sql::from(&*conn).query_opt(
                    "SELECT s.operator_id, o.name, s.counter, s.services,
                            COALESCE(s.last_used_at, s.created_at), o.role, o.office_id
                     FROM sessions s JOIN operators o ON o.id = s.operator_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2
                       AND o.disabled_at IS NULL",
                    args![&hash, now],
                )?
                else {
                    return Ok(None);
                };
                let row = (
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<String>(3)?,
                    r.get::<i64>(4)?,
                    r.get::<String>(5)?,
                    r.get::<i64>(6)?,
                );
                Ok(Some((hash, row)))
            })
            .await?;
        let (session_hash, (operator_id, name, counter, services, last_used, role, office)) =
            row.ok_or_else(not_logged_in)?;
        let idle = now - last_used;
        if idle >= i64::from(state.config.sessions.idle_minutes) * 60 {
            let gone = session_hash.clone();
            state
                .db
                .write(move |conn| {
                    Sql::from(&*conn)
                        .execute("DELETE FROM sessions WHERE token_hash = ?1", args![gone])?;
                    Ok(())
                })
                .await?;
            tracing::info!(clerk = %name, idle_seconds = idle, "clerk session ended: idle");
            return Err(not_logged_in());
        }
        if idle >= TOUCH_EVERY_SECONDS {
            let touched = session_hash.clone();
            state
                .db
                .write(move |conn| {
                    Sql::from(&*conn).execute(
                        "UPDATE sessions SET last_used_at = ?2 WHERE token_hash = ?1",
                        args![touched, now],
                    )?;
                    Ok(())
                })
                .await?;
        }
        let services: Vec<String> = serde_json::from_str(&services).unwrap_or_default();
        let office = state.office(office).await?;
        Ok(OperatorAuth {
            operator_id,
            name,
            session_hash,
            counter,
            services,
            role: Role::parse(&role).unwrap_or(Role::Clerk),
            office,
        })
    }
}

fn not_logged_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "not_logged_in",
        "log in first (the session may have expired)",
    )
}

/// The `Set-Cookie` value for a session: HttpOnly, SameSite=Strict, Secure over TLS.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_hashes_are_salted() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct hors", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
