//! End-to-end print jobs over a real pseudo-terminal: the kiosk's serial link on one
//! side, the virtual printer on the other, status replies and faults included.

// Only the printer helpers of tests/common (the rest needs the hub feature), so this
// file builds with `--no-default-features --features kiosk` too.
#[allow(dead_code)]
#[path = "common/printing.rs"]
mod common;

use std::time::{Duration, Instant};

use sportello::lang::Lang;
use sportello::printer::emulator::{Emulator, EmulatorOptions, Paper, VirtualState};
use sportello::printer::job::{self, JobOptions, JobStage, PrintOutcome};
use sportello::printer::layout::{self, TicketData};
use sportello::printer::profile::Profile;
use sportello::printer::status::{self, PrinterState};
use sportello::printer::transport::{PrinterLink, SerialLink, SerialSettings};

fn setup(profile: &str, baud: Option<u32>) -> (Emulator, SerialLink, Profile, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::named(profile).unwrap();
    let emulator =
        Emulator::spawn_with(&profile, Some(dir.path()), EmulatorOptions { baud }).unwrap();
    let settings = SerialSettings {
        baud: baud.unwrap_or(115_200),
        ..SerialSettings::new(emulator.path())
    };
    let link = SerialLink::open(&settings).unwrap();
    (emulator, link, profile, dir)
}

fn ticket(profile: &Profile) -> (TicketData, Vec<u8>) {
    let mut t = TicketData::example("Estratto conto contributivo", "E004");
    t.priority = true;
    let bytes = layout::queue_ticket(&t, profile, Lang::IT);
    (t, bytes)
}

fn options(baud: u32) -> JobOptions {
    JobOptions {
        settle: Some(Duration::from_millis(200)),
        ..JobOptions::for_baud(baud)
    }
}

fn failure(outcome: PrintOutcome) -> sportello::printer::job::PrintFailure {
    match outcome {
        PrintOutcome::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_ticket_is_printed_confirmed_and_rendered() {
    let (emulator, mut link, profile, _dir) = setup("generic-80", None);
    let (t, bytes) = ticket(&profile);
    let outcome = job::print_with(&mut link, &profile, &bytes, &options(115_200));
    assert!(
        matches!(
            outcome,
            PrintOutcome::Printed {
                paper_near_end: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    let receipts = emulator.wait_receipts(1, Duration::from_secs(5));
    assert_eq!(receipts.len(), 1);
    let png = receipts[0].png.clone().unwrap();
    let img = image::open(&png).unwrap().to_luma8();
    assert_eq!(common::decode_qr(&img), vec![t.tracking_url]);
    // "** PRIORITÀ **" once languages/it holds the ticket's sentences.
    let priority = format!("** {} **", sportello::lang::tr(Lang::IT, "PRIORITY"));
    assert!(
        receipts[0].lines.contains(&priority),
        "{:?}",
        receipts[0].lines
    );
}

#[test]
fn paper_out_before_the_job_sends_no_ticket_bytes() {
    let (emulator, mut link, profile, _dir) = setup("generic-80", None);
    emulator.set_state(VirtualState {
        paper: Paper::Out,
        ..VirtualState::default()
    });
    let (_, bytes) = ticket(&profile);
    let f = failure(job::print_with(
        &mut link,
        &profile,
        &bytes,
        &options(115_200),
    ));
    assert_eq!(
        (f.stage, f.state),
        (JobStage::Before, Some(PrinterState::PaperOut))
    );
    assert_eq!(f.bytes_sent, 0);
    std::thread::sleep(Duration::from_millis(100));
    // Only the four 3-byte status queries reached the printer.
    assert_eq!(emulator.bytes_received(), 12);
    assert!(emulator.receipts().is_empty());
}

fn fault_mid_job(fault: VirtualState, expected: PrinterState) {
    // A long job (QR as a raster, ~8 KB) on a line paced at 9600 baud: ~8 s of data.
    let (emulator, mut link, profile, _dir) = setup("generic-58", Some(9600));
    let (_, bytes) = ticket(&profile);
    assert!(bytes.len() > 6000, "{}", bytes.len());
    emulator.set_state_after_bytes(2500, fault);
    let f = failure(job::print_with(&mut link, &profile, &bytes, &options(9600)));
    let noticed = Instant::now();
    let changed = emulator
        .state_changed_at()
        .unwrap_or_else(|| panic!("the fault never fired: {f}"));
    let delay = noticed.duration_since(changed);
    assert_eq!(
        (f.stage, f.state),
        (JobStage::Sending, Some(expected)),
        "{f}"
    );
    assert!(
        delay < Duration::from_secs(1),
        "noticed {delay:?} after the fault"
    );
    assert!(f.bytes_sent < bytes.len());
    assert!(
        emulator.receipts().is_empty(),
        "a spoiled ticket must not count as printed"
    );
}

#[test]
fn paper_out_during_the_job_is_reported_within_a_second() {
    fault_mid_job(
        VirtualState {
            paper: Paper::Out,
            ..VirtualState::default()
        },
        PrinterState::PaperOut,
    );
}

#[test]
fn cover_open_during_the_job_is_reported_within_a_second() {
    fault_mid_job(
        VirtualState {
            cover_open: true,
            ..VirtualState::default()
        },
        PrinterState::CoverOpen,
    );
}

#[test]
fn a_silent_printer_is_not_responding() {
    let (emulator, mut link, profile, _dir) = setup("generic-80", None);
    emulator.set_state(VirtualState {
        silent: true,
        ..VirtualState::default()
    });
    let started = Instant::now();
    let f = failure(job::print_with(
        &mut link,
        &profile,
        &ticket(&profile).1,
        &options(115_200),
    ));
    assert_eq!(
        (f.stage, f.state),
        (JobStage::Before, Some(PrinterState::NotResponding))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn near_end_prints_with_a_warning_and_errors_refuse() {
    let (emulator, mut link, profile, _dir) = setup("epson-tm-t20iii", None);
    emulator.set_state(VirtualState {
        paper: Paper::NearEnd,
        ..VirtualState::default()
    });
    let outcome = job::print_with(&mut link, &profile, &ticket(&profile).1, &options(115_200));
    assert!(
        matches!(
            outcome,
            PrintOutcome::Printed {
                paper_near_end: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(emulator.wait_receipts(1, Duration::from_secs(5)).len(), 1);
    for (state, expected) in [
        (
            VirtualState {
                cutter_error: true,
                ..VirtualState::default()
            },
            PrinterState::CutterError,
        ),
        (
            VirtualState {
                unrecoverable: true,
                ..VirtualState::default()
            },
            PrinterState::UnrecoverableError,
        ),
        (
            VirtualState {
                cover_open: true,
                ..VirtualState::default()
            },
            PrinterState::CoverOpen,
        ),
    ] {
        emulator.set_state(state);
        assert_eq!(
            status::query(&mut link, Duration::from_millis(300)),
            expected
        );
    }
}

#[test]
fn garbage_from_the_printer_is_ignored_and_stale_replies_cleared() {
    let (emulator, mut link, profile, _dir) = setup("generic-80", None);
    // Noise and a stale "paper out" reply already waiting in the input buffer.
    emulator.send_garbage(&[0xFF, 0x00, 0x11, 0x13, 0x80, 0x72, 0x7E]);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(
        status::query(&mut link, Duration::from_millis(300)),
        PrinterState::Ready
    );
    // Noise arriving while a job runs does not break it either.
    emulator.send_garbage(
        &common::noise(64, 3)
            .iter()
            .map(|b| b | 0x01)
            .collect::<Vec<_>>(),
    );
    let outcome = job::print_with(&mut link, &profile, &ticket(&profile).1, &options(115_200));
    assert!(outcome.is_printed(), "{outcome:?}");
}

#[test]
fn garbage_to_the_printer_is_skipped_and_the_next_ticket_prints() {
    let (emulator, mut link, profile, _dir) = setup("generic-80", None);
    for seed in 1..=5 {
        link.write_all(&common::noise(4000, seed), Duration::from_secs(2))
            .unwrap();
    }
    // Give the printer time to drop any command the garbage left incomplete.
    std::thread::sleep(Duration::from_millis(800));
    let (t, bytes) = ticket(&profile);
    let outcome = job::print_with(&mut link, &profile, &bytes, &options(115_200));
    assert!(outcome.is_printed(), "{outcome:?}");
    // Receipts the garbage cut may still be rendering; wait for the ticket's own.
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let found = emulator
            .receipts()
            .into_iter()
            .find(|r| r.qr_payloads.contains(&t.tracking_url));
        match found {
            Some(r) => break r,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            None => panic!("the ticket never came out: {:?}", emulator.receipts()),
        }
    };
    assert_eq!(last.qr_payloads, vec![t.tracking_url.clone()]);
    // Garbage text may have printed above the ticket (ESC @ does not cut, as on a real
    // printer); the ticket itself must be intact, dot for dot.
    let img = image::open(last.png.as_ref().unwrap()).unwrap().to_luma8();
    let mut clean = sportello::printer::emulator::VirtualPrinter::new(&profile, None);
    clean.keep_images(true);
    clean.feed(&bytes);
    let reference = &clean.images()[0];
    assert!(img.height() >= reference.height());
    let bottom = image::imageops::crop_imm(
        &img,
        0,
        img.height() - reference.height(),
        img.width(),
        reference.height(),
    )
    .to_image();
    assert!(
        bottom == *reference,
        "the ticket part differs from a clean print"
    );
    assert_eq!(common::decode_qr(&bottom), vec![t.tracking_url]);
}

#[test]
fn a_printer_without_cutter_hands_over_after_a_pause() {
    let (emulator, mut link, profile, _dir) = setup("generic-58", None);
    let (t, bytes) = ticket(&profile);
    assert!(job::print_with(&mut link, &profile, &bytes, &options(115_200)).is_printed());
    let receipts = emulator.wait_receipts(1, Duration::from_secs(5));
    assert_eq!(receipts.len(), 1);
    let img = image::open(receipts[0].png.as_ref().unwrap())
        .unwrap()
        .to_luma8();
    assert_eq!(img.width(), 384);
    assert_eq!(common::decode_qr(&img), vec![t.tracking_url]);
}
