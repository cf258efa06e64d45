//! Every statement of the hub that picks rows of an office's day names the office (issue
//! 19, ARCHITECTURE.md "Offices"): numbers, queues, bookings and bands are kept per office
//! and day, and two offices have the same dates, so `day = ?` alone would mix them. A
//! statement on the rows of one kiosk (`kiosk_id = ?`) is already inside its office.
//!
//! Read from the source: each string literal in `src/hub` that compares `day` with a
//! parameter and names a table kept per office must also name `office_id` (or a kiosk).
//! `ARCH_SRC=/path/to/src cargo test --test office_scope` checks another tree.

use std::path::{Path, PathBuf};

/// Tables whose rows belong to one office's day.
const PER_OFFICE_DAY: &[&str] = &[
    "tickets",
    "number_blocks",
    "appointments",
    "queue_waiting",
    "retired_numbers",
    "bands",
];

/// Comparisons of `day` with a bound value.
const DAY_TESTS: &[&str] = &["day = ?", "day >= ?", "day <= ?", "day < ?", "day > ?"];

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

/// The string literals of `source` (`"..."`, escapes kept), with their first line.
fn literals(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut chars = source.char_indices().peekable();
    let mut line = 1;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => line += 1,
            // A character literal such as '"' is not the start of a string.
            '\'' => {
                let rest: String = chars.clone().take(3).map(|(_, c)| c).collect();
                if rest.starts_with("\"'") || rest.starts_with("\\\"'") {
                    chars.next();
                    if rest.starts_with('\\') {
                        chars.next();
                    }
                }
            }
            '"' => {
                let start = line;
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                text.push('\\');
                                text.push(escaped);
                            }
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            text.push('\n');
                        }
                        c => text.push(c),
                    }
                }
                found.push((start, text));
            }
            _ => {}
        }
    }
    found
}

fn names_table(statement: &str, table: &str) -> bool {
    statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == table)
}

#[test]
fn statements_on_an_offices_day_name_the_office() {
    let src = std::env::var_os("ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    rust_files(&src.join("hub"), &mut files);
    files.sort();
    assert!(files.len() > 20, "no hub sources under {}", src.display());
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (line, statement) in literals(&source) {
            let compact = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            let on_a_day = DAY_TESTS.iter().any(|test| compact.contains(test));
            let per_office = PER_OFFICE_DAY.iter().any(|t| names_table(&compact, t));
            if !(on_a_day && per_office) {
                continue;
            }
            checked += 1;
            if !compact.contains("office_id") && !compact.contains("kiosk_id = ?") {
                broken.push(format!(
                    "{}:{line}: `{}`",
                    file.strip_prefix(&src).unwrap_or(file).display(),
                    compact.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} statements found: is the scan broken?"
    );
    assert!(
        broken.is_empty(),
        "statements that pick an office's day without naming the office \
         (add `office_id = ?` and bind `Day::office`):\n{}",
        broken.join("\n")
    );
}
