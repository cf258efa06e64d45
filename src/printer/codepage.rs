//! Unicode text to the printer's single-byte code page, and back.
//!
//! Thermal printers know no UTF-8: a byte is a glyph of the selected code page (`ESC t n`).
//! Italian needs à è é ì ò ù (and their capitals) and €, which PC858 and Windows-1252
//! both hold. The byte tables come from crates: `oem_cp` for PC858 and `encoding_rs`
//! for Windows-1252. What is hand-written here is the fallback: a character the page
//! lacks becomes a readable ASCII form ("È" → "E'", "€" → "EUR", "ł" → "l", "“" → '"')
//! and control characters are dropped, so text can never inject a printer command nor
//! print raw UTF-8 as mojibake.

use serde::Deserialize;

/// A code page the encoder can print text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// IBM PC858: PC850 with € at 0xD5. Epson `ESC t 19`.
    Pc858,
    /// Windows-1252: Latin-1 plus € at 0x80 and typographic quotes. Epson `ESC t 16`.
    Wpc1252,
}

impl CodePage {
    /// The byte for `c` in this page, if the page holds it. Printable ASCII maps to itself;
    /// control characters have no byte (they are never text).
    pub fn encode_char(self, c: char) -> Option<u8> {
        if c.is_ascii() {
            return (!c.is_ascii_control()).then_some(c as u8);
        }
        match self {
            CodePage::Pc858 => {
                oem_cp::encode_char_checked(c, &oem_cp::code_table::ENCODING_TABLE_CP858)
            }
            CodePage::Wpc1252 => {
                let mut utf8 = [0u8; 4];
                let (bytes, _, unmappable) =
                    encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut utf8));
                match (unmappable, bytes.as_ref()) {
                    (false, [b]) if *b >= 0x80 => Some(*b),
                    _ => None,
                }
            }
        }
    }

    /// The character a byte of this page prints as (used by the emulator).
    /// Bytes below 0x20 are not text and give `None`.
    pub fn decode_byte(self, b: u8) -> Option<char> {
        if b < 0x20 || b == 0x7F {
            return None;
        }
        if b < 0x80 {
            return Some(b as char);
        }
        match self {
            CodePage::Pc858 => Some(oem_cp::decode_char_complete_table(
                b,
                &oem_cp::code_table::DECODING_TABLE_CP858,
            )),
            CodePage::Wpc1252 => {
                let bytes = [b];
                let (text, _, malformed) = encoding_rs::WINDOWS_1252.decode(&bytes);
                if malformed { None } else { text.chars().next() }
            }
        }
    }

    /// Encodes text for this page: each character as its byte, or its ASCII fallback
    /// when the page lacks it. Control characters (including line feeds) are dropped,
    /// so the result never contains a command byte.
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            if let Some(b) = self.encode_char(c) {
                out.push(b);
            } else if !c.is_control() {
                out.extend(fallback(c).bytes());
            }
        }
        out
    }

    /// The text as it will print: what [`CodePage::encode`] produces, decoded again.
    /// Layouts measure and wrap this form, so a fallback that grew a character wide
    /// still fits the line.
    pub fn printable(self, text: &str) -> String {
        self.encode(text)
            .into_iter()
            .filter_map(|b| self.decode_byte(b))
            .collect()
    }

    /// The page's name as printer manuals write it.
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Pc858 => "PC858",
            CodePage::Wpc1252 => "WPC1252",
        }
    }
}

/// A readable ASCII form for a character the code page lacks. Italian accented vowels
/// keep their accent as an apostrophe (the usual typewriter convention, "E'"); other
/// Latin letters lose their diacritic; punctuation becomes its ASCII twin; anything
/// else is `?`.
pub fn fallback(c: char) -> String {
    const ITALIAN: &[(char, &str)] = &[
        ('à', "a'"),
        ('è', "e'"),
        ('é', "e'"),
        ('ì', "i'"),
        ('ò', "o'"),
        ('ù', "u'"),
        ('À', "A'"),
        ('È', "E'"),
        ('É', "E'"),
        ('Ì', "I'"),
        ('Ò', "O'"),
        ('Ù', "U'"),
    ];
    const SYMBOLS: &[(char, &str)] = &[
        ('€', "EUR"),
        ('‘', "'"),
        ('’', "'"),
        ('‚', ","),
        ('“', "\""),
        ('”', "\""),
        ('„', "\""),
        ('«', "\""),
        ('»', "\""),
        ('–', "-"),
        ('—', "-"),
        ('‐', "-"),
        ('…', "..."),
        ('•', "*"),
        ('·', "."),
        ('\u{a0}', " "),
        ('\u{202f}', " "),
        ('°', "o"),
        ('ß', "ss"),
        ('æ', "ae"),
        ('Æ', "AE"),
        ('œ', "oe"),
        ('Œ', "OE"),
        ('ø', "o"),
        ('Ø', "O"),
        ('ł', "l"),
        ('Ł', "L"),
        ('đ', "d"),
        ('Đ', "D"),
        ('ı', "i"),
    ];
    // Latin letters with diacritics, grouped by base letter.
    const FOLD: &[(&str, char)] = &[
        ("ÀÁÂÃÄÅĀĂĄǍ", 'A'),
        ("àáâãäåāăąǎ", 'a'),
        ("ÇĆĈĊČ", 'C'),
        ("çćĉċč", 'c'),
        ("ĎÐ", 'D'),
        ("ďð", 'd'),
        ("ÈÉÊËĒĔĖĘĚ", 'E'),
        ("èéêëēĕėęě", 'e'),
        ("ĜĞĠĢ", 'G'),
        ("ĝğġģ", 'g'),
        ("ĤĦ", 'H'),
        ("ĥħ", 'h'),
        ("ÌÍÎÏĨĪĬĮİ", 'I'),
        ("ìíîïĩīĭį", 'i'),
        ("Ĵ", 'J'),
        ("ĵ", 'j'),
        ("Ķ", 'K'),
        ("ķ", 'k'),
        ("ĹĻĽĿ", 'L'),
        ("ĺļľŀ", 'l'),
        ("ÑŃŅŇ", 'N'),
        ("ñńņň", 'n'),
        ("ÒÓÔÕÖŌŎŐ", 'O'),
        ("òóôõöōŏő", 'o'),
        ("ŔŖŘ", 'R'),
        ("ŕŗř", 'r'),
        ("ŚŜŞŠȘ", 'S'),
        ("śŝşšș", 's'),
        ("ŢŤŦȚ", 'T'),
        ("ţťŧț", 't'),
        ("ÙÚÛÜŨŪŬŮŰŲ", 'U'),
        ("ùúûüũūŭůűų", 'u'),
        ("Ŵ", 'W'),
        ("ŵ", 'w'),
        ("ÝŸŶ", 'Y'),
        ("ýÿŷ", 'y'),
        ("ŹŻŽ", 'Z'),
        ("źżž", 'z'),
    ];
    if let Some((_, s)) = ITALIAN.iter().chain(SYMBOLS).find(|(k, _)| *k == c) {
        return (*s).to_string();
    }
    if let Some((_, base)) = FOLD.iter().find(|(set, _)| set.contains(c)) {
        return base.to_string();
    }
    if c.is_whitespace() {
        return " ".to_string();
    }
    "?".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITALIAN: &str = "àèéìòùÀÈÉÌÒÙ€";

    #[test]
    fn both_pages_hold_every_italian_letter_and_the_euro() {
        for page in [CodePage::Pc858, CodePage::Wpc1252] {
            for c in ITALIAN.chars() {
                let b = page
                    .encode_char(c)
                    .unwrap_or_else(|| panic!("{c} in {page:?}"));
                assert!(b >= 0x80);
                assert_eq!(page.decode_byte(b), Some(c));
            }
        }
        assert_eq!(CodePage::Pc858.encode("€"), vec![0xD5]);
        assert_eq!(CodePage::Wpc1252.encode("€"), vec![0x80]);
        assert_eq!(CodePage::Pc858.encode("è"), vec![0x8A]);
        assert_eq!(CodePage::Wpc1252.encode("è"), vec![0xE8]);
    }

    #[test]
    fn missing_characters_fall_back_to_readable_ascii() {
        // PC858 has no typographic quotes; neither page has Polish ł or ő.
        assert_eq!(CodePage::Pc858.encode("“Łódź”"), b"\"L\xA2dz\"".to_vec());
        assert_eq!(CodePage::Wpc1252.encode("Őz ✓"), b"Oz ?".to_vec());
        assert_eq!(fallback('È'), "E'");
        assert_eq!(fallback('€'), "EUR");
    }

    #[test]
    fn output_never_contains_control_bytes_or_utf8() {
        for page in [CodePage::Pc858, CodePage::Wpc1252] {
            let bytes = page.encode("a\x1b@\x1d\x56\x00b\n\tc 中文");
            assert!(bytes.iter().all(|&b| b >= 0x20), "{bytes:?}");
            assert_eq!(page.printable("a\x1bb 中"), "ab ?");
        }
    }
}
