//! A [`Speech`] that keeps what it is asked, for tests: which sentence, on which output,
//! and when speech was cut off.

use std::sync::{Arc, Mutex, PoisonError};

use super::{Speech, Utterance, Volume};

/// What the speech output was asked to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A sentence queued.
    Said(Utterance),
    /// Everything cut off.
    Stopped,
    /// The volume set.
    Volume(Volume),
}

/// Records every request; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct RecordingSpeech {
    events: Arc<Mutex<Vec<Event>>>,
}

impl RecordingSpeech {
    /// An empty record.
    pub fn new() -> RecordingSpeech {
        RecordingSpeech::default()
    }

    /// Everything asked so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The sentences queued so far.
    pub fn said(&self) -> Vec<Utterance> {
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::Said(u) => Some(u.clone()),
                _ => None,
            })
            .collect()
    }

    /// Forgets the record.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Speech for RecordingSpeech {
    fn say(&self, utterance: Utterance) {
        self.lock().push(Event::Said(utterance));
    }

    fn stop(&self) {
        self.lock().push(Event::Stopped);
    }

    fn set_volume(&self, volume: Volume) {
        self.lock().push(Event::Volume(volume));
    }
}
