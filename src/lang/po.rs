//! Reading a .po file: the singular entries (msgid -> msgstr). Plural entries are the
//! screen's business (Slint reads them itself); the voice and the pages say whole
//! sentences.

use std::collections::HashMap;

/// The singular entries of a .po file: msgid -> msgstr (plural entries are skipped).
pub fn parse_po(text: &str) -> HashMap<String, String> {
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
    fn po_entries_with_continuations_and_escapes() {
        let po = "msgid \"\"\nmsgstr \"header\"\n\nmsgid \"a \\\"b\\\"\"\n\"c\"\nmsgstr \"\"\n\"x\\ny\"\n\nmsgid \"one\"\nmsgid_plural \"many\"\nmsgstr[0] \"uno\"\n";
        let table = parse_po(po);
        assert_eq!(table.get("a \"b\"c").map(String::as_str), Some("x\ny"));
        assert!(!table.contains_key("one"), "plural entries are skipped");
        assert!(!table.contains_key(""), "the header is not a message");
    }
}
