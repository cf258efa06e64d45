//! Display numbers as both ends read and write them: `N007` (a service's prefix letter and
//! three digits) and the emergency form `N-A01` (prefix, dash, the kiosk's tag, two digits)
//! that an offline kiosk gives when its bands are used up.
//!
//! Which number comes next is the hub's business (`hub::numbering`); this is only the
//! format, so a kiosk prints and a hub parses the same text.

/// Highest three-digit number.
pub const MAX_NUMBER: u16 = 999;

/// `N` and 7 -> `N007`.
pub fn format_number(prefix: char, seq: u16) -> String {
    format!("{prefix}{seq:03}")
}

/// `N007` -> (`N`, 7); `None` unless it is one uppercase letter and three digits 001-999.
pub fn parse_number(text: &str) -> Option<(char, u16)> {
    let mut chars = text.chars();
    let prefix = chars.next().filter(char::is_ascii_uppercase)?;
    let digits = chars.as_str();
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u16 = digits.parse().ok()?;
    (1..=MAX_NUMBER).contains(&seq).then_some((prefix, seq))
}

/// `N`, `A`, 1 -> `N-A01`: a number a kiosk gives when it is offline and its bands are
/// used up. The dash and the kiosk's tag make it look different from every normal number,
/// and the tag keeps two kiosks' emergency numbers apart.
pub fn format_emergency(prefix: char, tag: &str, n: u16) -> String {
    format!("{prefix}-{tag}{n:02}")
}

/// `N-A01` -> (`N`, `A`, 1); `None` unless prefix letter, dash, a tag of one or two
/// letters and two digits 01-99.
pub fn parse_emergency(text: &str) -> Option<(char, String, u16)> {
    let (prefix, rest) = text.split_once('-')?;
    let mut p = prefix.chars();
    let prefix = p.next().filter(char::is_ascii_uppercase)?;
    // Only ASCII can be tag and digits; a multi-byte character must not be cut in two
    // below (`N-€` from a kiosk or a URL panicked here; found by fuzz/display_numbers).
    if p.next().is_some() || rest.len() < 3 || !rest.is_ascii() {
        return None;
    }
    let (tag, digits) = rest.split_at(rest.len() - 2);
    let tag_ok = (1..=2).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_uppercase());
    if !tag_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u16 = digits.parse().ok()?;
    (1..=99).contains(&n).then(|| (prefix, tag.to_string(), n))
}

/// Letters a kiosk tag is made of: no I or O, which read as 1 and 0.
pub const TAG_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A number as a person types or reads it, in its canonical form: `n12`, `N 012` and
/// `NO12` (letter O for zero) are `N012`; `NA01`, `n-a01` and `N-AO1` are `N-A01`.
/// `None` when it cannot be a display number. Where a digit belongs, O reads as 0 and I
/// or L as 1 (tags never use I or O, so this never changes which ticket is meant).
pub fn read_typed_number(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '_' | '.' | '/')))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut chars = compact.chars();
    let prefix = chars.next().filter(char::is_ascii_uppercase)?;
    let rest = chars.as_str();
    let as_digit = |c: char| match c {
        '0'..='9' => Some(c),
        'O' => Some('0'),
        'I' | 'L' => Some('1'),
        _ => None,
    };
    let digits = |s: &str| -> Option<u16> {
        let mapped: Option<String> = s.chars().map(as_digit).collect();
        mapped?.parse().ok()
    };
    // A normal number: one to three digits after the letter.
    if (1..=3).contains(&rest.len())
        && let Some(seq) = digits(rest)
    {
        return (1..=MAX_NUMBER)
            .contains(&seq)
            .then(|| format_number(prefix, seq));
    }
    // An emergency number: a tag of one or two letters, then two digits.
    // Tag and digits are ASCII: anything else is not a number, and splitting it could cut
    // a character in two (`nԞX` panicked here; found by fuzz/display_numbers).
    if !(3..=4).contains(&rest.len()) || !rest.is_ascii() {
        return None;
    }
    let (tag, two) = rest.split_at(rest.len() - 2);
    let tag_ok = tag.bytes().all(|b| TAG_LETTERS.contains(&b));
    let n = digits(two)?;
    (tag_ok && (1..=99).contains(&n)).then(|| format_emergency(prefix, tag, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_is_not_a_number_and_no_panic() {
        // Inputs the fuzzer found (fuzz/regressions/display_numbers): a split inside a
        // multi-byte character.
        for text in ["n\u{51e}X", "N-\u{20ac}", "N-A\u{e9}", "n\u{20ac}1"] {
            assert_eq!(read_typed_number(text), None, "{text:?}");
            assert_eq!(parse_emergency(text), None, "{text:?}");
        }
    }

    #[test]
    fn emergency_numbers_format_and_parse() {
        assert_eq!(format_emergency('N', "A", 1), "N-A01");
        assert_eq!(parse_emergency("N-A01"), Some(('N', "A".to_string(), 1)));
        assert_eq!(parse_emergency("N-AB99"), Some(('N', "AB".to_string(), 99)));
        for bad in [
            "N-A00", "N-A100", "N001", "NN-A01", "N-a01", "N-ABC01", "N-01", "-A01",
        ] {
            assert_eq!(parse_emergency(bad), None, "{bad}");
        }
        assert_eq!(
            parse_number("N-A01"),
            None,
            "never confused with a normal number"
        );
    }

    #[test]
    fn numbers_format_and_parse() {
        assert_eq!(format_number('N', 7), "N007");
        assert_eq!(format_number('A', 999), "A999");
        assert_eq!(parse_number("N007"), Some(('N', 7)));
        for bad in [
            "N000", "n007", "N07", "N0071", "7007", "", "N-07", "NÉ07", "N1000",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn typed_numbers_are_read_as_people_write_them() {
        for (typed, meant) in [
            ("N012", "N012"),
            ("n012", "N012"),
            ("N12", "N012"),
            ("n 12", "N012"),
            ("N7", "N007"),
            ("NO12", "N012"),
            ("NOI2", "N012"),
            ("N-A01", "N-A01"),
            ("NA01", "N-A01"),
            ("n-a01", "N-A01"),
            ("N-AO1", "N-A01"),
            ("N-AB99", "N-AB99"),
        ] {
            assert_eq!(read_typed_number(typed).as_deref(), Some(meant), "{typed}");
        }
        for bad in [
            "", "N", "N000", "N1000", "12", "NA00", "NIA01", "N-ABC01", "NX", "É012",
        ] {
            assert_eq!(read_typed_number(bad), None, "{bad}");
        }
        for n in 1..=999 {
            let canonical = format_number('N', n);
            assert_eq!(read_typed_number(&canonical), Some(canonical.clone()));
        }
    }
}
