//! What every request handler shares: database, catalogue, config, clock, live events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use super::call_audio::CallAudio;
use super::clock::Clock;
use super::error::ApiError;
use super::events::Events;
use super::kiosk_tokens::KioskTokens;
use super::metrics::Metrics;
use super::offices::{CONFIGURED_CODE, Office, OfficeId, Offices, by_code};
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
    /// The offices requests have worked in (office 1 is hub.toml's).
    pub offices: Arc<Offices>,
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

    /// The office `id` (a kiosk's or a clerk's), read from the database the first time.
    pub async fn office(&self, id: OfficeId) -> Result<Arc<Office>, ApiError> {
        if let Some(office) = self.offices.cached(id) {
            return Ok(office);
        }
        let offices = self.offices.clone();
        self.db.read(move |conn| offices.get(&*conn, id)).await
    }

    /// The office a page address names (`?office=CODE`), the configured one when it
    /// names none; 404 for a code no office has.
    pub async fn office_named(&self, code: Option<&str>) -> Result<Arc<Office>, ApiError> {
        let Some(code) = code.filter(|c| !c.is_empty() && *c != CONFIGURED_CODE) else {
            return Ok(self.configured_office());
        };
        if let Some(office) = self.offices.cached_code(code) {
            return Ok(office);
        }
        let wanted = code.chars().take(40).collect::<String>();
        let office = self
            .db
            .read(move |conn| Ok(by_code(&*conn, &wanted)?))
            .await?
            .ok_or_else(|| ApiError::not_found("unknown_office", "no office with this code"))?;
        Ok(self.offices.remember(office))
    }

    /// Until when `office`'s services take walk-in tickets (its own hours, else hub.toml's).
    pub fn hours_of<'o>(&'o self, office: &'o Office) -> &'o crate::config::hub::HoursConfig {
        office.hours.as_ref().unwrap_or(&self.config.hours)
    }

    /// The services `office` offers (its subset of the catalogue, its letters).
    pub fn catalogue_of(&self, office: &Office) -> Arc<Catalogue> {
        self.offices.catalogue(office, &self.catalogue)
    }

    /// The office hub.toml describes (office 1): the one pages without an office
    /// address show.
    pub fn configured_office(&self) -> Arc<Office> {
        self.offices.configured()
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
