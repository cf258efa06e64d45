//! An update on this kiosk as a pure state machine (issue 18, items 3 and 4): the hub's
//! offer, the download and installation into the other slot, the restart into it, and
//! then the decision to mark the new slot good, to restart and spend another of its boot
//! attempts, or to tell the hub that the bootloader went back to the old slot.
//!
//! It never touches RAUC, the network, the store or the clock: the caller feeds it what
//! happened ([`Event`]) and does what it answers ([`Action`]), like `kiosk::session`. What
//! it keeps ([`Update`]) is saved by the caller, so it survives the restarts it asks for.
//!
//! The rules that keep a kiosk from being bricked or miscounted:
//! - a new slot is marked good only once the kiosk is up, its printer has answered and
//!   the hub has been reached (or `hub_wait` has passed: the hub may be down, the kiosk
//!   still works); otherwise, after `confirm_within`, the kiosk restarts, spending one of
//!   the slot's boot attempts, until the bootloader gives up on it;
//! - coming up again on the slot it started from, after the board restarted, means the
//!   new slot failed: `rolled_back`, and the old slot is marked good again (its counter
//!   was spent too);
//! - an update in the middle of installing or proving itself is never replaced by another
//!   offer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::{UpdateOffer, UpdateReport, UpdateState};

/// How long a new slot has to prove itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// After this, a kiosk whose printer answered is marked good without the hub.
    pub hub_wait: Duration,
    /// After this without being marked good, the kiosk restarts (one boot attempt spent).
    pub confirm_within: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hub_wait: Duration::from_secs(5 * 60),
            confirm_within: Duration::from_secs(15 * 60),
        }
    }
}

/// The update in hand, kept across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The bundle's version.
    pub version: String,
    /// Its SHA-256, as offered.
    pub sha256: String,
    /// How far it got.
    pub state: UpdateState,
    /// The slot running when the offer was taken: where a rollback comes back to.
    pub from_slot: String,
    /// The boot during which it was installed (`/proc/sys/kernel/random/boot_id`): a
    /// different one later means the board restarted.
    pub installed_in_boot: Option<String>,
    /// Why it failed or rolled back.
    pub detail: Option<String>,
}

impl Update {
    /// What the heartbeat tells the hub.
    pub fn report(&self, booted_slot: &str) -> UpdateReport {
        UpdateReport {
            booted_slot: booted_slot.to_string(),
            version: self.version.clone(),
            state: self.state,
            detail: self.detail.clone(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The hub offers an update (in every heartbeat answer while it does).
    Offered {
        /// The offer.
        offer: &'a UpdateOffer,
        /// The slot running now.
        booted_slot: &'a str,
    },
    /// The bundle is downloaded and its SHA-256 matches.
    Downloaded,
    /// The download failed (the network, a wrong file): tried again at the next offer.
    DownloadFailed(String),
    /// RAUC installed it into the other slot, during boot `boot_id`.
    Installed {
        /// The current boot's id.
        boot_id: &'a str,
    },
    /// RAUC refused it (signature, compatible, a downgrade) or failed to write it.
    InstallRefused(String),
    /// The kiosk started: after its service restarted, or the board did.
    Started {
        /// The slot running now.
        booted_slot: &'a str,
        /// The current boot's id.
        boot_id: &'a str,
    },
    /// Asked regularly while the new slot is on trial: what the kiosk has proved.
    Check {
        /// The printer has answered a status request since the start.
        printer_answered: bool,
        /// A heartbeat reached the hub since the start.
        hub_reached: bool,
        /// How long the kiosk has been up.
        up_for: Duration,
    },
    /// Marking the slot good (or the old one after a rollback) failed.
    MarkFailed(String),
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing now.
    Nothing,
    /// Download this bundle (resuming), then send `Downloaded` or `DownloadFailed`.
    Download(UpdateOffer),
    /// Install the downloaded bundle, then send `Installed` or `InstallRefused`.
    Install,
    /// Restart the board into the new slot once nobody is using the kiosk.
    RestartWhenIdle,
    /// Mark the running slot good (`rauc status mark-good`, checked with fw_printenv).
    MarkGood,
    /// The new slot failed: mark the running (old) slot good again and the other bad.
    MarkRolledBack,
    /// Restart the board now: the new slot did not prove itself in time.
    Restart,
}

/// Takes one event: the update to keep (if any) and what to do.
pub fn step(
    current: Option<&Update>,
    event: Event<'_>,
    limits: &Limits,
) -> (Option<Update>, Action) {
    let keep = |action| (current.cloned(), action);
    let with = |state: UpdateState, detail: Option<String>| {
        current.map(|u| Update {
            state,
            detail,
            ..u.clone()
        })
    };
    match event {
        Event::Offered { offer, booted_slot } => {
            let busy = current.is_some_and(|u| {
                matches!(
                    u.state,
                    UpdateState::Installed | UpdateState::Booted | UpdateState::Downloading
                )
            });
            let same = current.is_some_and(|u| u.version == offer.version);
            if busy || (same && current.is_some_and(|u| u.state.is_final())) {
                return keep(Action::Nothing);
            }
            let update = Update {
                version: offer.version.clone(),
                sha256: offer.sha256.clone(),
                state: UpdateState::Downloading,
                from_slot: booted_slot.to_string(),
                installed_in_boot: None,
                detail: None,
            };
            (Some(update), Action::Download(offer.clone()))
        }
        Event::Downloaded => match current.map(|u| u.state) {
            Some(UpdateState::Downloading) => keep(Action::Install),
            _ => keep(Action::Nothing),
        },
        Event::DownloadFailed(why) => match current.map(|u| u.state) {
            Some(UpdateState::Downloading) => {
                (with(UpdateState::Offered, Some(why)), Action::Nothing)
            }
            _ => keep(Action::Nothing),
        },
        Event::Installed { boot_id } => match current {
            Some(u) if u.state == UpdateState::Downloading => (
                Some(Update {
                    state: UpdateState::Installed,
                    installed_in_boot: Some(boot_id.to_string()),
                    detail: None,
                    ..u.clone()
                }),
                Action::RestartWhenIdle,
            ),
            _ => keep(Action::Nothing),
        },
        Event::InstallRefused(why) => match current.map(|u| u.state) {
            Some(UpdateState::Downloading) => {
                (with(UpdateState::Failed, Some(why)), Action::Nothing)
            }
            _ => keep(Action::Nothing),
        },
        Event::Started {
            booted_slot,
            boot_id,
        } => {
            let Some(u) = current else {
                return keep(Action::Nothing);
            };
            let board_restarted = u.installed_in_boot.as_deref() != Some(boot_id);
            let on_old_slot = booted_slot == u.from_slot;
            match u.state {
                // The kiosk stopped while downloading: the next offer resumes it.
                UpdateState::Downloading => (
                    with(
                        UpdateState::Offered,
                        Some("the download was interrupted".into()),
                    ),
                    Action::Nothing,
                ),
                // Only the kiosk's service restarted: the restart is still to come.
                UpdateState::Installed if !board_restarted => keep(Action::RestartWhenIdle),
                // A slot that never started (or restarted without proving itself until
                // the bootloader gave up): back on the old one.
                UpdateState::Installed | UpdateState::Booted if on_old_slot => (
                    with(
                        UpdateState::RolledBack,
                        Some(format!(
                            "version {} never became good; slot {booted_slot} runs again",
                            u.version
                        )),
                    ),
                    Action::MarkRolledBack,
                ),
                UpdateState::Installed | UpdateState::Booted => {
                    (with(UpdateState::Booted, None), Action::Nothing)
                }
                _ => keep(Action::Nothing),
            }
        }
        Event::Check {
            printer_answered,
            hub_reached,
            up_for,
        } => match current.map(|u| u.state) {
            Some(UpdateState::Booted) => {
                if printer_answered && (hub_reached || up_for >= limits.hub_wait) {
                    (with(UpdateState::Good, None), Action::MarkGood)
                } else if up_for >= limits.confirm_within {
                    let missing = match (printer_answered, hub_reached) {
                        (false, _) => "the printer never answered",
                        (true, false) => "the hub was never reached",
                        (true, true) => "not ready",
                    };
                    (
                        with(
                            UpdateState::Booted,
                            Some(format!(
                                "{missing} in {} min: restarting",
                                limits.confirm_within.as_secs() / 60
                            )),
                        ),
                        Action::Restart,
                    )
                } else {
                    keep(Action::Nothing)
                }
            }
            _ => keep(Action::Nothing),
        },
        Event::MarkFailed(why) => match current.map(|u| u.state) {
            // Not good until RAUC says so: the next check tries again.
            Some(UpdateState::Good) => (with(UpdateState::Booted, Some(why)), Action::Nothing),
            _ => keep(Action::Nothing),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(version: &str) -> UpdateOffer {
        UpdateOffer {
            version: version.into(),
            sha256: "ab".repeat(32),
            size: 10,
            path: format!("/api/v1/updates/{}", "ab".repeat(32)),
        }
    }

    fn minutes(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    /// Runs `events` from nothing; the update kept and the actions asked for.
    fn run(events: &[Event<'_>]) -> (Option<Update>, Vec<Action>) {
        let limits = Limits::default();
        let mut current = None;
        let mut actions = Vec::new();
        for event in events {
            let (next, action) = step(current.as_ref(), event.clone(), &limits);
            current = next;
            actions.push(action);
        }
        (current, actions)
    }

    #[test]
    fn a_good_update_is_downloaded_installed_restarted_into_and_marked_good() {
        let o = offer("1.1.0");
        let (update, actions) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Downloaded,
            Event::Installed { boot_id: "boot-1" },
            Event::Started {
                booted_slot: "A",
                boot_id: "boot-1",
            },
            Event::Started {
                booted_slot: "B",
                boot_id: "boot-2",
            },
            Event::Check {
                printer_answered: true,
                hub_reached: false,
                up_for: minutes(1),
            },
            Event::Check {
                printer_answered: true,
                hub_reached: true,
                up_for: minutes(1),
            },
            Event::Offered {
                offer: &o,
                booted_slot: "B",
            },
        ]);
        assert_eq!(
            actions,
            vec![
                Action::Download(o.clone()),
                Action::Nothing,
                Action::Install,
                Action::RestartWhenIdle,
                Action::RestartWhenIdle,
                Action::Nothing,
                Action::Nothing,
                Action::MarkGood,
                Action::Nothing,
            ]
        );
        let update = update.unwrap();
        assert_eq!(update.state, UpdateState::Good);
        assert_eq!(update.from_slot, "A");
        assert_eq!(update.report("B").state, UpdateState::Good);
    }

    #[test]
    fn a_slot_that_never_proves_itself_restarts_until_the_bootloader_goes_back() {
        let o = offer("1.1.0");
        let (update, actions) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Downloaded,
            Event::Installed { boot_id: "boot-1" },
            Event::Started {
                booted_slot: "B",
                boot_id: "boot-2",
            },
            Event::Check {
                printer_answered: false,
                hub_reached: true,
                up_for: minutes(14),
            },
            Event::Check {
                printer_answered: false,
                hub_reached: true,
                up_for: minutes(15),
            },
            Event::Started {
                booted_slot: "B",
                boot_id: "boot-3",
            },
            Event::Started {
                booted_slot: "A",
                boot_id: "boot-4",
            },
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
        ]);
        assert_eq!(actions[4], Action::Nothing);
        assert_eq!(actions[5], Action::Restart);
        assert_eq!(actions[6], Action::Nothing, "another attempt of B");
        assert_eq!(actions[7], Action::MarkRolledBack);
        assert_eq!(
            actions[8],
            Action::Nothing,
            "a rolled-back version is not taken again"
        );
        let update = update.unwrap();
        assert_eq!(update.state, UpdateState::RolledBack);
        assert!(update.detail.unwrap().contains("slot A runs again"));
    }

    #[test]
    fn without_the_hub_the_printer_and_time_are_enough_and_without_the_printer_nothing_is() {
        let o = offer("1.1.0");
        let booted = [
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Downloaded,
            Event::Installed { boot_id: "b1" },
            Event::Started {
                booted_slot: "B",
                boot_id: "b2",
            },
        ];
        let mut hub_down = booted.to_vec();
        hub_down.push(Event::Check {
            printer_answered: true,
            hub_reached: false,
            up_for: minutes(5),
        });
        assert_eq!(run(&hub_down).1.last(), Some(&Action::MarkGood));
        let mut no_printer = booted.to_vec();
        no_printer.push(Event::Check {
            printer_answered: false,
            hub_reached: true,
            up_for: minutes(10),
        });
        assert_eq!(run(&no_printer).1.last(), Some(&Action::Nothing));
        no_printer.push(Event::MarkFailed("x".into()));
        assert_eq!(run(&no_printer).0.unwrap().state, UpdateState::Booted);
    }

    #[test]
    fn a_download_cut_short_by_a_restart_resumes_at_the_next_offer() {
        let o = offer("1.1.0");
        let (update, actions) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Started {
                booted_slot: "A",
                boot_id: "boot-2",
            },
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
        ]);
        assert_eq!(
            actions,
            vec![
                Action::Download(o.clone()),
                Action::Nothing,
                Action::Download(o.clone())
            ]
        );
        assert_eq!(update.unwrap().state, UpdateState::Downloading);
    }

    #[test]
    fn refusals_and_failed_downloads_and_a_second_offer_mid_way() {
        let o = offer("1.1.0");
        let newer = offer("1.2.0");
        let (update, actions) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::DownloadFailed("hub unreachable".into()),
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Downloaded,
            Event::InstallRefused("bundle 1.1.0 is older than the running 1.2.0".into()),
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
        ]);
        assert_eq!(actions[1], Action::Nothing);
        assert_eq!(actions[2], Action::Download(o.clone()), "tried again");
        assert_eq!(
            actions[5],
            Action::Nothing,
            "a refused version is not taken again"
        );
        assert_eq!(update.unwrap().state, UpdateState::Failed);

        let (update, actions) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::Downloaded,
            Event::Installed { boot_id: "b1" },
            Event::Offered {
                offer: &newer,
                booted_slot: "A",
            },
        ]);
        assert_eq!(actions[3], Action::Nothing, "installed: finish first");
        assert_eq!(update.unwrap().version, "1.1.0");
        let (update, _) = run(&[
            Event::Offered {
                offer: &o,
                booted_slot: "A",
            },
            Event::DownloadFailed("cut".into()),
            Event::Offered {
                offer: &newer,
                booted_slot: "A",
            },
        ]);
        assert_eq!(
            update.unwrap().version,
            "1.2.0",
            "a newer offer replaces one not started"
        );
    }
}
