//! The tactile keypad: a USB keypad that types, read as commands for the non-visual mode.
//!
//! EZ Access and Italian talking ATMs set the model: arrows move through the choices, the
//! centre key (Enter) confirms, Back goes back, Help explains the page, and holding the
//! centre key starts speech. Keys arrive as the window's key events; the function keys
//! the keypad is programmed to send are listed in docs/maintainer.md. A barcode scanner
//! types too and ends with Enter, so Enter only counts as the keypad's while no scan is
//! being typed (the controller asks [`super::scanner::KeyboardScans::collecting`]).

use std::time::{Duration, Instant};

/// How long the centre key is held to start speech.
pub const HOLD_TO_SPEAK: Duration = Duration::from_secs(2);

/// What a keypad key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeypadCommand {
    /// The previous choice (up or left arrow).
    Previous,
    /// The next choice (down or right arrow).
    Next,
    /// Confirm the focused choice (centre key, released before [`HOLD_TO_SPEAK`]).
    Activate,
    /// Start speech (centre key held for [`HOLD_TO_SPEAK`]).
    StartSpeech,
    /// Back a page (Back key: Escape or Backspace).
    Back,
    /// Say the page's instructions (F1).
    Help,
    /// Say the last sentence again (F2).
    Repeat,
    /// Quieter (F3).
    VolumeDown,
    /// Louder (F4).
    VolumeUp,
}

/// Key texts as Slint delivers them (its private-use codes for special keys).
mod keys {
    pub const UP: char = '\u{F700}';
    pub const DOWN: char = '\u{F701}';
    pub const LEFT: char = '\u{F702}';
    pub const RIGHT: char = '\u{F703}';
    pub const F1: char = '\u{F704}';
    pub const F2: char = '\u{F705}';
    pub const F3: char = '\u{F706}';
    pub const F4: char = '\u{F707}';
    pub const BACKSPACE: char = '\u{8}';
    pub const ESCAPE: char = '\u{1b}';
}

/// The key texts a test sends for each command (Enter is `"\n"`).
pub mod sent {
    /// Down arrow.
    pub const NEXT: &str = "\u{F701}";
    /// Up arrow.
    pub const PREVIOUS: &str = "\u{F700}";
    /// Escape.
    pub const BACK: &str = "\u{1b}";
    /// F1.
    pub const HELP: &str = "\u{F704}";
    /// F2.
    pub const REPEAT: &str = "\u{F705}";
    /// F3.
    pub const VOLUME_DOWN: &str = "\u{F706}";
    /// F4.
    pub const VOLUME_UP: &str = "\u{F707}";
    /// The centre key.
    pub const ENTER: &str = "\n";
}

/// Whether `text` is the centre key.
pub fn is_enter(text: &str) -> bool {
    matches!(text, "\n" | "\r")
}

/// The command of a key other than the centre key, or `None` for text (a scanner's).
pub fn command(text: &str) -> Option<KeypadCommand> {
    let mut chars = text.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    Some(match c {
        keys::UP | keys::LEFT => KeypadCommand::Previous,
        keys::DOWN | keys::RIGHT => KeypadCommand::Next,
        keys::BACKSPACE | keys::ESCAPE => KeypadCommand::Back,
        keys::F1 => KeypadCommand::Help,
        keys::F2 => KeypadCommand::Repeat,
        keys::F3 => KeypadCommand::VolumeDown,
        keys::F4 => KeypadCommand::VolumeUp,
        _ => return None,
    })
}

/// The centre key: confirm on a short press, start speech on a long one. Acting on the
/// release, not the press, is what lets one key do both; auto-repeat is ignored.
#[derive(Debug, Default)]
pub struct CentreKey {
    down_since: Option<Instant>,
}

impl CentreKey {
    /// The key went down (a repeat while held is not a new press).
    pub fn pressed(&mut self, repeat: bool, now: Instant) {
        if !repeat || self.down_since.is_none() {
            self.down_since.get_or_insert(now);
        }
    }

    /// The key came up: what the press meant, if it was pressed here.
    pub fn released(&mut self, now: Instant) -> Option<KeypadCommand> {
        let since = self.down_since.take()?;
        Some(if now.saturating_duration_since(since) >= HOLD_TO_SPEAK {
            KeypadCommand::StartSpeech
        } else {
            KeypadCommand::Activate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_commands_and_text_is_left_to_the_scanner() {
        assert_eq!(command(sent::NEXT), Some(KeypadCommand::Next));
        assert_eq!(command("\u{F703}"), Some(KeypadCommand::Next));
        assert_eq!(command(sent::PREVIOUS), Some(KeypadCommand::Previous));
        assert_eq!(command(sent::BACK), Some(KeypadCommand::Back));
        assert_eq!(command("\u{8}"), Some(KeypadCommand::Back));
        assert_eq!(command(sent::HELP), Some(KeypadCommand::Help));
        assert_eq!(command(sent::REPEAT), Some(KeypadCommand::Repeat));
        assert_eq!(command(sent::VOLUME_UP), Some(KeypadCommand::VolumeUp));
        assert_eq!(command(sent::VOLUME_DOWN), Some(KeypadCommand::VolumeDown));
        for text in ["A", "5", "-", "\n", "", "AB"] {
            assert_eq!(command(text), None, "{text:?}");
        }
        assert!(is_enter("\n") && is_enter("\r") && !is_enter("5"));
    }

    #[test]
    fn the_centre_key_confirms_when_tapped_and_starts_speech_when_held() {
        let t0 = Instant::now();
        let mut key = CentreKey::default();
        assert_eq!(key.released(t0), None, "a release without a press");
        key.pressed(false, t0);
        assert_eq!(
            key.released(t0 + Duration::from_millis(150)),
            Some(KeypadCommand::Activate)
        );
        key.pressed(false, t0);
        // Auto-repeat while held does not restart the hold.
        key.pressed(true, t0 + Duration::from_millis(500));
        key.pressed(true, t0 + Duration::from_millis(1900));
        assert_eq!(
            key.released(t0 + HOLD_TO_SPEAK),
            Some(KeypadCommand::StartSpeech)
        );
    }
}
