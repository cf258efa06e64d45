//! The outbox: every operation the kiosk performs, committed before anything else.
//!
//! Invariant 1 of the design: an operation gets a UUID `op_id` and is committed here
//! before it is sent to the hub or printed. The sync worker sends pending operations in
//! order until the hub acknowledges each one; the hub applies an `op_id` at most once.
//! Personal data an operation needs (a codice fiscale for routing) sits in a separate
//! column that is erased in the same transaction that records the acknowledgement.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;
use uuid::Uuid;

use super::{Store, StoreError};

/// What an operation does. Stored as text (`as_str`), so the names never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// A walk-in ticket (`ticket.issue`).
    IssueTicket,
    /// An appointment check-in (`ticket.check_in`).
    CheckIn,
    /// Withdrawing a ticket operation whose ticket nobody was handed (`ticket.withdraw`,
    /// payload `{"op_id": ...}`); see [`Store::withdraw`](super::Store::withdraw).
    Withdraw,
}

impl OpKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::IssueTicket => "ticket.issue",
            OpKind::CheckIn => "ticket.check_in",
            OpKind::Withdraw => "ticket.withdraw",
        }
    }

    /// The kind with this stored name; `None` for a name this firmware does not know
    /// (written by another version).
    pub fn parse(name: &str) -> Option<OpKind> {
        [OpKind::IssueTicket, OpKind::CheckIn, OpKind::Withdraw]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// The key of the codice fiscale in an operation's personal data.
const PERSONAL_CODICE_FISCALE: &str = "codice_fiscale";

/// An operation about to be committed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOp {
    /// The idempotency key the hub deduplicates on.
    pub op_id: Uuid,
    /// What the operation does.
    pub kind: OpKind,
    /// The request body, free of personal data.
    pub payload: Value,
    /// Personal data the hub needs for this operation, erased locally on acknowledgement.
    pub personal: Option<Value>,
}

impl NewOp {
    /// A new operation with a fresh random `op_id` and no personal data.
    pub fn new(kind: OpKind, payload: Value) -> NewOp {
        NewOp {
            op_id: Uuid::new_v4(),
            kind,
            payload,
            personal: None,
        }
    }

    /// Attaches personal data, kept only until the hub acknowledges the operation.
    pub fn with_personal(mut self, personal: Value) -> NewOp {
        self.personal = Some(personal);
        self
    }

    /// Attaches a codice fiscale as the operation's personal data.
    pub fn with_codice_fiscale(self, code: &str) -> NewOp {
        self.with_personal(serde_json::json!({ PERSONAL_CODICE_FISCALE: code }))
    }
}

/// An operation as stored, pending or acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOp {
    /// Position in the outbox; operations are sent in this order.
    pub seq: i64,
    /// The idempotency key.
    pub op_id: Uuid,
    /// What the operation does; `None` for a kind this firmware does not know.
    pub kind: Option<OpKind>,
    /// The request body.
    pub payload: Value,
    /// Personal data, `None` once acknowledged.
    pub personal: Option<Value>,
    /// When it was committed (kiosk clock).
    pub created_at: DateTime<Utc>,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// Not to be retried before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// The last delivery error, for `doctor` and the fleet page.
    pub last_error: Option<String>,
    /// When the hub acknowledged it, if it has.
    pub acked_at: Option<DateTime<Utc>>,
    /// The hub's answer, once acknowledged.
    pub response: Option<Value>,
}

impl PendingOp {
    /// The codice fiscale carried as personal data, until acknowledged.
    pub fn codice_fiscale(&self) -> Option<&str> {
        self.personal
            .as_ref()?
            .get(PERSONAL_CODICE_FISCALE)?
            .as_str()
    }
}

/// Figures for the heartbeat, `doctor` and the fleet page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxStats {
    /// Operations not yet acknowledged.
    pub pending: u64,
    /// Creation time of the oldest pending operation.
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// Acknowledged operations still kept (no personal data) until purged.
    pub acknowledged: u64,
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

const COLUMNS: &str = "seq, op_id, kind, payload, personal, created_at, attempts, \
                       next_attempt_at, last_error, acked_at, response";

/// Raw row, decoded into [`PendingOp`] outside the rusqlite closure so JSON errors
/// surface as store errors rather than being squeezed into rusqlite's type.
struct RawOp {
    seq: i64,
    op_id: String,
    kind: String,
    payload: String,
    personal: Option<String>,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    acked_at: Option<i64>,
    response: Option<String>,
}

impl RawOp {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawOp> {
        Ok(RawOp {
            seq: row.get(0)?,
            op_id: row.get(1)?,
            kind: row.get(2)?,
            payload: row.get(3)?,
            personal: row.get(4)?,
            created_at: row.get(5)?,
            attempts: row.get(6)?,
            next_attempt_at: row.get(7)?,
            last_error: row.get(8)?,
            acked_at: row.get(9)?,
            response: row.get(10)?,
        })
    }

    fn decode(self) -> Result<PendingOp, StoreError> {
        let op_id = Uuid::parse_str(&self.op_id).map_err(|_| {
            StoreError::Sqlite(rusqlite::Error::InvalidColumnType(
                1,
                "op_id".into(),
                rusqlite::types::Type::Text,
            ))
        })?;
        Ok(PendingOp {
            seq: self.seq,
            op_id,
            kind: OpKind::parse(&self.kind),
            payload: serde_json::from_str(&self.payload)?,
            personal: self
                .personal
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            created_at: from_millis(self.created_at),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            next_attempt_at: from_millis(self.next_attempt_at),
            last_error: self.last_error,
            acked_at: self.acked_at.map(from_millis),
            response: self
                .response
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
        })
    }
}

/// Inserts `op`, due now, on `conn` (the store's connection or a transaction on it).
pub(super) fn insert(conn: &Connection, op: &NewOp, now: DateTime<Utc>) -> Result<(), StoreError> {
    let personal = op.personal.as_ref().map(Value::to_string);
    conn.execute(
        "INSERT INTO outbox (op_id, kind, payload, personal, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            op.op_id.to_string(),
            op.kind.as_str(),
            op.payload.to_string(),
            personal,
            millis(now)
        ],
    )?;
    Ok(())
}

impl Store {
    /// Commits an operation to the outbox. When this returns `Ok`, the operation survives
    /// a crash or power loss; only then may it be sent or printed.
    pub fn enqueue(&mut self, op: &NewOp, now: DateTime<Utc>) -> Result<(), StoreError> {
        insert(&self.conn, op, now)
    }

    /// The oldest pending operation, whatever its retry time: the outbox drains in order.
    pub fn first_pending(&self) -> Result<Option<PendingOp>, StoreError> {
        Ok(self.pending(1)?.into_iter().next())
    }

    /// Up to `limit` pending operations, oldest first.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingOp>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT ?1"
        ))?;
        let raws = stmt
            .query_map([limit as i64], RawOp::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(RawOp::decode).collect()
    }

    /// One operation by id, pending or acknowledged.
    pub fn operation(&self, op_id: Uuid) -> Result<Option<PendingOp>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM outbox WHERE op_id = ?1"),
                [op_id.to_string()],
                RawOp::from_row,
            )
            .optional()?;
        raw.map(RawOp::decode).transpose()
    }

    /// Records a failed delivery: one more attempt, not to be retried before `retry_at`.
    pub fn record_failure(
        &mut self,
        op_id: Uuid,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE op_id = ?1 AND acked_at IS NULL",
            params![op_id.to_string(), error, millis(retry_at)],
        )?;
        if changed == 0 && self.operation(op_id)?.is_none() {
            return Err(StoreError::UnknownOp(op_id));
        }
        Ok(())
    }

    /// Records the hub's acknowledgement and erases the operation's personal data in the
    /// same transaction. Returns `false` if it was already acknowledged (a replay).
    pub fn acknowledge(
        &mut self,
        op_id: Uuid,
        response: &Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE outbox SET acked_at = ?2, response = ?3, personal = NULL, last_error = NULL
             WHERE op_id = ?1 AND acked_at IS NULL",
            params![op_id.to_string(), millis(now), response.to_string()],
        )?;
        if changed == 0 && self.operation(op_id)?.is_none() {
            return Err(StoreError::UnknownOp(op_id));
        }
        Ok(changed == 1)
    }

    /// Deletes acknowledged operations acknowledged before `acked_before`, then
    /// checkpoints the WAL so no copy of their pages lingers beside the database.
    pub fn purge_acknowledged(&mut self, acked_before: DateTime<Utc>) -> Result<usize, StoreError> {
        let deleted = self.conn.execute(
            "DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?1",
            [millis(acked_before)],
        )?;
        if deleted > 0 {
            self.checkpoint()?;
        }
        Ok(deleted)
    }

    /// Copies the WAL into the database and truncates it, so erased data (overwritten in
    /// the main file thanks to `secure_delete`) does not survive in the WAL.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        // Returns one row (busy, log, checkpointed); its values do not matter here.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Depth and age of the outbox.
    pub fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let (pending, oldest, acknowledged) = self.conn.query_row(
            "SELECT
                count(*) FILTER (WHERE acked_at IS NULL),
                min(created_at) FILTER (WHERE acked_at IS NULL),
                count(*) FILTER (WHERE acked_at IS NOT NULL)
             FROM outbox",
            [],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        )?;
        Ok(OutboxStats {
            pending: pending as u64,
            oldest_pending_at: oldest.map(from_millis),
            acknowledged: acknowledged as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn pending_operations_come_back_in_order() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let ops: Vec<NewOp> = (0..3)
            .map(|i| NewOp::new(OpKind::IssueTicket, json!({ "n": i })))
            .collect();
        for op in &ops {
            store.enqueue(op, now).unwrap();
        }
        let pending = store.pending(10).unwrap();
        let ids: Vec<Uuid> = pending.iter().map(|p| p.op_id).collect();
        assert_eq!(ids, ops.iter().map(|o| o.op_id).collect::<Vec<_>>());
        assert_eq!(pending[1].payload, json!({ "n": 1 }));
        assert_eq!(store.first_pending().unwrap().unwrap().op_id, ops[0].op_id);
    }

    #[test]
    fn duplicate_op_id_is_refused_and_changes_nothing() {
        let (_dir, mut store) = store();
        let op = NewOp::new(OpKind::IssueTicket, json!({}));
        store.enqueue(&op, Utc::now()).unwrap();
        assert!(store.enqueue(&op, Utc::now()).is_err());
        assert_eq!(store.outbox_stats().unwrap().pending, 1);
    }

    #[test]
    fn failure_schedules_a_retry() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let op = NewOp::new(OpKind::IssueTicket, json!({}));
        store.enqueue(&op, now).unwrap();
        let later = now + Duration::seconds(30);
        store
            .record_failure(op.op_id, "connection refused", later)
            .unwrap();
        let stored = store.operation(op.op_id).unwrap().unwrap();
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored.last_error.as_deref(), Some("connection refused"));
        assert_eq!(
            stored.next_attempt_at.timestamp_millis(),
            later.timestamp_millis()
        );
        assert!(matches!(
            store.record_failure(Uuid::new_v4(), "x", later),
            Err(StoreError::UnknownOp(_))
        ));
    }

    #[test]
    fn acknowledgement_erases_personal_data_and_is_idempotent() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let op = NewOp::new(OpKind::IssueTicket, json!({ "service": "naspi" }))
            .with_personal(json!({ "codice_fiscale": "RSSMRA45C12F205C" }));
        store.enqueue(&op, now).unwrap();
        assert_eq!(store.outbox_stats().unwrap().pending, 1);
        assert!(
            store
                .acknowledge(op.op_id, &json!({ "number": "N001" }), now)
                .unwrap()
        );
        assert!(
            !store
                .acknowledge(op.op_id, &json!({ "number": "N001" }), now)
                .unwrap()
        );
        let stored = store.operation(op.op_id).unwrap().unwrap();
        assert_eq!(stored.personal, None);
        assert_eq!(stored.response, Some(json!({ "number": "N001" })));
        let stats = store.outbox_stats().unwrap();
        assert_eq!((stats.pending, stats.acknowledged), (0, 1));
        assert_eq!(stats.oldest_pending_at, None);
    }

    #[test]
    fn purge_removes_acknowledged_only() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let acked = NewOp::new(OpKind::IssueTicket, json!({}));
        let pending = NewOp::new(OpKind::IssueTicket, json!({}));
        store.enqueue(&acked, now).unwrap();
        store.enqueue(&pending, now).unwrap();
        store.acknowledge(acked.op_id, &json!({}), now).unwrap();
        assert_eq!(
            store.purge_acknowledged(now).unwrap(),
            0,
            "acked at `now`, not before"
        );
        assert_eq!(
            store
                .purge_acknowledged(now + Duration::seconds(1))
                .unwrap(),
            1
        );
        assert!(store.operation(acked.op_id).unwrap().is_none());
        assert!(store.operation(pending.op_id).unwrap().is_some());
    }
}
