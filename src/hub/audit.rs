//! The audit log of citizen logins and certificates: who, when, which kiosk.
//!
//! "Who" is the keyed hash of the codice fiscale (the key lives in the database, as for
//! bookings), never a name or a code: an operator finds a person's events by typing
//! their code into the audit page, which hashes it. Rows are kept
//! `auth.audit_retention_days` days. Readable by a logged-in clerk at `/audit`,
//! `GET /audit/api/events` (no codice fiscale) and `POST /audit/api/events` (the code in
//! the JSON body, never in an address that proxies and browser history keep).
//!
//! Reading the log is itself recorded (security finding 18): every search writes an
//! `audit_searched` row naming the clerk, with the searched person's keyed hash when
//! the search was for one, so looking a citizen up leaves a trace that person's own
//! search finds.
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiJson};
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use crate::identity::CodiceFiscale;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A phone opened a kiosk's login link and was sent to the identity provider.
    LoginStarted,
    /// The provider signed the person in; the kiosk session is authenticated.
    LoginSucceeded,
    /// A sign-in did not complete (cancelled, refused, bad claims, link reused...).
    LoginFailed,
    /// A certificate was issued to the authenticated person.
    CertificateIssued,
    /// An authenticated session ended (finish, after printing, idle, expiry).
    SessionEnded,
    /// A clerk searched this log (`operator`; `subject` when a person was searched for).
    AuditSearched,
}

impl AuditEvent {
    /// The stored and wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::LoginStarted => "login_started",
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::CertificateIssued => "certificate_issued",
            AuditEvent::SessionEnded => "session_ended",
            AuditEvent::AuditSearched => "audit_searched",
        }
    }

    /// Every event, for filters.
    pub const ALL: [AuditEvent; 6] = [
        AuditEvent::LoginStarted,
        AuditEvent::LoginSucceeded,
        AuditEvent::LoginFailed,
        AuditEvent::CertificateIssued,
        AuditEvent::SessionEnded,
        AuditEvent::AuditSearched,
    ];
}

/// One row to write.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// The kiosk involved.
    pub kiosk_id: Option<&'a str>,
    /// The login session.
    pub session_id: Option<&'a str>,
    /// Keyed hash of the person's codice fiscale.
    pub subject: Option<&'a str>,
    /// The certificate issued.
    pub certificate_id: Option<&'a str>,
    /// A short code saying why (e.g. `link_used`, `expired`, `finished`).
    pub detail: Option<&'a str>,
    /// The clerk who acted (a search of this log).
    pub operator: Option<&'a str>,
    /// The office the row belongs to; when `None`, the kiosk's (else the configured
    /// office).
    pub office: Option<i64>,
}

/// Appends an event (inside the caller's transaction, when there is one).
pub fn record<'c>(
    sql: impl Into<Sql<'c>>,
    at: DateTime<Utc>,
    event: AuditEvent,
    entry: &Entry<'_>,
) -> Result<(), SqlError> {
    sql.into().execute(
        "INSERT INTO audit (at, event, kiosk_id, session_id, subject, certificate_id, detail,
                            operator, office_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                 COALESCE(CAST(?9 AS BIGINT),
                          (SELECT office_id FROM kiosks WHERE id = ?3), 1))",
        args![
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            event.as_str(),
            entry.kiosk_id,
            entry.session_id,
            entry.subject,
            entry.certificate_id,
            entry.detail,
            entry.operator,
            entry.office
        ],
    )?;
    Ok(())
}

/// An audit row as the operator reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Row id (increasing; page with `before`).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What.
    pub event: String,
    /// Which kiosk.
    pub kiosk_id: Option<String>,
    /// The kiosk's name.
    pub kiosk_name: Option<String>,
    /// The login session.
    pub session_id: Option<String>,
    /// The person: first 16 hex digits of the keyed hash of their code.
    pub subject: Option<String>,
    /// The certificate.
    pub certificate_id: Option<String>,
    /// Why.
    pub detail: Option<String>,
    /// The clerk who acted (`audit_searched`).
    #[serde(default)]
    pub operator: Option<String>,
}

/// `GET /audit/api/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditRow>,
}

/// The filters of `GET /audit/api/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// At most this many rows (1-500, default 100).
    pub limit: u32,
    /// Rows with a smaller id only.
    pub before: Option<i64>,
    /// One event type.
    pub event: Option<AuditEvent>,
    /// One kiosk.
    pub kiosk_id: Option<String>,
    /// One person's keyed hash.
    pub subject: Option<String>,
    /// The office whose rows are read (a clerk reads only their own office's).
    pub office: i64,
}

/// The latest 100 rows of the configured office.
impl Default for Filter {
    fn default() -> Filter {
        Filter {
            limit: 100,
            before: None,
            event: None,
            kiosk_id: None,
            subject: None,
            office: super::offices::CONFIGURED_OFFICE,
        }
    }
}

/// Reads rows newest first.
pub fn list<'c>(sql: impl Into<Sql<'c>>, filter: &Filter) -> Result<Vec<AuditRow>, SqlError> {
    // Each optional filter is cast where it is tested for NULL: PostgreSQL cannot tell a
    // parameter's type from `IS NULL` alone.
    let rows = sql.into().query_all(
        "SELECT a.id, a.at, a.event, a.kiosk_id, k.name, a.session_id, a.subject,
                a.certificate_id, a.detail, a.operator
         FROM audit a LEFT JOIN kiosks k ON k.id = a.kiosk_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR a.id < ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR a.event = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR a.kiosk_id = ?3)
           AND (CAST(?4 AS TEXT) IS NULL OR a.subject = ?4)
           AND a.office_id = ?6
         ORDER BY a.id DESC LIMIT ?5",
        args![
            filter.before,
            filter.event.map(AuditEvent::as_str),
            filter.kiosk_id.as_deref(),
            filter.subject.as_deref(),
            filter.limit,
            filter.office
        ],
    )?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                event: r.get(2)?,
                kiosk_id: r.get(3)?,
                kiosk_name: r.get(4)?,
                session_id: r.get(5)?,
                subject: r
                    .get::<Option<String>>(6)?
                    .map(|s| s.chars().take(16).collect()),
                certificate_id: r.get(7)?,
                detail: r.get(8)?,
                operator: r.get(9)?,
            })
        })
        .collect()
}

/// Deletes rows older than `cutoff`; returns how many.
pub fn prune<'c>(sql: impl Into<Sql<'c>>, cutoff: DateTime<Utc>) -> Result<usize, SqlError> {
    let deleted = sql.into().execute(
        "DELETE FROM audit WHERE at < ?1",
        args![cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
    )?;
    Ok(deleted as usize)
}

/// The filters as a search sends them: the query of `GET /audit/api/events`, or the JSON
/// body of `POST /audit/api/events` (the only place a codice fiscale is accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// At most this many rows (1-500, default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Rows with a smaller id only.
    #[serde(default)]
    pub before: Option<i64>,
    /// One event type.
    #[serde(default)]
    pub event: Option<String>,
    /// One kiosk.
    #[serde(default)]
    pub kiosk: Option<String>,
    /// One person, by codice fiscale (hashed with the hub's key; not kept, not logged).
    #[serde(default)]
    pub codice_fiscale: Option<String>,
}

impl SearchRequest {
    /// The filter, and the person searched for if any.
    fn filter(self) -> Result<(Filter, Option<CodiceFiscale>), ApiError> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let limit = match self.limit {
            None => 100,
            Some(n) if (1..=500).contains(&n) => n,
            Some(_) => {
                return Err(ApiError::bad_request("bad_limit", "`limit` must be 1-500"));
            }
        };
        let event = match given(self.event) {
            None => None,
            Some(value) => Some(
                AuditEvent::ALL
                    .into_iter()
                    .find(|e| e.as_str() == value)
                    .ok_or_else(|| ApiError::bad_request("bad_event", "unknown event type"))?,
            ),
        };
        let code = match given(self.codice_fiscale) {
            None => None,
            Some(text) => Some(text.parse::<CodiceFiscale>().map_err(|_| {
                ApiError::unprocessable(
                    "bad_codice_fiscale",
                    "the codice fiscale of the filter is not valid",
                )
            })?),
        };
        let filter = Filter {
            limit,
            before: self.before,
            event,
            kiosk_id: given(self.kiosk).map(|k| k.chars().take(64).collect()),
            subject: None,
            office: super::offices::CONFIGURED_OFFICE,
        };
        Ok((filter, code))
    }
}

fn parse_query(query: Option<&str>) -> Result<SearchRequest, ApiError> {
    let mut search = SearchRequest::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "limit" => {
                search.limit =
                    Some(value.parse::<u32>().map_err(|_| {
                        ApiError::bad_request("bad_limit", "`limit` must be 1-500")
                    })?);
            }
            "before" => {
                search.before = Some(value.parse::<i64>().map_err(|_| {
                    ApiError::bad_request("bad_before", "`before` must be a row id")
                })?);
            }
            "event" => search.event = Some(value),
            "kiosk" => search.kiosk = Some(value),
            "codice_fiscale" => {
                return Err(ApiError::bad_request(
                    "codice_fiscale_in_url",
                    "send the codice fiscale in the body of POST /audit/api/events, never in the address",
                ));
            }
            _ => {}
        }
    }
    Ok(search)
}

/// `GET /audit/api/events?limit=&before=&event=&kiosk=`: newest first. A codice fiscale
/// in the address is refused (400 `codice_fiscale_in_url`): it belongs in a POST body.
pub async fn events(
    State(state): State<AppState>,
    op: OperatorAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let search = parse_query(query.as_deref())?;
    search_log(&state, &op, search).await
}

/// `POST /audit/api/events` with the filters as JSON (`limit`, `before`, `event`,
/// `kiosk`, `codice_fiscale`): newest first.
pub async fn search(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiJson(search): ApiJson<SearchRequest>,
) -> Result<Json<AuditPage>, ApiError> {
    search_log(&state, &op, search).await
}

/// Lists the rows, then records the search (clerk, time, keyed hash of the person
/// searched for, the other filters) in the same transaction.
async fn search_log(
    state: &AppState,
    op: &OperatorAuth,
    search: SearchRequest,
) -> Result<Json<AuditPage>, ApiError> {
    let (mut filter, code) = search.filter()?;
    filter.office = op.office.id;
    let office = op.office.id;
    let now = state.now();
    let clerk = op.name.clone();
    let described = describe(&filter);
    let by_person = code.is_some();
    let events = state
        .db
        .write(move |conn| {
            Sql::from(conn).write_transaction(|sql| {
                if let Some(code) = &code {
                    filter.subject = Some(super::appointments::cf_hash(sql, code)?);
                }
                let rows = list(sql, &filter)?;
                record(
                    sql,
                    now,
                    AuditEvent::AuditSearched,
                    &Entry {
                        subject: filter.subject.as_deref(),
                        kiosk_id: filter.kiosk_id.as_deref(),
                        detail: described.as_deref(),
                        operator: Some(&clerk),
                        office: Some(office),
                        ..Entry::default()
                    },
                )?;
                Ok::<_, ApiError>(rows)
            })
        })
        .await?;
    tracing::info!(clerk = %op.name, by_person, "audit log searched");
    Ok(Json(AuditPage { events }))
}

/// The filters other than the person, for the search's `detail` (`event=…`, `before=…`).
fn describe(filter: &Filter) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(event) = filter.event {
        parts.push(format!("event={}", event.as_str()));
    }
    if let Some(before) = filter.before {
        parts.push(format!("before={before}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let now = Utc::now();
        for (i, event) in AuditEvent::ALL.iter().enumerate() {
            record(
                &conn,
                now,
                *event,
                &Entry {
                    kiosk_id: Some(if i % 2 == 0 { "k1" } else { "k2" }),
                    subject: Some("ab".repeat(32).as_str()),
                    ..Entry::default()
                },
            )
            .unwrap();
        }
        let all = list(
            &conn,
            &Filter {
                limit: 100,
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].event, "audit_searched");
        assert_eq!(all[0].subject.as_deref(), Some("abababababababab"));
        let k1 = list(
            &conn,
            &Filter {
                limit: 100,
                kiosk_id: Some("k1".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(k1.len(), 3);
        let page = list(
            &conn,
            &Filter {
                limit: 2,
                before: Some(all[1].id),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].id, all[2].id);
        assert_eq!(
            prune(&conn, now + chrono::TimeDelta::seconds(1)).unwrap(),
            6
        );
        let filter = |q| parse_query(Some(q)).and_then(SearchRequest::filter);
        assert!(filter("limit=0").is_err());
        assert!(filter("event=nope").is_err());
        assert!(filter("before=x").is_err());
        let (f, code) = filter("event=login_failed&other=1").unwrap();
        assert_eq!(f.event, Some(AuditEvent::LoginFailed));
        assert_eq!(code, None);
        // A codice fiscale only in a POST body, never in an address.
        assert!(filter("codice_fiscale=RSSMRA45C12F205C").is_err());
        let body: SearchRequest =
            serde_json::from_str(r#"{"codice_fiscale": " rssmra45c12f205c "}"#).unwrap();
        let (_, code) = body.filter().unwrap();
        assert_eq!(code.unwrap().as_str(), "RSSMRA45C12F205C");
    }
}
