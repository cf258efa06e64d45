//! `sportello doctor`: what a maintainer checks first on a kiosk that misbehaves.
//!
//! Each check prints one line (ok / warn / FAIL and why). It reads the store the running
//! kiosk writes (WAL allows a reader beside it) and never changes it; the printer is
//! asked directly only on request, since the running kiosk owns the serial port.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::clock::kernel_clock_synchronised;
use crate::config::kiosk::{KioskConfig, SystemClockTrust, VIRTUAL_PORT};
use crate::printer::profile::Profile;
use crate::printer::status;
use crate::printer::transport::SerialLink;
use crate::store::Store;
use crate::store::enrollment::{
    META_ENROLLED_WITH, META_KIOSK_ID, META_TOKEN, enrollment_token_hash,
};
use crate::sync::client::{HubClient, HubClientConfig};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but needs attention soon.
    Warn,
    /// Does not work.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub level: Level,
    /// What was found.
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        write!(f, "{level}  {:<9} {}", self.name, self.detail)
    }
}

fn check(name: &'static str, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name,
        level,
        detail: detail.into(),
    }
}

/// The name of the file that marks a data directory as used by a kiosk before; a
/// missing database beside it means the outbox was lost or the partition not mounted.
pub const MARKER: &str = ".sportello-kiosk";

/// Free space below which the store may soon fail to commit.
const LOW_DISK: u64 = 100 * 1024 * 1024;
/// Age of the oldest pending operation that deserves a look.
const OLD_PENDING: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Runs every check. `probe_printer` asks the printer itself (only when the kiosk is
/// stopped: it owns the port otherwise).
pub async fn run_checks(config: &KioskConfig, probe_printer: bool) -> Vec<Check> {
    let mut checks = vec![disk(&config.data_dir)];
    let store = store_checks(config, &mut checks);
    checks.push(clock(config));
    checks.push(hub(config, store.as_ref()).await);
    checks.push(printer(config, store.as_ref(), probe_printer));
    checks.push(speech(&config.speech));
    checks.push(fonts(&super::fonts::missing()));
    let saved = store
        .as_ref()
        .and_then(|s| super::updater::saved_update(s).ok().flatten());
    checks.push(update(config, saved.as_ref()));
    checks
}

/// Which root slot runs and how far the last update got (`[update] slots`).
fn update(config: &KioskConfig, saved: Option<&super::update::Update>) -> Check {
    use super::slots::{Rauc, SIMULATED_SLOTS_FILE, SimulatedSlots, Slots};
    use crate::config::kiosk::SlotsKind;
    use crate::protocol::UpdateState;
    let booted = match config.update.slots {
        SlotsKind::None => {
            return check(
                "update",
                Level::Ok,
                "no root slots ([update] slots = \"none\"): updates from the hub are not taken",
            );
        }
        SlotsKind::Rauc => Rauc.booted(),
        SlotsKind::Simulated => {
            SimulatedSlots::read(&config.data_dir.join(SIMULATED_SLOTS_FILE)).map(|b| b.booted)
        }
    };
    let slot = match booted {
        Ok(slot) => slot,
        Err(err) => {
            return check(
                "update",
                Level::Fail,
                format!("cannot tell which slot runs: {err}"),
            );
        }
    };
    let Some(update) = saved else {
        return check(
            "update",
            Level::Ok,
            format!("slot {slot}; no update taken yet"),
        );
    };
    let level = match update.state {
        UpdateState::RolledBack | UpdateState::Failed => Level::Warn,
        _ => Level::Ok,
    };
    let why = update
        .detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    check(
        "update",
        level,
        format!(
            "slot {slot}; version {} {}{why}",
            update.version,
            update.state.as_str().replace('_', " ")
        ),
    )
}

/// Every language's script fonts are on the image (`kiosk::fonts`); a missing one shows
/// its script as boxes and prints its raster receipts in Italian.
fn fonts(missing: &[super::fonts::MissingFont]) -> Check {
    if missing.is_empty() {
        return check("fonts", Level::Ok, "every language's fonts are installed");
    }
    let mut packages: Vec<&str> = missing.iter().map(|m| m.package).collect();
    packages.dedup();
    let mut langs: Vec<&str> = missing.iter().map(|m| m.lang.code()).collect();
    langs.dedup();
    check(
        "fonts",
        Level::Warn,
        format!(
            "{} missing ({}): install {}",
            missing
                .iter()
                .map(|m| m.path)
                .collect::<Vec<_>>()
                .join(", "),
            langs.join(", "),
            packages.join(" "),
        ),
    )
}

/// Speech works: espeak-ng renders a sentence, and both outputs' ALSA devices exist.
fn speech(config: &crate::config::kiosk::SpeechConfig) -> Check {
    use crate::speech::{Volume, espeak::Engine};
    if !config.enabled {
        return check(
            "speech",
            Level::Warn,
            "off ([speech] enabled = false): no voice guide for blind citizens",
        );
    }
    if let Err(err) = Engine::default().synthesize("Prova", crate::lang::Lang::IT, Volume::DEFAULT)
    {
        return check("speech", Level::Fail, err.to_string());
    }
    let listing = match std::process::Command::new("aplay").arg("-L").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).to_string(),
        Err(err) => {
            return check(
                "speech",
                Level::Fail,
                format!("cannot run aplay: {err} (is the alsa-utils package installed?)"),
            );
        }
    };
    let missing = missing_devices(
        &listing,
        &[
            ("headset", &config.headset_device),
            ("speaker", &config.speaker_device),
        ],
    );
    if missing.is_empty() {
        check(
            "speech",
            Level::Ok,
            format!(
                "espeak-ng speaks; headset on {}, speaker on {}",
                config.headset_device, config.speaker_device
            ),
        )
    } else {
        check(
            "speech",
            Level::Warn,
            format!(
                "{} not among the ALSA devices (`aplay -L`)",
                missing.join(", ")
            ),
        )
    }
}

/// The outputs whose device `aplay -L` does not list (its device names start a line;
/// `plughw:` devices are listed as their `hw:` twins).
fn missing_devices(listing: &str, outputs: &[(&str, &String)]) -> Vec<String> {
    let names: Vec<&str> = listing
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace))
        .map(str::trim)
        .collect();
    outputs
        .iter()
        .filter(|(_, device)| {
            let twin = device.replacen("plughw:", "hw:", 1);
            !names.iter().any(|n| *n == device.as_str() || *n == twin)
        })
        .map(|(output, device)| format!("the {output}'s device {device}"))
        .collect()
}

fn disk(dir: &Path) -> Check {
    match nix::sys::statvfs::statvfs(dir) {
        Ok(stat) => {
            let free: u64 = stat.blocks_available().saturating_mul(stat.fragment_size());
            let mb = free / (1024 * 1024);
            if free < LOW_DISK / 10 {
                check(
                    "disk",
                    Level::Fail,
                    format!(
                        "{} has {mb} MB free: the store cannot commit",
                        dir.display()
                    ),
                )
            } else if free < LOW_DISK {
                check(
                    "disk",
                    Level::Warn,
                    format!("{} has only {mb} MB free", dir.display()),
                )
            } else {
                check(
                    "disk",
                    Level::Ok,
                    format!("{} has {mb} MB free", dir.display()),
                )
            }
        }
        Err(err) => check("disk", Level::Fail, format!("{}: {err}", dir.display())),
    }
}

fn store_checks(config: &KioskConfig, checks: &mut Vec<Check>) -> Option<Store> {
    let path = config.data_dir.join("kiosk.sqlite");
    if !path.exists() {
        let level = if config.data_dir.join(MARKER).exists() {
            Level::Fail
        } else {
            Level::Warn
        };
        let detail = if level == Level::Fail {
            format!(
                "{} is missing although this kiosk ran before: data partition not mounted, or the file was removed (pending operations are lost)",
                path.display()
            )
        } else {
            format!("{} does not exist yet (first start)", path.display())
        };
        checks.push(check("store", level, detail));
        return None;
    }
    let store = match Store::open(&path) {
        Ok(store) => store,
        Err(err) => {
            checks.push(check(
                "store",
                Level::Fail,
                format!("{err}: keep the file for recovery"),
            ));
            return None;
        }
    };
    match store.integrity_check() {
        Ok(()) => checks.push(check(
            "store",
            Level::Ok,
            format!("{} is sound", path.display()),
        )),
        Err(problem) => checks.push(check(
            "store",
            Level::Fail,
            format!("integrity check: {problem}"),
        )),
    }
    match store.outbox_stats() {
        Ok(stats) => {
            let age = stats.oldest_pending_at.map(|at| Utc::now() - at);
            let detail = match age {
                Some(age) => format!(
                    "{} pending, oldest {} min old",
                    stats.pending,
                    age.num_minutes()
                ),
                None => "empty: everything reached the hub".to_string(),
            };
            let level = if age.is_some_and(|a| a > OLD_PENDING) {
                Level::Warn
            } else {
                Level::Ok
            };
            checks.push(check("outbox", level, detail));
        }
        Err(err) => checks.push(check("outbox", Level::Fail, err.to_string())),
    }
    Some(store)
}

fn clock(config: &KioskConfig) -> Check {
    let synced = kernel_clock_synchronised();
    match (synced, config.clock.trust_system) {
        (true, _) => check("clock", Level::Ok, "synchronised by NTP"),
        (false, SystemClockTrust::Always) => check(
            "clock",
            Level::Ok,
            "not NTP-synchronised, trusted by config (trust_system = always)",
        ),
        (false, _) => check(
            "clock",
            Level::Warn,
            "not NTP-synchronised: offline tickets wait until the hub has told the time",
        ),
    }
}

async fn hub(config: &KioskConfig, store: Option<&Store>) -> Check {
    let token = store.and_then(|s| s.meta(META_TOKEN).ok().flatten());
    let kiosk_id = store.and_then(|s| s.meta(META_KIOSK_ID).ok().flatten());
    let Some(token) = token else {
        let level = if config.hub.enrollment_token.is_some() {
            Level::Warn
        } else {
            Level::Fail
        };
        return check(
            "hub",
            level,
            format!(
                "not enrolled yet at {} (enrollment token {})",
                config.hub.url,
                if level == Level::Warn {
                    "configured"
                } else {
                    "missing in kiosk.toml"
                }
            ),
        );
    };
    let enrolled_with = store.and_then(|s| s.meta(META_ENROLLED_WITH).ok().flatten());
    if let (Some(configured), Some(enrolled_with)) = (&config.hub.enrollment_token, enrolled_with)
        && enrollment_token_hash(configured) != enrolled_with
    {
        return check(
            "hub",
            Level::Warn,
            format!(
                "kiosk.toml has a new enrollment token: enrolling again at {} (a replaced hub); \
                 the outbox waits until it has",
                config.hub.url
            ),
        );
    }
    let client = HubClient::new(HubClientConfig {
        certificate_sha256: config.hub.certificate_sha256.clone(),
        token: Some(token),
        timeout: Duration::from_secs(5),
        ..HubClientConfig::new(config.hub.url.clone())
    });
    let client = match client {
        Ok(client) => client,
        Err(err) => return check("hub", Level::Fail, err.to_string()),
    };
    let id = kiosk_id.unwrap_or_else(|| "?".into());
    match client.queues().await {
        Ok(_) => check(
            "hub",
            Level::Ok,
            format!("{} answers; enrolled as {id}", config.hub.url),
        ),
        Err(err) => check("hub", Level::Fail, format!("{}: {err}", config.hub.url)),
    }
}

fn printer(config: &KioskConfig, store: Option<&Store>, probe: bool) -> Check {
    if probe && config.printer.port != VIRTUAL_PORT {
        let profile = match Profile::named(&config.printer.profile) {
            Ok(p) => p,
            Err(err) => return check("printer", Level::Fail, err.to_string()),
        };
        let Some(settings) = super::printing::configured_port(&config.printer) else {
            return check("printer", Level::Fail, "no serial port configured");
        };
        return match SerialLink::open(&settings) {
            Ok(mut link) => {
                let state = status::query(&mut link, Duration::from_millis(800));
                let level = if state.can_print() {
                    Level::Ok
                } else {
                    Level::Fail
                };
                check(
                    "printer",
                    level,
                    format!("{} on {}: {state}", profile.name, config.printer.port),
                )
            }
            Err(err) => check("printer", Level::Fail, err.to_string()),
        };
    }
    match store.and_then(|s| s.meta(super::uplink::META_PRINTER_STATE).ok().flatten()) {
        Some(state) => {
            let level = match state.as_str() {
                "ready" => Level::Ok,
                "paper near end" => Level::Warn,
                _ => Level::Fail,
            };
            check(
                "printer",
                level,
                format!("last reported by the kiosk: {state} (--printer asks it now)"),
            )
        }
        None => check(
            "printer",
            Level::Warn,
            "no state reported yet (--printer asks it now)",
        ),
    }
}

/// Prints the report; the exit status is failure if any check failed.
pub fn report(checks: &[Check]) -> bool {
    for c in checks {
        println!("{c}");
    }
    checks.iter().all(|c| c.level != Level::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_line_names_the_slot_and_warns_of_a_rollback() {
        use crate::config::kiosk::SlotsKind;
        use crate::kiosk::update::Update;
        use crate::protocol::UpdateState;
        let dir = tempfile::tempdir().unwrap();
        let mut config = KioskConfig {
            data_dir: dir.path().to_path_buf(),
            ..KioskConfig::default()
        };
        assert_eq!(update(&config, None).level, Level::Ok);
        config.update.slots = SlotsKind::Simulated;
        let missing = update(&config, None);
        assert_eq!(missing.level, Level::Fail, "{missing}");
        crate::kiosk::slots::SimulatedSlots::open(
            &dir.path().join(crate::kiosk::slots::SIMULATED_SLOTS_FILE),
        )
        .unwrap();
        assert_eq!(update(&config, None).detail, "slot A; no update taken yet");
        let rolled_back = Update {
            version: "9.1.0".into(),
            sha256: "ab".repeat(32),
            state: UpdateState::RolledBack,
            from_slot: "A".into(),
            installed_in_boot: None,
            detail: Some("version 9.1.0 never became good; slot A runs again".into()),
        };
        let line = update(&config, Some(&rolled_back));
        assert_eq!(line.level, Level::Warn);
        assert!(
            line.detail
                .starts_with("slot A; version 9.1.0 rolled back: "),
            "{line}"
        );
    }

    #[test]
    fn a_missing_font_names_its_file_language_and_package() {
        use crate::kiosk::fonts::MissingFont;
        let ok = fonts(&[]);
        assert_eq!(ok.level, Level::Ok);
        let lang = crate::lang::Lang::EN;
        let missing = [
            MissingFont {
                lang,
                path: "/x/A.ttf",
                package: "fonts-x",
            },
            MissingFont {
                lang,
                path: "/x/B.ttf",
                package: "fonts-x",
            },
        ];
        let warn = fonts(&missing);
        assert_eq!(warn.level, Level::Warn);
        assert_eq!(
            warn.detail,
            "/x/A.ttf, /x/B.ttf missing (en): install fonts-x"
        );
    }

    #[test]
    fn speech_devices_are_looked_up_in_aplays_listing() {
        let listing = "null\n    Discard all samples\ndefault\n    Default\nhw:CARD=Device,DEV=0\n    USB Audio\n";
        let headset = "plughw:CARD=Device,DEV=0".to_string();
        let speaker = "default".to_string();
        let gone = "hw:CARD=Headphones,DEV=0".to_string();
        assert!(
            missing_devices(listing, &[("headset", &headset), ("speaker", &speaker)]).is_empty()
        );
        assert_eq!(
            missing_devices(listing, &[("headset", &gone)]),
            ["the headset's device hw:CARD=Headphones,DEV=0"]
        );
    }
}
