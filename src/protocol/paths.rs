//! The paths of the kiosk API. The hub's router registers these templates and the kiosk's
//! client fills them in, so a renamed route cannot leave the other end calling the old one.

/// `POST`: trade an enrollment token for a kiosk token.
pub const ENROLL: &str = "/api/v1/kiosks/enroll";
/// `POST`: the kiosk's periodic report.
pub const HEARTBEAT: &str = "/api/v1/kiosks/heartbeat";
/// `GET`: the office's services (ETag).
pub const CATALOGUE: &str = "/api/v1/catalogue";
/// `POST`: issue (or replay) a ticket.
pub const TICKETS: &str = "/api/v1/tickets";
/// `GET`: a ticket by its tracking id.
pub const TICKET: &str = "/api/v1/tickets/{ticket_id}";
/// `GET`: today's ticket with a display number.
pub const TICKET_BY_NUMBER: &str = "/api/v1/tickets/by-number/{number}";
/// `POST`: withdraw an operation whose ticket the kiosk never handed over.
pub const WITHDRAWALS: &str = "/api/v1/withdrawals";
/// `GET`: an update bundle offered to this kiosk, by its SHA-256 (`Range` resumes).
pub const UPDATE_BUNDLE: &str = "/api/v1/updates/{sha256}";
/// `GET`: waiting figures per service.
pub const QUEUES: &str = "/api/v1/queues";
/// `POST`: lease bands of offline numbers.
pub const BANDS: &str = "/api/v1/bands";
/// `POST`: start a citizen login on a phone.
pub const LOGIN_SESSIONS: &str = "/api/v1/auth/sessions";
/// `GET` its state, `DELETE` to end it.
pub const LOGIN_SESSION: &str = "/api/v1/auth/sessions/{session_id}";
/// `GET`: the signed-in citizen's applications.
pub const LOGIN_APPLICATIONS: &str = "/api/v1/auth/sessions/{session_id}/applications";
/// `GET` the certificates on offer, `POST` to issue one.
pub const LOGIN_CERTIFICATES: &str = "/api/v1/auth/sessions/{session_id}/certificates";
/// `GET`: the public keys of certificate seals.
pub const KEYS: &str = "/api/v1/keys";
/// `GET`: a seal's verdict as JSON.
pub const VERIFY_API: &str = "/verify/api";

/// The template with its one `{…}` segment replaced by `value` (already URL-safe).
pub fn fill(template: &str, value: &str) -> String {
    match (template.find('{'), template.find('}')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{value}{}", &template[..open], &template[close + 1..])
        }
        _ => template.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_filled_in_place() {
        assert_eq!(fill(TICKET, "abc"), "/api/v1/tickets/abc");
        assert_eq!(
            fill(LOGIN_CERTIFICATES, "s1"),
            "/api/v1/auth/sessions/s1/certificates"
        );
        assert_eq!(fill(QUEUES, "x"), QUEUES, "no segment, nothing to fill");
    }
}
