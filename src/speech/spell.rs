//! Codes read character by character: "N012" is "N, zero, uno, due", never "N dodici".

use crate::lang::{Lang, tr};

/// `code` spelled out for the speech engine: each letter and digit on its own, separated
/// by commas so the voice pauses; a dash is said as a word; spaces are dropped.
pub fn spell(code: &str, lang: Lang) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| character(c, lang))
        .collect::<Vec<_>>()
        .join(", ")
}

fn character(c: char, lang: Lang) -> String {
    let word = match c {
        '0' => tr(lang, "zero"),
        '1' => tr(lang, "one"),
        '2' => tr(lang, "two"),
        '3' => tr(lang, "three"),
        '4' => tr(lang, "four"),
        '5' => tr(lang, "five"),
        '6' => tr(lang, "six"),
        '7' => tr(lang, "seven"),
        '8' => tr(lang, "eight"),
        '9' => tr(lang, "nine"),
        '-' => tr(lang, "dash"),
        _ => return c.to_uppercase().collect(),
    };
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_spelled_in_the_language_on_screen() {
        assert_eq!(spell("N012", Lang::IT), "N, zero, uno, due");
        assert_eq!(spell("N012", Lang::EN), "N, zero, one, two");
        assert_eq!(spell("n-a01", Lang::IT), "N, trattino, A, zero, uno");
        assert_eq!(spell(" B 7 ", Lang::EN), "B, seven");
        assert_eq!(spell("", Lang::IT), "");
    }
}
