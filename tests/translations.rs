//! A language is one folder, `languages/<code>/`: every sentence the product shows, says
//! or prints (Slint's `@tr`, Rust's `tr(lang, "…")`) has a translation in every shipped
//! language's `messages.po`, with the same placeholders; no file keeps sentences the
//! code no longer has; every folder names every service of the catalogue; office terms
//! of a language's glossary stay in Italian wherever English has them. English is the
//! source: its `messages.po` holds only the header.

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

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The sentences Rust translates: the literals of `tr(lang, "…")` anywhere under src/,
/// and of the `t("…")` shorthand in files that define it (`let t = |msgid`).
fn rust_messages() -> BTreeSet<MsgId> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = BTreeSet::new();
    for file in files {
        let whole = std::fs::read_to_string(&file).unwrap();
        // Unit tests (at the end of a file) may translate made-up sentences.
        let text = whole.split("#[cfg(test)]").next().unwrap_or_default();
        let shorthand = text.contains("let t = |msgid");
        let mut rest = text;
        while let Some(at) = rest
            .find("tr(")
            .into_iter()
            .chain(shorthand.then(|| rest.find("t(")).flatten())
            .min()
        {
            let before = rest[..at].chars().last();
            let call = &rest[at..];
            rest = &rest[at + 2..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@') {
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

/// `nplurals` of a .po file's `Plural-Forms` header (2 when absent).
fn plural_forms(file: &Path) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("nplurals=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(2)
}

fn languages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("languages")
}

/// Every shipped language's folder but English's (the source), by code.
fn translated_folders() -> Vec<(String, PathBuf)> {
    let mut folders: Vec<(String, PathBuf)> = std::fs::read_dir(languages_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .filter(|(code, _)| code != "en")
        .collect();
    folders.sort();
    folders
}

#[test]
fn every_string_is_translated_in_every_language() {
    let spoken = rust_messages();
    for expected in ["{}, button", "Your number", "the scan was empty", "nine"] {
        assert!(
            spoken.contains(&(expected.to_string(), None)),
            "Rust's tr() literals are collected ({expected:?} missing)"
        );
    }
    let mut messages = ui_messages();
    assert!(
        messages.len() > 50,
        "found only {} @tr strings",
        messages.len()
    );
    messages.extend(spoken);
    let folders = translated_folders();
    assert!(
        folders.len() >= 8,
        "only {} translated languages",
        folders.len()
    );
    let mut problems = Vec::new();
    let english = po_entries(&languages_dir().join("en/messages.po"));
    if !english.is_empty() {
        problems.push(format!("languages/en/messages.po: English is the source; it holds only the header, not {} entries", english.len()));
    }
    for (_, folder) in &folders {
        let file = &folder.join("messages.po");
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
                    if msg.1.is_some() && strs.len() != plural_forms(file) {
                        problems.push(format!(
                            "{}: {:?} has {} plural forms; its header says {}",
                            file.display(),
                            msg.0,
                            strs.len(),
                            plural_forms(file)
                        ));
                    }
                }
            }
        }
        for stale in entries.keys().filter(|k| !messages.contains(*k)) {
            problems.push(format!(
                "{}: {:?} is no longer in the code; remove it",
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

/// The service codes of a catalogue file: `[[service]] code = "…"` or `[code]` tables.
fn catalogue_codes(text: &str) -> BTreeSet<String> {
    let value: toml::Table = toml::from_str(text).unwrap();
    match value.get("service").and_then(|s| s.as_array()) {
        Some(services) => services
            .iter()
            .filter_map(|s| s.get("code")?.as_str().map(str::to_string))
            .collect(),
        None => value.keys().cloned().collect(),
    }
}

#[test]
fn every_language_names_every_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let codes =
        catalogue_codes(&std::fs::read_to_string(root.join("data/catalogue.toml")).unwrap());
    assert!(codes.len() >= 10, "{codes:?}");
    let mut problems = Vec::new();
    let mut folders = translated_folders();
    folders.push(("en".into(), languages_dir().join("en")));
    for (code, folder) in folders {
        let text = std::fs::read_to_string(folder.join("catalogue.toml")).unwrap();
        let table: toml::Table = match toml::from_str(&text) {
            Ok(t) => t,
            Err(err) => {
                problems.push(format!("{code}/catalogue.toml: {err}"));
                continue;
            }
        };
        for service in &codes {
            let texts = table.get(service).and_then(|t| t.as_table());
            for field in ["name", "description"] {
                match texts.and_then(|t| t.get(field)).and_then(|v| v.as_str()) {
                    None => problems.push(format!("{code}/catalogue.toml: [{service}] has no {field}")),
                    Some(v) if v.trim().is_empty() => problems.push(format!("{code}/catalogue.toml: [{service}] {field} is blank")),
                    Some(v) if field == "name" && v.chars().count() > 32 => problems.push(format!(
                        "{code}/catalogue.toml: [{service}] name has {} characters; at most 32 fit on a tile",
                        v.chars().count()
                    )),
                    Some(_) => {}
                }
            }
        }
        for stale in table.keys().filter(|k| !codes.contains(*k)) {
            problems.push(format!(
                "{code}/catalogue.toml: [{stale}] is not a service any more; remove it"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "catalogue problems:\n{}",
        problems.join("\n")
    );
}

/// Office terms stay in Italian: where the English sentence has "NASpI" or "codice
/// fiscale", so does its translation (citizens meet the Italian words on letters and
/// signs; the glossary says what they mean).
#[test]
fn office_terms_stay_in_italian() {
    let mut problems = Vec::new();
    for (code, folder) in translated_folders() {
        let glossary: toml::Table =
            toml::from_str(&std::fs::read_to_string(folder.join("glossary.toml")).unwrap())
                .unwrap_or_else(|e| panic!("{code}/glossary.toml: {e}"));
        let terms: Vec<String> = glossary
            .get("term")
            .and_then(|t| t.as_array())
            .map(|terms| {
                terms
                    .iter()
                    .filter_map(|t| t.get("term")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if code != "it" && terms.len() < 8 {
            problems.push(format!("{code}/glossary.toml: only {} terms", terms.len()));
        }
        for ((msgid, _), strs) in po_entries(&folder.join("messages.po")) {
            for term in terms.iter().filter(|t| msgid.contains(t.as_str())) {
                if strs.iter().any(|s| !s.contains(term.as_str())) {
                    problems.push(format!(
                        "{code}: {term:?} should stay in Italian in the translation of {msgid:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
