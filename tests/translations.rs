//! Every UI string marked with `@tr` has a translation in every language file, with the
//! same placeholders; no translation file keeps strings the UI no longer has.
//! English is the source language; each other language is one .po file under
//! ui/translations/<lang>/LC_MESSAGES/sportello.po.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A message as the UI marks it: singular, and plural when it has one.
type MsgId = (String, Option<String>);

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// Reads a string literal starting at `s[0] == '"'`; returns it and the rest.
fn literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        match (escaped, c) {
            (true, 'n') => value.push('\n'),
            (true, c) => value.push(c),
            (false, '\\') => {
                escaped = true;
                continue;
            }
            (false, '"') => return Some((value, &s[i + 1..])),
            (false, c) => value.push(c),
        }
        escaped = false;
    }
    None
}

fn ui_messages() -> BTreeSet<MsgId> {
    let mut files = Vec::new();
    slint_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        &mut files,
    );
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("@tr(") {
            rest = rest[at + 4..].trim_start();
            let (singular, after) = literal(rest)
                .unwrap_or_else(|| panic!("{}: @tr without a string literal", file.display()));
            let after = after.trim_start();
            let plural = after
                .strip_prefix('|')
                .and_then(|p| literal(p.trim_start()))
                .map(|(p, _)| p);
            found.insert((singular, plural));
            rest = after;
        }
    }
    found
}

/// The sentences the kiosk says that are not on screen (the voice's own words): the
/// literals of `tr(lang, "…")` and of the `t("…")` shorthand in the narration.
fn spoken_messages() -> BTreeSet<MsgId> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeSet::new();
    for file in ["src/kiosk/narration.rs", "src/kiosk/controller/spoken.rs"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("tr(").into_iter().chain(rest.find("t(")).min() {
            let before = rest[..at].chars().last();
            let call = &rest[at..];
            rest = &rest[at + 2..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let args = call.split_once('(').map_or("", |(_, a)| a);
            // `tr(lang, "…")` / `tr(self.lang, "…")`, or `t("…")`.
            let literal_start = if call.starts_with("tr(") {
                args.split_once(',').map(|(_, l)| l.trim_start())
            } else {
                Some(args)
            };
            if let Some((msgid, _)) = literal_start.and_then(literal) {
                found.insert((msgid, None));
            }
        }
    }
    found
}

/// Parses the entries of a .po file: msgid (+ msgid_plural) -> translations.
fn po_entries(path: &Path) -> BTreeMap<MsgId, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut entries = BTreeMap::new();
    let (mut id, mut plural, mut strs): (Option<String>, Option<String>, Vec<String>) =
        (None, None, Vec::new());
    let mut flush =
        |id: &mut Option<String>, plural: &mut Option<String>, strs: &mut Vec<String>| {
            if let Some(msgid) = id.take()
                && !msgid.is_empty()
            {
                entries.insert((msgid, plural.take()), std::mem::take(strs));
            }
            plural.take();
            strs.clear();
        };
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("msgid_plural ") {
            plural = literal(rest).map(|(v, _)| v);
        } else if let Some(rest) = line.strip_prefix("msgid ") {
            flush(&mut id, &mut plural, &mut strs);
            id = literal(rest).map(|(v, _)| v);
        } else if let Some(rest) = line.strip_prefix("msgstr") {
            let rest = rest.split_once(' ').map_or("", |(_, r)| r);
            strs.push(literal(rest).map(|(v, _)| v).unwrap_or_default());
        } else if line.starts_with('"') {
            // Continuation line: append to the last msgstr.
            if let (Some(last), Some((v, _))) = (strs.last_mut(), literal(line)) {
                last.push_str(&v);
            }
        }
    }
    flush(&mut id, &mut plural, &mut strs);
    entries
}

fn placeholders(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .match_indices('{')
        .filter_map(|(i, _)| s[i..].find('}').map(|j| s[i..i + j + 1].to_string()))
        .collect();
    out.sort();
    out
}

fn language_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/translations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path().join("LC_MESSAGES/sportello.po"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_ui_string_is_translated_in_every_language() {
    let spoken = spoken_messages();
    assert!(
        spoken.contains(&("{}, button".to_string(), None)),
        "the narration's words are collected: {spoken:?}"
    );
    let mut messages = ui_messages();
    assert!(
        messages.len() > 50,
        "found only {} @tr strings",
        messages.len()
    );
    messages.extend(spoken);
    let files = language_files();
    assert!(!files.is_empty(), "no translation files");
    let mut problems = Vec::new();
    for file in &files {
        assert!(file.exists(), "{} is missing", file.display());
        let entries = po_entries(file);
        for msg in &messages {
            match entries.get(msg) {
                None => problems.push(format!("{}: no entry for {:?}", file.display(), msg.0)),
                Some(strs) if strs.is_empty() || strs.iter().any(|s| s.trim().is_empty()) => {
                    problems.push(format!(
                        "{}: empty translation of {:?}",
                        file.display(),
                        msg.0
                    ))
                }
                Some(strs) => {
                    for translated in strs {
                        if placeholders(translated) != placeholders(&msg.0) {
                            problems.push(format!(
                                "{}: {:?} -> {:?} changes the placeholders",
                                file.display(),
                                msg.0,
                                translated
                            ));
                        }
                    }
                    if msg.1.is_some() && strs.len() < 2 {
                        problems.push(format!(
                            "{}: {:?} lacks plural forms",
                            file.display(),
                            msg.0
                        ));
                    }
                }
            }
        }
        for stale in entries.keys().filter(|k| !messages.contains(*k)) {
            problems.push(format!(
                "{}: {:?} is no longer in the UI; remove it",
                file.display(),
                stale.0
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "translation problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_po_parser_sees_a_missing_translation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.po");
    std::fs::write(
        &file,
        "msgid \"\"\nmsgstr \"\"\n\"Language: xx\\n\"\n\nmsgid \"Back\"\nmsgstr \"\"\n\nmsgid \"{n} a\"\nmsgid_plural \"{n} b\"\nmsgstr[0] \"{n} c\"\nmsgstr[1] \"{n} d\"\n",
    )
    .unwrap();
    let entries = po_entries(&file);
    assert_eq!(entries[&("Back".to_string(), None)], vec![String::new()]);
    assert_eq!(
        entries[&("{n} a".to_string(), Some("{n} b".to_string()))],
        vec!["{n} c".to_string(), "{n} d".to_string()]
    );
}
