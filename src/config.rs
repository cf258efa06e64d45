//! `kiosk.toml` and `hub.toml`: reading, defaults and validation.
//!
//! A maintainer editing a config on a kiosk at 7 a.m. needs to know exactly what is wrong:
//! every error names the file, the key and what was expected, and nothing starts with a
//! half-understood config. Unknown keys are errors too, so a typo is never silently
//! ignored. Every field has a default that lets the demo run with no file at all.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::lang::Lang;
pub use crate::printer::transport::FlowControl;

/// A config file that cannot be used, with enough detail to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or other origin) being read.
    pub file: String,
    /// The dotted key at fault, when known (e.g. `session.warning_seconds`).
    pub key: Option<String>,
    /// One-based line of the fault, when known.
    pub line: Option<usize>,
    /// What is wrong and what is expected.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// A semantic rule broken by a parsed config: the key and what it must be.
pub struct Invalid {
    key: String,
    problem: String,
}

impl Invalid {
    /// Names the key at fault and what it must be.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// A config type with rules beyond what its types enforce.
pub trait Validate {
    /// Checks the rules; the first broken one is returned.
    fn validate(&self) -> Result<(), Invalid>;
}

/// Reads, parses and validates a TOML config file.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        key: None,
        line: None,
        problem: format!("cannot read the file: {e}"),
    })?;
    parse(&text, &file)
}

/// Parses and validates TOML text; `file` names the origin in errors.
pub fn parse<T: DeserializeOwned + Validate>(text: &str, file: &str) -> Result<T, ConfigError> {
    let error = |key: Option<String>, line: Option<usize>, problem: String| ConfigError {
        file: file.to_string(),
        key,
        line,
        problem,
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        error(
            None,
            e.span().map(|s| line_of(text, s.start)),
            e.message().to_string(),
        )
    })?;
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let key = (path != ".").then_some(path);
        let inner = e.into_inner();
        error(
            key,
            inner.span().map(|s| line_of(text, s.start)),
            inner.message().to_string(),
        )
    })?;
    value
        .validate()
        .map_err(|invalid| error(Some(invalid.key), None, invalid.problem))?;
    Ok(value)
}

fn line_of(text: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The kiosk's configuration (`kiosk.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KioskConfig {
    /// This kiosk's name in the fleet (letters, digits, `-`, `_`).
    pub kiosk_id: String,
    /// The language the welcome screen starts in.
    pub language: Lang,
    /// Where the store and the hub token live; writable, persistent.
    pub data_dir: PathBuf,
    /// How to reach the office hub.
    pub hub: HubLink,
    /// Idle handling of a citizen's visit.
    pub session: SessionConfig,
    /// The ticket printer.
    pub printer: PrinterConfig,
    /// The GPIO board (sensors, LED, printer relay).
    pub board: BoardConfig,
    /// The touch panel: size, for physical text and target sizes.
    pub display: DisplayConfig,
    /// When the system clock may be trusted (a Pi has no battery clock).
    pub clock: ClockConfig,
    /// A barcode scanner on a serial line (USB scanners that type need nothing here).
    pub scanner: ScannerConfig,
}

/// The panel the UI is drawn on. Sizes in the UI are physical (7 mm capitals, 15 mm
/// targets), so the UI must know how many pixels make a millimetre.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplayConfig {
    /// Width of the UI in pixels (portrait: the short side).
    pub width_px: u32,
    /// Height of the UI in pixels.
    pub height_px: u32,
    /// Visible width of the panel in millimetres.
    pub width_mm: f32,
    /// Clockwise rotation of the picture on the panel in degrees (0, 90, 180, 270): a
    /// landscape panel mounted upright needs 90 or 270. The kiosk rotates what it draws;
    /// the image's udev rule rotates touch input to match.
    pub rotation: u16,
    /// No touch panel: run the kiosk's core (store, printer, board, sync with the hub)
    /// without the UI, as `sportello kiosk --headless` does.
    pub headless: bool,
}

/// The rotations a panel can be mounted with, in degrees clockwise.
pub const ROTATIONS: [u16; 4] = [0, 90, 180, 270];

impl Default for DisplayConfig {
    fn default() -> Self {
        // A 15.6" full-HD panel in portrait.
        DisplayConfig {
            width_px: 1080,
            height_px: 1920,
            width_mm: 194.0,
            rotation: 0,
            headless: false,
        }
    }
}

impl DisplayConfig {
    /// Logical pixels per millimetre of the real panel.
    pub fn px_per_mm(&self) -> f32 {
        self.width_px as f32 / self.width_mm
    }
}

/// Which clock the kiosk may use when the hub cannot tell it the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemClockTrust {
    /// Only when the kernel says NTP has synchronised it (the default on a Pi).
    #[default]
    Ntp,
    /// Always (a PC with a battery clock, the demo).
    Always,
    /// Never: offline tickets need a time from the hub since boot.
    Never,
}

/// Clock policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// When the system clock is trusted without the hub.
    pub trust_system: SystemClockTrust,
}

/// A serial barcode scanner.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// Serial device of the scanner, if any (e.g. `/dev/ttyACM0`).
    pub serial_port: Option<String>,
    /// Its baud rate.
    pub baud: u32,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            serial_port: None,
            baud: 9600,
        }
    }
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            kiosk_id: "demo-kiosk".to_string(),
            language: Lang::It,
            data_dir: PathBuf::from("sportello-data"),
            hub: HubLink::default(),
            session: SessionConfig::default(),
            printer: PrinterConfig::default(),
            board: BoardConfig::default(),
            display: DisplayConfig::default(),
            clock: ClockConfig::default(),
            scanner: ScannerConfig::default(),
        }
    }
}

/// The `port` value that selects the built-in virtual printer (demo, no hardware).
pub const VIRTUAL_PORT: &str = "virtual";

/// The ticket printer: which model, on which port, how fast.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterConfig {
    /// A profile name from `data/printers.toml` (e.g. `epson-tm-t20iii`).
    pub profile: String,
    /// Serial device path, or `virtual` for the built-in virtual printer.
    pub port: String,
    /// Baud rate (8N1); must match the printer's setting.
    pub baud: u32,
    /// Flow control: none, rtscts or xonxoff.
    pub flow_control: FlowControl,
    /// Upper bound for one write, in milliseconds.
    pub write_timeout_ms: u64,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            profile: "generic-80".to_string(),
            port: VIRTUAL_PORT.to_string(),
            baud: 115_200,
            flow_control: FlowControl::None,
            write_timeout_ms: 3000,
        }
    }
}

/// Which board implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// In memory: tests, the demo, a kiosk without GPIO.
    #[default]
    Sim,
    /// A Raspberry Pi's GPIO through rppal (`/dev/gpiomem`: Raspberry Pi's own kernel).
    Pi,
    /// The GPIO character device (`/dev/gpiochipN`), which every kernel offers: the
    /// kiosk image (Debian's kernel) on a Pi 4, other boards.
    Gpiochip,
}

/// GPIO pins (BCM numbers) and debouncing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardConfig {
    /// sim, pi or gpiochip.
    pub kind: BoardKind,
    /// With `kind = "gpiochip"`: the chip, as a path (`/dev/gpiochip0`) or a label
    /// (`pinctrl-bcm2711`). Unset: the Raspberry Pi's header chip, found by its label.
    pub gpiochip: Option<String>,
    /// Input: paper-near-end sensor (active low, internal pull-up).
    pub paper_near_end_pin: u8,
    /// Output: status LED.
    pub led_pin: u8,
    /// Output: relay that cuts the printer's power when energised.
    pub relay_pin: u8,
    /// Whether the relay module is energised by a low level (many are).
    pub relay_active_low: bool,
    /// Input: ticket-taken sensor at the printer's mouth, if fitted.
    pub ticket_taken_pin: Option<u8>,
    /// A sensor level must hold this long to count.
    pub debounce_ms: u64,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            kind: BoardKind::Sim,
            gpiochip: None,
            paper_near_end_pin: 17,
            led_pin: 27,
            relay_pin: 22,
            relay_active_low: false,
            ticket_taken_pin: None,
            debounce_ms: 50,
        }
    }
}

/// Standard serial rates a thermal printer can be set to.
pub const BAUD_RATES: [u32; 6] = [9600, 19_200, 38_400, 57_600, 115_200, 230_400];

fn validate_printer(p: &PrinterConfig) -> Result<(), Invalid> {
    if let Err(e) = crate::printer::profile::Profile::named(&p.profile) {
        return Err(Invalid::new("printer.profile", e.to_string()));
    }
    if p.port != VIRTUAL_PORT && !p.port.starts_with('/') {
        return Err(Invalid::new(
            "printer.port",
            format!(
                "`{}` must be a device path such as /dev/ttyUSB0, or `{VIRTUAL_PORT}`",
                p.port
            ),
        ));
    }
    if !BAUD_RATES.contains(&p.baud) {
        return Err(Invalid::new(
            "printer.baud",
            format!("{} is not one of {BAUD_RATES:?}", p.baud),
        ));
    }
    if !(100..=60_000).contains(&p.write_timeout_ms) {
        return Err(Invalid::new(
            "printer.write_timeout_ms",
            format!("{} must be between 100 and 60000", p.write_timeout_ms),
        ));
    }
    Ok(())
}

fn validate_board(b: &BoardConfig) -> Result<(), Invalid> {
    let mut pins = vec![
        ("board.paper_near_end_pin", b.paper_near_end_pin),
        ("board.led_pin", b.led_pin),
        ("board.relay_pin", b.relay_pin),
    ];
    if let Some(pin) = b.ticket_taken_pin {
        pins.push(("board.ticket_taken_pin", pin));
    }
    for (i, (key, pin)) in pins.iter().enumerate() {
        if !(2..=27).contains(pin) {
            return Err(Invalid::new(
                *key,
                format!("{pin} is not a BCM GPIO number usable here (2-27)"),
            ));
        }
        if let Some((other, _)) = pins[..i].iter().find(|(_, p)| p == pin) {
            return Err(Invalid::new(
                *key,
                format!("pin {pin} is already used by `{other}`"),
            ));
        }
    }
    if let Some(chip) = &b.gpiochip
        && (chip.trim().is_empty() || chip.chars().any(char::is_control))
    {
        return Err(Invalid::new(
            "board.gpiochip",
            "must be a device path such as /dev/gpiochip0 or a chip label",
        ));
    }
    if b.debounce_ms > 1000 {
        return Err(Invalid::new(
            "board.debounce_ms",
            format!("{} is too long: at most 1000", b.debounce_ms),
        ));
    }
    Ok(())
}

/// The kiosk's link to its hub.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubLink {
    /// Base URL, `https://` in an office; `http://` is accepted only for loopback.
    pub url: String,
    /// SHA-256 fingerprint of the hub's certificate (hex, colons optional), pinned.
    pub certificate_sha256: Option<String>,
    /// One-time token used to enroll on first start.
    pub enrollment_token: Option<String>,
    /// Base URL phones use to follow a ticket (the QR code); the hub URL when unset.
    pub public_url: Option<String>,
    /// How long a citizen's ticket waits for the hub before it is numbered offline.
    pub ticket_timeout_ms: u64,
    /// Upper bound of any other request to the hub (sync, heartbeat, look-ups).
    pub request_timeout_ms: u64,
}

impl Default for HubLink {
    fn default() -> Self {
        HubLink {
            url: "http://127.0.0.1:8080".to_string(),
            certificate_sha256: None,
            enrollment_token: None,
            public_url: None,
            ticket_timeout_ms: 4000,
            request_timeout_ms: 10_000,
        }
    }
}

/// How long a visit may sit idle before the kiosk warns, and how long the warning lasts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Seconds without a touch before the "do you need more time?" warning.
    pub idle_seconds: u32,
    /// Seconds the warning stays up before the visit is wiped (at least 20).
    pub warning_seconds: u32,
    /// Whether the warning also sounds a chime on the kiosk's speaker.
    pub warning_sound: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_seconds: 60,
            warning_seconds: 30,
            warning_sound: true,
        }
    }
}

/// Accepts the URL forms the kiosk can use; `Err` says why not.
pub fn check_hub_url(url: &str) -> Result<(), String> {
    let (plain, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (true, rest)
    } else {
        return Err(format!(
            "`{url}` must start with https:// (or http:// for loopback)"
        ));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    if plain && !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!(
            "`{url}` uses plain http to a remote host: use https:// (plain http only for loopback)"
        ));
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Validate for KioskConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if !is_identifier(&self.kiosk_id) {
            return Err(Invalid::new(
                "kiosk_id",
                format!(
                    "`{}` must be 1-64 letters, digits, `-` or `_`",
                    self.kiosk_id
                ),
            ));
        }
        check_hub_url(&self.hub.url).map_err(|p| Invalid::new("hub.url", p))?;
        if let Some(url) = &self.hub.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Invalid::new(
                "hub.public_url",
                format!("`{url}` must start with https:// or http://"),
            ));
        }
        if !(200..=30_000).contains(&self.hub.ticket_timeout_ms) {
            return Err(Invalid::new(
                "hub.ticket_timeout_ms",
                "must be between 200 and 30000: a citizen is waiting",
            ));
        }
        if !(500..=120_000).contains(&self.hub.request_timeout_ms) {
            return Err(Invalid::new(
                "hub.request_timeout_ms",
                "must be between 500 and 120000",
            ));
        }
        let d = &self.display;
        if !(320..=8192).contains(&d.width_px) || !(320..=8192).contains(&d.height_px) {
            return Err(Invalid::new(
                "display.width_px",
                "width_px and height_px must be between 320 and 8192",
            ));
        }
        if !(50.0..=1000.0).contains(&d.width_mm) {
            return Err(Invalid::new(
                "display.width_mm",
                format!("{} mm is not a plausible panel width (50-1000)", d.width_mm),
            ));
        }
        if !ROTATIONS.contains(&d.rotation) {
            return Err(Invalid::new(
                "display.rotation",
                format!(
                    "{} is not one of {ROTATIONS:?} (degrees clockwise)",
                    d.rotation
                ),
            ));
        }
        if let Some(port) = &self.scanner.serial_port
            && !port.starts_with("/dev/")
        {
            return Err(Invalid::new(
                "scanner.serial_port",
                format!("`{port}` must be a device path such as /dev/ttyACM0"),
            ));
        }
        if let Some(pin) = &self.hub.certificate_sha256 {
            let hex: String = pin.chars().filter(|c| *c != ':').collect();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Invalid::new(
                    "hub.certificate_sha256",
                    "expected the 64 hex digits of a SHA-256 fingerprint (colons allowed)",
                ));
            }
        }
        if self.session.warning_seconds < 20 {
            return Err(Invalid::new(
                "session.warning_seconds",
                format!(
                    "{} is too short: a citizen needs at least 20 seconds to answer",
                    self.session.warning_seconds
                ),
            ));
        }
        validate_printer(&self.printer)?;
        validate_board(&self.board)?;
        if self.session.idle_seconds < 10 {
            return Err(Invalid::new(
                "session.idle_seconds",
                format!(
                    "{} is too short: use at least 10",
                    self.session.idle_seconds
                ),
            ));
        }
        Ok(())
    }
}

/// The hub's configuration (`hub.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub database: PathBuf,
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
    /// The identity provider citizens sign in with on their phone (`[oidc]`); without
    /// it the "my documents" flows are off and the kiosk API answers `login_unavailable`.
    pub oidc: Option<OidcConfig>,
    /// Lifetimes, rate limits and retention of citizen logins and certificates.
    pub auth: AuthConfig,
    /// Seconds a client may take to send a request's headers (each request, including
    /// the first on a new connection) before the hub drops the connection, so stalled
    /// or deliberately slow clients cannot tie up its connections. The clock starts when
    /// the previous answer is sent, so it is also how long an idle kept-alive connection
    /// stays open (kiosks open a fresh connection per request; browsers reconnect).
    pub client_header_seconds: u32,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("sportello-hub.sqlite"),
            office_name: "Sportello integrato INPS - Centro per l'impiego".to_string(),
            time_zone: "Europe/Rome".to_string(),
            services: None,
            counters: (1..=4).map(|n| format!("Sportello {n}")).collect(),
            tls: HubTls::default(),
            queue: QueueConfig::default(),
            sessions: OperatorSessions::default(),
            hours: HoursConfig::default(),
            oidc: None,
            auth: AuthConfig::default(),
            client_header_seconds: 10,
        }
    }
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
    /// Authentication context classes to request (e.g.
    /// `https://www.spid.gov.it/SpidL2`); when set, a login whose ID token carries
    /// another `acr` is refused.
    #[serde(default)]
    pub acr_values: Vec<String>,
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
    /// How many display numbers one band lease gives a kiosk per service.
    pub band_size: u32,
    /// Seconds after its last request that a kiosk stops counting as online.
    pub kiosk_online_seconds: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            default_service_minutes: 10,
            band_size: 10,
            kiosk_online_seconds: 90,
        }
    }
}

/// Clerk sessions (`[sessions]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorSessions {
    /// Minutes a clerk's login lasts (a shift); then the clerk logs in again.
    pub minutes: u32,
}

impl Default for OperatorSessions {
    fn default() -> Self {
        OperatorSessions { minutes: 9 * 60 }
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
        match self
            .services
            .keys()
            .find(|code| catalogue.service(code).is_none())
        {
            Some(code) => Err(Invalid::new(
                format!("hours.services.{code}"),
                format!("`{code}` is not a service code of the catalogue"),
            )),
            None => Ok(()),
        }
    }
}

impl Invalid {
    /// The dotted key at fault.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl Validate for HubConfig {
    fn validate(&self) -> Result<(), Invalid> {
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
        if !(1..=240).contains(&self.queue.default_service_minutes) {
            return Err(Invalid::new(
                "queue.default_service_minutes",
                "must be between 1 and 240",
            ));
        }
        if !(1..=100).contains(&self.queue.band_size) {
            return Err(Invalid::new("queue.band_size", "must be between 1 and 100"));
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
        if let Some(oidc) = &self.oidc {
            validate_oidc(oidc)?;
        }
        validate_auth(&self.auth)?;
        // With a `services` file the hub checks the codes against it when it starts.
        if self.services.is_none() {
            self.hours
                .check_services(&crate::catalogue::Catalogue::builtin())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let kiosk: KioskConfig = parse("", "kiosk.toml").unwrap();
        assert_eq!(kiosk, KioskConfig::default());
        let hub: HubConfig = parse("", "hub.toml").unwrap();
        assert_eq!(hub, HubConfig::default());
    }

    #[test]
    fn wrong_type_names_file_line_and_key() {
        let text = "kiosk_id = \"k1\"\n[session]\nidle_seconds = \"sixty\"\n";
        let err = parse::<KioskConfig>(text, "/etc/sportello/kiosk.toml").unwrap_err();
        assert_eq!(err.file, "/etc/sportello/kiosk.toml");
        assert_eq!(err.key.as_deref(), Some("session.idle_seconds"));
        assert_eq!(err.line, Some(3));
        assert!(
            err.problem.contains("u32") || err.problem.contains("integer"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_an_error() {
        let err = parse::<KioskConfig>("[hub]\nulr = \"x\"\n", "kiosk.toml").unwrap_err();
        assert!(err.to_string().contains("ulr"), "{err}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = parse::<KioskConfig>("kiosk_id = \n", "kiosk.toml").unwrap_err();
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn rules_name_their_key() {
        let err =
            parse::<KioskConfig>("[session]\nwarning_seconds = 5\n", "kiosk.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("session.warning_seconds"));
        let err =
            parse::<KioskConfig>("[hub]\nurl = \"http://10.0.0.2\"\n", "kiosk.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("hub.url"));
        let err = parse::<HubConfig>("time_zone = \"Europe/Roma\"\n", "hub.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "hub.toml, key `time_zone`: `Europe/Roma` is not an IANA time zone such as Europe/Rome"
        );
    }

    #[test]
    fn printer_and_board_sections() {
        let text = "[printer]\nprofile = \"epson-tm-t20iii\"\nport = \"/dev/ttyUSB0\"\nbaud = 9600\nflow_control = \"rtscts\"\n[board]\nkind = \"pi\"\nticket_taken_pin = 6\n";
        let kiosk: KioskConfig = parse(text, "kiosk.toml").unwrap();
        assert_eq!(kiosk.printer.flow_control, FlowControl::Rtscts);
        assert_eq!(kiosk.board.kind, BoardKind::Pi);
        assert_eq!(kiosk.board.ticket_taken_pin, Some(6));
        let key = |text: &str| parse::<KioskConfig>(text, "kiosk.toml").unwrap_err().key;
        assert_eq!(
            key("[printer]\nprofile = \"tm88\"\n").as_deref(),
            Some("printer.profile")
        );
        assert_eq!(
            key("[printer]\nbaud = 9601\n").as_deref(),
            Some("printer.baud")
        );
        assert_eq!(
            key("[printer]\nport = \"COM1\"\n").as_deref(),
            Some("printer.port")
        );
        assert_eq!(
            key("[printer]\nflow_control = \"dtrdsr\"\n").as_deref(),
            Some("printer.flow_control")
        );
        assert_eq!(
            key("[board]\nled_pin = 17\n").as_deref(),
            Some("board.led_pin")
        );
        assert_eq!(
            key("[board]\nrelay_pin = 40\n").as_deref(),
            Some("board.relay_pin")
        );
        assert_eq!(
            key("[board]\nkind = \"arduino\"\n").as_deref(),
            Some("board.kind")
        );
    }

    #[test]
    fn display_rotation_and_headless() {
        let kiosk: KioskConfig =
            parse("[display]\nrotation = 270\nheadless = true\n", "kiosk.toml").unwrap();
        assert_eq!(kiosk.display.rotation, 270);
        assert!(kiosk.display.headless);
        assert_eq!(KioskConfig::default().display.rotation, 0);
        assert!(!KioskConfig::default().display.headless);
        for bad in ["45", "360", "-90"] {
            let err = parse::<KioskConfig>(&format!("[display]\nrotation = {bad}\n"), "k.toml")
                .unwrap_err();
            assert_eq!(err.key.as_deref(), Some("display.rotation"), "{bad}: {err}");
        }
        let err = parse::<KioskConfig>("[display]\nheadless = \"yes\"\n", "k.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("display.headless"));
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
    fn the_hours_example_in_the_hub_template_is_valid() {
        let template = include_str!("../board/hub.toml");
        let start = template.find("# [hours]").unwrap();
        let example: Vec<&str> = template[start..]
            .lines()
            .map(|l| l.trim_start_matches("# "))
            .collect();
        let hub: HubConfig = parse(&example.join("\n"), "board/hub.toml").unwrap();
        assert!(hub.hours.last_ticket.is_some());
        assert_eq!(hub.hours.services.len(), 2);
    }

    #[test]
    fn oidc_and_auth_sections_name_their_keys() {
        let good = "[oidc]\nissuer = \"https://id.example.it\"\nclient_id = \"hub\"\nclient_secret = \"s3cret\"\n[auth]\nlink_seconds = 120\n";
        let hub: HubConfig = parse(good, "hub.toml").unwrap();
        let oidc = hub.oidc.unwrap();
        assert_eq!(oidc.scopes, ["openid", "profile"]);
        assert_eq!(oidc.fiscal_number_claim, "fiscal_number");
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
        let template = include_str!("../board/hub.toml");
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
    fn hub_urls() {
        assert!(check_hub_url("https://hub.ufficio.local:8443").is_ok());
        assert!(check_hub_url("http://127.0.0.1:8080").is_ok());
        assert!(check_hub_url("http://localhost/").is_ok());
        assert!(check_hub_url("http://hub.ufficio.local").is_err());
        assert!(check_hub_url("ftp://x").is_err());
        assert!(check_hub_url("https://").is_err());
        assert!(check_hub_url("http://[::1]:8080/").is_ok());
    }
}
