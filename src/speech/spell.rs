//! Codes read character by character: "N012" is "N, zero, uno, due", never "N dodici".

use crate::lang::Lang;

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
    const IT: [&str; 10] = [
        "zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
    ];
    const EN: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    if let Some(d) = c.to_digit(10) {
        let words = match lang {
            Lang::It => IT,
            Lang::En => EN,
        };
        return words[d as usize].to_string();
    }
    match (c, lang) {
        ('-', Lang::It) => "trattino".into(),
        ('-', Lang::En) => "dash".into(),
        _ => c.to_uppercase().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_spelled_in_the_language_on_screen() {
        assert_eq!(spell("N012", Lang::It), "N, zero, uno, due");
        assert_eq!(spell("N012", Lang::En), "N, zero, one, two");
        assert_eq!(spell("n-a01", Lang::It), "N, trattino, A, zero, uno");
        assert_eq!(spell(" B 7 ", Lang::En), "B, seven");
        assert_eq!(spell("", Lang::It), "");
    }
}
