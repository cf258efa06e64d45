//! A kiosk taking an update from its hub (issue 18, items 3 and 4), end to end on this
//! computer: a real hub on loopback rolls a bundle out, the real kiosk (core, sync worker,
//! updater, virtual printer) downloads it through its hub client, installs it into the
//! other slot of a simulated A/B board (the same boot rule as boot.cmd: three attempts),
//! and "restarts" when the test drops it and starts it again.
//!
//! - a good update comes up on slot B, is marked good, and the hub counts it;
//! - an update whose printer never answers restarts until its attempts run out, the board
//!   comes back on slot A by itself, and the hub shows "rolled back" and stops the rollout.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TestHub, fast_intervals, kiosk_config};
use sportello::config::kiosk::{KioskConfig, SlotsKind};
use sportello::hub::updates;
use sportello::kiosk::run::{self, RunningKiosk};
use sportello::kiosk::slots::{
    ATTEMPTS, SIMULATED_BUNDLE_MAGIC, SIMULATED_SLOTS_FILE, SimulatedBoard, SimulatedSlots,
};
use sportello::store::Store;
use sportello::store::enrollment::META_KIOSK_ID;

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn board_file(config: &KioskConfig) -> PathBuf {
    config.data_dir.join(SIMULATED_SLOTS_FILE)
}

fn board(config: &KioskConfig) -> SimulatedBoard {
    SimulatedSlots::read(&board_file(config)).unwrap()
}

/// A simulated bundle of `version`, padded to a size that takes several reads.
fn bundle(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join(format!("sportello-kiosk-{version}.raucb"));
    let mut text = format!("{SIMULATED_BUNDLE_MAGIC}\nversion={version}\n");
    text.push_str(&"filesystem image ".repeat(20_000));
    std::fs::write(&path, text).unwrap();
    path
}

/// The kiosk's row in the running (or last) rollout: state and detail.
fn target(hub: &TestHub, kiosk_id: &str) -> (String, Option<String>) {
    let conn = rusqlite::Connection::open(hub.db()).unwrap();
    let rollout = updates::latest(&conn).unwrap().unwrap();
    let target = rollout
        .targets
        .into_iter()
        .find(|t| t.kiosk_id == kiosk_id)
        .unwrap();
    (target.state, target.detail)
}

fn rollout_state(hub: &TestHub) -> String {
    let conn = rusqlite::Connection::open(hub.db()).unwrap();
    updates::latest(&conn).unwrap().unwrap().state
}

/// A kiosk with simulated slots on `hub`, enrolled; its id at the hub.
fn enrolled_kiosk(hub: &TestHub, dir: &Path) -> (KioskConfig, RunningKiosk, String) {
    let mut config = kiosk_config(dir, &hub.url(), &hub.db());
    config.update.slots = SlotsKind::Simulated;
    config.update.hub_wait_seconds = 5;
    config.update.confirm_within_seconds = 5;
    let kiosk = run::start(config.clone(), fast_intervals()).unwrap();
    let store = Store::open(&config.data_dir.join("kiosk.sqlite")).unwrap();
    let mut id = None;
    wait("enrolled", Duration::from_secs(30), || {
        id = store.meta(META_KIOSK_ID).unwrap();
        id.is_some()
    });
    (config, kiosk, id.unwrap())
}

/// Rolls `version` out to every kiosk of the hub.
fn roll_out(hub: &TestHub, version: &str) {
    let file = bundle(hub.dir.path(), version);
    updates::add_bundle(hub.location(), &file, version).unwrap();
    updates::start_rollout(hub.location(), version, &[], updates::Waves::default()).unwrap();
}

/// Waits until the kiosk asks the board to restart, then "power-cycles" it: the kiosk
/// stops and starts again with `config`, and the simulated bootloader picks the slot.
fn restart_when_asked(kiosk: RunningKiosk, config: &KioskConfig, limit: Duration) -> RunningKiosk {
    wait("the kiosk to ask for a restart", limit, || {
        board(config).restart_requested
    });
    drop(kiosk);
    run::start(config.clone(), fast_intervals()).unwrap()
}

#[test]
fn a_good_update_comes_up_on_the_other_slot_is_marked_good_and_the_hub_counts_it() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let (config, kiosk, id) = enrolled_kiosk(&hub, dir.path());
    assert_eq!(board(&config).booted, "A");

    roll_out(&hub, "9.0.0");
    wait(
        "the hub to see it installed",
        Duration::from_secs(30),
        || target(&hub, &id).0 == "installed",
    );
    let installed = board(&config);
    assert_eq!(installed.versions["B"], "9.0.0");
    assert_eq!(installed.order, ["B", "A"]);
    assert!(
        !dir.path().join("update").read_dir().unwrap().any(|_| true),
        "the bundle is deleted once installed"
    );

    let kiosk = restart_when_asked(kiosk, &config, Duration::from_secs(10));
    assert_eq!(board(&config).booted, "B");
    wait("the hub to count it good", Duration::from_secs(30), || {
        target(&hub, &id).0 == "good"
    });
    let good = board(&config);
    assert_eq!(
        good.left["B"], ATTEMPTS,
        "marked good: its attempts are back"
    );
    assert!(!good.restart_requested);
    assert_eq!(rollout_state(&hub), "done");

    // Started again later (a power cut): still B, still good, nothing offered again.
    let kiosk = restart_when_asked_or_now(kiosk, &config);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(board(&config).booted, "B");
    assert_eq!(board(&config).left["B"], ATTEMPTS);
    assert_eq!(target(&hub, &id).0, "good");
    drop(kiosk);
}

/// A power cut: the board restarts whether or not the kiosk asked.
fn restart_when_asked_or_now(kiosk: RunningKiosk, config: &KioskConfig) -> RunningKiosk {
    drop(kiosk);
    let mut board = board(config);
    board.restart_requested = true;
    std::fs::write(board_file(config), serde_json::to_vec(&board).unwrap()).unwrap();
    run::start(config.clone(), fast_intervals()).unwrap()
}

#[test]
fn a_slot_whose_printer_never_answers_goes_back_to_the_old_one_and_stops_the_rollout() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let (config, kiosk, id) = enrolled_kiosk(&hub, dir.path());

    roll_out(&hub, "9.1.0");
    wait(
        "the hub to see it installed",
        Duration::from_secs(30),
        || target(&hub, &id).0 == "installed",
    );

    // The new slot's kiosk never reaches its printer.
    let mut broken = config.clone();
    broken.printer.port = dir
        .path()
        .join("no-printer-here")
        .to_string_lossy()
        .into_owned();
    let mut kiosk = restart_when_asked(kiosk, &broken, Duration::from_secs(10));
    let mut boots_on_b = 0;
    while board(&config).booted == "B" {
        boots_on_b += 1;
        assert!(
            boots_on_b <= ATTEMPTS,
            "B booted more often than its attempts"
        );
        // It restarts itself after confirm_within (5 s) without the printer.
        kiosk = restart_when_asked(kiosk, &broken, Duration::from_secs(20));
    }
    assert_eq!(boots_on_b, ATTEMPTS);
    assert_eq!(
        board(&config).booted,
        "A",
        "the bootloader went back by itself"
    );

    wait(
        "the hub to see the rollback",
        Duration::from_secs(30),
        || target(&hub, &id).0 == "rolled_back",
    );
    let (_, detail) = target(&hub, &id);
    assert!(
        detail.as_deref().is_some_and(|d| d.contains("9.1.0")),
        "{detail:?}"
    );
    assert_eq!(rollout_state(&hub), "stopped");
    let after = board(&config);
    assert_eq!(after.left["B"], 0, "the failed slot is marked bad");
    assert_eq!(after.order[0], "A");
    drop(kiosk);
}

#[test]
fn a_kiosk_whose_slots_cannot_be_read_still_starts_and_takes_no_update() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let mut config = kiosk_config(dir.path(), &hub.url(), &hub.db());
    // RAUC on a computer that is not the A/B image: no system.conf, perhaps no rauc.
    config.update.slots = SlotsKind::Rauc;
    let kiosk = run::start(config.clone(), fast_intervals()).expect("the kiosk starts");
    assert!(kiosk.core.updater().is_none());
    let store = Store::open(&config.data_dir.join("kiosk.sqlite")).unwrap();
    wait("enrolled", Duration::from_secs(30), || {
        store.meta(META_KIOSK_ID).unwrap().is_some()
    });
}
