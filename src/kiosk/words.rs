//! Sentences the kiosk says aloud, translated by the same `messages.po` as the screen, so
//! the voice uses the words the screen shows (EN 301 549 5.1.3.3) and one translation
//! serves both. The table lives in `lang`; this is the narration's owned-string face.

use crate::lang::Lang;

pub use crate::lang::fill;

/// `msgid` in `lang` (a literal: `tests/translations.rs` collects the calls).
pub fn tr(lang: Lang, msgid: &'static str) -> String {
    crate::lang::tr(lang, msgid).to_string()
}
