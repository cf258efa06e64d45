//! `hub.toml`: the office hub's settings, their defaults and their rules.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Invalid, Validate, check_hub_url};
use crate::lang::Lang;

/// The hub's configuration (`hub.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The database: an SQLite file (a path, or `sqlite:PATH`; the embedded default for
    /// one office) or a PostgreSQL server (`postgres://user@host/db`, a region).
    pub database: Database,
    /// With PostgreSQL, where the hub keeps the files an SQLite hub keeps beside its file
    /// (the keys of the codice fiscale hashes and of certificate seals, the self-signed
    /// certificate, update bundles); required then, and the same files for every hub
    /// process on the database (a shared or replicated volume).
    pub data_dir: Option<PathBuf>,
    /// The office's name, shown on tickets and the display board.
    pub office_name: String,
    /// IANA time zone whose local midnight turns the office day.
    pub time_zone: String,
    /// A catalogue file replacing the built-in list of services.
    pub services: Option<PathBuf>,
    /// The names of the counters a clerk can choose from.
    pub counters: Vec<String>,
    /// How the hub serves HTTPS.
    pub tls: HubTls,
    /// Queue estimates and offline bands.
    pub queue: QueueConfig,
    /// Clerk sessions on the counter and fleet pages.
    pub sessions: OperatorSessions,
    /// The last time of day each service takes walk-in tickets.
    pub hours: HoursConfig,
    /// Where citizens wait for each service, printed on tickets and shown on the kiosk.
    pub waiting: WaitingConfig,
    /// The identity provider citizens sign in with on their phone (`[oidc]`); without
    /// it the "my documents" flows are off and the kiosk API answers `login_unavailable`.
    pub oidc: Option<OidcConfig>,
    /// Lifetimes, rate limits and retention of citizen logins and certificates.
    pub auth: AuthConfig,
    /// The waiting-room board: whether and in which languages it speaks the calls.
    pub display: DisplayConfig,
    /// The office reports' targets (`[reports]`).
    pub reports: ReportsConfig,
    /// Seconds a client may take to send a request's headers (each request, including
    /// the first on a new connection) before the hub drops the connection, so stalled
    /// or deliberately slow clients cannot tie up its connections. The clock starts when
    /// the previous answer is sent, so it is also how long an idle kept-alive connection
    /// stays open (kiosks open a fresh connection per request; browsers reconnect).
    /// A request's body must also have arrived this long after its headers.
    pub client_header_seconds: u32,
    /// Host names the hub answers to, besides IP addresses, `localhost`, this machine's
    /// name and `[oidc] redirect_base`'s host: e.g. the name the office's DNS gives it.
    /// A request for any other name gets 421 (a DNS-rebinding page cannot use the hub).
    pub allowed_hosts: Vec<String>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: Database::Sqlite(PathBuf::from("sportello-hub.sqlite")),
            data_dir: None,
            office_name: "Sportello integrato INPS - Centro per l'impiego".to_string(),
            time_zone: "Europe/Rome".to_string(),
            services: None,
            counters: (1..=4).map(|n| format!("Sportello {n}")).collect(),
            tls: HubTls::default(),
            queue: QueueConfig::default(),
            sessions: OperatorSessions::default(),
            hours: HoursConfig::default(),
            waiting: WaitingConfig::default(),
            oidc: None,
            auth: AuthConfig::default(),
            display: DisplayConfig::default(),
            reports: ReportsConfig::default(),
            client_header_seconds: 10,
            allowed_hosts: Vec::new(),
        }
    }
}

/// Where the hub's database is (`database = ...` in hub.toml).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Database {
    /// An SQLite file: a path, or `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://` or `postgresql://` URL, password included if
    /// the server wants one (the URL is never logged with it).
    Postgres(String),
}

impl Database {
    /// The SQLite file at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Database {
        Database::Sqlite(path.into())
    }

    /// The SQLite file, when the database is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

impl TryFrom<String> for Database {
    type Error = String;

    fn try_from(value: String) -> Result<Database, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Database::Postgres(value));
        }
        let path = value.strip_prefix("sqlite:").unwrap_or(&value);
        if path.trim().is_empty() {
            return Err(
                "`database` is empty: give an SQLite file or a postgres:// URL".to_string(),
            );
        }
        if value.contains("://") {
            return Err(format!(
                "`{}` is neither an SQLite file nor a postgres:// URL",
                redact_url(&value)
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

/// `url` as it may be logged: the password replaced by `***` (in a URL or in a
/// `key=value` connection string).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***",
                _ => pair,
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// Shows the URL without its password.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// Like `Display`: a configuration printed for a bug report keeps the password out.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(_) => write!(f, "Sqlite({self})"),
            Database::Postgres(_) => write!(f, "Postgres({self})"),
        }
    }
}

/// The waiting-room board (`[display]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplayConfig {
    /// Whether the board says each call aloud after its chime ("Numero N, zero, uno,
    /// due, Sportello 3"), in a voice the hub renders with espeak-ng.
    pub speak_calls: bool,
    /// The languages each call is said in, one after the other: shipped language codes
    /// (`"it"`, `"en"`, `"fr"`, …; a language espeak-ng has no voice for is said with
    /// the English voice).
    pub call_languages: Vec<Lang>,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig {
            speak_calls: true,
            call_languages: vec![Lang::IT],
        }
    }
}

fn validate_display(d: &DisplayConfig) -> Result<(), Invalid> {
    let key = "display.call_languages";
    if d.speak_calls && d.call_languages.is_empty() {
        return Err(Invalid::new(
            key,
            "list at least one language, e.g. [\"it\"] or [\"it\", \"en\"] (to keep the board silent set `display.speak_calls = false`)",
        ));
    }
    for (i, lang) in d.call_languages.iter().enumerate() {
        if d.call_languages[..i].contains(lang) {
            return Err(Invalid::new(key, format!("`{lang}` is listed twice")));
        }
    }
    Ok(())
}

/// The OpenID Connect provider the office is federated with (`[oidc]`): the hub is the
/// relying party (authorization code flow with PKCE, nonce and state).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// The hub's client id at the provider.
    pub client_id: String,
    /// The client secret, inline; or use `client_secret_file`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A file holding the client secret (first line), readable by the hub only.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The hub's base URL as phones reach it (login links, the callback
    /// `<redirect_base>/login/callback`, the verification URL on certificates); the URL
    /// the hub listens on when absent.
    #[serde(default)]
    pub redirect_base: Option<String>,
    /// Scopes requested; must include `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim holding the codice fiscale (SPID and CIE: `fiscal_number`, as
    /// `TINIT-<code>`; the prefix is removed).
    #[serde(default = "default_fiscal_number_claim")]
    pub fiscal_number_claim: String,
    /// Authentication context classes to request; a login whose ID token carries
    /// another `acr` is refused. Default: SPID level 2 and 3 (CIE uses the same values),
    /// since records and certificates about a person need more than a password (security
    /// finding 9). `[]` accepts any level, level 1 included: not for production.
    #[serde(default = "default_acr_values")]
    pub acr_values: Vec<String>,
}

/// SPID (and CIE) level 2 and 3.
pub fn default_acr_values() -> Vec<String> {
    vec![
        "https://www.spid.gov.it/SpidL2".to_string(),
        "https://www.spid.gov.it/SpidL3".to_string(),
    ]
}

fn default_scopes() -> Vec<String> {
    vec!["openid".to_string(), "profile".to_string()]
}

fn default_fiscal_number_claim() -> String {
    "fiscal_number".to_string()
}

/// Citizen logins and certificates (`[auth]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Seconds a login link (the QR on the kiosk) can be opened.
    pub link_seconds: u32,
    /// Seconds the phone has, once it opened the link, to finish signing in.
    pub sign_in_seconds: u32,
    /// Seconds an authenticated kiosk session lasts at most (the kiosk ends it sooner:
    /// after printing, on "finish" or when idle).
    pub session_seconds: u32,
    /// Login sessions one kiosk may start per minute.
    pub logins_per_minute: u32,
    /// Failed sign-ins of one kiosk's sessions, within `failed_login_window_minutes`,
    /// after which the kiosk may start no login until the window has passed.
    pub failed_logins: u32,
    /// The window of `failed_logins`, in minutes.
    pub failed_login_window_minutes: u32,
    /// Days the hub keeps an issued certificate's content for `/verify` (the id, kind,
    /// date and digest stay).
    pub certificate_retention_days: u32,
    /// Days the audit log is kept.
    pub audit_retention_days: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            link_seconds: 180,
            sign_in_seconds: 300,
            session_seconds: 300,
            logins_per_minute: 6,
            failed_logins: 5,
            failed_login_window_minutes: 15,
            certificate_retention_days: 190,
            audit_retention_days: 400,
        }
    }
}

fn validate_oidc(o: &OidcConfig) -> Result<(), Invalid> {
    check_hub_url(&o.issuer).map_err(|p| Invalid::new("oidc.issuer", p))?;
    if o.client_id.trim().is_empty() || o.client_id.chars().any(char::is_control) {
        return Err(Invalid::new("oidc.client_id", "must not be blank"));
    }
    match (&o.client_secret, &o.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(Invalid::new(
                "oidc.client_secret_file",
                "give either `client_secret` or `client_secret_file`, not both",
            ));
        }
        (None, None) => {
            return Err(Invalid::new(
                "oidc.client_secret",
                "the provider's client secret is needed (`client_secret` or `client_secret_file`)",
            ));
        }
        (Some(secret), None) if secret.trim().is_empty() => {
            return Err(Invalid::new("oidc.client_secret", "must not be blank"));
        }
        _ => {}
    }
    if let Some(base) = &o.redirect_base {
        check_hub_url(base).map_err(|p| Invalid::new("oidc.redirect_base", p))?;
        if base.trim_end_matches('/').matches('/').count() > 2 || base.contains(['?', '#']) {
            return Err(Invalid::new(
                "oidc.redirect_base",
                format!(
                    "`{base}` must be a scheme, host and port only, e.g. https://hub.ufficio.it:8443"
                ),
            ));
        }
    }
    if !o.scopes.iter().any(|s| s == "openid") {
        return Err(Invalid::new("oidc.scopes", "must include `openid`"));
    }
    if let Some(bad) = o.scopes.iter().find(|s| {
        s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    }) {
        return Err(Invalid::new(
            "oidc.scopes",
            format!("`{bad}` is not a scope (printable ASCII, no spaces)"),
        ));
    }
    if o.fiscal_number_claim.trim().is_empty() {
        return Err(Invalid::new(
            "oidc.fiscal_number_claim",
            "must not be blank",
        ));
    }
    if o.acr_values
        .iter()
        .any(|v| v.trim().is_empty() || v.contains(' '))
    {
        return Err(Invalid::new(
            "oidc.acr_values",
            "each value must be non-empty, without spaces",
        ));
    }
    Ok(())
}

fn validate_auth(a: &AuthConfig) -> Result<(), Invalid> {
    let ranges: [(&str, u32, u32, u32); 8] = [
        ("auth.link_seconds", a.link_seconds, 30, 900),
        ("auth.sign_in_seconds", a.sign_in_seconds, 60, 1800),
        ("auth.session_seconds", a.session_seconds, 60, 1800),
        ("auth.logins_per_minute", a.logins_per_minute, 1, 60),
        ("auth.failed_logins", a.failed_logins, 1, 100),
        (
            "auth.failed_login_window_minutes",
            a.failed_login_window_minutes,
            1,
            1440,
        ),
        (
            "auth.certificate_retention_days",
            a.certificate_retention_days,
            1,
            3650,
        ),
        (
            "auth.audit_retention_days",
            a.audit_retention_days,
            30,
            3650,
        ),
    ];
    for (key, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            return Err(Invalid::new(
                key,
                format!("{value} must be between {min} and {max}"),
            ));
        }
    }
    Ok(())
}

/// Where the hub's TLS certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Generate an office certificate on first start (kept beside the database); kiosks
    /// pin its SHA-256 fingerprint, which the hub prints.
    SelfSigned,
    /// Use `tls.certificate` and `tls.key` (PEM files).
    Files,
    /// Plain HTTP: only allowed when `listen` is a loopback address (demo, tests).
    Off,
}

/// The hub's HTTPS settings (`[tls]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubTls {
    /// Where the certificate comes from.
    pub mode: TlsMode,
    /// PEM certificate chain, leaf first (mode `files`).
    pub certificate: Option<PathBuf>,
    /// PEM private key (mode `files`).
    pub key: Option<PathBuf>,
}

impl Default for HubTls {
    fn default() -> Self {
        HubTls {
            mode: TlsMode::SelfSigned,
            certificate: None,
            key: None,
        }
    }
}

/// Queue estimates and offline number bands (`[queue]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Minutes one citizen is assumed to take at a counter before any real data exists.
    pub default_service_minutes: u32,
    /// The fewest display numbers one band lease gives a kiosk per service (also the
    /// size for a kiosk with no history).
    pub band_size: u32,
    /// A band covers this many minutes of the kiosk's busiest hour for the service in
    /// the last `band_history_days` (0: always `band_size`), so an outage of that length
    /// at the busiest rate needs no emergency number.
    pub band_demand_minutes: u32,
    /// The most numbers one band gives, however busy the kiosk was.
    pub band_max: u32,
    /// How many office days back the busiest hour is looked for.
    pub band_history_days: u32,
    /// Seconds after its last request that a kiosk stops counting as online.
    pub kiosk_online_seconds: u32,
    /// Tickets a kiosk may have numbered online per minute, after a burst of as many
    /// (0: no limit). A kiosk prints one ticket every few seconds at best; the limit keeps
    /// a stolen kiosk token from using up a service's 999 numbers. Above it the hub says
    /// 429 and the kiosk numbers the ticket from its band instead.
    pub kiosk_tickets_per_minute: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            default_service_minutes: 10,
            band_size: 10,
            band_demand_minutes: 120,
            band_max: 60,
            band_history_days: 7,
            kiosk_online_seconds: 90,
            kiosk_tickets_per_minute: 30,
        }
    }
}

/// Clerk sessions (`[sessions]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorSessions {
    /// Minutes a clerk's login lasts (a shift); then the clerk logs in again.
    pub minutes: u32,
    /// Minutes a clerk's login survives unused (a counter PC left logged in): after
    /// that the session is refused and deleted (security finding 19).
    pub idle_minutes: u32,
}

impl Default for OperatorSessions {
    fn default() -> Self {
        OperatorSessions {
            minutes: 9 * 60,
            idle_minutes: 30,
        }
    }
}

/// A local time of day written `HH:MM` in a config file (e.g. `12:30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub chrono::NaiveTime);

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_time_of_day(&text).map(TimeOfDay).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a time of day written HH:MM (00:00-23:59), e.g. 12:30"
            ))
        })
    }
}

/// `HH:MM` with two digits each; nothing else (no seconds, no `9.30`).
fn parse_time_of_day(text: &str) -> Option<chrono::NaiveTime> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 5
        && bytes[2] == b':'
        && [0, 1, 3, 4].iter().all(|&i| bytes[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    chrono::NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// Service hours (`[hours]`): after its last-ticket time a service takes no new walk-in
/// tickets for the rest of the office day (appointment check-ins and tickets a kiosk
/// already printed offline are still accepted).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoursConfig {
    /// Office-wide last time a walk-in ticket is taken (local time in `time_zone`);
    /// tickets are taken through that minute. No limit when absent.
    pub last_ticket: Option<TimeOfDay>,
    /// Per-service overrides of `last_ticket`: service code -> `HH:MM`.
    pub services: std::collections::BTreeMap<String, TimeOfDay>,
}

impl HoursConfig {
    /// The last-ticket time of `service`: its override, else the office-wide one.
    pub fn last_ticket_for(&self, service: &str) -> Option<chrono::NaiveTime> {
        self.services
            .get(service)
            .or(self.last_ticket.as_ref())
            .map(|t| t.0)
    }

    /// Whether `service` still takes walk-in tickets at local time `now`: open through
    /// the minute of its last-ticket time, closed from the next minute to midnight.
    pub fn is_open(&self, service: &str, now: chrono::NaiveTime) -> bool {
        use chrono::Timelike;
        match self.last_ticket_for(service) {
            None => true,
            Some(last) => (now.hour(), now.minute()) <= (last.hour(), last.minute()),
        }
    }

    /// Checks that every service named in `[hours.services]` is in `catalogue`; the
    /// error names the key. Called with the catalogue the hub actually serves.
    pub fn check_services(&self, catalogue: &crate::catalogue::Catalogue) -> Result<(), Invalid> {
        known_services("hours.services", self.services.keys(), catalogue)
    }
}

/// `[waiting]`: where citizens wait, as they find it in this office ("Sala INPS, piano
/// terra (sportelli 1-4)"). Printed on the ticket and shown on the kiosk's ticket screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaitingConfig {
    /// Where to wait for any service without its own area; none when absent.
    pub area: Option<String>,
    /// Per-service areas: service code -> where to wait.
    pub services: std::collections::BTreeMap<String, String>,
}

/// Longest waiting-area text: one or two lines on an 80 mm ticket.
pub const WAITING_AREA_MAX_CHARS: usize = 80;

impl WaitingConfig {
    /// The area of every service of `catalogue` that has one (its own, else the default).
    pub fn areas(
        &self,
        catalogue: &crate::catalogue::Catalogue,
    ) -> std::collections::BTreeMap<String, String> {
        catalogue
            .services()
            .iter()
            .filter_map(|s| {
                let area = self.services.get(&s.code).or(self.area.as_ref())?;
                Some((s.code.clone(), area.clone()))
            })
            .collect()
    }

    /// Checks the texts and that every service named is in `catalogue`.
    pub fn check(&self, catalogue: &crate::catalogue::Catalogue) -> Result<(), Invalid> {
        let named = self
            .area
            .iter()
            .map(|a| ("waiting.area".to_string(), a))
            .chain(
                self.services
                    .iter()
                    .map(|(code, a)| (format!("waiting.services.{code}"), a)),
            );
        for (key, area) in named {
            let chars = area.chars().count();
            if area.trim().is_empty()
                || chars > WAITING_AREA_MAX_CHARS
                || area.chars().any(char::is_control)
            {
                return Err(Invalid::new(
                    key,
                    format!("must be one line of 1 to {WAITING_AREA_MAX_CHARS} characters"),
                ));
            }
        }
        known_services("waiting.services", self.services.keys(), catalogue)
    }
}

/// Every code in `codes` is a service of `catalogue`; the error names `section.code`.
fn known_services<'a>(
    section: &str,
    mut codes: impl Iterator<Item = &'a String>,
    catalogue: &crate::catalogue::Catalogue,
) -> Result<(), Invalid> {
    match codes.find(|code| catalogue.service(code).is_none()) {
        Some(code) => Err(Invalid::new(
            format!("{section}.{code}"),
            format!("`{code}` is not a service code of the catalogue"),
        )),
        None => Ok(()),
    }
}

/// `[reports]`: what the office's reports measure against.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// Minutes within which a citizen should be called (1-600): the reports show the
    /// share of tickets called within it.
    pub target_minutes: u32,
    /// Per-service targets: service code -> minutes.
    pub services: std::collections::BTreeMap<String, u32>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            target_minutes: 30,
            services: std::collections::BTreeMap::new(),
        }
    }
}

impl ReportsConfig {
    /// The target of `service` in minutes: its own, else the office-wide one.
    pub fn target_for(&self, service: &str) -> u32 {
        self.services
            .get(service)
            .copied()
            .unwrap_or(self.target_minutes)
    }

    fn check(&self) -> Result<(), Invalid> {
        let fine = |m: u32| (1..=600).contains(&m);
        if !fine(self.target_minutes) {
            return Err(Invalid::new("reports.target_minutes", "must be 1-600"));
        }
        if let Some((code, _)) = self.services.iter().find(|(_, m)| !fine(**m)) {
            return Err(Invalid::new(
                "reports.services",
                format!("`{code}`: a target must be 1-600 minutes"),
            ));
        }
        Ok(())
    }

    /// Checks that every service named in `[reports.services]` is in `catalogue`.
    pub fn check_services(&self, catalogue: &crate::catalogue::Catalogue) -> Result<(), Invalid> {
        known_services("reports.services", self.services.keys(), catalogue)
    }
}

impl Validate for HubConfig {
    fn validate(&self) -> Result<(), Invalid> {
        self.reports.check()?;
        match (&self.database, &self.data_dir) {
            (Database::Postgres(_), None) => {
                return Err(Invalid::new(
                    "data_dir",
                    "is required with a PostgreSQL database: the directory where every hub \
                     process finds the keys, the certificate and the update bundles",
                ));
            }
            (Database::Sqlite(_), Some(_)) => {
                return Err(Invalid::new(
                    "data_dir",
                    "is for a PostgreSQL database: with an SQLite file the hub keeps its \
                     files beside the file (remove data_dir or move the file)",
                ));
            }
            _ => {}
        }
        if self.office_name.trim().is_empty() {
            return Err(Invalid::new("office_name", "must not be blank"));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Invalid::new(
                "time_zone",
                format!(
                    "`{}` is not an IANA time zone such as Europe/Rome",
                    self.time_zone
                ),
            ));
        }
        if self.counters.is_empty() {
            return Err(Invalid::new("counters", "list at least one counter"));
        }
        let mut seen = std::collections::HashSet::new();
        for name in &self.counters {
            if name.trim().is_empty() || name.chars().count() > 40 {
                return Err(Invalid::new(
                    "counters",
                    format!("`{name}` must be 1-40 characters"),
                ));
            }
            if !seen.insert(name) {
                return Err(Invalid::new(
                    "counters",
                    format!("`{name}` is listed twice"),
                ));
            }
        }
        match self.tls.mode {
            TlsMode::Off if !self.listen.ip().is_loopback() => {
                return Err(Invalid::new(
                    "tls.mode",
                    format!(
                        "plain HTTP is only allowed on loopback, but `listen` is {}: use `self-signed` or `files`",
                        self.listen
                    ),
                ));
            }
            TlsMode::Files if self.tls.certificate.is_none() => {
                return Err(Invalid::new(
                    "tls.certificate",
                    "mode `files` needs a PEM certificate file",
                ));
            }
            TlsMode::Files if self.tls.key.is_none() => {
                return Err(Invalid::new(
                    "tls.key",
                    "mode `files` needs a PEM private key file",
                ));
            }
            _ => {}
        }
        if !(1..=300).contains(&self.client_header_seconds) {
            return Err(Invalid::new(
                "client_header_seconds",
                format!("{} must be between 1 and 300", self.client_header_seconds),
            ));
        }
        if let Some(bad) = self.allowed_hosts.iter().find(|h| {
            h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }) {
            return Err(Invalid::new(
                "allowed_hosts",
                format!(
                    "`{bad}` is not a host name (letters, digits, `-` and `.`; no scheme or port)"
                ),
            ));
        }
        if !(1..=240).contains(&self.queue.default_service_minutes) {
            return Err(Invalid::new(
                "queue.default_service_minutes",
                "must be between 1 and 240",
            ));
        }
        if !(1..=100).contains(&self.queue.band_size) {
            return Err(Invalid::new("queue.band_size", "must be between 1 and 100"));
        }
        if !(self.queue.band_size..=250).contains(&self.queue.band_max) {
            return Err(Invalid::new(
                "queue.band_max",
                "must be between queue.band_size and 250",
            ));
        }
        if self.queue.band_demand_minutes > 600 {
            return Err(Invalid::new(
                "queue.band_demand_minutes",
                "must be at most 600 (0 turns demand sizing off)",
            ));
        }
        if !(1..=60).contains(&self.queue.band_history_days) {
            return Err(Invalid::new(
                "queue.band_history_days",
                "must be between 1 and 60",
            ));
        }
        if self.queue.kiosk_tickets_per_minute > 600 {
            return Err(Invalid::new(
                "queue.kiosk_tickets_per_minute",
                "must be at most 600 (0 turns the limit off)",
            ));
        }
        if !(10..=3600).contains(&self.queue.kiosk_online_seconds) {
            return Err(Invalid::new(
                "queue.kiosk_online_seconds",
                "must be between 10 and 3600",
            ));
        }
        if !(5..=24 * 60).contains(&self.sessions.minutes) {
            return Err(Invalid::new(
                "sessions.minutes",
                "must be between 5 and 1440",
            ));
        }
        if !(1..=self.sessions.minutes).contains(&self.sessions.idle_minutes) {
            return Err(Invalid::new(
                "sessions.idle_minutes",
                "must be between 1 and `sessions.minutes`",
            ));
        }
        if let Some(oidc) = &self.oidc {
            validate_oidc(oidc)?;
        }
        validate_auth(&self.auth)?;
        validate_display(&self.display)?;
        // With a `services` file the hub checks the codes against it when it starts.
        if self.services.is_none() {
            let builtin = crate::catalogue::Catalogue::builtin();
            self.hours.check_services(&builtin)?;
            self.waiting.check(&builtin)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn empty_file_gives_defaults() {
        let hub: HubConfig = parse("", "hub.toml").unwrap();
        assert_eq!(hub, HubConfig::default());
    }

    #[test]
    fn rules_name_their_key() {
        let err = parse::<HubConfig>("time_zone = \"Europe/Roma\"\n", "hub.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "hub.toml, key `time_zone`: `Europe/Roma` is not an IANA time zone such as Europe/Rome"
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let ok = parse::<HubConfig>("[tls]\nmode = \"off\"\n", "hub.toml");
        assert!(ok.is_ok());
        let err = parse::<HubConfig>(
            "listen = \"0.0.0.0:8443\"\n[tls]\nmode = \"off\"\n",
            "hub.toml",
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("tls.mode"));
        assert!(err.problem.contains("listen"), "{err}");
        let err = parse::<HubConfig>("[tls]\nmode = \"files\"\n", "hub.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("tls.certificate"));
        let err = parse::<HubConfig>("[tls]\nmode = \"plain\"\n", "hub.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("tls.mode"));
        let err = parse::<HubConfig>("[queue]\nband_size = 0\n", "hub.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("queue.band_size"));
    }

    #[test]
    fn service_hours() {
        let text = "[hours]\nlast_ticket = \"15:30\"\n[hours.services]\nnaspi = \"12:00\"\n";
        let hub: HubConfig = parse(text, "hub.toml").unwrap();
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap();
        assert_eq!(hub.hours.last_ticket_for("naspi"), Some(t("12:00:00")));
        assert_eq!(hub.hours.last_ticket_for("isee"), Some(t("15:30:00")));
        assert!(hub.hours.is_open("naspi", t("12:00:59")));
        assert!(!hub.hours.is_open("naspi", t("12:01:00")));
        assert!(hub.hours.is_open("isee", t("15:30:00")));
        assert!(!hub.hours.is_open("isee", t("23:59:59")));
        assert!(HoursConfig::default().is_open("isee", t("23:59:59")));

        let err = |text: &str| parse::<HubConfig>(text, "hub.toml").unwrap_err();
        let e = err("[hours]\nlast_ticket = \"25:00\"\n");
        assert_eq!(e.key.as_deref(), Some("hours.last_ticket"));
        assert_eq!(e.line, Some(2));
        assert!(e.problem.contains("HH:MM"), "{e}");
        for bad in ["9:30", "09.30", "09:30:00", "noon", "12:60"] {
            let e = err(&format!("[hours.services]\nisee = \"{bad}\"\n"));
            assert_eq!(e.key.as_deref(), Some("hours.services.isee"), "{bad}");
        }
        let e = err("[hours.services]\nnaspi = \"12:00\"\npensioni = \"12:00\"\n");
        assert_eq!(e.key.as_deref(), Some("hours.services.pensioni"));
        assert!(e.problem.contains("not a service code"), "{e}");
        let e = err("[hours]\nlast = \"12:00\"\n");
        assert!(e.to_string().contains("last"), "{e}");
        // With a services file the codes are checked by the hub against that file.
        let custom =
            "services = \"/etc/sportello/catalogue.toml\"\n[hours.services]\nx = \"12:00\"\n";
        assert!(parse::<HubConfig>(custom, "hub.toml").is_ok());
    }

    #[test]
    fn the_database_is_a_file_or_a_postgres_url_and_its_password_never_shows() {
        let hub: HubConfig = parse("database = \"sqlite:/srv/hub.sqlite\"\n", "hub.toml").unwrap();
        assert_eq!(hub.database, Database::sqlite("/srv/hub.sqlite"));
        let hub: HubConfig = parse("database = \"hub.sqlite\"\n", "hub.toml").unwrap();
        assert_eq!(
            hub.database.sqlite_path(),
            Some(std::path::Path::new("hub.sqlite"))
        );
        let url = "postgres://sportello:s3cret@pg1,pg2/roma?target_session_attrs=read-write";
        let text = format!("database = \"{url}\"\ndata_dir = \"/srv/roma\"\n");
        let hub: HubConfig = parse(&text, "hub.toml").unwrap();
        assert_eq!(hub.database, Database::Postgres(url.to_string()));
        for shown in [hub.database.to_string(), format!("{hub:?}")] {
            assert!(
                !shown.contains("s3cret") && shown.contains("sportello:***@"),
                "{shown}"
            );
        }
        // Without data_dir a PostgreSQL hub would not know where its keys are.
        let e = parse::<HubConfig>(&format!("database = \"{url}\"\n"), "hub.toml").unwrap_err();
        assert!(e.to_string().contains("data_dir"), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        // ...and an SQLite hub keeps its files beside the file.
        let e = parse::<HubConfig>("database = \"h.sqlite\"\ndata_dir = \"/x\"\n", "hub.toml")
            .unwrap_err();
        assert!(e.to_string().contains("data_dir"), "{e}");
        for bad in ["", "sqlite:", "mysql://u:pw@h/db"] {
            let e = parse::<HubConfig>(&format!("database = \"{bad}\"\n"), "hub.toml").unwrap_err();
            assert!(
                e.to_string().contains("database") || e.to_string().contains("SQLite"),
                "{e}"
            );
            assert!(!e.to_string().contains(":pw@"), "{e}");
        }
    }

    #[test]
    fn the_hours_example_in_the_hub_template_is_valid() {
        let template = include_str!("../../board/hub.toml");
        let start = template.find("# [hours]").unwrap();
        // The commented-out settings from there on, without the prose around them.
        let example: Vec<&str> = template[start..]
            .lines()
            .map(|l| l.trim_start_matches("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .collect();
        let hub: HubConfig = parse(&example.join("\n"), "board/hub.toml").unwrap();
        assert!(hub.hours.last_ticket.is_some());
        assert_eq!(hub.hours.services.len(), 2);
        // The [waiting] example after it is valid too.
        assert!(hub.waiting.area.is_some());
        assert_eq!(hub.waiting.services.len(), 1);
    }

    #[test]
    fn oidc_and_auth_sections_name_their_keys() {
        let good = "[oidc]\nissuer = \"https://id.example.it\"\nclient_id = \"hub\"\nclient_secret = \"s3cret\"\n[auth]\nlink_seconds = 120\n";
        let hub: HubConfig = parse(good, "hub.toml").unwrap();
        let oidc = hub.oidc.unwrap();
        assert_eq!(oidc.scopes, ["openid", "profile"]);
        assert_eq!(oidc.fiscal_number_claim, "fiscal_number");
        // Security finding 9: without `acr_values`, SPID level 1 was accepted.
        assert_eq!(
            oidc.acr_values,
            [
                "https://www.spid.gov.it/SpidL2",
                "https://www.spid.gov.it/SpidL3"
            ]
        );
        let any_level: HubConfig = parse(
            &good.replace("[auth]", "acr_values = []\n[auth]"),
            "hub.toml",
        )
        .unwrap();
        assert!(
            any_level.oidc.unwrap().acr_values.is_empty(),
            "an explicit choice"
        );
        assert_eq!(hub.auth.link_seconds, 120);
        assert_eq!(hub.auth.session_seconds, 300);
        let key = |text: &str| parse::<HubConfig>(text, "hub.toml").unwrap_err().key;
        let oidc = |extra: &str| {
            format!("[oidc]\nissuer = \"https://id.example.it\"\nclient_id = \"hub\"\n{extra}")
        };
        assert_eq!(
            key(&oidc("")).as_deref(),
            Some("oidc.client_secret"),
            "a secret is needed"
        );
        assert_eq!(
            key(&oidc(
                "client_secret = \"a\"\nclient_secret_file = \"/x\"\n"
            ))
            .as_deref(),
            Some("oidc.client_secret_file")
        );
        assert_eq!(
            key(&oidc("client_secret = \"a\"\nscopes = [\"profile\"]\n")).as_deref(),
            Some("oidc.scopes")
        );
        assert_eq!(
            key(&oidc(
                "client_secret = \"a\"\nscopes = [\"openid\", \"a b\"]\n"
            ))
            .as_deref(),
            Some("oidc.scopes")
        );
        assert_eq!(
            key(&oidc(
                "client_secret = \"a\"\nredirect_base = \"http://10.0.0.1\"\n"
            ))
            .as_deref(),
            Some("oidc.redirect_base")
        );
        assert_eq!(
            key(&oidc(
                "client_secret = \"a\"\nredirect_base = \"https://h.it/x/y\"\n"
            ))
            .as_deref(),
            Some("oidc.redirect_base")
        );
        assert_eq!(
            key(&oidc("client_secret = \"a\"\nsecret = 1\n")).as_deref(),
            Some("oidc.secret")
        );
        assert_eq!(
            key("[oidc]\nissuer = \"http://id.example.it\"\nclient_id = \"h\"\nclient_secret = \"a\"\n")
                .as_deref(),
            Some("oidc.issuer")
        );
        let err = parse::<HubConfig>("[oidc]\nclient_id = \"h\"\n", "hub.toml").unwrap_err();
        assert!(err.to_string().contains("issuer"), "{err}");
        assert_eq!(
            key("[auth]\nlink_seconds = 5\n").as_deref(),
            Some("auth.link_seconds")
        );
        assert_eq!(
            key("[auth]\nlogins_per_minute = 0\n").as_deref(),
            Some("auth.logins_per_minute")
        );
        assert_eq!(
            key("[auth]\naudit_retention_days = 1\n").as_deref(),
            Some("auth.audit_retention_days")
        );
    }

    #[test]
    fn the_oidc_example_in_the_hub_template_is_valid() {
        let template = include_str!("../../board/hub.toml");
        let start = template.find("# [oidc]").unwrap();
        let end = template[start..]
            .find("\n\n")
            .map_or(template.len(), |e| start + e);
        let example: Vec<&str> = template[start..end]
            .lines()
            .map(|l| l.trim_start_matches("# "))
            .collect();
        let hub: HubConfig = parse(&example.join("\n"), "board/hub.toml").unwrap();
        assert!(hub.oidc.is_some());
    }

    #[test]
    fn display_speaks_calls_in_italian_by_default_and_names_its_keys() {
        let hub: HubConfig = parse("", "hub.toml").unwrap();
        assert!(hub.display.speak_calls);
        assert_eq!(hub.display.call_languages, [Lang::IT]);
        let text = "[display]\nspeak_calls = false\ncall_languages = [\"it\", \"en\"]\n";
        let hub: HubConfig = parse(text, "hub.toml").unwrap();
        assert!(!hub.display.speak_calls);
        assert_eq!(hub.display.call_languages, [Lang::IT, Lang::EN]);

        let err = |t: &str| parse::<HubConfig>(t, "hub.toml").unwrap_err();
        let e = err("[display]\ncall_languages = [\"it\", \"xx\"]\n");
        assert!(
            e.key
                .as_deref()
                .is_some_and(|k| k.starts_with("display.call_languages")),
            "{e}"
        );
        assert!(
            e.problem.contains("`xx`") && e.problem.contains("it, en"),
            "{e}"
        );
        // Any shipped language can be spoken.
        let every: Vec<String> = Lang::all().map(|l| format!("\"{l}\"")).collect();
        let text = format!("[display]\ncall_languages = [{}]\n", every.join(", "));
        let hub: HubConfig = parse(&text, "hub.toml").unwrap();
        assert_eq!(hub.display.call_languages, Lang::all().collect::<Vec<_>>());
        let e = err("[display]\ncall_languages = []\n");
        assert_eq!(e.key.as_deref(), Some("display.call_languages"));
        assert!(e.problem.contains("speak_calls"), "{e}");
        let e = err("[display]\ncall_languages = [\"en\", \"en\"]\n");
        assert_eq!(e.key.as_deref(), Some("display.call_languages"));
        assert!(e.problem.contains("twice"), "{e}");
        let e = err("[display]\nspeak = true\n");
        assert!(e.to_string().contains("speak"), "{e}");
    }

    #[test]
    fn waiting_areas_default_per_service_and_name_their_key() {
        let text =
            "[waiting]\narea = \"Sala d'attesa\"\n[waiting.services]\nnaspi = \"Sala INPS\"\n";
        let hub: HubConfig = parse(text, "hub.toml").unwrap();
        let areas = hub.waiting.areas(&crate::catalogue::Catalogue::builtin());
        assert_eq!(areas.get("naspi").map(String::as_str), Some("Sala INPS"));
        assert_eq!(areas.get("isee").map(String::as_str), Some("Sala d'attesa"));
        let none: HubConfig = parse("", "hub.toml").unwrap();
        assert!(
            none.waiting
                .areas(&crate::catalogue::Catalogue::builtin())
                .is_empty()
        );
        let err = |t: &str| parse::<HubConfig>(t, "hub.toml").unwrap_err();
        let e = err("[waiting.services]\npensioni = \"Sala\"\n");
        assert_eq!(e.key.as_deref(), Some("waiting.services.pensioni"));
        let e = err(&format!("[waiting]\narea = \"{}\"\n", "x".repeat(81)));
        assert_eq!(e.key.as_deref(), Some("waiting.area"));
        let e = err("[waiting]\narea = \"  \"\n");
        assert_eq!(e.key.as_deref(), Some("waiting.area"));
    }
}
