//! `kiosk.toml`: the kiosk's settings, their defaults and their rules.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Invalid, Validate, check_hub_url};
pub use crate::board::{BoardConfig, BoardKind};
use crate::lang::Lang;
pub use crate::printer::transport::FlowControl;

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
    /// Where a citizen finds help in this office.
    pub help: HelpConfig,
    /// Speech output for citizens who cannot see the screen.
    pub speech: SpeechConfig,
    /// Software updates from the hub into the other root slot.
    pub update: UpdateConfig,
}

/// Which root slots the updater works on (`[update] slots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotsKind {
    /// No A/B slots: the kiosk reports nothing and takes no update (a kiosk run by hand).
    #[default]
    None,
    /// RAUC on the A/B image (`rauc`, U-Boot's attempt counter).
    Rauc,
    /// Two slots kept in a file in the data directory: the demo and tests.
    Simulated,
}

/// Software updates (`[update]`): where they go and how long a new slot has to prove itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateConfig {
    /// none, rauc or simulated.
    pub slots: SlotsKind,
    /// After this, a new slot whose printer answered is marked good without the hub
    /// (the hub may be down; the kiosk works).
    pub hub_wait_seconds: u32,
    /// After this without being marked good, the kiosk restarts and the slot loses one of
    /// its boot attempts.
    pub confirm_within_seconds: u32,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            slots: SlotsKind::None,
            hub_wait_seconds: 300,
            confirm_within_seconds: 900,
        }
    }
}

/// Speech output (`[speech]`): espeak-ng played with `aplay` on two ALSA devices.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// Speak at all (speech mode still needs a headset, or the keypad's held centre key).
    pub enabled: bool,
    /// The headset jack's ALSA device: private sentences go only here. A USB audio
    /// adapter is usually `plughw:CARD=Device,DEV=0` (`aplay -L` lists them).
    pub headset_device: String,
    /// The loudspeaker's ALSA device.
    pub speaker_device: String,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            enabled: true,
            headset_device: "plughw:CARD=Device,DEV=0".into(),
            speaker_device: "default".into(),
        }
    }
}

/// Where to send a citizen the kiosk cannot help (`[help]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelpConfig {
    /// The front desk as people find it here, shown on problem pages after "Front desk:"
    /// (e.g. "piano terra, a destra dell'ingresso"). Empty: problem pages just say to ask
    /// at the front desk.
    pub front_desk: String,
}

/// Longest `[help] front_desk`: one line on the problem page.
pub const FRONT_DESK_MAX_CHARS: usize = 80;

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
    /// Height of the panel's visible lower edge above the floor, in millimetres: the UI
    /// keeps every control below 1220 mm from the floor (EN 301 549 8.3).
    pub lower_edge_mm: f32,
    /// The office's logo (PNG or SVG), shown before its name in the header.
    pub logo: Option<std::path::PathBuf>,
}

/// The rotations a panel can be mounted with, in degrees clockwise.
pub const ROTATIONS: [u16; 4] = [0, 90, 180, 270];

impl Default for DisplayConfig {
    fn default() -> Self {
        // A 21.5" full-HD totem panel in portrait, its lower edge 1 m from the floor.
        DisplayConfig {
            width_px: 1080,
            height_px: 1920,
            width_mm: 268.0,
            rotation: 0,
            headless: false,
            lower_edge_mm: 1000.0,
            logo: None,
        }
    }
}

/// The smallest picture, width × height in millimetres, the screens are laid out and
/// tested for (`tests/ui_layout.rs`): a 21.5" portrait panel is 268 × 476 mm. On a
/// 15.6" panel (194 × 344 mm) the same physical sizes do not fit.
pub const MIN_PANEL_MM: (f32, f32) = (260.0, 460.0);

impl DisplayConfig {
    /// Height of the picture in millimetres.
    pub fn height_mm(&self) -> f32 {
        self.height_px as f32 / self.px_per_mm()
    }

    /// Whether the picture is large enough for the screens (see [`MIN_PANEL_MM`]).
    pub fn fits_the_screens(&self) -> bool {
        self.width_mm >= MIN_PANEL_MM.0 && self.height_mm() >= MIN_PANEL_MM.1
    }

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
            language: Lang::IT,
            data_dir: PathBuf::from("sportello-data"),
            hub: HubLink::default(),
            session: SessionConfig::default(),
            printer: PrinterConfig::default(),
            board: BoardConfig::default(),
            display: DisplayConfig::default(),
            clock: ClockConfig::default(),
            scanner: ScannerConfig::default(),
            help: HelpConfig::default(),
            speech: SpeechConfig::default(),
            update: UpdateConfig::default(),
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
    if let Some(pin) = b.headset_pin {
        pins.push(("board.headset_pin", pin));
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

/// 1-64 ASCII letters, digits, `-` or `_`: a name safe in paths, logs and URLs.
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
        if !d.headless && !d.fits_the_screens() {
            return Err(Invalid::new(
                "display.width_mm",
                format!(
                    "the picture would be {:.0} × {:.0} mm: the screens need at least \
                     {:.0} × {:.0} mm (a 21.5\" panel in portrait) to show every text and \
                     button at the sizes a citizen can read and reach; smaller panels are \
                     not supported",
                    d.width_mm,
                    d.height_mm(),
                    MIN_PANEL_MM.0,
                    MIN_PANEL_MM.1
                ),
            ));
        }
        if !(300.0..=1200.0).contains(&d.lower_edge_mm) {
            return Err(Invalid::new(
                "display.lower_edge_mm",
                format!(
                    "{} mm is not a plausible height of the panel's lower edge (300-1200)",
                    d.lower_edge_mm
                ),
            ));
        }
        if let Some(logo) = &d.logo {
            let known = logo
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "svg"));
            if !known {
                return Err(Invalid::new(
                    "display.logo",
                    format!("{} is not a .png or .svg file", logo.display()),
                ));
            }
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
        let desk = &self.help.front_desk;
        if desk.chars().count() > FRONT_DESK_MAX_CHARS || desk.chars().any(char::is_control) {
            return Err(Invalid::new(
                "help.front_desk",
                format!("must be one line of at most {FRONT_DESK_MAX_CHARS} characters"),
            ));
        }
        let speech = &self.speech;
        if speech.enabled && speech.headset_device.trim() == speech.speaker_device.trim() {
            return Err(Invalid::new(
                "speech.headset_device",
                "is the speaker's device: private sentences (a codice fiscale) would be heard \
                 by everyone; name the headset jack's own device",
            ));
        }
        for (key, device) in [
            ("speech.headset_device", &speech.headset_device),
            ("speech.speaker_device", &speech.speaker_device),
        ] {
            if device.trim().is_empty() || device.chars().any(|c| c.is_control() || c == ' ') {
                return Err(Invalid::new(
                    key,
                    "must be an ALSA device name (see `aplay -L`)",
                ));
            }
        }
        validate_printer(&self.printer)?;
        validate_board(&self.board)?;
        let update = &self.update;
        if !(5..=86_400).contains(&update.confirm_within_seconds) {
            return Err(Invalid::new(
                "update.confirm_within_seconds",
                "must be between 5 and 86400",
            ));
        }
        if update.hub_wait_seconds == 0 || update.hub_wait_seconds > update.confirm_within_seconds {
            return Err(Invalid::new(
                "update.hub_wait_seconds",
                format!(
                    "must be at least 1 and at most confirm_within_seconds ({}): otherwise a \
                     kiosk whose hub is down could never be marked good",
                    update.confirm_within_seconds
                ),
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn empty_file_gives_defaults() {
        let kiosk: KioskConfig = parse("", "kiosk.toml").unwrap();
        assert_eq!(kiosk, KioskConfig::default());
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
    }

    #[test]
    fn update_section_rules_name_their_key() {
        let kiosk: KioskConfig = parse("[update]\nslots = \"simulated\"\n", "kiosk.toml").unwrap();
        assert_eq!(kiosk.update.slots, SlotsKind::Simulated);
        let err = parse::<KioskConfig>("[update]\nslots = \"grub\"\n", "kiosk.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("update.slots"));
        let text = "[update]\nhub_wait_seconds = 1000\nconfirm_within_seconds = 600\n";
        let err = parse::<KioskConfig>(text, "kiosk.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("update.hub_wait_seconds"));
        let err = parse::<KioskConfig>("[update]\nconfirm_within_seconds = 1\n", "kiosk.toml")
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("update.confirm_within_seconds"));
    }

    #[test]
    fn printer_and_board_sections() {
        let text = "[printer]\nprofile = \"epson-tm-t20iii\"\nport = \"/dev/ttyUSB0\"\nbaud = 9600\nflow_control = \"rtscts\"\n[board]\nkind = \"pi\"\nticket_taken_pin = 6\nheadset_pin = 16\nheadset_active_low = false\n";
        let kiosk: KioskConfig = parse(text, "kiosk.toml").unwrap();
        assert_eq!(kiosk.printer.flow_control, FlowControl::Rtscts);
        assert_eq!(kiosk.board.kind, BoardKind::Pi);
        assert_eq!(kiosk.board.ticket_taken_pin, Some(6));
        assert_eq!(kiosk.board.headset_pin, Some(16));
        assert!(!kiosk.board.headset_active_low);
        assert!(KioskConfig::default().board.headset_active_low);
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
            key("[board]\nheadset_pin = 1\n").as_deref(),
            Some("board.headset_pin")
        );
        assert_eq!(
            key("[board]\nticket_taken_pin = 6\nheadset_pin = 6\n").as_deref(),
            Some("board.headset_pin")
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
    fn a_panel_too_small_for_the_screens_is_refused() {
        // The 15.6" prototypes' panel in portrait: 194 mm across 1080 px.
        let small = parse::<KioskConfig>("[display]\nwidth_mm = 194.0\n", "k.toml").unwrap_err();
        assert_eq!(small.key.as_deref(), Some("display.width_mm"));
        assert!(small.to_string().contains("194 × 345 mm"), "{small}");
        // A 21.5" panel mounted landscape is too short for the portrait screens.
        let landscape = "[display]\nwidth_px = 1920\nheight_px = 1080\nwidth_mm = 476.0\n";
        assert!(parse::<KioskConfig>(landscape, "k.toml").is_err());
        // Without a screen the size does not matter; 23.8" and 21.5" are fine.
        let headless = "[display]\nwidth_mm = 194.0\nheadless = true\n";
        assert!(parse::<KioskConfig>(headless, "k.toml").is_ok());
        assert!(parse::<KioskConfig>("[display]\nwidth_mm = 296.0\n", "k.toml").is_ok());
        assert!(KioskConfig::default().display.fits_the_screens());
    }

    #[test]
    fn the_front_desk_pointer_is_one_short_line() {
        let kiosk: KioskConfig = parse(
            "[help]\nfront_desk = \"Accoglienza, piano terra\"\n",
            "k.toml",
        )
        .unwrap();
        assert_eq!(kiosk.help.front_desk, "Accoglienza, piano terra");
        let long = format!("[help]\nfront_desk = \"{}\"\n", "x".repeat(81));
        let err = parse::<KioskConfig>(&long, "k.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("help.front_desk"));
        let err = parse::<KioskConfig>("[help]\nfront_desk = \"a\\nb\"\n", "k.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("help.front_desk"));
    }
}
