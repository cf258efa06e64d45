//! The lines between the parts of the crate, read from the source tree (ARCHITECTURE.md,
//! "Boundaries"). Each rule says what a module must not know; a broken rule fails with the
//! file, the line and what to do instead.
//!
//! Only code that ships counts: comments, doc comments and `#[cfg(test)]` modules are
//! skipped. Paths are read as written (`crate::x::y`, `use crate::{x, y}`, `super::`
//! climbing out of a top-level module), so a re-export cannot hide a crossing from the
//! one-sided builds in `scripts/test`, and those builds catch what a grep cannot.
//!
//! `ARCH_SRC=/path/to/src cargo test --test architecture` checks another tree (an old
//! checkout, to see the rules fail on it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules both programs share: they must name nothing else.
const SHARED: &[&str] = &[
    "catalogue",
    "config",
    "identity",
    "lang",
    "logging",
    "pin",
    "protocol",
    "seal",
    "speech",
    "sqlite",
];

/// Modules of the kiosk program.
const KIOSK_SIDE: &[&str] = &["board", "kiosk", "printer", "store", "sync", "ui"];

/// A module and the crate modules it may name besides itself. `None`: no list, only
/// the side rules apply.
fn allowed(module: &str) -> Option<Vec<&'static str>> {
    let shared = SHARED.to_vec();
    let with = |extra: &[&'static str]| {
        let mut list = shared.clone();
        list.extend_from_slice(extra);
        Some(list)
    };
    match module {
        // The wire: data only.
        "protocol" => Some(vec!["lang", "catalogue", "identity", "seal"]),
        // Leaves of the kiosk: plain settings in, no config, no core.
        "printer" => Some(vec!["lang"]),
        "board" => Some(vec![]),
        // Speech says what it is given: the kiosk's narration and the hub's calls decide
        // what that is.
        "speech" => Some(vec!["lang"]),
        // The kiosk's config section types may come from the drivers they configure.
        "config::kiosk" => with(&["board", "printer"]),
        "config::hub" => with(&[]),
        // The outbox store: shared core only.
        "store" => with(&[]),
        // The link to the hub: the store, never the kiosk core, printer or board.
        "sync" => with(&["store"]),
        m if SHARED.contains(&m) => with(&[]),
        _ => None,
    }
}

/// Crates that only one place may name, and why.
const CRATE_HOMES: &[(&str, &[&str], &str)] = &[
    (
        "rppal",
        &["board/pi.rs"],
        "rppal lives only in board::pi (DESIGN.md, invariant 5)",
    ),
    (
        "gpiocdev",
        &["board/chip.rs"],
        "gpiocdev lives only in board::chip (invariant 5)",
    ),
    ("axum", &["hub/"], "the HTTP server is the hub's alone"),
    (
        "axum_server",
        &["hub/"],
        "the HTTP server is the hub's alone",
    ),
    ("argon2", &["hub/"], "clerk passwords are the hub's alone"),
    (
        "openidconnect",
        &["hub/"],
        "the citizen login is the hub's alone",
    ),
    (
        "rcgen",
        &["hub/"],
        "the hub's certificate is the hub's alone",
    ),
    (
        "postgres",
        &["hub/sql/"],
        "the PostgreSQL client lives only in hub::sql: the hub's modules write their SQL once, through hub::sql::Sql",
    ),
    (
        "slint",
        &["kiosk/", "lib.rs", "demo.rs"],
        "the touch UI is the kiosk's alone",
    ),
    (
        "serialport",
        &["printer/", "kiosk/"],
        "serial ports belong to the kiosk's printer",
    ),
];

/// One path naming another part of the crate, or an outside crate.
#[derive(Debug, Clone)]
struct Use {
    file: String,
    line: usize,
    /// `hub::api`, `config::kiosk`, ...: the first two segments after `crate::`.
    target: String,
}

/// The module a file belongs to, as the rules name it.
fn module_of(rel: &str) -> String {
    let rel = rel.trim_end_matches(".rs");
    let mut parts = rel.split('/');
    let first = parts.next().unwrap_or("").trim_end_matches("/mod");
    match (first, parts.next()) {
        ("config", Some(side @ ("kiosk" | "hub"))) => format!("config::{side}"),
        _ => first.to_string(),
    }
}

/// The shipped code of a file: comments and `#[cfg(test)]` items blanked, lines kept.
fn shipped_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    // Blank every item under #[cfg(test)], up to its matching brace or semicolon.
    let mut bytes = out.into_bytes();
    let marker = b"#[cfg(test)]";
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], marker).map(|i| i + from) {
        let mut depth = 0usize;
        let mut end = bytes.len();
        for (i, &b) in bytes.iter().enumerate().skip(at + marker.len()) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        for b in &mut bytes[at..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = end;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every `crate::…` target named in `code`, with `crate::{a, b::c}` groups expanded.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // e.g. `mycrate::`
            }
            if let Some(group) = rest.strip_prefix('{') {
                // Names inside a group may span lines: read to the closing brace.
                let start = code.lines().take(n).map(|l| l.len() + 1).sum::<usize>()
                    + (line.len() - group.len());
                let inner = &code[start..];
                let inner = &inner[..inner.find('}').unwrap_or(inner.len())];
                for item in inner.split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        found.push((n + 1, two_segments(item)));
                    }
                }
            } else {
                found.push((n + 1, two_segments(rest)));
            }
        }
    }
    found
}

fn two_segments(path: &str) -> String {
    let first = ident_at(path);
    let rest = &path[first.len()..];
    match rest.strip_prefix("::") {
        Some(next) if !ident_at(next).is_empty() => format!("{first}::{}", ident_at(next)),
        _ => first.to_string(),
    }
}

/// `super::` paths that climb out of the file's top-level module.
fn escaping_supers(rel: &str, code: &str) -> Vec<(usize, String)> {
    // `a/b/c.rs` is the module a::b::c: two `super::` stay inside `a`, a third leaves it.
    let components = rel
        .trim_end_matches(".rs")
        .split('/')
        .filter(|c| *c != "mod")
        .count();
    let depth = components.saturating_sub(1);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("super::") {
            let mut climbs = 0;
            let mut tail = &rest[i..];
            while let Some(t) = tail.strip_prefix("super::") {
                climbs += 1;
                tail = t;
            }
            if climbs > depth {
                found.push((n + 1, two_segments(tail)));
            }
            rest = tail;
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every crossing of the crate's own modules and every outside crate named, per file.
fn scan(src: &Path) -> (Vec<Use>, Vec<Use>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut uses = Vec::new();
    let mut crates = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(src)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "main.rs" || rel.starts_with("cli/") {
            continue; // the binary: each subcommand is gated by its program's feature
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let code = shipped_code(&text);
        let mut add = |line, target: String| {
            uses.push(Use {
                file: rel.clone(),
                line,
                target,
            })
        };
        for (line, target) in crate_paths(&code) {
            add(line, target);
        }
        for (line, target) in escaping_supers(&rel, &code) {
            add(line, target);
        }
        for (n, line) in code.lines().enumerate() {
            for (name, _, _) in CRATE_HOMES {
                let mut rest = line;
                while let Some(i) = rest.find(name) {
                    let before = rest[..i].chars().last();
                    let after = &rest[i + name.len()..];
                    let whole = !before
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                        && after.starts_with("::");
                    if whole {
                        crates.push(Use {
                            file: rel.clone(),
                            line: n + 1,
                            target: name.to_string(),
                        });
                    }
                    rest = after;
                }
            }
        }
    }
    (uses, crates)
}

/// The broken rules, each as one message that says what to do.
fn violations(src: &Path) -> Vec<String> {
    let (uses, crates) = scan(src);
    let mut broken = Vec::new();
    let mut edges: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for u in &uses {
        let from = module_of(&u.file);
        let top_from = from.split("::").next().unwrap_or("").to_string();
        let top_to = u.target.split("::").next().unwrap_or("").to_string();
        let to_named = if top_to == "config" && u.target.starts_with("config::") {
            match u.target.as_str() {
                t @ ("config::kiosk" | "config::hub") => t.to_string(),
                _ => "config".to_string(),
            }
        } else {
            top_to.clone()
        };
        if top_to == top_from
            || top_to.is_empty()
            || top_to.chars().next().is_some_and(char::is_uppercase)
        {
            continue;
        }
        let at = format!("src/{}:{} uses crate::{}", u.file, u.line, u.target);
        // The kiosk side never names the hub.
        if KIOSK_SIDE.contains(&top_from.as_str()) && top_to == "hub" {
            broken.push(format!(
                "{at} — the kiosk reaches the hub only through crate::protocol (the wire) and \
                 crate::sync::client (ARCHITECTURE.md, Boundaries)"
            ));
        }
        // The hub never names the kiosk side.
        if top_from == "hub"
            && (KIOSK_SIDE.contains(&top_to.as_str()) || to_named == "config::kiosk")
        {
            broken.push(format!(
                "{at} — the hub must not know the kiosk: share it through crate::protocol or \
                 the shared core (ARCHITECTURE.md, Boundaries)"
            ));
        }
        if let Some(list) = allowed(&from)
            && !list.contains(&to_named.as_str())
            && !list.contains(&top_to.as_str())
        {
            broken.push(format!(
                "{at} — {from} may name only {list:?}: pass plain values in, or move the \
                 shared part into one of those (ARCHITECTURE.md, Boundaries)"
            ));
        }
        edges
            .entry((top_from, top_to))
            .or_insert((u.file.clone(), u.line));
    }
    for ((a, b), (file, line)) in &edges {
        if a < b
            && let Some((back_file, back_line)) = edges.get(&(b.clone(), a.clone()))
        {
            broken.push(format!(
                "src/{file}:{line} ({a} -> {b}) and src/{back_file}:{back_line} ({b} -> {a}) — \
                 two top-level modules import each other: one of them must not know the other"
            ));
        }
    }
    for c in &crates {
        if let Some((name, homes, why)) = CRATE_HOMES.iter().find(|(n, _, _)| *n == c.target)
            && !homes.iter().any(|h| c.file.starts_with(h))
        {
            broken.push(format!(
                "src/{}:{} names the crate {name} — {why}",
                c.file, c.line
            ));
        }
    }
    broken.sort();
    broken.dedup();
    broken
}

fn source_root() -> PathBuf {
    std::env::var_os("ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_module_crosses_a_boundary() {
    let broken = violations(&source_root());
    assert!(
        broken.is_empty(),
        "{} boundary rule(s) broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn every_top_level_module_is_known_to_the_rules() {
    let src = source_root();
    let mut tops = BTreeSet::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        let top = module_of(&rel);
        tops.insert(top.split("::").next().unwrap().to_string());
    }
    let known: BTreeSet<String> = SHARED
        .iter()
        .chain(KIOSK_SIDE)
        .chain(&["hub", "demo", "lib", "main", "cli"])
        .map(|s| s.to_string())
        .collect();
    let unknown: Vec<_> = tops.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "new top-level modules {unknown:?}: say in tests/architecture.rs (SHARED, KIOSK_SIDE \
         or the hub) which program they belong to, and in ARCHITECTURE.md"
    );
}

/// The checker itself: a tree with one crossing of each kind must fail on each.
#[test]
fn the_rules_catch_each_kind_of_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("kiosk/core.rs", "use crate::hub::api::TicketResponse;\n");
    write("hub/api.rs", "use crate::{lang::Lang, printer::layout};\n");
    write(
        "printer/job.rs",
        "//! crate::config in a comment is fine\nfn f(_: &crate::config::kiosk::PrinterConfig) {}\n",
    );
    write(
        "sync/worker.rs",
        "use super::super::kiosk::core::KioskCore;\n",
    );
    write("store/local.rs", "use crate::sync::client::HubClient;\n");
    write("sync/client.rs", "use crate::store::Store;\n");
    write(
        "store/mod.rs",
        "#[cfg(test)]\nmod tests { use crate::hub::x; }\n",
    );
    write("hub/gpio.rs", "fn f() { rppal::gpio::Gpio::new(); }\n");
    let broken = violations(dir.path());
    let expect = [
        "src/kiosk/core.rs:1 uses crate::hub::api",
        "src/hub/api.rs:1 uses crate::printer::layout",
        "src/printer/job.rs:2 uses crate::config::kiosk",
        "src/sync/worker.rs:1 uses crate::kiosk::core",
        "src/store/local.rs:1 uses crate::sync::client",
        "src/hub/gpio.rs:1 names the crate rppal",
        "(store -> sync) and src/sync/",
    ];
    for e in expect {
        assert!(
            broken.iter().any(|b| b.contains(e)),
            "expected a violation containing `{e}`, got:\n{}",
            broken.join("\n")
        );
    }
    assert!(
        !broken.iter().any(|b| b.contains("store/mod.rs")),
        "test modules do not ship: {broken:?}"
    );
    assert!(
        !broken
            .iter()
            .any(|b| b.contains("src/hub/api.rs:1 uses crate::lang")),
        "the shared core may be named: {broken:?}"
    );
}
