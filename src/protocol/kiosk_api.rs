//! The JSON bodies of the kiosk API (`/api/v1`): what the hub answers and the kiosk's
//! client sends, defined once so the two ends stay in step.
//!
//! The hub deserialises exactly what `sync::client::HubClient` serialises, and
//! `docs/openapi.json` is checked against both by a test (`tests/hub_openapi.rs`).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalogue::{Agency, Service};
use crate::lang::Lang;

/// `POST /api/v1/kiosks/enroll`: trade a one-time enrollment token for a kiosk token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The token printed by `sportello hub kiosk enroll-token`; it works once.
    pub enrollment_token: String,
    /// The kiosk's name in the fleet (kiosk.toml `kiosk_id`), shown on the fleet page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Set when the kiosk already belonged to a hub and was given a new enrollment token
    /// (the hub was replaced, or restored from a backup on a new machine): what it brings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousEnrollment>,
}

/// The most numbers one enrolment carries (`PreviousEnrollment::numbers`): more than a
/// kiosk prints offline in a day, and what fits in the enrolment's body limit.
pub const MAX_CARRIED_NUMBERS: usize = 2000;

/// What a kiosk enrolling again brings from its previous hub (docs/maintainer.md,
/// "Replacing the hub").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousEnrollment {
    /// The kiosk token the previous hub gave. A hub that knows it (the same database,
    /// restored) gives the kiosk back its identity, tag and bands instead of a new one.
    pub kiosk_token: String,
    /// The tag of its emergency numbers there; a new hub keeps it when no other kiosk has
    /// it, so emergency numbers still in the outbox stay this kiosk's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The offline numbers it printed that the previous hub never acknowledged: a new hub
    /// takes each one that is still free on its day, so the operations carrying them are
    /// accepted when the outbox drains and nobody else is given that number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<CarriedNumber>,
}

/// An offline number printed under the previous hub and not yet delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedNumber {
    /// The service the ticket was asked for (its band's service).
    pub service: String,
    /// The number on the paper (`N995`).
    pub number: String,
    /// When the ticket was issued: the hub takes the number on that office day.
    pub issued_at: DateTime<FixedOffset>,
}

/// The kiosk's identity and bearer token; the token is shown once and stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The hub's id for this kiosk.
    pub kiosk_id: String,
    /// Bearer token for every later call; keep it secret.
    pub token: String,
    /// Short tag (`A`, `B`, ... `AA`) in this kiosk's emergency numbers (`N-A01`), which
    /// it gives when it is offline and has no band left.
    pub tag: String,
    /// Carried numbers (`PreviousEnrollment::numbers`) this hub could not take because
    /// they were already used or leased on their day: the operations carrying them will
    /// be refused. Empty on a first enrolment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_numbers: Vec<String>,
}

/// `GET /api/v1/catalogue`: the services this office offers, with an ETag header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueResponse {
    /// The office's name, printed on tickets.
    pub office_name: String,
    /// The IANA time zone of the office day.
    pub time_zone: String,
    /// The services, in display order.
    pub services: Vec<Service>,
    /// Where to wait, per service code, as the office wrote it (`[waiting]` in hub.toml;
    /// a service without its own area has the office's default). Empty when the office
    /// set none; older hubs do not send it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub waiting_areas: std::collections::BTreeMap<String, String>,
}

/// `POST /api/v1/tickets`: one ticket, identified by the kiosk's outbox `op_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueTicketRequest {
    /// The outbox operation id; the hub applies it at most once.
    pub op_id: Uuid,
    /// Service code from the catalogue (or the front-desk service with `appointment`).
    pub service: String,
    /// Priority access declared at the kiosk (INPS message 16868/2011).
    pub priority: bool,
    /// The citizen's language (ISO 639-1, e.g. `it`, `en`).
    pub lang: String,
    /// Booking code for an appointment check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<String>,
    /// The citizen's codice fiscale, when they identified themselves: shown to the clerk
    /// who calls the ticket (never on the board), matched against today's bookings when
    /// there is no `appointment` and it was read from the health card, and erased by the
    /// hub after the office day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    /// `codice_fiscale` was read from the health card by the kiosk's scanner. A typed code
    /// is never turned into an appointment check-in: a codice fiscale is no secret, and
    /// anyone could otherwise take (and learn of) someone else's booking.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub codice_fiscale_from_card: bool,
    /// The display number the kiosk printed offline, from a band leased to it for
    /// `service`. Sent again for an op the hub applied online but whose answer was lost,
    /// it renumbers that ticket to this number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_number: Option<String>,
    /// When the kiosk issued the ticket (RFC 3339).
    pub issued_at: DateTime<FixedOffset>,
}

/// `POST /api/v1/withdrawals`: a kiosk restarted (or gave up on an answer) after
/// committing a ticket operation but before handing its ticket to anyone. The hub makes
/// sure nobody is called for it: a waiting ticket becomes void, and an operation it has
/// not seen yet is refused when it arrives. Withdrawing twice is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// The outbox operation that asked for the ticket.
    pub op_id: Uuid,
}

/// What a withdrawal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawOutcome {
    /// The ticket was waiting: it is void now and will never be called.
    Voided,
    /// The hub had not applied the operation: it never will.
    NeverApplied,
    /// The ticket was already called or served (someone held it after all): left alone.
    AlreadyCalled,
    /// Withdrawn before.
    AlreadyWithdrawn,
}

/// The answer to a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawResponse {
    /// The operation withdrawn.
    pub op_id: Uuid,
    /// What the hub did.
    pub outcome: WithdrawOutcome,
    /// The ticket's display number, when the operation had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// A ticket as numbered by the hub. A replay of the same `op_id` returns the same body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResponse {
    /// The hub's id for the ticket (for status look-ups and the QR code).
    pub ticket_id: Uuid,
    /// Display number: the service prefix and three digits, e.g. `N007`.
    pub number: String,
    /// Service code whose queue the ticket is in.
    pub service: String,
    /// Whether the ticket has priority access.
    pub priority: bool,
    /// Place in the queue when issued (1 = next).
    pub position: u32,
    /// Estimated minutes until the ticket is called, when issued.
    pub eta_minutes: u32,
    /// When the ticket was issued: the hub's clock online, the kiosk's offline.
    pub issued_at: DateTime<Utc>,
    /// The office day (local date) the number belongs to.
    pub day: NaiveDate,
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// In the queue.
    Waiting,
    /// Called to a counter, citizen not yet there.
    Called,
    /// At the counter.
    Serving,
    /// Served.
    Done,
    /// Called and did not come.
    NoShow,
    /// Never served: the office day ended while it waited.
    Cancelled,
}

impl TicketStatus {
    /// The value stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Waiting => "waiting",
            TicketStatus::Called => "called",
            TicketStatus::Serving => "serving",
            TicketStatus::Done => "done",
            TicketStatus::NoShow => "no_show",
            TicketStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored value; `None` for anything else.
    pub fn parse(s: &str) -> Option<TicketStatus> {
        [
            TicketStatus::Waiting,
            TicketStatus::Called,
            TicketStatus::Serving,
            TicketStatus::Done,
            TicketStatus::NoShow,
            TicketStatus::Cancelled,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// `GET /api/v1/tickets/{ticket_id}` (a ticket id or the op_id that issued it) and
/// `GET /api/v1/tickets/by-number/{number}`: what the citizen's ticket is doing now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketStatusResponse {
    /// The hub's id for the ticket, whichever reference found it.
    pub ticket_id: Uuid,
    /// Display number.
    pub number: String,
    /// Current state.
    pub status: TicketStatus,
    /// Whether the ticket has priority access.
    pub priority: bool,
    /// Place in the queue while waiting (1 = next); 0 otherwise.
    pub position: u32,
    /// Estimated minutes until the ticket is called, while waiting; 0 otherwise.
    pub eta_minutes: u32,
    /// The counter that called it, once called.
    pub counter: Option<String>,
    /// Service code of the queue it is in (changes on a transfer).
    pub service: String,
}

/// `GET /api/v1/queues`: one line per service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuesResponse {
    /// The office day.
    pub day: NaiveDate,
    /// Every service of the catalogue, in catalogue order.
    pub services: Vec<QueueInfo>,
}

/// The queue of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// Service code.
    pub service: String,
    /// Tickets waiting now.
    pub waiting: u32,
    /// Estimated minutes until a ticket taken now is called.
    pub eta_minutes: u32,
    /// Moving average of real service times (the configured default before any data).
    pub average_service_minutes: f64,
    /// Counters currently serving this service.
    pub counters_open: u32,
    /// Whether the service still takes walk-in tickets today (`[hours]` in hub.toml);
    /// when `false` a walk-in ticket is refused with `service_closed`.
    pub open: bool,
}

/// `POST /api/v1/bands`: ask for display numbers to use while the hub is unreachable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandsRequest {
    /// Services to lease for; every service when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
}

/// The bands this kiosk holds today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandsResponse {
    /// The office day the bands are valid for.
    pub day: NaiveDate,
    /// One band per requested service (services with no numbers left are omitted).
    pub bands: Vec<Band>,
}

/// A block of display numbers `first..=last` reserved for one kiosk, service and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// Service code.
    pub service: String,
    /// The service's prefix letter.
    pub prefix: char,
    /// Lowest number of the band (1-999).
    pub first: u16,
    /// Highest number of the band (1-999).
    pub last: u16,
}

impl Band {
    /// Every display number of the band, lowest first (e.g. `N991`..`N999`).
    pub fn numbers(&self) -> impl Iterator<Item = String> + '_ {
        (self.first..=self.last).map(|n| format!("{}{n:03}", self.prefix))
    }
}

/// Printer condition reported by a kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Ready.
    Ok,
    /// Paper near end: a warning, still printing.
    PaperNearEnd,
    /// Paper out: cannot print.
    PaperOut,
    /// Cover open, cutter jam or other fault.
    Error,
    /// Not answering.
    Offline,
}

/// `POST /api/v1/kiosks/heartbeat`: the kiosk's health, every minute or so.
///
/// Unknown fields are accepted and ignored, so a newer kiosk can report more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// Firmware version.
    pub version: String,
    /// Printer condition.
    pub printer: PrinterState,
    /// Operations not yet acknowledged by the hub.
    pub outbox_depth: u32,
    /// Age in seconds of the oldest of them (none when the outbox is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_seconds: Option<u64>,
    /// Free-text detail about the printer (e.g. "cover open").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer_detail: Option<String>,
    /// The kiosk's clock, so the fleet page can flag a wrong one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_time: Option<DateTime<Utc>>,
    /// Where it stands with a software update (kiosks on an A/B image only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateReport>,
}

/// What a kiosk on an A/B image says of its software (issue 18): the slot it runs from
/// and how far the update it was offered has got. The hub counts a kiosk as updated only
/// when it says `good` for that version from the slot it installed into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The root slot running now: `A` or `B`.
    pub booted_slot: String,
    /// The version the state is about (the one offered, installed, or rolled back from).
    pub version: String,
    /// How far it got.
    pub state: UpdateState,
    /// A reason for `failed` or `rolled_back`, or download progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The steps of an update on one kiosk, in order; `rolled_back` and `failed` end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// The hub offered it; the kiosk has not started.
    Offered,
    /// The bundle is being downloaded.
    Downloading,
    /// Installed into the other slot; the kiosk restarts into it when nobody is using it.
    Installed,
    /// Running from the new slot, not yet confirmed.
    Booted,
    /// The new slot works (kiosk ready, printer answered, hub reached) and is marked good.
    Good,
    /// The new slot never got as far as good: the bootloader went back to the old one.
    RolledBack,
    /// Download, signature or installation failed; the old slot still runs.
    Failed,
}

impl UpdateState {
    /// The wire name (`rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Offered => "offered",
            UpdateState::Downloading => "downloading",
            UpdateState::Installed => "installed",
            UpdateState::Booted => "booted",
            UpdateState::Good => "good",
            UpdateState::RolledBack => "rolled_back",
            UpdateState::Failed => "failed",
        }
    }

    /// The state with this wire name.
    pub fn parse(name: &str) -> Option<UpdateState> {
        [
            UpdateState::Offered,
            UpdateState::Downloading,
            UpdateState::Installed,
            UpdateState::Booted,
            UpdateState::Good,
            UpdateState::RolledBack,
            UpdateState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether the update has ended on this kiosk, well or badly.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UpdateState::Good | UpdateState::RolledBack | UpdateState::Failed
        )
    }
}

/// An update the hub offers a kiosk in its heartbeat answer: fetch `path` from the hub
/// (the same pinned link and token), check `sha256`, install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    /// The bundle's version.
    pub version: String,
    /// SHA-256 of the bundle file (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where to fetch it (`GET`, kiosk token, `Range` to resume).
    pub path: String,
}

/// The hub's answer to a heartbeat: its clock (kiosks have no battery clock) and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The hub's time, to check the kiosk's clock against.
    pub hub_time: DateTime<Utc>,
    /// The office day.
    pub day: NaiveDate,
    /// ETag of the current catalogue, so the kiosk knows when to fetch it.
    pub catalogue_etag: String,
    /// A software update for this kiosk, while a rollout includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOffer>,
}

/// `POST /api/v1/auth/sessions`: start a citizen login for "my documents".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLoginSessionRequest {
    /// The language on the kiosk's screen: the phone's pages start in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
}

/// A login session: show `login_url` as a QR code and poll the session's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSessionCreated {
    /// The session's id, for the other `/api/v1/auth/sessions/{session_id}` calls (only
    /// this kiosk may use it).
    pub session_id: Uuid,
    /// The one-time link the citizen opens on their phone (unguessable; works once).
    pub login_url: String,
    /// Until when the link can be opened.
    pub expires_at: DateTime<Utc>,
    /// The short code the kiosk shows beside the QR code (four digits): the citizen types
    /// it on the phone's confirmation page before the link is used, which a person sent
    /// the link from afar cannot see (security finding 2). Absent from older hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_code: Option<String>,
}

/// Where a login session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    /// Waiting for the phone to open the link.
    Pending,
    /// The phone opened the link and is signing in at the identity provider.
    SigningIn,
    /// Signed in: the citizen's applications and certificates are readable until
    /// `expires_at`.
    Authenticated,
    /// The sign-in did not succeed (cancelled, refused, no valid codice fiscale); start
    /// a new session to try again.
    Failed,
    /// The link, the sign-in or the authenticated session ran out of time.
    Expired,
    /// The kiosk ended it.
    Ended,
}

/// `GET /api/v1/auth/sessions/{session_id}`: what the kiosk polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSessionStatus {
    /// The state.
    pub state: LoginState,
    /// The person's initials (`M.R.`) once authenticated; never the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initials: Option<String>,
    /// When the current state runs out: the link while pending, the sign-in while
    /// signing in, the session while authenticated; when it ended otherwise.
    pub expires_at: DateTime<Utc>,
    /// Why a sign-in failed (stable code, e.g. `cancelled`, `no_fiscal_number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One of the authenticated person's applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationStatus {
    /// Stable kind code, e.g. `naspi`, `dis-coll`, `isee`, `did`.
    pub kind: String,
    /// The agency handling it.
    pub agency: Agency,
    /// The kind's name in the requested language.
    pub title: String,
    /// Stable status code, e.g. `in_review`, `needs_documents`, `approved`.
    pub status: String,
    /// The status in the requested language.
    pub status_text: String,
    /// When the status last changed.
    pub last_change: NaiveDate,
    /// What the citizen should do next, in the requested language.
    pub next_step: String,
    /// The agency's protocol number, when the export has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A certificate the authenticated person can print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateOffer {
    /// Stable kind code: `stato-occupazionale`, `did`, `estratto-contributivo`.
    pub kind: String,
    /// The issuing agency.
    pub agency: Agency,
    /// The title in the requested language.
    pub title: String,
}

/// `POST /api/v1/auth/sessions/{session_id}/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificateRequest {
    /// One of the kinds offered for this person.
    pub kind: String,
    /// The language to issue it in (the statutory sentence is always in Italian too).
    pub lang: Lang,
}

/// A signed certificate, ready to print: `title`, `issuer_lines` (the header), `body`
/// (paragraphs), `footer_lines` and the QR `seal`. The kiosk prints it and keeps no copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCertificate {
    /// The unique certificate id (also in the body and the seal).
    pub certificate_id: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The title.
    pub title: String,
    /// Issuing agency and office.
    pub issuer_lines: Vec<String>,
    /// Paragraphs: the citizen's name and codice fiscale, the content, date and time,
    /// the certificate id and the statutory sentence.
    pub body: Vec<String>,
    /// Lines at the bottom (how to verify).
    pub footer_lines: Vec<String>,
    /// The QR text: `<hub>/verify?seal=SPV1.<id>.<digest>.<signature>`.
    pub seal: String,
}

/// `GET /api/v1/keys`: the public keys certificate seals are signed with (JWK Set).
pub type KeysResponse = crate::seal::JwkSet;
