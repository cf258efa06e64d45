//! Carries out an update on this kiosk (issue 18): feeds `kiosk::update`'s state machine
//! what happened and does what it answers, with the hub client, the root slots
//! (`kiosk::slots`) and the store.
//!
//! The sync worker only carries the hub's offer in and this kiosk's report out (through
//! `sync::port`); everything else happens here, on its own task, so a download of
//! hundreds of megabytes never holds up the outbox. What it keeps (the `Update`) is saved
//! in the store before each step is carried out, so a restart, asked for or not, resumes
//! where it was. On every start with no update on trial the running slot is marked good,
//! or U-Boot would spend its attempts on ordinary power cuts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::core::KioskCore;
use super::slots::{Rauc, SIMULATED_SLOTS_FILE, SimulatedSlots, SlotError, Slots};
use super::update::{self, Action, Event, Limits, Update};
use crate::config::kiosk::{KioskConfig, SlotsKind};
use crate::printer::status::PrinterState;
use crate::protocol::{UpdateOffer, UpdateReport};

/// Store key of the update in hand (JSON of [`Update`]).
pub const META_UPDATE: &str = "update";
/// How often a new slot on trial is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The updater of a kiosk with root slots.
pub struct Updater {
    slots: Arc<dyn Slots>,
    limits: Limits,
    booted: String,
    boot_id: String,
    started: Instant,
    bundle_dir: PathBuf,
    state: Mutex<State>,
    wake: Notify,
}

#[derive(Default)]
struct State {
    update: Option<Update>,
    offer: Option<UpdateOffer>,
    hub_reached: bool,
    restart_when_idle: bool,
    restart_asked: bool,
}

impl Updater {
    /// The updater `[update] slots` asks for; `None` for a kiosk without slots.
    pub fn open(config: &KioskConfig) -> Result<Option<Updater>, SlotError> {
        let slots: Arc<dyn Slots> = match config.update.slots {
            SlotsKind::None => return Ok(None),
            SlotsKind::Rauc => Arc::new(Rauc),
            SlotsKind::Simulated => Arc::new(SimulatedSlots::open(
                &config.data_dir.join(SIMULATED_SLOTS_FILE),
            )?),
        };
        let limits = Limits {
            hub_wait: Duration::from_secs(config.update.hub_wait_seconds.into()),
            confirm_within: Duration::from_secs(config.update.confirm_within_seconds.into()),
        };
        Ok(Some(Updater {
            booted: slots.booted()?,
            boot_id: slots.boot_id()?,
            slots,
            limits,
            started: Instant::now(),
            bundle_dir: config.data_dir.join("update"),
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the next heartbeat says of the update in hand.
    pub fn report(&self) -> Option<UpdateReport> {
        let state = self.state();
        state.update.as_ref().map(|u| u.report(&self.booted))
    }

    /// The hub offers an update (in every heartbeat answer while it does).
    pub fn offered(&self, offer: UpdateOffer) {
        self.state().offer = Some(offer);
        self.wake.notify_one();
    }

    /// A call reached the hub.
    pub fn hub_reached(&self) {
        let mut state = self.state();
        if !state.hub_reached {
            state.hub_reached = true;
            drop(state);
            self.wake.notify_one();
        }
    }

    /// The slot running now.
    pub fn booted(&self) -> &str {
        &self.booted
    }
}

/// Runs the updater until the process ends.
pub async fn run(core: Arc<KioskCore>, updater: Arc<Updater>) {
    let saved = load(&core);
    updater.state().update = saved;
    let started = Event::Started {
        booted_slot: &updater.booted,
        boot_id: &updater.boot_id,
    };
    apply(&core, &updater, started).await;
    let on_trial = updater
        .state()
        .update
        .as_ref()
        .is_some_and(|u| !u.state.is_final());
    if !on_trial && let Err(err) = updater.slots.mark_good() {
        tracing::error!(%err, slot = %updater.booted, "cannot mark the running slot good");
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            () = updater.wake.notified() => {}
        }
        if updater.state().restart_asked {
            continue;
        }
        let offer = updater.state().offer.take();
        if let Some(offer) = offer {
            let event = Event::Offered {
                offer: &offer,
                booted_slot: &updater.booted,
            };
            apply(&core, &updater, event).await;
        }
        let (printer_answered, hub_reached) = (
            core.printer().last_state().0 != PrinterState::NotResponding,
            updater.state().hub_reached,
        );
        let check = Event::Check {
            printer_answered,
            hub_reached,
            up_for: updater.started.elapsed(),
        };
        apply(&core, &updater, check).await;
        let waiting = updater.state().restart_when_idle;
        if waiting && !core.in_visit() {
            restart(&updater, "restarting into the new slot");
        }
    }
}

/// One event and whatever follows from it, each step saved before it is carried out.
async fn apply(core: &KioskCore, updater: &Updater, first: Event<'_>) {
    let mut action = step(core, updater, first);
    loop {
        action = match action {
            Action::Nothing => return,
            Action::Download(offer) => {
                let dest = bundle_file(&updater.bundle_dir, &offer.sha256);
                remove_other_bundles(&updater.bundle_dir, &dest).await;
                let downloaded = match tokio::fs::create_dir_all(&updater.bundle_dir).await {
                    Ok(()) => core
                        .hub()
                        .download_update(&offer, &dest)
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!("{}: {e}", updater.bundle_dir.display())),
                };
                match downloaded {
                    Ok(()) => {
                        tracing::info!(version = %offer.version, "update downloaded");
                        step(core, updater, Event::Downloaded)
                    }
                    Err(why) => {
                        tracing::warn!(version = %offer.version, %why, "update download failed");
                        step(core, updater, Event::DownloadFailed(why))
                    }
                }
            }
            Action::Install => {
                let Some(sha256) = updater.state().update.as_ref().map(|u| u.sha256.clone()) else {
                    return;
                };
                let bundle = bundle_file(&updater.bundle_dir, &sha256);
                let installed = install(updater, bundle).await;
                match installed {
                    Ok(()) => step(
                        core,
                        updater,
                        Event::Installed {
                            boot_id: &updater.boot_id,
                        },
                    ),
                    Err(err) => {
                        tracing::error!(%err, "the update was refused");
                        step(core, updater, Event::InstallRefused(err.0))
                    }
                }
            }
            Action::RestartWhenIdle => {
                updater.state().restart_when_idle = true;
                Action::Nothing
            }
            Action::MarkGood => match updater.slots.mark_good() {
                Ok(()) => {
                    tracing::info!(slot = %updater.booted, "updated slot marked good");
                    Action::Nothing
                }
                Err(err) => step(core, updater, Event::MarkFailed(err.0)),
            },
            Action::MarkRolledBack => {
                tracing::error!(slot = %updater.booted, "the update never became good: back on the previous slot");
                if let Err(err) = updater.slots.mark_rolled_back() {
                    tracing::error!(%err, "cannot mark the failed slot bad");
                }
                Action::Nothing
            }
            Action::Restart => {
                restart(updater, "the new slot did not prove itself in time");
                Action::Nothing
            }
        };
    }
}

/// Feeds one event to the state machine and saves what it keeps; the action to do.
fn step(core: &KioskCore, updater: &Updater, event: Event<'_>) -> Action {
    let current = updater.state().update.clone();
    let (next, action) = update::step(current.as_ref(), event, &updater.limits);
    if next != current {
        if let Some(update) = &next {
            save(core, update);
        }
        updater.state().update = next;
    }
    action
}

/// Installs the bundle (blocking: RAUC writes a whole slot), then deletes the file.
async fn install(updater: &Updater, bundle: PathBuf) -> Result<(), SlotError> {
    let slots = updater.slots.clone();
    let file = bundle.clone();
    let result = tokio::task::spawn_blocking(move || slots.install(&file))
        .await
        .unwrap_or_else(|e| Err(SlotError(format!("the installation stopped: {e}"))));
    let _ = tokio::fs::remove_file(&bundle).await;
    result
}

fn restart(updater: &Updater, why: &str) {
    tracing::warn!(slot = %updater.booted, "{why}");
    let mut state = updater.state();
    state.restart_when_idle = false;
    match updater.slots.restart() {
        Ok(()) => state.restart_asked = true,
        Err(err) => tracing::error!(%err, "cannot restart the board"),
    }
}

/// Deletes every file in `dir` but `keep` and its partial download: bundles of earlier
/// offers left by a restart would fill the data partition (it holds about one bundle).
async fn remove_other_bundles(dir: &Path, keep: &Path) {
    let mut partial = keep.as_os_str().to_owned();
    partial.push(".part");
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path != keep && path.as_os_str() != partial {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {
                    tracing::info!(file = %path.display(), "an earlier update's file removed")
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), %e, "cannot remove an earlier update's file")
                }
            }
        }
    }
}

fn bundle_file(dir: &Path, sha256: &str) -> PathBuf {
    let name: String = sha256
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    dir.join(format!("{name}.raucb"))
}

fn load(core: &KioskCore) -> Option<Update> {
    match saved_update(&core.store()) {
        Ok(update) => update,
        Err(err) => {
            core.store_error(&err);
            None
        }
    }
}

/// The update in hand as the store keeps it; an unreadable one is forgotten (logged).
pub fn saved_update(
    store: &crate::store::Store,
) -> Result<Option<Update>, crate::store::StoreError> {
    let Some(text) = store.meta(META_UPDATE)? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&text)
        .map_err(|err| tracing::error!(%err, "the saved update is unreadable: forgotten"))
        .ok())
}

fn save(core: &KioskCore, update: &Update) {
    let Ok(json) = serde_json::to_string(update) else {
        return;
    };
    let saved = core.store().set_meta(META_UPDATE, &json);
    if let Err(err) = saved {
        core.store_error(&err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_offered_bundle_and_its_partial_download_stay() {
        let dir = tempfile::tempdir().unwrap();
        let keep = bundle_file(dir.path(), &"b".repeat(64));
        let partial = dir.path().join(format!("{}.raucb.part", "b".repeat(64)));
        let earlier = bundle_file(dir.path(), &"a".repeat(64));
        let earlier_partial = dir.path().join(format!("{}.raucb.part", "c".repeat(64)));
        for file in [&keep, &partial, &earlier, &earlier_partial] {
            std::fs::write(file, b"x").unwrap();
        }
        remove_other_bundles(dir.path(), &keep).await;
        assert!(keep.exists() && partial.exists());
        assert!(!earlier.exists() && !earlier_partial.exists());
        // A missing directory is nothing to clean.
        remove_other_bundles(&dir.path().join("none"), &keep).await;
    }
}
