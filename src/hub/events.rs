//! Live calls for display boards: a broadcast channel feeding server-sent events.
//!
//! Only display numbers and counter names travel here, never anything personal: the
//! board is in a public waiting room.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One call of a ticket to a counter, as the waiting room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Display number, e.g. `A012`.
    pub number: String,
    /// Counter name, e.g. `Sportello 3`.
    pub counter: String,
    /// Whether this is a repeated call of the same ticket.
    pub recall: bool,
    /// When it was called.
    pub at: DateTime<Utc>,
}

/// The sending side, shared by handlers; display connections subscribe.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<CallEvent>,
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
        Events { tx }
    }

    /// Sends a call to every connected board (none connected is fine).
    pub fn publish(&self, event: CallEvent) {
        let _ = self.tx.send(event);
    }

    /// A receiver of future calls.
    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.tx.subscribe()
    }
}
