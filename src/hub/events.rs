//! Live calls for display boards: a broadcast channel feeding server-sent events.
//!
//! Only display numbers and counter names travel here, never anything personal: the
//! board is in a public waiting room.
//!
//! With several hub processes on one PostgreSQL database, a board may be connected to a
//! process other than the one the clerk's call went through: each call is then sent with
//! `NOTIFY` on [`CALLS_CHANNEL`], and every process (the sender too) hears it through a
//! `LISTEN` connection of its own and hands it to its boards.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::sql::args;
use super::sql::postgres::{Heard, PgConn};
use super::store::Db;

/// The PostgreSQL channel calls travel on between hub processes.
pub const CALLS_CHANNEL: &str = "sportello_calls";

/// One call of a ticket to a counter, as the waiting room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    /// The office whose board shows it (only that office's boards receive it).
    #[serde(default = "configured_office")]
    pub office: i64,
    /// Display number, e.g. `A012`.
    pub number: String,
    /// Counter name, e.g. `Sportello 3`.
    pub counter: String,
    /// Whether this is a repeated call of the same ticket.
    pub recall: bool,
    /// When it was called.
    pub at: DateTime<Utc>,
}

fn configured_office() -> i64 {
    super::offices::CONFIGURED_OFFICE
}

/// The sending side, shared by handlers; display connections subscribe.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<CallEvent>,
    /// On PostgreSQL: where calls are sent for every process to hear.
    database: Option<Db>,
    /// Dropped with the last clone: the listener thread then ends.
    alive: Arc<()>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    /// A channel keeping the last 64 events for slow readers.
    pub fn new() -> Events {
        let (tx, _) = broadcast::channel(64);
        Events {
            tx,
            database: None,
            alive: Arc::new(()),
        }
    }

    /// Calls through the PostgreSQL database at `url` (reached for sending through `db`):
    /// boards on every hub process on it hear every call.
    pub fn through_database(db: Db, url: String) -> std::io::Result<Events> {
        let mut events = Events::new();
        events.database = Some(db);
        let (tx, alive) = (events.tx.clone(), Arc::downgrade(&events.alive));
        std::thread::Builder::new()
            .name("hub-calls-listener".into())
            .spawn(move || listen(&url, &tx, &alive))?;
        Ok(events)
    }

    /// Sends a call to every connected board (none connected is fine).
    pub fn publish(&self, event: CallEvent) {
        let Some(db) = self.database.clone() else {
            let _ = self.tx.send(event);
            return;
        };
        let Ok(payload) = serde_json::to_string(&event) else {
            return;
        };
        tokio::spawn(async move {
            let sent = db
                .read(move |conn| {
                    conn.sql()
                        .execute("SELECT pg_notify(?1, ?2)", args![CALLS_CHANNEL, payload])?;
                    Ok(())
                })
                .await;
            if let Err(e) = sent {
                tracing::warn!(code = e.code, "a call could not be sent to the boards");
            }
        });
    }

    /// A receiver of future calls.
    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.tx.subscribe()
    }
}

/// The listener thread: hears the calls on [`CALLS_CHANNEL`] and hands them to this
/// process's boards until the last [`Events`] is dropped; connects again after the
/// database went away (calls made meanwhile are missed: a board shows them at its next
/// snapshot).
fn listen(url: &str, tx: &broadcast::Sender<CallEvent>, alive: &Weak<()>) {
    let mut warned = false;
    while alive.strong_count() > 0 {
        let listening = PgConn::connect(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch(&format!("LISTEN {CALLS_CHANNEL}"))
                    .map(|()| conn)
                    .map_err(|e| e.to_string())
            });
        let mut conn = match listening {
            Ok(conn) => conn,
            Err(e) => {
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(%e, "the boards cannot hear calls from other hub processes");
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        warned = false;
        while alive.strong_count() > 0 {
            match conn.next_notification(Duration::from_millis(500)) {
                Heard::Message(payload) => match serde_json::from_str(&payload) {
                    Ok(event) => {
                        let _ = tx.send(event);
                    }
                    Err(e) => tracing::warn!(%e, "an unreadable call on {CALLS_CHANNEL}"),
                },
                Heard::Nothing => {}
                Heard::Closed => break,
            }
        }
    }
}
