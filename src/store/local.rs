//! The kiosk's own records beside the outbox: its hub credentials, the number bands it
//! holds for offline use, the tickets it handed over, and cached hub data.
//!
//! Nothing here is personal: tickets are kept by number and service only. Taking an
//! offline number and writing it into the outbox operation happen in one transaction,
//! so a number is never printed without the hub eventually hearing of it.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use uuid::Uuid;

use super::{Store, StoreError};

/// A block of display numbers the hub leased to this kiosk for one service and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBand {
    /// The office day it is valid for.
    pub day: NaiveDate,
    /// Service code.
    pub service: String,
    /// The service's prefix letter.
    pub prefix: char,
    /// First number of the band.
    pub first: u16,
    /// Last number of the band.
    pub last: u16,
    /// The next number to hand out (`last + 1` once used up).
    pub next: u16,
}

impl LocalBand {
    /// Numbers still unused.
    pub fn remaining(&self) -> u16 {
        (self.last + 1).saturating_sub(self.next)
    }
}

/// How a ticket left the kiosk, as recorded after the print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// The printer confirmed the paper ticket.
    Printed,
    /// The printer had no paper: the ticket was shown on screen with its QR.
    ScreenPaperOut,
    /// The printer failed otherwise: the ticket was shown on screen with its QR.
    ScreenFault,
    /// Written just before printing starts and replaced by the outcome: a kiosk that
    /// restarts and finds this cannot know whether paper came out, so the ticket stays.
    Started,
}

impl Handover {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Handover::Printed => "printed",
            Handover::ScreenPaperOut => "screen_paper_out",
            Handover::ScreenFault => "screen_fault",
            Handover::Started => "handing_over",
        }
    }

    fn parse(text: &str) -> Option<Handover> {
        [
            Handover::Printed,
            Handover::ScreenPaperOut,
            Handover::ScreenFault,
            Handover::Started,
        ]
        .into_iter()
        .find(|h| h.as_str() == text)
    }
}

/// A ticket this kiosk handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTicket {
    /// The outbox operation that issued it (also its tracking id).
    pub op_id: Uuid,
    /// Office day.
    pub day: NaiveDate,
    /// Display number.
    pub number: String,
    /// Service code.
    pub service: String,
    /// Whether it was numbered offline from a band.
    pub offline: bool,
    /// How it was handed over.
    pub handover: Handover,
}

/// Writes `number` as the `offline_number` of the pending operation `op_id`, inside the
/// caller's transaction (the number is taken in the same one).
fn write_offline_number(
    tx: &rusqlite::Transaction<'_>,
    op_id: Uuid,
    number: &str,
) -> Result<(), StoreError> {
    let payload: Option<String> = tx
        .query_row(
            "SELECT payload FROM outbox WHERE op_id = ?1 AND acked_at IS NULL",
            [op_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(payload) = payload else {
        return Err(StoreError::UnknownOp(op_id));
    };
    let mut payload: Value = serde_json::from_str(&payload)?;
    if let Some(object) = payload.as_object_mut() {
        object.insert("offline_number".into(), Value::String(number.to_string()));
    }
    tx.execute(
        "UPDATE outbox SET payload = ?2 WHERE op_id = ?1",
        params![op_id.to_string(), payload.to_string()],
    )?;
    Ok(())
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// A value saved under `key` (hub token, kiosk id, catalogue ETag...).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Saves `value` under `key`, replacing any previous value.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Replaces what the kiosk knows of its bands for `day` with the hub's answer,
    /// keeping how far each already-known band has been used.
    pub fn save_bands(&mut self, day: NaiveDate, bands: &[LocalBand]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for band in bands {
            tx.execute(
                "INSERT INTO bands (day, service, prefix, first, last, next)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?4)
                 ON CONFLICT (day, service, first) DO UPDATE SET last = excluded.last",
                params![
                    day.to_string(),
                    band.service,
                    band.prefix.to_string(),
                    band.first,
                    band.last
                ],
            )?;
        }
        tx.execute("DELETE FROM bands WHERE day < ?1", [day.to_string()])?;
        tx.commit()?;
        Ok(())
    }

    /// The bands held for `day`, lowest first per service.
    pub fn bands(&self, day: NaiveDate) -> Result<Vec<LocalBand>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, service, prefix, first, last, next FROM bands WHERE day = ?1
             ORDER BY service, first DESC",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            let day: String = r.get(0)?;
            let prefix: String = r.get(2)?;
            Ok((day, r.get(1)?, prefix, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, service, prefix, first, last, next): (String, String, String, u16, u16, u16) =
                row?;
            let (Ok(day), Some(prefix)) = (day.parse(), prefix.chars().next()) else {
                continue;
            };
            out.push(LocalBand {
                day,
                service,
                prefix,
                first,
                last,
                next,
            });
        }
        Ok(out)
    }

    /// Takes the next offline number of `service` for `day` and writes it into the
    /// pending operation `op_id` as `offline_number`, in one transaction. `None` when
    /// no band has a number left (nothing changes then).
    pub fn take_offline_number(
        &mut self,
        op_id: Uuid,
        service: &str,
        day: NaiveDate,
    ) -> Result<Option<String>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let band: Option<(u16, String, u16)> = tx
            .query_row(
                "SELECT first, prefix, next FROM bands
                 WHERE day = ?1 AND service = ?2 AND next <= last
                 ORDER BY first DESC LIMIT 1",
                params![day.to_string(), service],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((first, prefix, next)) = band else {
            return Ok(None);
        };
        let number = format!("{prefix}{next:03}");
        write_offline_number(&tx, op_id, &number)?;
        tx.execute(
            "UPDATE bands SET next = next + 1 WHERE day = ?1 AND service = ?2 AND first = ?3",
            params![day.to_string(), service, first],
        )?;
        tx.commit()?;
        Ok(Some(number))
    }

    /// Takes the next emergency number of `service` for `day` (`N-A01`: used only when
    /// offline with no band left) and writes it into the pending operation `op_id`, in one
    /// transaction. `None` after 99 of them in a day for a service.
    pub fn take_emergency_number(
        &mut self,
        op_id: Uuid,
        service: &str,
        prefix: char,
        tag: &str,
        day: NaiveDate,
    ) -> Result<Option<String>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = format!("emergency:{day}:{service}");
        let used: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        let next = used.and_then(|v| v.parse::<u16>().ok()).unwrap_or(0) + 1;
        if next > 99 {
            return Ok(None);
        }
        let number = crate::protocol::numbers::format_emergency(prefix, tag, next);
        write_offline_number(&tx, op_id, &number)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, next.to_string()],
        )?;
        tx.commit()?;
        Ok(Some(number))
    }

    /// Makes a pending operation due now (the direct attempt gave it up to the worker).
    pub fn release(&mut self, op_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET next_attempt_at = ?2 WHERE op_id = ?1 AND acked_at IS NULL",
            params![op_id.to_string(), ms(now)],
        )?;
        Ok(())
    }

    /// Makes every pending operation due now: at start, after a crash, nothing is held by
    /// a ticket flow any more and earlier backoff delays are moot.
    pub fn release_all(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET next_attempt_at = ?1 WHERE acked_at IS NULL AND next_attempt_at > ?1",
            [ms(now)],
        )?)
    }

    /// Holds a pending operation back from the sync worker until `until`, while the
    /// ticket flow sends it itself.
    pub fn hold(&mut self, op_id: Uuid, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.release(op_id, until)
    }

    /// Removes an operation nobody was handed anything for (the hub refused it before
    /// a number was printed): it must never reach the hub later.
    pub fn abandon(&mut self, op_id: Uuid) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM outbox WHERE op_id = ?1 AND acked_at IS NULL",
            [op_id.to_string()],
        )?;
        Ok(())
    }

    /// Settles an operation the hub refused for good (a 4xx other than "disabled"): it
    /// stops being retried, keeps the refusal for `doctor`, and loses its personal data.
    pub fn settle_rejected(
        &mut self,
        op_id: Uuid,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET acked_at = ?2, personal = NULL, last_error = ?3,
                 response = json_object('rejected', ?3)
             WHERE op_id = ?1 AND acked_at IS NULL",
            params![op_id.to_string(), ms(now), error],
        )?;
        Ok(())
    }

    /// Records a ticket handed over, and how.
    pub fn record_ticket(
        &mut self,
        ticket: &LocalTicket,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO tickets (op_id, day, number, service, offline, handover, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (op_id) DO UPDATE SET handover = excluded.handover",
            params![
                ticket.op_id.to_string(),
                ticket.day.to_string(),
                ticket.number,
                ticket.service,
                ticket.offline,
                ticket.handover.as_str(),
                ms(now)
            ],
        )?;
        Ok(())
    }

    /// The tickets handed over on `day`, oldest first.
    pub fn tickets(&self, day: NaiveDate) -> Result<Vec<LocalTicket>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT op_id, day, number, service, offline, handover FROM tickets
             WHERE day = ?1 ORDER BY issued_at",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (op_id, day, number, service, offline, handover): (
                String,
                String,
                _,
                _,
                _,
                String,
            ) = row?;
            let (Ok(op_id), Ok(day), Some(handover)) = (
                Uuid::parse_str(&op_id),
                day.parse(),
                Handover::parse(&handover),
            ) else {
                continue;
            };
            out.push(LocalTicket {
                op_id,
                day,
                number,
                service,
                offline,
                handover,
            });
        }
        Ok(out)
    }

    /// Forgets tickets of days before `day` whose operation has left the outbox (while it
    /// is there, its ticket row is what says it was handed over: see
    /// [`Store::withdraw_unhanded`]).
    pub fn purge_tickets_before(&mut self, day: NaiveDate) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM tickets WHERE day < ?1
                 AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.op_id = tickets.op_id)",
            [day.to_string()],
        )?)
    }

    /// Saves hub data for offline screens, with when it was fetched.
    pub fn cache_put(
        &mut self,
        key: &str,
        value: &Value,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO cache (key, value, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                 fetched_at = excluded.fetched_at",
            params![key, value.to_string(), ms(fetched_at)],
        )?;
        Ok(())
    }

    /// Cached hub data and when it was fetched.
    pub fn cache_get(&self, key: &str) -> Result<Option<(Value, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT value, fetched_at FROM cache WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((text, at)) => {
                let at = DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default();
                Ok(Some((serde_json::from_str(&text)?, at)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewOp, OpKind};
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite")).unwrap();
        (dir, store)
    }

    fn band(day: NaiveDate, first: u16, last: u16) -> LocalBand {
        LocalBand {
            day,
            service: "naspi".into(),
            prefix: 'N',
            first,
            last,
            next: first,
        }
    }

    #[test]
    fn offline_numbers_come_from_bands_once_and_land_in_the_op() {
        let (_dir, mut store) = store();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        store.save_bands(day, &[band(day, 998, 999)]).unwrap();
        let mut numbers = Vec::new();
        for _ in 0..3 {
            let op = NewOp::new(OpKind::IssueTicket, json!({ "service": "naspi" }));
            store.enqueue(&op, Utc::now()).unwrap();
            let number = store.take_offline_number(op.op_id, "naspi", day).unwrap();
            if let Some(n) = &number {
                let stored = store.operation(op.op_id).unwrap().unwrap();
                assert_eq!(stored.payload["offline_number"], json!(n));
            }
            numbers.push(number);
        }
        assert_eq!(
            numbers,
            vec![Some("N998".into()), Some("N999".into()), None]
        );
        // The hub answering the same lease again does not reset the use.
        store.save_bands(day, &[band(day, 998, 999)]).unwrap();
        assert_eq!(store.bands(day).unwrap()[0].remaining(), 0);
        // Bands of a past day are dropped when today's arrive.
        let tomorrow = day.succ_opt().unwrap();
        store
            .save_bands(tomorrow, &[band(tomorrow, 990, 999)])
            .unwrap();
        assert!(store.bands(day).unwrap().is_empty());
    }

    #[test]
    fn emergency_numbers_count_per_day_and_service() {
        let (_dir, mut store) = store();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut take = |service: &str| {
            let op = NewOp::new(OpKind::IssueTicket, json!({ "service": service }));
            store.enqueue(&op, Utc::now()).unwrap();
            let n = store
                .take_emergency_number(op.op_id, service, 'N', "B", day)
                .unwrap();
            (op.op_id, n)
        };
        assert_eq!(take("naspi").1.as_deref(), Some("N-B01"));
        assert_eq!(take("naspi").1.as_deref(), Some("N-B02"));
        assert_eq!(take("isee").1.as_deref(), Some("N-B01"), "per service");
        let (op_id, _) = take("naspi");
        let stored = store.operation(op_id).unwrap().unwrap();
        assert_eq!(stored.payload["offline_number"], json!("N-B03"));
    }

    #[test]
    fn meta_cache_and_tickets_round_trip() {
        let (_dir, mut store) = store();
        assert_eq!(store.meta("token").unwrap(), None);
        store.set_meta("token", "a").unwrap();
        store.set_meta("token", "b").unwrap();
        assert_eq!(store.meta("token").unwrap().as_deref(), Some("b"));
        let now = Utc::now();
        store.cache_put("queues", &json!({ "x": 1 }), now).unwrap();
        let (value, at) = store.cache_get("queues").unwrap().unwrap();
        assert_eq!(value, json!({ "x": 1 }));
        assert_eq!(at.timestamp_millis(), now.timestamp_millis());
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let ticket = LocalTicket {
            op_id: Uuid::new_v4(),
            day,
            number: "N001".into(),
            service: "naspi".into(),
            offline: false,
            handover: Handover::ScreenPaperOut,
        };
        store.record_ticket(&ticket, now).unwrap();
        assert_eq!(store.tickets(day).unwrap(), vec![ticket]);
        assert_eq!(
            store.purge_tickets_before(day.succ_opt().unwrap()).unwrap(),
            1
        );
    }

    #[test]
    fn abandoned_and_rejected_ops_stop_being_pending() {
        let (_dir, mut store) = store();
        let a = NewOp::new(OpKind::IssueTicket, json!({}));
        let b = NewOp::new(OpKind::IssueTicket, json!({})).with_personal(json!({ "cf": "x" }));
        store.enqueue(&a, Utc::now()).unwrap();
        store.enqueue(&b, Utc::now()).unwrap();
        store.abandon(a.op_id).unwrap();
        assert!(store.operation(a.op_id).unwrap().is_none());
        store
            .settle_rejected(b.op_id, "number_not_leased", Utc::now())
            .unwrap();
        let settled = store.operation(b.op_id).unwrap().unwrap();
        assert!(settled.acked_at.is_some() && settled.personal.is_none());
        assert_eq!(store.outbox_stats().unwrap().pending, 0);
    }
}
