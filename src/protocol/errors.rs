//! The one error shape of every hub answer and the stable codes in it.
//!
//! A kiosk acts on the code, never on the message or the HTTP status alone, so the codes
//! it reads are named here once and used by both ends. A code is never renamed or reused
//! for something else; new ones may be added.

use serde::{Deserialize, Serialize};

/// Every error the hub returns: `{"error":{"code","message"}}` with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A machine-readable code (stable, snake_case) and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code a kiosk can act on, e.g. `kiosk_disabled`, `unknown_service`.
    pub code: String,
    /// What went wrong, for a maintainer reading the kiosk's log.
    pub message: String,
}

/// 401: no valid kiosk token (not enrolled, or enrolled at another hub).
pub const UNAUTHORIZED: &str = "unauthorized";
/// 401: the enrollment token is unknown or already used.
pub const INVALID_ENROLLMENT_TOKEN: &str = "invalid_enrollment_token";
/// 403: the office disabled this kiosk.
pub const KIOSK_DISABLED: &str = "kiosk_disabled";
/// 422: the service takes no more tickets today.
pub const SERVICE_CLOSED: &str = "service_closed";
/// 409: the service has given all 999 numbers of the office day (online and bands).
pub const NO_NUMBERS_LEFT: &str = "no_numbers_left";
/// 429: this kiosk asked for more online numbers than a kiosk can print
/// (`[queue] kiosk_tickets_per_minute`): number the ticket from a band.
pub const TOO_MANY_TICKETS: &str = "too_many_tickets";
/// 422: no such service in this office's catalogue.
pub const UNKNOWN_SERVICE: &str = "unknown_service";
/// 422: no booking with that code today.
pub const UNKNOWN_APPOINTMENT: &str = "unknown_appointment";
/// 409: the booking was already checked in.
pub const APPOINTMENT_USED: &str = "appointment_used";
/// 422: the booking is for another service.
pub const APPOINTMENT_SERVICE_MISMATCH: &str = "appointment_service_mismatch";
/// 409: the op_id was used for a different request.
pub const OP_ID_REUSED: &str = "op_id_reused";
/// 409: the kiosk withdrew this operation (it never handed its ticket over).
pub const OP_WITHDRAWN: &str = "op_withdrawn";
/// 422: an offline number that is not a display number.
pub const BAD_OFFLINE_NUMBER: &str = "bad_offline_number";
/// 422: an offline number outside the kiosk's bands.
pub const NUMBER_NOT_LEASED: &str = "number_not_leased";
/// 409: an offline number already used today.
pub const NUMBER_TAKEN: &str = "number_taken";
/// 400: a look-up by a text that is not a display number.
pub const BAD_NUMBER: &str = "bad_number";
/// 400: a look-up by a text that is not a ticket id.
pub const BAD_TICKET_ID: &str = "bad_ticket_id";
/// 404: no such ticket today.
pub const UNKNOWN_TICKET: &str = "unknown_ticket";
/// 404: no such citizen login session for this kiosk.
pub const UNKNOWN_SESSION: &str = "unknown_session";
/// 400: a session id that is not one.
pub const BAD_SESSION_ID: &str = "bad_session_id";
/// 409: the citizen has not signed in (yet).
pub const NOT_AUTHENTICATED: &str = "not_authenticated";
/// 410: the login session ran out of time.
pub const SESSION_EXPIRED: &str = "session_expired";
/// 410: the login session was ended.
pub const SESSION_ENDED: &str = "session_ended";
/// 410: the sign-in at the identity provider failed.
pub const LOGIN_FAILED: &str = "login_failed";
/// 503: this office offers no citizen login.
pub const LOGIN_UNAVAILABLE: &str = "login_unavailable";
/// 429: too many login sessions from this kiosk just now.
pub const TOO_MANY_LOGINS: &str = "too_many_logins";
/// 429: too many failed sign-ins from this kiosk just now.
pub const TOO_MANY_FAILED_LOGINS: &str = "too_many_failed_logins";
/// 422: no such certificate kind.
pub const UNKNOWN_CERTIFICATE: &str = "unknown_certificate";
/// 422: that certificate is not available for this person.
pub const CERTIFICATE_UNAVAILABLE: &str = "certificate_unavailable";
/// 400 or 422: a language the hub does not speak.
pub const BAD_LANG: &str = "bad_lang";
/// 500: the hub failed; try again.
pub const INTERNAL: &str = "internal";
/// 503: the hub cannot reach its database (PostgreSQL restarting or out of reach);
/// nothing was done, try again shortly (a kiosk's outbox keeps the operation).
pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
