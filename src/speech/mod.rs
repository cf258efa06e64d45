//! Speech output for citizens who cannot see the screen, and for the waiting room's calls.
//!
//! What is said is decided elsewhere (the kiosk's narration, the hub's call phrases); this
//! module only says it. [`Speech`] is one queue: [`Speech::say`] appends, [`Speech::stop`]
//! cuts off what is playing and drops the rest at once (a new page, a new focus, a key).
//! Every utterance names its [`Output`]: the private headset or the public speaker,
//! chosen by [`route`] so that private data never reaches the speaker
//! (EN 301 549 5.1.3.9). [`espeak::EspeakSpeech`] speaks through espeak-ng and ALSA;
//! [`recording::RecordingSpeech`] keeps what would be said, for tests.

pub mod espeak;
pub mod recording;
mod spell;
mod volume;

pub use spell::spell;
pub use volume::Volume;

use crate::lang::Lang;

/// Where an utterance is heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    /// The citizen's own headset, plugged into the kiosk's jack: private.
    Headset,
    /// The kiosk's loudspeaker: heard by everyone nearby.
    Speaker,
}

/// One sentence to say, in one language, on one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    /// Plain text (no markup): codes already spelled out with [`spell`].
    pub text: String,
    /// The language of the text, which picks the voice.
    pub lang: Lang,
    /// Where it is heard.
    pub output: Output,
}

/// Where a sentence goes: into the headset when one is plugged in, else out of the
/// speaker, except private data (a codice fiscale, a name, an application's state),
/// which without a headset is not said at all.
pub fn route(private: bool, headset_plugged: bool) -> Option<Output> {
    match (headset_plugged, private) {
        (true, _) => Some(Output::Headset),
        (false, false) => Some(Output::Speaker),
        (false, true) => None,
    }
}

/// A speech output: one queue of utterances that can be cut off at once.
pub trait Speech: Send + Sync {
    /// Says `utterance` after what is queued.
    fn say(&self, utterance: Utterance);
    /// Stops what is being said now and forgets the queue.
    fn stop(&self);
    /// Sets the loudness of what follows (both outputs).
    fn set_volume(&self, volume: Volume);
}

/// No speech at all (`[speech] enabled = false`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Speech for Silent {
    fn say(&self, _: Utterance) {}
    fn stop(&self) {}
    fn set_volume(&self, _: Volume) {}
}

/// Why speech cannot be produced.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The engine could not be started (not installed?).
    #[error("cannot run {program}: {source} (is the espeak-ng package installed?)")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The engine ran but failed.
    #[error("{program} failed: {detail}")]
    Failed { program: String, detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_data_is_heard_in_the_headset_or_not_at_all() {
        assert_eq!(route(true, true), Some(Output::Headset));
        assert_eq!(route(false, true), Some(Output::Headset));
        assert_eq!(route(false, false), Some(Output::Speaker));
        assert_eq!(route(true, false), None, "never on the speaker");
    }
}
