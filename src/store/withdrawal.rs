//! Taking back ticket operations whose ticket nobody holds.
//!
//! A ticket operation is committed to the outbox before the hub numbers it, and its row
//! in `tickets` (handover `handing_over`, then the outcome) is written just before the
//! ticket goes to the printer. A ticket operation without a ticket row therefore handed
//! nothing to anyone: the flow gave up (no answer and no number to print), or the kiosk
//! died before printing. Such an operation is withdrawn: removed from the outbox when not
//! yet acknowledged, and in the same transaction a `ticket.withdraw` operation is queued
//! so the hub voids the ticket if it numbered one (the request may have reached it even
//! though no answer came back) and refuses the operation if it arrives later.

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;
use uuid::Uuid;

use super::outbox::{NewOp, OpKind, insert};
use super::{Store, StoreError};
use crate::protocol::WithdrawRequest;

/// Ticket operations not yet withdrawn that the hub did not refuse for good.
const WITHDRAWABLE: &str = "
    o.kind IN ('ticket.issue', 'ticket.check_in')
    AND (o.response IS NULL OR json_extract(o.response, '$.rejected') IS NULL)
    AND NOT EXISTS (SELECT 1 FROM outbox w
                    WHERE w.kind = 'ticket.withdraw'
                      AND json_extract(w.payload, '$.op_id') = o.op_id)";

impl Store {
    /// Withdraws the ticket operation `op_id`, whose ticket was handed to nobody.
    /// Returns `false` when there is nothing to withdraw (unknown, not a ticket, refused
    /// by the hub, or withdrawn already).
    pub fn withdraw(&mut self, op_id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = withdraw_in(&tx, op_id, now)?;
        tx.commit()?;
        Ok(found)
    }

    /// At start, before the sync worker runs: withdraws every ticket operation that has
    /// no ticket row (the kiosk stopped between committing it and starting to print).
    /// Returns the operations withdrawn.
    pub fn withdraw_unhanded(&mut self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ops: Vec<String> = tx
            .prepare(&format!(
                "SELECT o.op_id FROM outbox o
                 WHERE {WITHDRAWABLE}
                   AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.op_id = o.op_id)
                 ORDER BY o.seq"
            ))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut withdrawn = Vec::new();
        for op in ops {
            let Ok(op_id) = Uuid::parse_str(&op) else {
                continue;
            };
            if withdraw_in(&tx, op_id, now)? {
                withdrawn.push(op_id);
            }
        }
        tx.commit()?;
        Ok(withdrawn)
    }
}

/// Withdraws `op_id` inside the caller's transaction.
fn withdraw_in(
    tx: &rusqlite::Transaction<'_>,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let op = op_id.to_string();
    let withdrawable: bool = tx.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM outbox o WHERE o.op_id = ?1 AND {WITHDRAWABLE})"),
        [&op],
        |r| r.get(0),
    )?;
    if !withdrawable {
        return Ok(false);
    }
    // Not sent yet, or sent without an answer: it must not be sent (again).
    tx.execute(
        "DELETE FROM outbox WHERE op_id = ?1 AND acked_at IS NULL",
        [&op],
    )?;
    let payload = serde_json::to_value(WithdrawRequest { op_id })?;
    insert(tx, &NewOp::new(OpKind::Withdraw, payload), now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::json;

    use super::*;
    use crate::store::{Handover, LocalTicket};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        (dir, store)
    }

    fn ticket_op(store: &mut Store) -> Uuid {
        let op = NewOp::new(OpKind::IssueTicket, json!({ "service": "naspi" }));
        store.enqueue(&op, Utc::now()).unwrap();
        op.op_id
    }

    fn handed(store: &mut Store, op_id: Uuid, handover: Handover) {
        let ticket = LocalTicket {
            op_id,
            day: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            number: "N001".into(),
            service: "naspi".into(),
            offline: false,
            handover,
        };
        store.record_ticket(&ticket, Utc::now()).unwrap();
    }

    /// Withdrawal operations queued, by the op they withdraw.
    fn withdrawals(store: &Store) -> Vec<Uuid> {
        store
            .pending(100)
            .unwrap()
            .into_iter()
            .filter(|op| op.kind == Some(OpKind::Withdraw))
            .map(|op| {
                serde_json::from_value::<WithdrawRequest>(op.payload)
                    .unwrap()
                    .op_id
            })
            .collect()
    }

    #[test]
    fn only_ops_with_nothing_handed_over_are_withdrawn_once() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        // Sent and answered, then the kiosk died before printing.
        let answered = ticket_op(&mut store);
        store.acknowledge(answered, &json!({}), now).unwrap();
        // Committed, maybe sent, no answer recorded.
        let unanswered = ticket_op(&mut store);
        // Printing had started: paper may be out.
        let printing = ticket_op(&mut store);
        handed(&mut store, printing, Handover::Started);
        let printed = ticket_op(&mut store);
        store.acknowledge(printed, &json!({}), now).unwrap();
        handed(&mut store, printed, Handover::Printed);
        // Refused by the hub for good: nothing there to withdraw.
        let refused = ticket_op(&mut store);
        store
            .settle_rejected(refused, "unknown_service", now)
            .unwrap();

        let withdrawn = store.withdraw_unhanded(now).unwrap();
        assert_eq!(withdrawn, [answered, unanswered]);
        assert_eq!(withdrawals(&store), [answered, unanswered]);
        let unsent = store.operation(unanswered).unwrap();
        assert!(unsent.is_none(), "the unanswered op will never be sent");
        assert!(store.operation(answered).unwrap().is_some());
        assert!(
            store
                .operation(printing)
                .unwrap()
                .unwrap()
                .acked_at
                .is_none()
        );

        // A second restart withdraws nothing more.
        assert!(store.withdraw_unhanded(now).unwrap().is_empty());
        assert!(!store.withdraw(answered, now).unwrap());
        assert_eq!(withdrawals(&store).len(), 2);
    }

    #[test]
    fn a_flow_that_gives_up_withdraws_its_op() {
        let (_dir, mut store) = store();
        let op = ticket_op(&mut store);
        assert!(store.withdraw(op, Utc::now()).unwrap());
        assert_eq!(withdrawals(&store), [op]);
        assert!(
            !store.withdraw(Uuid::new_v4(), Utc::now()).unwrap(),
            "unknown op"
        );
    }

    #[test]
    fn a_ticket_row_outlives_the_day_while_its_op_is_in_the_outbox() {
        let (_dir, mut store) = store();
        let op = ticket_op(&mut store);
        store.acknowledge(op, &json!({}), Utc::now()).unwrap();
        handed(&mut store, op, Handover::Printed);
        let next_day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(store.purge_tickets_before(next_day).unwrap(), 0);
        assert!(store.withdraw_unhanded(Utc::now()).unwrap().is_empty());
        store
            .purge_acknowledged(Utc::now() + chrono::TimeDelta::seconds(1))
            .unwrap();
        assert_eq!(store.purge_tickets_before(next_day).unwrap(), 1);
    }
}
