//! The glyph of each service pictogram in the bundled Material Icons font
//! (`ui/fonts/`); `ui/widgets/icon.slint` names the UI's own pictograms the same way.

use crate::catalogue::Pictogram;

/// The character that draws `pictogram` in the "Material Icons" font.
pub fn glyph(pictogram: Pictogram) -> char {
    match pictogram {
        Pictogram::Unemployment => '\u{e943}',  // work_off
        Pictogram::Contributions => '\u{e2eb}', // savings
        Pictogram::Pension => '\u{ef63}',       // payments
        Pictogram::Family => '\u{f1a2}',        // family_restroom
        Pictogram::Certificate => '\u{e873}',   // description
        Pictogram::Work => '\u{e8f9}',          // work
        Pictogram::Registration => '\u{e174}',  // how_to_reg
        Pictogram::Disability => '\u{e914}',    // accessible
        Pictogram::Support => '\u{f06e}',       // handshake
        Pictogram::Employer => '\u{e0af}',      // business
        Pictogram::Appointment => '\u{e614}',   // event_available
        Pictogram::Information => '\u{e88e}',   // info
    }
}
