//! What every request handler shares: database, catalogue, config, clock, live events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::call_audio::CallAudio;
use super::clock::{Clock, office_day};
use super::events::Events;
use super::kiosk_tokens::KioskTokens;
use super::metrics::Metrics;
use super::oidc::Oidc;
use super::signing::SealKey;
use super::store::Db;
use super::throttle::LoginThrottle;
use crate::catalogue::Catalogue;
use crate::config::hub::HubConfig;

/// The shared state of a running hub; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The services offered (built-in or from `services`).
    pub catalogue: Arc<Catalogue>,
    /// Strong ETag of the catalogue response.
    pub catalogue_etag: Arc<str>,
    /// The validated configuration.
    pub config: Arc<HubConfig>,
    /// The office's time zone.
    pub tz: Tz,
    /// "Now" (injectable for tests).
    pub clock: Arc<dyn Clock>,
    /// Calls broadcast to display boards.
    pub events: Events,
    /// The calls' voice for the boards (espeak-ng, cached).
    pub call_audio: Arc<CallAudio>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Whether cookies get the `Secure` attribute (served over TLS).
    pub secure_cookies: bool,
    /// When each kiosk was last heard from (any authenticated request).
    pub last_seen: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
    /// Kiosk tokens looked up recently (the ticket path's authentication).
    pub kiosk_tokens: Arc<KioskTokens>,
    /// The display board's open event streams, capped.
    pub display_streams: Arc<super::limits::DisplayStreams>,
    /// Online tickets per kiosk per minute (`[queue] kiosk_tickets_per_minute`).
    pub issue_limit: Arc<super::issue_limit::IssueLimit>,
    /// Wrong clerk passwords in a row, per name (the counter page's login waits).
    pub login_throttle: Arc<LoginThrottle>,
    /// The identity provider's relying party, when `[oidc]` is configured.
    pub oidc: Option<Arc<Oidc>>,
    /// The key certificate seals are signed with.
    pub seal_key: Arc<SealKey>,
    /// The hub's base URL as phones reach it (login links, verification URLs), no
    /// trailing slash.
    pub public_base: Arc<str>,
    /// The host names requests may be addressed to (`hub::host_check`).
    pub known_hosts: Arc<super::host_check::KnownHosts>,
}

impl AppState {
    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's office day.
    pub fn today(&self) -> NaiveDate {
        office_day(self.now(), self.tz)
    }

    /// Notes that a kiosk made a request now.
    pub fn saw_kiosk(&self, kiosk_id: &str) {
        let now = self.now();
        self.last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kiosk_id.to_string(), now);
    }

    /// How many kiosks made a request within the configured online window.
    pub fn kiosks_online(&self) -> usize {
        let now = self.now();
        let window = chrono::TimeDelta::seconds(i64::from(self.config.queue.kiosk_online_seconds));
        self.last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|at| now - **at <= window)
            .count()
    }

    /// When a kiosk was last heard from, if since start.
    pub fn kiosk_last_seen(&self, kiosk_id: &str) -> Option<DateTime<Utc>> {
        self.last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kiosk_id)
            .copied()
    }
}
