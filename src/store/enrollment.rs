//! The kiosk's standing at its hub: the token, id and tag the hub gave, which enrollment
//! token they came from, and what the kiosk carries when it enrolls at another hub.
//!
//! A maintainer who replaces the hub stamps a new `enrollment_token` into kiosk.toml
//! (`scripts/flash --config-only`). The kiosk compares it with the one its token came from
//! (kept as a hash) and enrolls again; until the new hub answers it keeps its old token,
//! and its outbox waits (docs/maintainer.md, "Replacing the hub").

use rusqlite::params;
use sha2::{Digest, Sha256};

use super::{Store, StoreError};
use crate::protocol::CarriedNumber;
use crate::protocol::numbers::parse_number;

/// Store keys of what the hub gave this kiosk.
pub const META_TOKEN: &str = "hub_token";
/// The hub's id for this kiosk.
pub const META_KIOSK_ID: &str = "hub_kiosk_id";
/// The tag of this kiosk's emergency numbers.
pub const META_TAG: &str = "hub_tag";
/// SHA-256 of the enrollment token the hub token came from.
pub const META_ENROLLED_WITH: &str = "hub_enrolled_with";

/// The form in which the store remembers an enrollment token: its SHA-256 in hex (the
/// token itself stays in kiosk.toml only).
pub fn enrollment_token_hash(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a hub gave at enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled<'a> {
    /// The hub's id for this kiosk.
    pub kiosk_id: &'a str,
    /// The bearer token.
    pub token: &'a str,
    /// The emergency-number tag.
    pub tag: &'a str,
    /// The hash of the enrollment token that was traded (`enrollment_token_hash`).
    pub enrolled_with: &'a str,
}

impl Store {
    /// Keeps a new enrollment, in one transaction. When the hub gave another kiosk id
    /// than the one held (a new hub), the bands leased by the old hub are dropped: no
    /// number is taken from them any more; the numbers already printed travel with their
    /// operations. Returns whether bands were dropped.
    pub fn save_enrollment(&mut self, enrolled: &Enrolled<'_>) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let held_id: Option<String> = rusqlite::OptionalExtension::optional(tx.query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [META_KIOSK_ID],
            |r| r.get(0),
        ))?;
        for (key, value) in [
            (META_TOKEN, enrolled.token),
            (META_KIOSK_ID, enrolled.kiosk_id),
            (META_TAG, enrolled.tag),
            (META_ENROLLED_WITH, enrolled.enrolled_with),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        let new_hub = held_id.is_some_and(|held| held != enrolled.kiosk_id);
        if new_hub {
            tx.execute("DELETE FROM bands", [])?;
        }
        tx.commit()?;
        Ok(new_hub)
    }

    /// The band numbers (not emergency numbers) of ticket operations the hub has not
    /// acknowledged, oldest first, at most `MAX_CARRIED_NUMBERS`: what this kiosk carries
    /// to a new hub.
    pub fn unsent_offline_numbers(&self) -> Result<Vec<CarriedNumber>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT json_extract(payload, '$.service'), json_extract(payload, '$.offline_number'),
                    json_extract(payload, '$.issued_at')
             FROM outbox
             WHERE acked_at IS NULL AND kind IN ('ticket.issue', 'ticket.check_in')
                 AND json_extract(payload, '$.offline_number') IS NOT NULL
             ORDER BY seq LIMIT ?1",
        )?;
        let limit = i64::try_from(crate::protocol::MAX_CARRIED_NUMBERS).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut carried = Vec::new();
        for row in rows {
            let (Some(service), Some(number), Some(issued_at)) = row? else {
                continue;
            };
            let Ok(issued_at) = chrono::DateTime::parse_from_rfc3339(&issued_at) else {
                continue;
            };
            if parse_number(&number).is_some() {
                carried.push(CarriedNumber {
                    service,
                    number,
                    issued_at,
                });
            }
        }
        Ok(carried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewOp, OpKind};
    use chrono::Utc;

    fn ticket_op(service: &str) -> NewOp {
        NewOp::new(
            OpKind::IssueTicket,
            serde_json::json!({
                "op_id": uuid::Uuid::new_v4(),
                "service": service,
                "priority": false,
                "lang": "it",
                "issued_at": Utc::now().to_rfc3339(),
            }),
        )
    }

    #[test]
    fn only_undelivered_band_numbers_are_carried() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        let day = Utc::now().date_naive();
        store
            .save_bands(
                day,
                &[crate::store::LocalBand {
                    day,
                    service: "naspi".into(),
                    prefix: 'N',
                    first: 990,
                    last: 999,
                    next: 990,
                }],
            )
            .unwrap();
        let online = ticket_op("naspi");
        let delivered = ticket_op("naspi");
        let undelivered = ticket_op("naspi");
        let emergency = ticket_op("naspi");
        for op in [&online, &delivered, &undelivered, &emergency] {
            store.enqueue(op, Utc::now()).unwrap();
        }
        store
            .take_offline_number(delivered.op_id, "naspi", day)
            .unwrap();
        let printed = store
            .take_offline_number(undelivered.op_id, "naspi", day)
            .unwrap()
            .unwrap();
        store
            .take_emergency_number(emergency.op_id, "naspi", 'N', "A", day)
            .unwrap();
        store
            .acknowledge(delivered.op_id, &serde_json::json!({}), Utc::now())
            .unwrap();

        let carried = store.unsent_offline_numbers().unwrap();
        assert_eq!(carried.len(), 1, "{carried:?}");
        assert_eq!(carried[0].number, printed);
        assert_eq!(carried[0].service, "naspi");
    }

    #[test]
    fn a_new_hub_drops_the_old_bands_and_the_same_hub_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        let day = Utc::now().date_naive();
        let band = crate::store::LocalBand {
            day,
            service: "naspi".into(),
            prefix: 'N',
            first: 990,
            last: 999,
            next: 990,
        };
        let first = Enrolled {
            kiosk_id: "k-old",
            token: "t1",
            tag: "A",
            enrolled_with: &enrollment_token_hash("e1"),
        };
        assert!(!store.save_enrollment(&first).unwrap(), "a first enrolment");
        store.save_bands(day, std::slice::from_ref(&band)).unwrap();
        let same = Enrolled {
            token: "t2",
            enrolled_with: &enrollment_token_hash("e2"),
            ..first.clone()
        };
        assert!(!store.save_enrollment(&same).unwrap(), "the same kiosk id");
        assert_eq!(store.bands(day).unwrap().len(), 1);
        let other = Enrolled {
            kiosk_id: "k-new",
            token: "t3",
            tag: "B",
            enrolled_with: &enrollment_token_hash("e3"),
        };
        assert!(store.save_enrollment(&other).unwrap(), "a new hub");
        assert!(store.bands(day).unwrap().is_empty());
        assert_eq!(store.meta(META_TOKEN).unwrap().as_deref(), Some("t3"));
        assert_eq!(store.meta(META_TAG).unwrap().as_deref(), Some("B"));
        assert_eq!(
            store.meta(META_ENROLLED_WITH).unwrap(),
            Some(enrollment_token_hash(" e3 "))
        );
    }
}
