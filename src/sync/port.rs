//! What the sync worker needs from the kiosk, and what it tells it.
//!
//! The worker talks to the hub and keeps the outbox moving; what the answers mean for the
//! screen, the status LED, the trusted clock and the cached catalogue is the kiosk's
//! business. So the worker sees the kiosk only through [`Kiosk`], and everything it
//! learns goes back as one [`News`] value. It never names the printer, the board or the
//! kiosk core (guarded by `tests/architecture.rs`), and a fake `Kiosk` is enough to test it.

use std::future::Future;
use std::sync::MutexGuard;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Notify;

use super::client::HubClient;
use crate::protocol::{
    CatalogueResponse, EnrollRequest, EnrollResponse, PrinterState, UpdateOffer, UpdateReport,
};
use crate::store::{Store, StoreError};

/// The kiosk as the sync worker sees it.
pub trait Kiosk: Send + Sync + 'static {
    /// The local store, locked for a short operation (acknowledgements, failures, bands,
    /// purges). Never held across an `.await`.
    fn store(&self) -> MutexGuard<'_, Store>;

    /// A handle on the hub client, carrying the kiosk's token once enrolled.
    fn hub(&self) -> HubClient;

    /// Whether the kiosk must still enroll, and with what.
    fn enrollment(&self) -> Enrollment;

    /// The printer's state for the heartbeat, asked of the printer now when it is free.
    fn health(&self) -> impl Future<Output = Health> + Send;

    /// The office day (only with a trusted clock) and the services to keep bands for.
    fn office(&self) -> Office;

    /// The ETag of the catalogue in use, if it came from the hub.
    fn catalogue_etag(&self) -> Option<String>;

    /// Fetches the queue figures the screens show (the kiosk keeps them, and falls back
    /// to its cache when the hub does not answer).
    fn refresh_queues(&self) -> impl Future<Output = ()> + Send;

    /// Where this kiosk stands with a software update, for the heartbeat (`None` on a
    /// kiosk without root slots, or with no update in hand).
    fn update(&self) -> Option<UpdateReport>;

    /// Tells the kiosk what the worker learnt.
    fn report(&self, news: News);

    /// Notified when the kiosk commits a new operation or its state changes.
    fn wake(&self) -> &Notify;
}

/// Whether the kiosk still has to trade its enrollment token for a kiosk token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// It holds a kiosk token.
    Done,
    /// It must enroll with this request.
    Pending(EnrollRequest),
    /// It holds no token and kiosk.toml has no `hub.enrollment_token`.
    NotConfigured,
}

/// The printer as the heartbeat reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The state on the wire.
    pub printer: PrinterState,
    /// The printer's own words, for the fleet page.
    pub detail: Option<String>,
}

/// What the worker needs to know of the office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// Today in the office's time zone; `None` while the clock cannot be trusted.
    pub today: Option<NaiveDate>,
    /// The codes of the services the kiosk offers.
    pub services: Vec<String>,
}

/// What the worker learnt; the kiosk decides what it means.
#[derive(Debug)]
pub enum News {
    /// After every call to the hub: whether it answered, and what it said about this
    /// kiosk being disabled.
    Link {
        /// The hub answered (even with a refusal).
        online: bool,
        /// `Some(true)` when it refused because the office disabled this kiosk,
        /// `Some(false)` when it served the call, `None` when the answer says nothing
        /// about it (no answer, or another refusal): the kiosk keeps what it knew.
        disabled: Option<bool>,
    },
    /// The hub gave this kiosk its identity and token: keep them.
    Enrolled(EnrollResponse),
    /// The hub's clock, read `round_trip` after the request left.
    HubTime {
        /// The hub's time in its answer.
        at: DateTime<Utc>,
        /// How long the exchange took.
        round_trip: Duration,
    },
    /// The hub has a catalogue other than the one in use.
    Catalogue {
        /// The services.
        body: CatalogueResponse,
        /// Its ETag.
        etag: Option<String>,
    },
    /// The hub offers this kiosk a software update (in every heartbeat answer while its
    /// rollout includes the kiosk).
    UpdateOffered(UpdateOffer),
    /// The local store failed; the worker backs off and tries again later.
    StoreFailed(StoreError),
}
