//! Unicode text to the printer's single-byte code page, and back.
//!
//! Thermal printers know no UTF-8: a byte is a glyph of the selected code page (`ESC t n`).
//! Italian needs à è é ì ò ù (and their capitals) and €, which PC858 and Windows-1252
//! both hold; Romanian's ă and ş ţ are in Windows-1250, Ukrainian's і ї є ґ in
//! Windows-1251. The byte tables come from crates: `oem_cp` for PC858 and `encoding_rs`
//! for the Windows pages. What is hand-written here is the fallback: a letter the page
//! lacks first becomes its near twin when the page has that (Romanian comma-below ș ț
//! → cedilla ş ţ, as printed matter did for years), else a readable ASCII form ("È" →
//! "E'", "€" → "EUR", "ł" → "l", "“" → '"'); control characters are dropped, so text can
//! never inject a printer command nor print raw UTF-8 as mojibake. Scripts without a
//! page (Arabic, Chinese, Cyrillic on a Latin-only printer) are not this module's job:
//! the layout prints them as raster text ([`super::raster_text`]).

use serde::Deserialize;

/// A code page the encoder can print text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// IBM PC858: PC850 with € at 0xD5. Epson `ESC t 19`.
    Pc858,
    /// Windows-1252: Latin-1 plus € at 0x80 and typographic quotes. Epson `ESC t 16`.
    Wpc1252,
    /// Windows-1250: Central European (Romanian ă â î and cedilla ş ţ). Epson `ESC t 45`.
    Wpc1250,
    /// Windows-1251: Cyrillic, Ukrainian і ї є ґ included. Epson `ESC t 46`.
    Wpc1251,
}

impl CodePage {
    /// Every page the encoder knows.
    pub const ALL: [CodePage; 4] = [
        CodePage::Pc858,
        CodePage::Wpc1252,
        CodePage::Wpc1250,
        CodePage::Wpc1251,
    ];

    /// The page for a name as `data/printers.toml` and language folders write it
    /// (`pc858`, `wpc1252`, `wpc1250`, `wpc1251`; case-insensitive).
    pub fn from_name(name: &str) -> Option<CodePage> {
        CodePage::ALL
            .into_iter()
            .find(|p| p.key().eq_ignore_ascii_case(name.trim()))
    }

    /// The lower-case name used in data files.
    pub fn key(self) -> &'static str {
        match self {
            CodePage::Pc858 => "pc858",
            CodePage::Wpc1252 => "wpc1252",
            CodePage::Wpc1250 => "wpc1250",
            CodePage::Wpc1251 => "wpc1251",
        }
    }

    /// The `encoding_rs` table of a Windows page.
    fn windows(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            CodePage::Pc858 => None,
            CodePage::Wpc1252 => Some(encoding_rs::WINDOWS_1252),
            CodePage::Wpc1250 => Some(encoding_rs::WINDOWS_1250),
            CodePage::Wpc1251 => Some(encoding_rs::WINDOWS_1251),
        }
    }
}

impl CodePage {
    /// The byte for `c` in this page, if the page holds it. Printable ASCII maps to itself;
    /// control characters have no byte (they are never text).
    pub fn encode_char(self, c: char) -> Option<u8> {
        if c.is_control() {
            return None;
        }
        if c.is_ascii() {
            return Some(c as u8);
        }
        match self.windows() {
            None => oem_cp::encode_char_checked(c, &oem_cp::code_table::ENCODING_TABLE_CP858),
            Some(table) => {
                let mut utf8 = [0u8; 4];
                let (bytes, _, unmappable) = table.encode(c.encode_utf8(&mut utf8));
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
        let c = match self.windows() {
            None => Some(oem_cp::decode_char_complete_table(
                b,
                &oem_cp::code_table::DECODING_TABLE_CP858,
            )),
            Some(table) => {
                let bytes = [b];
                let (text, _, malformed) = table.decode(&bytes);
                if malformed { None } else { text.chars().next() }
            }
        };
        // Holes in a Windows page decode to C1 controls: no glyph, not text.
        c.filter(|c| !c.is_control())
    }

    /// Encodes text for this page: each character as its byte, or its ASCII fallback
    /// when the page lacks it. Control characters (including line feeds) are dropped,
    /// so the result never contains a command byte.
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            if let Some(b) = self
                .encode_char(c)
                .or_else(|| twin(c).and_then(|t| self.encode_char(t)))
            {
                out.push(b);
            } else if !c.is_control() && !invisible(c) {
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
            CodePage::Wpc1250 => "WPC1250",
            CodePage::Wpc1251 => "WPC1251",
        }
    }
}

/// Characters with no glyph of their own: bidi marks and isolates (the kiosk wraps data
/// in them for right-to-left sentences), zero-width joiners and spaces, the byte-order
/// mark. A single-byte page has no use for them; they are dropped, never printed `?`.
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// The near twin a page may hold when it lacks `c`: Romanian comma-below ș ț (U+0219,
/// U+021B) as cedilla ş ţ, the form Windows-1250 and most fonts of the 1990s carry and
/// every Romanian reader knows; the narrow no-break space as the no-break space.
pub fn twin(c: char) -> Option<char> {
    match c {
        'ș' => Some('ş'),
        'ț' => Some('ţ'),
        'Ș' => Some('Ş'),
        'Ț' => Some('Ţ'),
        // French narrow no-break space (before « ; : ! ?): the page's no-break space.
        '\u{202f}' => Some('\u{a0}'),
        _ => None,
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
        // The Ukrainian apostrophe (modifier letter) prints as the ASCII one.
        ('ʼ', "'"),
        ('№', "N."),
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

    #[test]
    fn bidi_isolates_and_joiners_are_dropped_not_printed() {
        for page in CodePage::ALL {
            assert_eq!(
                page.encode("\u{2068}Sala INPS (1-4)\u{2069}\u{200f}\u{feff}"),
                b"Sala INPS (1-4)".to_vec()
            );
        }
    }

    #[test]
    fn every_page_decodes_what_it_encodes() {
        for page in CodePage::ALL {
            assert_eq!(CodePage::from_name(page.key()), Some(page));
            for b in 0x20..=0xFF_u8 {
                if let Some(c) = page.decode_byte(b) {
                    assert!(!c.is_control(), "{page:?} {b:#x}");
                    assert_eq!(page.encode_char(c), Some(b), "{page:?} {c}");
                }
            }
            // C1 controls are not text in any page.
            assert_eq!(page.encode("\u{81}\u{9b}x"), b"x".to_vec());
        }
        assert_eq!(CodePage::from_name(" WPC1251 "), Some(CodePage::Wpc1251));
        assert_eq!(CodePage::from_name("pc866"), None);
    }

    #[test]
    fn romanian_comma_below_prints_with_a_cedilla_on_wpc1250() {
        let page = CodePage::Wpc1250;
        // ș ț Ș Ț are not in Windows-1250; ş ţ Ş Ţ are (0xBA 0xFE 0xAA 0xDE).
        assert_eq!(
            page.encode("ș ț Ș Ț"),
            vec![0xBA, b' ', 0xFE, b' ', 0xAA, b' ', 0xDE]
        );
        assert_eq!(page.printable("Mulțumiri, ședință"), "Mulţumiri, şedinţă");
        assert_eq!(page.printable("ăâî ĂÂÎ"), "ăâî ĂÂÎ");
        // Without Windows-1250 they lose the mark, never become `?`.
        assert_eq!(CodePage::Wpc1252.printable("ședință ţ"), "sedinta t");
        assert_eq!(CodePage::Pc858.printable("Țară"), "Tara");
    }

    #[test]
    fn ukrainian_is_windows_1251_bytes() {
        let page = CodePage::Wpc1251;
        assert_eq!(
            page.encode("Ґ є і ї"),
            vec![0xA5, b' ', 0xBA, b' ', 0xB3, b' ', 0xBF]
        );
        assert_eq!(
            page.encode("Ваш номер"),
            vec![0xC2, 0xE0, 0xF8, b' ', 0xED, 0xEE, 0xEC, 0xE5, 0xF0]
        );
        assert_eq!(
            page.printable("Ласкаво просимо, п’ятниця"),
            "Ласкаво просимо, п’ятниця"
        );
        assert_eq!(page.printable("мʼята"), "м'ята");
        // No Italian accents in 1251: the typewriter fallback.
        assert_eq!(page.printable("Città €"), "Citta' €");
    }
}
