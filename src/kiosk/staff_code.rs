//! Short codes a citizen can read out at the front desk ("Codice E21"), in place of the
//! internal names of what went wrong.
//!
//! A problem page must tell a citizen what to do, not show `kiosk_disabled`; the staff
//! still need to know which problem it was. Each internal reason (the kiosk's own, and
//! the hub's error codes from `protocol::errors`) has one code here, and
//! docs/maintainer.md lists them all (a test checks both). Codes are never reused.

use crate::protocol::errors;

/// (internal reason, code, what it means for a maintainer).
pub const CODES: &[(&str, &str, &str)] = &[
    (
        errors::KIOSK_DISABLED,
        "E10",
        "the office disabled this kiosk on the fleet page",
    ),
    (
        "local_store",
        "E11",
        "the kiosk's local store failed (disk full or damaged): run sportello doctor",
    ),
    (
        "no_offline_number",
        "E20",
        "the hub did not answer and no offline number could be given (no band left, no emergency number, or no trusted clock)",
    ),
    (
        "unknown_service",
        "E21",
        "the service is not in the kiosk's catalogue",
    ),
    (
        errors::SERVICE_CLOSED,
        "E22",
        "the service takes no more tickets today (service hours on the hub)",
    ),
    (
        errors::NO_NUMBERS_LEFT,
        "E23",
        "the service has given all 999 numbers of today (online and offline bands together)",
    ),
    ("hub_unreachable", "E30", "the hub did not answer"),
    (
        "pin_mismatch",
        "E31",
        "the hub's certificate is not the pinned one: a new hub or a new certificate",
    ),
    ("hub_error", "E32", "the hub failed (5xx): see its log"),
    (
        "bad_response",
        "E33",
        "an unreadable answer (a proxy in the way?)",
    ),
    (
        "client_config",
        "E34",
        "the kiosk's hub URL or pin is wrong in kiosk.toml",
    ),
    (
        errors::UNAUTHORIZED,
        "E35",
        "the hub does not know this kiosk's token (hub replaced or database lost): enrol again",
    ),
    (
        errors::OP_ID_REUSED,
        "E40",
        "the hub has another request under this operation id",
    ),
    (
        errors::NUMBER_TAKEN,
        "E41",
        "an offline number the hub had already used today",
    ),
    (
        errors::NUMBER_NOT_LEASED,
        "E42",
        "an offline number outside the kiosk's bands",
    ),
    (
        errors::BAD_OFFLINE_NUMBER,
        "E43",
        "an offline number that is not a display number",
    ),
    (
        errors::UNKNOWN_APPOINTMENT,
        "E50",
        "no booking with that code today",
    ),
    (
        errors::APPOINTMENT_USED,
        "E51",
        "the booking was already checked in",
    ),
    (
        errors::APPOINTMENT_SERVICE_MISMATCH,
        "E52",
        "the booking is for another service",
    ),
    (errors::BAD_LANG, "E60", "a language the hub does not speak"),
    (
        errors::INTERNAL,
        "E61",
        "the hub failed inside: see its log",
    ),
];

/// The code for anything the tables do not name.
pub const UNKNOWN: &str = "E99";

/// The code to show for an internal reason; [`UNKNOWN`] for one not in the table.
pub fn staff_code(reason: &str) -> &'static str {
    CODES
        .iter()
        .find(|(name, _, _)| *name == reason)
        .map_or(UNKNOWN, |(_, code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk::core::TicketProblem;
    use crate::sync::ClientError;

    #[test]
    fn every_reason_the_kiosk_shows_has_a_code() {
        let problems = [
            TicketProblem::Disabled,
            TicketProblem::ServiceClosed,
            TicketProblem::NoNumbersLeft,
            TicketProblem::NoNumber,
            TicketProblem::UnknownService,
            TicketProblem::Store,
        ];
        for p in problems {
            assert_ne!(staff_code(p.reference()), UNKNOWN, "{p:?}");
        }
        let client = [
            ClientError::Unreachable("x".into()),
            ClientError::PinMismatch,
            ClientError::Server {
                status: 500,
                message: String::new(),
            },
            ClientError::BadResponse("x".into()),
            ClientError::Config("x".into()),
        ];
        for e in client {
            assert_ne!(staff_code(e.reference()), UNKNOWN, "{e:?}");
        }
        assert_eq!(staff_code("something_new"), UNKNOWN);
    }

    #[test]
    fn a_code_means_one_thing_and_the_guide_lists_every_code() {
        let mut meaning = std::collections::HashMap::new();
        for (_, code, what) in CODES {
            let first = meaning.entry(*code).or_insert(*what);
            assert_eq!(first, what, "{code} means two things");
            assert!(code.starts_with('E') && code.len() == 3, "{code}");
        }
        let guide = include_str!("../../docs/maintainer.md");
        for code in meaning.keys().chain([&UNKNOWN]) {
            assert!(
                guide.contains(&format!("`{code}`")),
                "docs/maintainer.md does not explain `{code}`"
            );
        }
    }
}
