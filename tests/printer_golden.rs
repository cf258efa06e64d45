//! Golden ESC/POS bytes for every layout and profile.
//!
//! Any change to the bytes a printer receives must be deliberate: regenerate with
//! `SPORTELLO_BLESS=1 cargo test --test printer_golden` and review the diff.

use std::path::PathBuf;

use sportello::lang::Lang;
use sportello::printer::layout::{self, DocumentData, TicketData};
use sportello::printer::profile::{self, Profile};

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

fn layouts(profile: &Profile) -> Vec<(String, Vec<u8>)> {
    let mut ticket = TicketData::example("Stato occupazionale e SAP", "S007");
    ticket.priority = true;
    let mut offline = TicketData::example("NASpI and DIS-COLL unemployment benefit", "N012");
    offline.offline = true;
    vec![
        (
            "ticket-it".into(),
            layout::queue_ticket(&ticket, profile, Lang::IT),
        ),
        (
            "ticket-en-offline".into(),
            layout::queue_ticket(&offline, profile, Lang::EN),
        ),
        (
            "document".into(),
            layout::document(&DocumentData::example(), profile),
        ),
        ("test-page".into(), layout::test_page(profile)),
    ]
}

#[test]
fn layouts_match_their_golden_bytes() {
    let bless = std::env::var_os("SPORTELLO_BLESS").is_some();
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in profile::names() {
        let profile = Profile::named(&name).unwrap();
        for (layout, bytes) in layouts(&profile) {
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
    assert!(bless || checked == 20, "{checked}");
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
