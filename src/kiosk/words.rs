//! Sentences the kiosk says aloud, translated by the same .po files as the screen, so the
//! voice uses the words the screen shows (EN 301 549 5.1.3.3) and one translation serves
//! both. English is the source: a message missing from a language falls back to it.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::lang::Lang;

const ITALIAN: &str = include_str!("../../ui/translations/it/LC_MESSAGES/sportello.po");

/// `msgid` in `lang`. Use a literal: `tests/translations.rs` collects the calls
/// `tr(lang, "…")` in the narration to check every language has them.
pub fn tr(lang: Lang, msgid: &str) -> String {
    let table = match lang {
        Lang::En => return msgid.to_string(),
        Lang::It => italian(),
    };
    table
        .get(msgid)
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| msgid.to_string())
}

/// `template` with each `{}` replaced by the next of `args`, as Slint's `@tr` does.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(args.next().copied().unwrap_or_default());
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

fn italian() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| parse_po(ITALIAN))
}

/// The singular entries of a .po file: msgid -> msgstr (plural entries are skipped).
fn parse_po(text: &str) -> HashMap<String, String> {
    #[derive(PartialEq)]
    enum Field {
        None,
        Id,
        Str,
        Other,
    }
    let mut table = HashMap::new();
    let (mut id, mut translated, mut field) = (String::new(), String::new(), Field::None);
    let mut flush = |id: &mut String, translated: &mut String| {
        if !id.is_empty() {
            table.insert(std::mem::take(id), std::mem::take(translated));
        }
        id.clear();
        translated.clear();
    };
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("msgid ") {
            flush(&mut id, &mut translated);
            id = unquote(rest);
            field = Field::Id;
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            translated = unquote(rest);
            field = Field::Str;
        } else if line.starts_with("msgid_plural") || line.starts_with("msgstr[") {
            // Plurals are the screen's business; the voice says whole sentences.
            id.clear();
            field = Field::Other;
        } else if line.starts_with('"') {
            match field {
                Field::Id => id.push_str(&unquote(line)),
                Field::Str => translated.push_str(&unquote(line)),
                Field::None | Field::Other => {}
            }
        }
    }
    flush(&mut id, &mut translated);
    table
}

/// A .po string literal's content, escapes resolved.
fn unquote(literal: &str) -> String {
    let inner = literal
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_translations_serve_the_voice() {
        assert_eq!(tr(Lang::It, "Print my ticket"), "Stampa il mio numero");
        assert_eq!(tr(Lang::En, "Print my ticket"), "Print my ticket");
        assert_eq!(tr(Lang::It, "not a message"), "not a message");
        assert_eq!(
            fill(&tr(Lang::It, "Your number is {}"), &["N012"]),
            "Il tuo numero è N012"
        );
        assert_eq!(fill("{} · {}", &["a"]), "a · ");
    }

    #[test]
    fn po_entries_with_continuations_and_escapes() {
        let po = "msgid \"\"\nmsgstr \"header\"\n\nmsgid \"a \\\"b\\\"\"\n\"c\"\nmsgstr \"\"\n\"x\\ny\"\n\nmsgid \"one\"\nmsgid_plural \"many\"\nmsgstr[0] \"uno\"\n";
        let table = parse_po(po);
        assert_eq!(table.get("a \"b\"c").map(String::as_str), Some("x\ny"));
        assert!(!table.contains_key("one"), "plural entries are skipped");
        assert!(!table.contains_key(""), "the header is not a message");
    }
}
