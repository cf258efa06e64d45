//! The promises of the design checked on the files after a run with faults: every ticket
//! the kiosk handed over is on the hub exactly once with the number the citizen holds and
//! is never voided, no display number is used twice in a day, no operation is stuck, and
//! no ticket that can still be called was handed to nobody (a ghost).

use std::collections::HashMap;
use std::path::Path;

use uuid::Uuid;

/// A ticket the kiosk handed over (printed or shown), by its op_id and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handed {
    pub op_id: Uuid,
    pub number: String,
}

/// What the files say after a run.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Handed over but not on the hub.
    pub lost: Vec<String>,
    /// On the hub more than once, or with another number than the paper.
    pub duplicated_or_wrong: Vec<String>,
    /// Display numbers used twice on a day (including retired ones).
    pub numbers_reused: Vec<String>,
    /// Operations still pending or refused for good on the kiosk.
    pub stuck: Vec<String>,
    /// Hub tickets from ops the kiosk never reported handing over, that it may have
    /// handed over (killed after starting to print and before reporting).
    pub unreported: usize,
    /// Hub tickets that can still be called though the kiosk never started handing
    /// them over: nobody holds them.
    pub ghosts: Vec<String>,
    /// Hub tickets voided because their kiosk withdrew them.
    pub voided: usize,
}

impl Verdict {
    /// True when every promise holds.
    pub fn clean(&self, allowed_unreported: usize) -> bool {
        self.lost.is_empty()
            && self.duplicated_or_wrong.is_empty()
            && self.numbers_reused.is_empty()
            && self.stuck.is_empty()
            && self.ghosts.is_empty()
            && self.unreported <= allowed_unreported
    }
}

/// Compares the hub's and the kiosk's databases with what was handed over.
pub fn verdict(hub_db: &Path, kiosk_db: &Path, handed: &[Handed]) -> Verdict {
    let hub = rusqlite::Connection::open(hub_db).unwrap();
    let kiosk = rusqlite::Connection::open(kiosk_db).unwrap();
    let mut on_hub: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut stmt = hub
        .prepare("SELECT op_id, number, status FROM tickets WHERE op_id IS NOT NULL")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })
        .unwrap()
    {
        let (op, number, status) = row.unwrap();
        on_hub.entry(op).or_default().push((number, status));
    }
    let mut v = Verdict::default();
    for h in handed {
        match on_hub.get(&h.op_id.to_string()).map(Vec::as_slice) {
            None => v.lost.push(format!("{} {}", h.op_id, h.number)),
            Some([(_, status)]) if status == "void" => v
                .lost
                .push(format!("{} {} handed over but voided", h.op_id, h.number)),
            Some([(number, _)]) if *number == h.number => {}
            Some(numbers) => v
                .duplicated_or_wrong
                .push(format!("{} paper {} hub {numbers:?}", h.op_id, h.number)),
        }
    }
    let reported: std::collections::HashSet<String> =
        handed.iter().map(|h| h.op_id.to_string()).collect();
    let started: std::collections::HashSet<String> = kiosk
        .prepare("SELECT op_id FROM tickets")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (op, tickets) in &on_hub {
        let void = tickets.iter().all(|(_, status)| status == "void");
        if void {
            v.voided += 1;
        } else if !reported.contains(op) {
            if started.contains(op) {
                v.unreported += 1;
            } else {
                v.ghosts.push(format!("{op} {tickets:?}"));
            }
        }
    }
    let mut stmt = hub
        .prepare(
            "SELECT day, number, count(*) FROM (
                 SELECT day, number FROM tickets
                 UNION ALL SELECT day, number FROM retired_numbers)
             GROUP BY day, number HAVING count(*) > 1",
        )
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {} x{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?
            ))
        })
        .unwrap()
    {
        v.numbers_reused.push(row.unwrap());
    }
    let mut stmt = kiosk
        .prepare(
            "SELECT op_id, coalesce(last_error, '') FROM outbox
             WHERE acked_at IS NULL OR response LIKE '%\"rejected\"%'",
        )
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
    {
        v.stuck.push(row.unwrap());
    }
    v
}
