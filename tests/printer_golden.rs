//! Golden ESC/POS bytes for every layout and profile, and the queue ticket in every
//! shipped language.
//!
//! Any change to the bytes a printer receives must be deliberate: regenerate with
//! `SPORTELLO_BLESS=1 cargo test --test printer_golden` and review the diff. A
//! language whose ticket sentences are not translated yet has no golden (it would pin
//! English stand-ins); nor, with a note, does a raster language whose font package is
//! not installed (scripts/test installs them). Raster goldens pin the Debian font
//! packages' glyphs too: a new fonts-noto release is a deliberate re-bless.

use std::path::PathBuf;

use sportello::lang::Lang;
use sportello::printer::layout::{self, DocumentData, TicketData};
use sportello::printer::profile::{self, Profile, TextMode};
use sportello::printer::raster_text::{FontError, TextFont};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A short hex view of where two byte strings first differ.
fn hex_diff(expected: &[u8], actual: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let window = |b: &[u8]| {
        let start = at.saturating_sub(8);
        let end = (at + 16).min(b.len());
        b.get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "lengths {} (golden) vs {} (now); first difference at byte {at}\n  golden: {}\n  now:    {}",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    )
}

/// The service name of each language in the per-language ticket (the catalogue's own
/// translations change with the folders; these stay put).
fn service_name(lang: Lang) -> &'static str {
    match lang.code() {
        "it" => "NASpI e DIS-COLL (indennità di disoccupazione)",
        "fr" => "Allocation chômage NASpI et DIS-COLL",
        "es" => "Prestación por desempleo NASpI y DIS-COLL",
        "ro" => "Indemnizație de șomaj NASpI și DIS-COLL",
        "sq" => "Pagesa e papunësisë NASpI dhe DIS-COLL",
        "uk" => "Допомога з безробіття NASpI і DIS-COLL",
        "ar" => "إعانة البطالة NASpI و DIS-COLL",
        "zh-Hans" => "失业津贴 NASpI 和 DIS-COLL",
        _ => "NASpI and DIS-COLL unemployment benefit",
    }
}

/// Why a language's ticket cannot be pinned now, if it cannot.
fn not_pinnable(lang: Lang, profile: &Profile) -> Option<String> {
    let missing = layout::untranslated_ticket_texts(lang);
    if !missing.is_empty() {
        return Some(format!(
            "{lang}: {} ticket sentences not translated yet (e.g. {:?})",
            missing.len(),
            missing[0]
        ));
    }
    if profile.text_mode(lang) == TextMode::Raster {
        match TextFont::shared(lang) {
            Ok(_) => {}
            // Only a font not installed skips (scripts/test installs them).
            Err(err @ FontError::Unreadable { .. }) => {
                return Some(format!("{lang} on {}: {err}", profile.name));
            }
            Err(err) => panic!("{lang}: {err}"),
        }
    }
    None
}

/// Each layout's name and bytes; what cannot be pinned now goes to `skipped`.
fn layouts(profile: &Profile, skipped: &mut Vec<String>) -> Vec<(String, Vec<u8>)> {
    let mut ticket = TicketData::example("Stato occupazionale e SAP", "S007");
    ticket.priority = true;
    let mut offline = TicketData::example("NASpI and DIS-COLL unemployment benefit", "N012");
    offline.offline = true;
    let mut out = Vec::new();
    match not_pinnable(Lang::IT, profile) {
        None => out.push((
            "ticket-it".into(),
            layout::queue_ticket(&ticket, profile, Lang::IT),
        )),
        Some(why) => skipped.push(why),
    }
    out.extend([
        (
            "ticket-en-offline".into(),
            layout::queue_ticket(&offline, profile, Lang::EN),
        ),
        (
            "document".into(),
            layout::document(&DocumentData::example(), profile),
        ),
        ("test-page".into(), layout::test_page(profile)),
    ]);
    for lang in Lang::all() {
        if let Some(why) = not_pinnable(lang, profile) {
            skipped.push(why);
            continue;
        }
        let mut t = TicketData::example(service_name(lang), "N012");
        t.priority = true;
        t.offline = true;
        t.service_name_it = (lang != Lang::IT).then(|| service_name(Lang::IT).to_string());
        let font = match profile.text_mode(lang) {
            TextMode::Raster => TextFont::shared(lang).ok(),
            TextMode::Page(_) => None,
        };
        out.push((
            format!("ticket-lang-{}", lang.code()),
            layout::queue_ticket_in(&t, profile, lang, font.as_deref()),
        ));
    }
    out
}

#[test]
fn layouts_match_their_golden_bytes() {
    let bless = std::env::var_os("SPORTELLO_BLESS").is_some();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut checked = 0;
    for name in profile::names() {
        let profile = Profile::named(&name).unwrap();
        for (layout, bytes) in layouts(&profile, &mut skipped) {
            let path = golden_dir().join(format!("{name}-{layout}.bin"));
            if bless {
                std::fs::create_dir_all(golden_dir()).unwrap();
                std::fs::write(&path, &bytes).unwrap();
                continue;
            }
            checked += 1;
            match std::fs::read(&path) {
                Ok(golden) if golden == bytes => {}
                Ok(golden) => {
                    failures.push(format!("{}: {}", path.display(), hex_diff(&golden, &bytes)))
                }
                Err(e) => failures.push(format!(
                    "{}: {e} (run with SPORTELLO_BLESS=1)",
                    path.display()
                )),
            }
        }
    }
    skipped.sort();
    skipped.dedup();
    for why in &skipped {
        eprintln!("no golden: {why}");
    }
    // English, the documents and the test pages are always pinned: 3 per profile, plus
    // English's own ticket.
    assert!(bless || checked >= 5 * 4, "{checked}");
    assert!(
        failures.is_empty(),
        "golden bytes differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn hex_diff_points_at_the_first_difference() {
    let d = hex_diff(&[1, 2, 3, 4], &[1, 2, 9, 4, 5]);
    assert!(
        d.contains("byte 2") && d.contains("01 02 03 04") && d.contains("01 02 09 04 05"),
        "{d}"
    );
}
