//! The kiosk side of the sync worker's port: what the worker may ask of the kiosk core,
//! and what the core does with the news it brings.
//!
//! Here, not in `sync`, live the decisions that belong to the kiosk: polling the printer
//! for the heartbeat, the status LED, the trusted clock, the cached catalogue, and going
//! out of service when the store fails.

use std::sync::MutexGuard;

use super::core::KioskCore;
use crate::board::LedMode;
use crate::printer::status::PrinterState as Local;
use crate::protocol::{
    EnrollRequest, EnrollResponse, PreviousEnrollment, PrinterState, UpdateReport,
};
use crate::store::Store;
use crate::store::enrollment::{
    Enrolled, META_ENROLLED_WITH, META_TAG, META_TOKEN, enrollment_token_hash,
};
use crate::sync::HubClient;
use crate::sync::port::{Enrollment, Health, Kiosk, News, Office};

/// Store key of the printer state last seen by the heartbeat (read by `doctor`).
pub const META_PRINTER_STATE: &str = "printer_state";

/// The printer state on the wire, from the printer's own state and the board's
/// paper-near-end sensor.
pub fn wire_state(local: Local, near_end_sensor: bool) -> PrinterState {
    match local {
        Local::Ready if near_end_sensor => PrinterState::PaperNearEnd,
        Local::Ready => PrinterState::Ok,
        Local::PaperNearEnd => PrinterState::PaperNearEnd,
        Local::PaperOut => PrinterState::PaperOut,
        Local::NotResponding => PrinterState::Offline,
        _ => PrinterState::Error,
    }
}

impl KioskCore {
    /// Steady while the kiosk works, blinking when it needs a maintainer (printer) or the
    /// office disabled it.
    fn show_status_led(&self, printer: PrinterState) {
        let led = if self.is_disabled() || printer != PrinterState::Ok {
            LedMode::Blinking
        } else {
            LedMode::Steady
        };
        if let Err(err) = self.board().set_led(led) {
            tracing::warn!(%err, "cannot set the status LED");
        }
    }

    /// Keeps what the hub gave; a new hub's answer also drops the old hub's bands.
    fn remember_enrollment(&self, enrolled: &EnrollResponse) {
        let Some(enrollment_token) = self.config().hub.enrollment_token.as_deref() else {
            return;
        };
        let enrolled_with = enrollment_token_hash(enrollment_token);
        let saved = self.store().save_enrollment(&Enrolled {
            kiosk_id: &enrolled.kiosk_id,
            token: &enrolled.token,
            tag: &enrolled.tag,
            enrolled_with: &enrolled_with,
        });
        match saved {
            Ok(new_hub) => {
                self.use_token(&enrolled.token);
                if new_hub {
                    tracing::warn!(
                        kiosk = %enrolled.kiosk_id,
                        tag = %enrolled.tag,
                        "enrolled at a new hub: the old hub's bands are dropped, unsent operations go to the new hub"
                    );
                }
                if !enrolled.refused_numbers.is_empty() {
                    tracing::error!(
                        refused = %enrolled.refused_numbers.join(" "),
                        "the new hub could not take offline numbers printed under the old one: their tickets will be refused"
                    );
                }
            }
            Err(err) => self.store_error(&err),
        }
    }

    /// What a kiosk enrolled at another hub brings (`hub::carried`).
    fn previous_enrollment(&self, store: &Store, kiosk_token: String) -> PreviousEnrollment {
        let numbers = store.unsent_offline_numbers().unwrap_or_else(|err| {
            tracing::error!(%err, "cannot read the unsent offline numbers to carry");
            Vec::new()
        });
        PreviousEnrollment {
            kiosk_token,
            tag: store.meta(META_TAG).ok().flatten(),
            numbers,
        }
    }
}

impl Kiosk for KioskCore {
    fn store(&self) -> MutexGuard<'_, Store> {
        KioskCore::store(self)
    }

    fn hub(&self) -> HubClient {
        KioskCore::hub(self)
    }

    /// Enrolled while the store holds a token that came from the enrollment token in
    /// kiosk.toml; a different one there (a replaced hub) means enrolling again.
    fn enrollment(&self) -> Enrollment {
        let configured = self
            .config()
            .hub
            .enrollment_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let request = |previous| EnrollRequest {
            enrollment_token: configured.unwrap_or_default().to_string(),
            name: Some(self.config().kiosk_id.clone()),
            previous,
        };
        let store = self.store();
        let held = store.meta(META_TOKEN).ok().flatten();
        match (held, configured) {
            (Some(_), None) => Enrollment::Done,
            (None, None) => {
                tracing::warn!("not enrolled: set hub.enrollment_token in kiosk.toml");
                Enrollment::NotConfigured
            }
            (None, Some(_)) => Enrollment::Pending(request(None)),
            (Some(kiosk_token), Some(configured)) => {
                let hash = enrollment_token_hash(configured);
                match store.meta(META_ENROLLED_WITH).ok().flatten() {
                    Some(with) if with == hash => Enrollment::Done,
                    Some(_) => Enrollment::Pending(request(Some(
                        self.previous_enrollment(&store, kiosk_token),
                    ))),
                    // Enrolled by firmware that did not keep it: with this token.
                    None => {
                        drop(store);
                        let kept = self.store().set_meta(META_ENROLLED_WITH, &hash);
                        if let Err(err) = kept {
                            self.store_error(&err);
                        }
                        Enrollment::Done
                    }
                }
            }
        }
    }

    async fn health(&self) -> Health {
        let port = self.printer().clone();
        if let Ok(state) = tokio::task::spawn_blocking(move || port.poll()).await {
            let saved = self.store().set_meta(META_PRINTER_STATE, state.describe());
            if let Err(err) = saved {
                self.store_error(&err);
            }
        }
        let (state, detail) = self.printer().last_state();
        let near_end = self.board().paper_near_end();
        let printer = wire_state(state, near_end);
        self.show_status_led(printer);
        Health { printer, detail }
    }

    fn office(&self) -> Office {
        Office {
            today: self.today(),
            services: self
                .catalogue()
                .services()
                .iter()
                .map(|s| s.code.clone())
                .collect(),
        }
    }

    fn catalogue_etag(&self) -> Option<String> {
        KioskCore::catalogue_etag(self)
    }

    async fn refresh_queues(&self) {
        self.refresh_queue_figures().await;
    }

    fn update(&self) -> Option<UpdateReport> {
        self.updater()?.report()
    }

    fn report(&self, news: News) {
        match news {
            News::Link { online, disabled } => {
                if online && let Some(updater) = self.updater() {
                    updater.hub_reached();
                }
                let was_disabled = self.is_disabled();
                self.set_link(online, disabled);
                if was_disabled != self.is_disabled() {
                    let (state, _) = self.printer().last_state();
                    // The board's lock is released before the LED takes it again.
                    let near_end = self.board().paper_near_end();
                    self.show_status_led(wire_state(state, near_end));
                }
            }
            News::Enrolled(enrolled) => self.remember_enrollment(&enrolled),
            News::HubTime { at, round_trip } => self.clock().observe_hub(at, round_trip),
            News::Catalogue { body, etag } => self.apply_catalogue(body, etag),
            News::UpdateOffered(offer) => match self.updater() {
                Some(updater) => updater.offered(offer),
                None => tracing::warn!(
                    version = %offer.version,
                    "the hub offers an update, but this kiosk has no root slots ([update] slots)"
                ),
            },
            News::StoreFailed(err) => self.store_error(&err),
        }
    }

    fn wake(&self) -> &tokio::sync::Notify {
        &self.wake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_sensor_turns_a_ready_printer_into_near_end() {
        assert_eq!(wire_state(Local::Ready, false), PrinterState::Ok);
        assert_eq!(wire_state(Local::Ready, true), PrinterState::PaperNearEnd);
        assert_eq!(wire_state(Local::PaperOut, true), PrinterState::PaperOut);
        assert_eq!(
            wire_state(Local::NotResponding, false),
            PrinterState::Offline
        );
    }
}
