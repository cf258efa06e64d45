//! The kiosk core: what a ticket, a check-in or a look-up does, on the tokio side.
//!
//! The order of a ticket is the design's invariant 1 and 3: commit the operation to the
//! outbox, number it (from the hub, or offline from a leased band), print it and wait for
//! the printer's confirmation, record how it was handed over, and only then show it. The
//! sync worker (`crate::sync::worker`) sends whatever the direct attempt could not.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Notify;
use uuid::Uuid;

use super::clock::TrustedClock;
use super::printing::PrinterPort;
use super::session::TicketRequest;
use crate::board::Board;
use crate::catalogue::{Agency, Catalogue, Service};
use crate::config::kiosk::KioskConfig;
use crate::lang::Lang;
use crate::printer::job::PrintOutcome;
use crate::printer::layout::{self, TicketData};
use crate::printer::status::PrinterState;
use crate::printer::{TextFont, TextMode};
use crate::protocol::errors;
use crate::protocol::{
    CatalogueResponse, IssueTicketRequest, QueueInfo, QueuesResponse, TicketResponse, TicketStatus,
};
use crate::store::enrollment::{META_TAG, META_TOKEN};
use crate::store::{Handover, LocalTicket, NewOp, OpKind, Store, StoreError};
use crate::sync::client::{ClientError, HubClient, bounded};

/// Longest a look-up (status, check-in, queue figures) waits for the hub.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The sync worker leaves an operation alone this long while the ticket flow sends it.
pub const HOLD: Duration = Duration::from_secs(60);
/// The front-desk service a booking code is checked in with.
pub const CHECK_IN_SERVICE: &str = "appuntamento";

/// Queue figures per service, live or from the offline cache.
#[derive(Debug, Clone, Default)]
pub struct QueueFigures {
    queues: HashMap<String, QueueInfo>,
    /// Local time ("10:30") the figures were fetched, when they come from the cache.
    pub cached_at: Option<String>,
}

impl QueueFigures {
    /// Figures for these queues; `cached_at` when they come from the offline cache.
    pub fn new(queues: impl IntoIterator<Item = QueueInfo>, cached_at: Option<String>) -> Self {
        QueueFigures {
            queues: queues.into_iter().map(|q| (q.service.clone(), q)).collect(),
            cached_at,
        }
    }

    /// The queue of one service, if known.
    pub fn queue(&self, service: &str) -> Option<&QueueInfo> {
        self.queues.get(service)
    }

    /// Whether the service takes tickets now (unknown services count as open).
    pub fn is_open(&self, service: &str) -> bool {
        self.queues.get(service).is_none_or(|q| q.open)
    }
}

/// How the paper ticket went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintResult {
    /// The printer confirmed it.
    Printed,
    /// No paper: the ticket is on screen only.
    PaperOut,
    /// Another printer fault: the ticket is on screen only.
    Fault,
}

/// A ticket handed over, as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedTicket {
    /// Outbox operation and tracking id.
    pub op_id: Uuid,
    /// The office day it belongs to.
    pub day: NaiveDate,
    /// Display number.
    pub number: String,
    /// Service code.
    pub service_code: String,
    /// Service name in the citizen's language.
    pub service_name: String,
    /// Priority access.
    pub priority: bool,
    /// People ahead, when known.
    pub people_ahead: Option<u32>,
    /// Estimated wait, when known.
    pub eta_minutes: Option<u32>,
    /// Issue time, office local time.
    pub issued_at: NaiveDateTime,
    /// Link in the QR code.
    pub url: String,
    /// How the paper ticket went.
    pub print: PrintResult,
    /// Numbered offline from a band.
    pub offline: bool,
    /// Numbered offline with an emergency number (`N-A01`): no band was left.
    pub emergency: bool,
    /// Where to wait, when the office set it.
    pub waiting_area: Option<String>,
}

/// Why no ticket was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketProblem {
    /// The office disabled this kiosk.
    Disabled,
    /// The service takes no more tickets today.
    ServiceClosed,
    /// The service has given all its numbers of today (999 a day): to the citizen the
    /// same as closed, to the staff another code.
    NoNumbersLeft,
    /// The hub is unreachable and no offline number can be given (no band left, or no
    /// trustworthy clock for the office day).
    NoNumber,
    /// The service is not in the catalogue.
    UnknownService,
    /// The hub refused the request (its error code).
    Rejected(String),
    /// The local store failed (disk full, corrupt file).
    Store,
}

impl TicketProblem {
    /// A short code for the staff, shown small on the problem screen.
    pub fn reference(&self) -> &str {
        match self {
            TicketProblem::Disabled => "kiosk_disabled",
            TicketProblem::ServiceClosed => "service_closed",
            TicketProblem::NoNumbersLeft => errors::NO_NUMBERS_LEFT,
            TicketProblem::NoNumber => "no_offline_number",
            TicketProblem::UnknownService => "unknown_service",
            TicketProblem::Rejected(code) => code,
            TicketProblem::Store => "local_store",
        }
    }
}

/// A ticket found by a look-up.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketLookup {
    /// Display number.
    pub number: String,
    /// Service code.
    pub service: String,
    /// Priority access.
    pub priority: bool,
    /// Where it is in its life.
    pub status: TicketStatus,
    /// People ahead while waiting.
    pub people_ahead: Option<u32>,
    /// Estimated wait while waiting.
    pub eta_minutes: Option<u32>,
    /// The counter that called it.
    pub counter: Option<String>,
}

/// Why a look-up or check-in gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// No such ticket or booking today.
    NotFound,
    /// The hub cannot be reached.
    Unreachable,
}

struct Office {
    catalogue: Arc<Catalogue>,
    name: String,
    tz: Tz,
    figures: QueueFigures,
    catalogue_etag: Option<String>,
    waiting_areas: std::collections::BTreeMap<String, String>,
}

/// Store keys of cached hub data.
const CACHE_CATALOGUE: &str = "catalogue";
const CACHE_QUEUES: &str = "queues";
/// Store key of the ETag of the catalogue in use (what the hub gave this kiosk is kept
/// by `store::enrollment`).
const META_CATALOGUE_ETAG: &str = "catalogue_etag";

/// Everything the kiosk does beyond the screen.
pub struct KioskCore {
    config: KioskConfig,
    store: Mutex<Store>,
    hub: RwLock<HubClient>,
    printer: Arc<PrinterPort>,
    board: Mutex<Box<dyn Board>>,
    clock: TrustedClock,
    office: RwLock<Office>,
    online: AtomicBool,
    disabled: AtomicBool,
    figures_version: AtomicU64,
    store_failed: AtomicBool,
    /// A citizen is using the kiosk (the window's visit is not pristine): an update's
    /// restart waits.
    in_visit: AtomicBool,
    /// Software updates, on a kiosk with root slots.
    updater: Option<Arc<super::updater::Updater>>,
    /// Wakes the sync worker (new operation, state change).
    pub(super) wake: Notify,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl KioskCore {
    /// Builds the core from its parts; cached catalogue and figures are loaded from the
    /// store so the kiosk works offline from its first screen.
    pub fn new(
        config: KioskConfig,
        store: Store,
        mut hub: HubClient,
        printer: Arc<PrinterPort>,
        board: Box<dyn Board>,
        updater: Option<Arc<super::updater::Updater>>,
    ) -> KioskCore {
        if let Ok(Some(token)) = store.meta(META_TOKEN) {
            hub.set_token(token);
        }
        let mut office = Office {
            catalogue: Arc::new(Catalogue::builtin()),
            name: "Sportello".to_string(),
            tz: chrono_tz::Europe::Rome,
            figures: QueueFigures::default(),
            catalogue_etag: None,
            waiting_areas: Default::default(),
        };
        if let Ok(Some((value, _))) = store.cache_get(CACHE_CATALOGUE)
            && let Ok(cached) = serde_json::from_value::<CatalogueResponse>(value)
        {
            apply_catalogue(&mut office, cached, None);
        }
        office.catalogue_etag = store.meta(META_CATALOGUE_ETAG).ok().flatten();
        if let Ok(Some((value, at))) = store.cache_get(CACHE_QUEUES)
            && let Ok(queues) = serde_json::from_value::<QueuesResponse>(value)
        {
            office.figures = figures_from(&queues, Some(local_hhmm(at, office.tz)));
        }
        let clock = TrustedClock::new(config.clock.trust_system);
        KioskCore {
            config,
            store: Mutex::new(store),
            hub: RwLock::new(hub),
            printer,
            board: Mutex::new(board),
            clock,
            office: RwLock::new(office),
            online: AtomicBool::new(false),
            disabled: AtomicBool::new(false),
            figures_version: AtomicU64::new(0),
            store_failed: AtomicBool::new(false),
            in_visit: AtomicBool::new(false),
            updater,
            wake: Notify::new(),
        }
    }

    /// The updater, on a kiosk with root slots.
    pub fn updater(&self) -> Option<&Arc<super::updater::Updater>> {
        self.updater.as_ref()
    }

    /// Whether a citizen is using the kiosk (set by the window once a second).
    pub fn in_visit(&self) -> bool {
        self.in_visit.load(Ordering::Relaxed)
    }

    /// The window says whether a visit is under way.
    pub fn set_in_visit(&self, visiting: bool) {
        self.in_visit.store(visiting, Ordering::Relaxed);
    }

    /// The kiosk's configuration.
    pub fn config(&self) -> &KioskConfig {
        &self.config
    }

    /// The local store, locked for a short operation.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A handle on the hub client (cheap clone).
    pub(crate) fn hub(&self) -> HubClient {
        read(&self.hub).clone()
    }

    /// Sends `token` with every later call (stored by the caller first).
    pub(super) fn use_token(&self, token: &str) {
        write(&self.hub).set_token(token);
    }

    /// The clock for tickets.
    pub fn clock(&self) -> &TrustedClock {
        &self.clock
    }

    /// The printer.
    pub fn printer(&self) -> &Arc<PrinterPort> {
        &self.printer
    }

    /// The GPIO board.
    pub(super) fn board(&self) -> MutexGuard<'_, Box<dyn Board>> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a headset is plugged into the jack (`None`: no jack switch fitted).
    pub fn headset_plugged(&self) -> Option<bool> {
        self.board().headset_plugged()
    }

    /// The services offered (the hub's, cached, or built in).
    pub fn catalogue(&self) -> Arc<Catalogue> {
        read(&self.office).catalogue.clone()
    }

    /// The office's name for the header and the tickets.
    pub fn office_name(&self) -> String {
        read(&self.office).name.clone()
    }

    /// Where to wait for `service`, when the office set it.
    pub fn waiting_area(&self, service: &str) -> Option<String> {
        read(&self.office).waiting_areas.get(service).cloned()
    }

    /// The office's time zone.
    pub fn time_zone(&self) -> Tz {
        read(&self.office).tz
    }

    /// The latest queue figures.
    pub fn queue_figures(&self) -> QueueFigures {
        read(&self.office).figures.clone()
    }

    /// Changes whenever the figures or the catalogue change, so the UI redraws the
    /// service list only then.
    pub fn figures_version(&self) -> u64 {
        self.figures_version.load(Ordering::Relaxed)
    }

    fn set_figures(&self, figures: QueueFigures) {
        write(&self.office).figures = figures;
        self.figures_version.fetch_add(1, Ordering::Relaxed);
    }

    /// "HH:MM" in the office's time zone, for the header.
    pub fn clock_text(&self) -> String {
        let tz = self.time_zone();
        self.clock
            .display_now()
            .with_timezone(&tz)
            .format("%H:%M")
            .to_string()
    }

    /// Whether the last exchange with the hub worked.
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// Whether the office disabled this kiosk, or it cannot work (store broken).
    pub fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed) || self.store_failed.load(Ordering::Relaxed)
    }

    /// Whether the local store failed (out-of-service until repaired).
    pub fn store_failed(&self) -> bool {
        self.store_failed.load(Ordering::Relaxed)
    }

    /// Notes the outcome of any hub call: online or not, disabled or not.
    pub(super) fn observe<T>(&self, result: &Result<T, ClientError>) {
        match result {
            Ok(_) => self.set_link(true, Some(false)),
            Err(ClientError::Disabled { .. }) => self.set_link(true, Some(true)),
            Err(err) if err.retry_later() => self.set_link(false, None),
            Err(_) => self.set_link(true, None),
        }
    }

    /// Whether the hub answers, and (when the answer says so) whether this kiosk is
    /// disabled; `None` keeps what was known.
    pub(super) fn set_link(&self, online: bool, disabled: Option<bool>) {
        self.online.store(online, Ordering::Relaxed);
        if let Some(disabled) = disabled {
            self.disabled.store(disabled, Ordering::Relaxed);
        }
    }

    /// The store failed: logged, and the kiosk is out of service until repaired.
    pub(super) fn store_error(&self, err: &StoreError) {
        tracing::error!(%err, "local store failed: out of service");
        self.store_failed.store(true, Ordering::Relaxed);
    }

    /// Saves a catalogue from the hub and starts using it.
    pub(super) fn apply_catalogue(&self, catalogue: CatalogueResponse, etag: Option<String>) {
        let now = Utc::now();
        if let Ok(value) = serde_json::to_value(&catalogue) {
            let saved = {
                let mut store = self.store();
                store
                    .cache_put(CACHE_CATALOGUE, &value, now)
                    .and_then(|()| match &etag {
                        Some(etag) => store.set_meta(META_CATALOGUE_ETAG, etag),
                        None => Ok(()),
                    })
            };
            if let Err(err) = saved {
                self.store_error(&err);
            }
        }
        apply_catalogue(&mut write(&self.office), catalogue, etag);
        self.figures_version.fetch_add(1, Ordering::Relaxed);
    }

    /// The ETag of the catalogue in use.
    pub(super) fn catalogue_etag(&self) -> Option<String> {
        read(&self.office).catalogue_etag.clone()
    }

    /// Asks the hub for the queues now; on failure the cached figures stay, marked with
    /// their age.
    pub async fn refresh_queue_figures(&self) {
        let hub = self.hub();
        let result = bounded(self.lookup_timeout(), hub.queues()).await;
        self.observe(&result);
        match result {
            Ok(queues) => {
                if let Ok(value) = serde_json::to_value(&queues) {
                    let cached = self.store().cache_put(CACHE_QUEUES, &value, Utc::now());
                    if let Err(err) = cached {
                        self.store_error(&err);
                    }
                }
                self.set_figures(figures_from(&queues, None));
            }
            Err(_) => {
                let cached = self.store().cache_get(CACHE_QUEUES).ok().flatten();
                let tz = self.time_zone();
                if let Some((value, at)) = cached
                    && let Ok(queues) = serde_json::from_value::<QueuesResponse>(value)
                {
                    self.set_figures(figures_from(&queues, Some(local_hhmm(at, tz))));
                }
            }
        }
    }

    fn lookup_timeout(&self) -> Duration {
        LOOKUP_TIMEOUT.min(Duration::from_millis(self.config.hub.request_timeout_ms))
    }

    fn tracking_url(&self, op_id: Uuid) -> String {
        let base = self
            .config
            .hub
            .public_url
            .as_deref()
            .unwrap_or(&self.config.hub.url)
            .trim_end_matches('/');
        format!("{base}/t/{op_id}")
    }

    /// Issues a walk-in ticket: outbox, number, print, record. See the module docs.
    pub async fn issue_ticket(&self, req: TicketRequest) -> Result<IssuedTicket, TicketProblem> {
        if self.is_disabled() {
            return Err(TicketProblem::Disabled);
        }
        let catalogue = self.catalogue();
        let service = catalogue
            .service(&req.service)
            .cloned()
            .ok_or(TicketProblem::UnknownService)?;
        if !self.queue_figures().is_open(&service.code) {
            return Err(TicketProblem::ServiceClosed);
        }
        let mut request = self.hub_request(req.op_id, &service.code, req.priority, req.lang, None);
        request.codice_fiscale_from_card =
            req.codice_fiscale.is_some() && req.codice_fiscale_from_card;
        self.commit(OpKind::IssueTicket, &request, req.codice_fiscale.as_ref())?;
        let mut wire = request.clone();
        wire.codice_fiscale = req.codice_fiscale.map(|cf| cf.as_str().to_string());
        let number = match self.send_direct(&wire).await {
            Direct::Numbered(ticket) => Numbered::Online(ticket),
            Direct::Refused(problem) => return Err(problem),
            Direct::NoAnswer => self.number_offline(req.op_id, &service)?,
        };
        Ok(self
            .print_and_record(req.op_id, &service, req.priority, req.lang, number)
            .await)
    }

    /// Checks in a booking by code; the hub must confirm the code, so this needs it online.
    pub async fn check_in(
        &self,
        op_id: Uuid,
        code: String,
        lang: Lang,
    ) -> Result<IssuedTicket, LookupError> {
        if self.is_disabled() {
            return Err(LookupError::Unreachable);
        }
        let request = self.hub_request(op_id, CHECK_IN_SERVICE, false, lang, Some(code));
        self.commit(OpKind::CheckIn, &request, None)
            .map_err(|_| LookupError::Unreachable)?;
        let ticket = match self.send_direct(&request).await {
            Direct::Numbered(ticket) => ticket,
            Direct::Refused(TicketProblem::Rejected(code))
                if [
                    errors::UNKNOWN_APPOINTMENT,
                    errors::APPOINTMENT_USED,
                    errors::APPOINTMENT_SERVICE_MISMATCH,
                ]
                .contains(&code.as_str()) =>
            {
                return Err(LookupError::NotFound);
            }
            Direct::Refused(_) => return Err(LookupError::Unreachable),
            Direct::NoAnswer => {
                // Nothing was handed over: the check-in must not happen later behind the
                // citizen's back, nor stand if the hub applied it without answering.
                self.give_up(op_id);
                return Err(LookupError::Unreachable);
            }
        };
        let catalogue = self.catalogue();
        let service = catalogue
            .service(&ticket.service)
            .cloned()
            .ok_or(LookupError::NotFound)?;
        Ok(self
            .print_and_record(op_id, &service, false, lang, Numbered::Online(ticket))
            .await)
    }

    /// Looks up a ticket by tracking id (from its QR) or by display number.
    pub async fn lookup_ticket(&self, reference: &str) -> Result<TicketLookup, LookupError> {
        let hub = self.hub();
        let call = async {
            if Uuid::parse_str(reference).is_ok() {
                hub.ticket_status_by_ref(reference).await
            } else {
                hub.ticket_by_number(reference).await
            }
        };
        let result = bounded(self.lookup_timeout(), call).await;
        self.observe(&result);
        match result {
            Ok(found) => {
                let waiting = found.status == TicketStatus::Waiting;
                Ok(TicketLookup {
                    number: found.number,
                    service: found.service,
                    priority: found.priority,
                    status: found.status,
                    people_ahead: waiting.then(|| found.position.saturating_sub(1)),
                    eta_minutes: waiting.then_some(found.eta_minutes),
                    counter: found.counter,
                })
            }
            Err(err)
                if err.is_refusal(&[
                    errors::UNKNOWN_TICKET,
                    errors::BAD_NUMBER,
                    errors::BAD_TICKET_ID,
                ]) =>
            {
                Err(LookupError::NotFound)
            }
            Err(_) => Err(LookupError::Unreachable),
        }
    }

    fn hub_request(
        &self,
        op_id: Uuid,
        service: &str,
        priority: bool,
        lang: Lang,
        appointment: Option<String>,
    ) -> IssueTicketRequest {
        let tz = self.time_zone();
        IssueTicketRequest {
            op_id,
            service: service.to_string(),
            priority,
            lang: lang.code().to_string(),
            appointment,
            offline_number: None,
            issued_at: self.clock.display_now().with_timezone(&tz).fixed_offset(),
            codice_fiscale: None,
            codice_fiscale_from_card: false,
        }
    }

    /// Outbox first: the operation is durable before anything else happens. The sync
    /// worker leaves it alone for [`HOLD`] while the ticket flow sends it itself.
    fn commit(
        &self,
        kind: OpKind,
        request: &IssueTicketRequest,
        codice_fiscale: Option<&crate::identity::CodiceFiscale>,
    ) -> Result<(), TicketProblem> {
        let payload = serde_json::to_value(request).map_err(|_| TicketProblem::Store)?;
        let mut op = NewOp::new(kind, payload);
        if let Some(code) = codice_fiscale {
            op = op.with_codice_fiscale(code.as_str());
        }
        op.op_id = request.op_id;
        let now = Utc::now();
        let mut store = self.store();
        let held = now + chrono::TimeDelta::from_std(HOLD).unwrap_or_default();
        store
            .enqueue(&op, now)
            .and_then(|()| store.hold(op.op_id, held))
            .map_err(|err| {
                drop(store);
                self.store_error(&err);
                TicketProblem::Store
            })
    }

    /// Nothing was handed over for `op_id`, and the hub may have numbered it without the
    /// answer arriving: withdraw it, so it is never sent again and the hub voids any
    /// ticket it made (see [`crate::store::withdrawal`]).
    fn give_up(&self, op_id: Uuid) {
        let withdrawn = self.store().withdraw(op_id, Utc::now());
        match withdrawn {
            Ok(true) => self.wake.notify_one(),
            Ok(false) => {}
            Err(err) => self.store_error(&err),
        }
    }

    async fn send_direct(&self, request: &IssueTicketRequest) -> Direct {
        let hub = self.hub();
        let limit = Duration::from_millis(self.config.hub.ticket_timeout_ms);
        let result = bounded(limit, hub.issue_ticket(request)).await;
        self.observe(&result);
        let op_id = request.op_id;
        match result {
            Ok(issued) => {
                let response = serde_json::to_value(&issued.ticket).unwrap_or_default();
                if let Err(err) = self.store().acknowledge(op_id, &response, Utc::now()) {
                    self.store_error(&err);
                }
                Direct::Numbered(issued.ticket)
            }
            Err(err) if err.retry_later() => Direct::NoAnswer,
            Err(err) => {
                // Refused before anything was printed: the op must never reach the hub.
                if let Err(store_err) = self.store().abandon(op_id) {
                    self.store_error(&store_err);
                }
                tracing::warn!(%err, %op_id, "hub refused the ticket");
                Direct::Refused(match err {
                    ClientError::Disabled { .. } => TicketProblem::Disabled,
                    err if err.is_refusal(&[errors::SERVICE_CLOSED]) => {
                        TicketProblem::ServiceClosed
                    }
                    err if err.is_refusal(&[errors::NO_NUMBERS_LEFT]) => {
                        TicketProblem::NoNumbersLeft
                    }
                    err => TicketProblem::Rejected(err.reference().to_string()),
                })
            }
        }
    }

    /// Numbers a ticket from this kiosk's band for today, writing the number into the
    /// operation, then lets the sync worker send it.
    fn number_offline(&self, op_id: Uuid, service: &Service) -> Result<Numbered, TicketProblem> {
        let tz = self.time_zone();
        let Some(now) = self.clock.now() else {
            tracing::warn!(%op_id, "offline and no trusted clock: no offline number");
            self.give_up(op_id);
            return Err(TicketProblem::NoNumber);
        };
        let day = now.with_timezone(&tz).date_naive();
        let mut store = self.store();
        let taken = store.take_offline_number(op_id, &service.code, day);
        match taken {
            Ok(Some(number)) => {
                if let Err(err) = store.release(op_id, Utc::now()) {
                    drop(store);
                    self.store_error(&err);
                }
                self.wake.notify_one();
                Ok(Numbered::Offline {
                    number,
                    day,
                    at: now,
                    emergency: false,
                })
            }
            Ok(None) => {
                // No band left: an emergency number, different in form, still callable.
                let tag = store.meta(META_TAG).ok().flatten();
                let emergency = match &tag {
                    Some(tag) => {
                        store.take_emergency_number(op_id, &service.code, service.prefix, tag, day)
                    }
                    None => Ok(None),
                };
                match emergency {
                    Ok(Some(number)) => {
                        let released = store.release(op_id, Utc::now());
                        drop(store);
                        if let Err(err) = released {
                            self.store_error(&err);
                        }
                        self.wake.notify_one();
                        tracing::warn!(service = %service.code, %number, "no band left: emergency number");
                        Ok(Numbered::Offline {
                            number,
                            day,
                            at: now,
                            emergency: true,
                        })
                    }
                    Ok(None) => {
                        drop(store);
                        self.give_up(op_id);
                        tracing::warn!(service = %service.code, "offline, no band and no emergency number left");
                        Err(TicketProblem::NoNumber)
                    }
                    Err(err) => {
                        drop(store);
                        self.store_error(&err);
                        self.give_up(op_id);
                        Err(TicketProblem::Store)
                    }
                }
            }
            Err(err) => {
                drop(store);
                self.store_error(&err);
                self.give_up(op_id);
                Err(TicketProblem::Store)
            }
        }
    }

    async fn print_and_record(
        &self,
        op_id: Uuid,
        service: &Service,
        priority: bool,
        lang: Lang,
        numbered: Numbered,
    ) -> IssuedTicket {
        let tz = self.time_zone();
        let figures = self.queue_figures();
        let (number, day, issued_at, people_ahead, eta, offline, emergency) = match numbered {
            Numbered::Online(t) => (
                t.number,
                t.day,
                t.issued_at,
                Some(t.position.saturating_sub(1)),
                Some(t.eta_minutes),
                false,
                false,
            ),
            Numbered::Offline {
                number,
                day,
                at,
                emergency,
            } => {
                let queue = figures.queue(&service.code);
                (
                    number,
                    day,
                    at,
                    queue.map(|q| q.waiting),
                    queue.map(|q| q.eta_minutes),
                    true,
                    emergency,
                )
            }
        };
        let local = issued_at.with_timezone(&tz).naive_local();
        let ticket = IssuedTicket {
            op_id,
            day,
            number,
            service_code: service.code.clone(),
            service_name: service.name(lang).to_string(),
            priority,
            people_ahead,
            eta_minutes: eta,
            issued_at: local,
            url: self.tracking_url(op_id),
            print: PrintResult::Fault,
            offline,
            emergency,
            waiting_area: self.waiting_area(&service.code),
        };
        self.print_ticket(ticket, lang).await
    }

    /// Prints a ticket that is only on screen again, once the printer has paper: the same
    /// number, time and QR as when it was issued. Returns the ticket with the new outcome.
    pub async fn reprint_ticket(&self, ticket: IssuedTicket, lang: Lang) -> IssuedTicket {
        tracing::info!(op_id = %ticket.op_id, number = %ticket.number, "reprinting a screen-only ticket");
        self.print_ticket(ticket, lang).await
    }

    /// Prints `ticket`, records how it was handed over and returns it with the outcome.
    async fn print_ticket(&self, mut ticket: IssuedTicket, lang: Lang) -> IssuedTicket {
        let data = TicketData {
            office_name: self.office_name(),
            service_name: ticket.service_name.clone(),
            display_number: ticket.number.clone(),
            priority: ticket.priority,
            issued_at: ticket.issued_at,
            position: ticket.people_ahead.unwrap_or(0),
            eta_minutes: ticket.eta_minutes.unwrap_or(0),
            tracking_url: ticket.url.clone(),
            offline: ticket.offline,
            waiting_area: ticket.waiting_area.clone(),
            // The clerk reads the service in Italian when the citizen's language is not.
            service_name_it: (lang != Lang::IT)
                .then(|| {
                    self.catalogue()
                        .service(&ticket.service_code)
                        .map(|s| s.name(Lang::IT).to_string())
                })
                .flatten(),
        };
        // From here the ticket may reach someone (paper can come out before a crash): the
        // row says so, and a restart leaves the ticket alone (see `Store::withdraw_unhanded`).
        let starting = LocalTicket {
            op_id: ticket.op_id,
            day: ticket.day,
            number: ticket.number.clone(),
            service: ticket.service_code.clone(),
            offline: ticket.offline,
            handover: Handover::Started,
        };
        if let Err(err) = self.store().record_ticket(&starting, Utc::now()) {
            self.store_error(&err);
        }
        let printer = self.printer.clone();
        // Laying out a raster-text ticket reads its font the first time (Chinese: 19 MB)
        // and draws the text: off the async threads, like the printing itself.
        let outcome = tokio::task::spawn_blocking(move || {
            let profile = printer.profile();
            let font = match profile.text_mode(lang) {
                TextMode::Raster => TextFont::shared(lang)
                    .inspect_err(|err| {
                        tracing::warn!(lang = lang.code(), %err, "raster font missing: printing the ticket in Italian");
                    })
                    .ok(),
                TextMode::Page(_) => None,
            };
            let bytes = layout::queue_ticket_in(&data, profile, lang, font.as_deref());
            printer.print(&bytes)
        })
            .await
            .unwrap_or_else(|_| {
                PrintOutcome::Failed(crate::printer::job::PrintFailure {
                    stage: crate::printer::job::JobStage::Before,
                    state: None,
                    reason: "print task failed".into(),
                    bytes_sent: 0,
                    elapsed: Duration::ZERO,
                })
            });
        let (print, handover) = match &outcome {
            PrintOutcome::Printed { .. } => (PrintResult::Printed, Handover::Printed),
            PrintOutcome::Failed(f) if f.state == Some(PrinterState::PaperOut) => {
                (PrintResult::PaperOut, Handover::ScreenPaperOut)
            }
            PrintOutcome::Failed(_) => (PrintResult::Fault, Handover::ScreenFault),
        };
        let (op_id, number, offline) = (ticket.op_id, &ticket.number, ticket.offline);
        if let PrintOutcome::Failed(failure) = &outcome {
            tracing::warn!(%op_id, %number, %failure, "ticket shown on screen only");
        } else {
            tracing::info!(%op_id, %number, offline, "ticket printed");
        }
        let record = LocalTicket {
            op_id,
            day: ticket.day,
            number: number.clone(),
            service: ticket.service_code.clone(),
            offline,
            handover,
        };
        if let Err(err) = self.store().record_ticket(&record, Utc::now()) {
            self.store_error(&err);
        }
        ticket.print = print;
        ticket
    }

    /// The office day now, when the clock can be trusted.
    pub fn today(&self) -> Option<NaiveDate> {
        self.clock.today(self.time_zone())
    }

    /// Agencies that have at least one service, for the agency screen.
    pub fn agencies(&self) -> Vec<Agency> {
        let catalogue = self.catalogue();
        [Agency::Inps, Agency::Cpi]
            .into_iter()
            .filter(|a| catalogue.by_agency(*a).next().is_some())
            .collect()
    }
}

enum Direct {
    Numbered(TicketResponse),
    Refused(TicketProblem),
    NoAnswer,
}

enum Numbered {
    Online(TicketResponse),
    Offline {
        number: String,
        day: NaiveDate,
        at: DateTime<Utc>,
        emergency: bool,
    },
}

fn apply_catalogue(office: &mut Office, response: CatalogueResponse, etag: Option<String>) {
    match Catalogue::from_services(response.services, "hub catalogue") {
        Ok(catalogue) => office.catalogue = Arc::new(catalogue),
        Err(err) => tracing::warn!(%err, "hub catalogue rejected, keeping the previous one"),
    }
    office.name = response.office_name;
    office.waiting_areas = response.waiting_areas;
    if let Ok(tz) = response.time_zone.parse() {
        office.tz = tz;
    }
    if etag.is_some() {
        office.catalogue_etag = etag;
    }
}

fn figures_from(queues: &QueuesResponse, cached_at: Option<String>) -> QueueFigures {
    QueueFigures {
        queues: queues
            .services
            .iter()
            .map(|q| (q.service.clone(), q.clone()))
            .collect(),
        cached_at,
    }
}

fn local_hhmm(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}
