//! The kiosk's two root slots as the updater sees them (issue 18): which one runs, put a
//! bundle into the other, mark one good or bad, restart the board.
//!
//! [`Rauc`] asks RAUC on the A/B image, whose U-Boot script (`board/uboot/boot.cmd`)
//! spends one attempt of the first slot in `BOOT_ORDER` at every boot. [`SimulatedSlots`]
//! keeps the same three variables and the same boot rule in a file, for the demo and
//! the tests on a computer without slots: the updater runs the same code over either.
//! Which one is chosen by `[update] slots` in kiosk.toml, never by probing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// A slot operation that failed, in words for the log and the fleet page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SlotError(pub String);

/// Boot attempts a slot gets when it is installed or marked good (as RAUC's `uboot`
/// backend and boot.cmd have it).
pub const ATTEMPTS: u8 = 3;

/// The A/B root slots.
pub trait Slots: Send + Sync {
    /// The slot running now (`A` or `B`).
    fn booted(&self) -> Result<String, SlotError>;
    /// This boot's id: a different one later means the board restarted.
    fn boot_id(&self) -> Result<String, SlotError>;
    /// Checks and writes the bundle into the other slot and makes that slot boot next.
    /// Blocking: minutes on a card.
    fn install(&self, bundle: &Path) -> Result<(), SlotError>;
    /// The running slot works: it keeps its attempts.
    fn mark_good(&self) -> Result<(), SlotError>;
    /// The other slot failed: the running one boots first again and the other not at all.
    fn mark_rolled_back(&self) -> Result<(), SlotError>;
    /// Restarts the board (the bootloader decides where it comes up).
    fn restart(&self) -> Result<(), SlotError>;
}

/// The other slot's name.
fn other(slot: &str) -> &'static str {
    if slot == "A" { "B" } else { "A" }
}

/// The file in the kiosk's runtime directory that asks the image to reboot.
pub const REBOOT_REQUEST: &str = "reboot";

/// The file in the kiosk's runtime directory where the image's install check
/// (`board/rauc/install-check`, RAUC's pre-install handler) writes why it refused a
/// bundle: RAUC's own error says only "Pre-install handler error: Child process exited
/// with code 10".
pub const CHECK_REFUSAL: &str = "install-check-refusal";

/// The install check's reason from `refusal` in place of RAUC's "Pre-install handler
/// error", when the check left one: the hub keeps 200 characters of a kiosk's reason, and
/// RAUC's words say nothing the check's do not.
pub fn with_check_refusal(err: SlotError, refusal: Option<&Path>) -> SlotError {
    let Some(reason) = refusal.and_then(|path| std::fs::read_to_string(path).ok()) else {
        return err;
    };
    let reason: String = reason.trim().chars().take(300).collect();
    if reason.is_empty() {
        return err;
    }
    SlotError(format!(
        "installing the update: the kiosk's check refused it: {reason}"
    ))
}

/// RAUC on the kiosk image (`board/rauc/system.conf`).
#[derive(Debug, Clone, Default)]
pub struct Rauc;

impl Rauc {
    fn run(what: &str, program: &str, args: &[&str]) -> Result<String, SlotError> {
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| SlotError(format!("{what}: cannot run {program}: {e}")))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let reason = rauc_failure_reason(
            &String::from_utf8_lossy(&output.stdout),
            &String::from_utf8_lossy(&output.stderr),
        );
        // The command without its paths: the bundle's long name would crowd out the reason
        // on the fleet page.
        let command: Vec<&str> = std::iter::once(program)
            .chain(args.iter().copied().filter(|a| !a.starts_with('/')))
            .collect();
        Err(SlotError(format!(
            "{what}: {} failed ({}): {}",
            command.join(" "),
            output.status,
            reason.chars().take(300).collect::<String>()
        )))
    }
}

/// Why a `rauc` command failed, from what it printed. `rauc install` reports the service's
/// progress lines (`installing `…`: signature verification failed: …`), may print the
/// service's `LastError: …`, and ends with a bare "Installing `…` failed", which says
/// nothing; other commands end with the reason.
pub fn rauc_failure_reason(stdout: &str, stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(last_error) = lines
        .iter()
        .find_map(|l| l.split_once("LastError:").map(|(_, r)| r.trim()))
    {
        return last_error.to_string();
    }
    if let Some(reason) = lines.iter().rev().find(|l| l.contains("failed:")) {
        // Without the "installing `<bundle>`: " in front.
        return reason
            .split_once("`: ")
            .map_or(*reason, |(_, r)| r)
            .to_string();
    }
    stderr
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

impl Slots for Rauc {
    fn booted(&self) -> Result<String, SlotError> {
        let json = Rauc::run(
            "which slot runs",
            "rauc",
            &["status", "--output-format=json"],
        )?;
        booted_from_status(&json)
    }

    fn boot_id(&self) -> Result<String, SlotError> {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|id| id.trim().to_string())
            .map_err(|e| SlotError(format!("cannot read the boot id: {e}")))
    }

    fn install(&self, bundle: &Path) -> Result<(), SlotError> {
        let path = bundle.to_string_lossy();
        let refusal =
            std::env::var_os("RUNTIME_DIRECTORY").map(|dir| Path::new(&dir).join(CHECK_REFUSAL));
        if let Some(old) = &refusal {
            // A reason left by an earlier bundle must not be read as this one's.
            let _ = std::fs::remove_file(old);
        }
        Rauc::run("installing the update", "rauc", &["install", &path])
            .map(drop)
            .map_err(|err| with_check_refusal(err, refusal.as_deref()))
    }

    fn mark_good(&self) -> Result<(), SlotError> {
        Rauc::run(
            "marking this slot good",
            "rauc",
            &["status", "mark-good", "booted"],
        )
        .map(drop)
    }

    fn mark_rolled_back(&self) -> Result<(), SlotError> {
        Rauc::run(
            "making this slot boot first",
            "rauc",
            &["status", "mark-active", "booted"],
        )?;
        Rauc::run(
            "marking the failed slot bad",
            "rauc",
            &["status", "mark-bad", "other"],
        )
        .map(drop)
    }

    /// The kiosk service runs unprivileged and may not reboot the board: under systemd it
    /// asks by creating `reboot` in its runtime directory (`/run/sportello-kiosk`), which
    /// `sportello-reboot.path` on the image watches. Run by hand as root, it reboots.
    fn restart(&self) -> Result<(), SlotError> {
        match std::env::var_os("RUNTIME_DIRECTORY") {
            Some(dir) => {
                let request = Path::new(&dir).join(REBOOT_REQUEST);
                std::fs::write(&request, b"update\n").map_err(|e| {
                    SlotError(format!(
                        "restarting: cannot write {}: {e}",
                        request.display()
                    ))
                })
            }
            None => Rauc::run("restarting", "systemctl", &["reboot"]).map(drop),
        }
    }
}

/// The `booted` field of `rauc status --output-format=json` (the slot's bootname).
pub fn booted_from_status(json: &str) -> Result<String, SlotError> {
    #[derive(Deserialize)]
    struct Status {
        booted: Option<String>,
    }
    let status: Status = serde_json::from_str(json)
        .map_err(|e| SlotError(format!("rauc status said something unexpected: {e}")))?;
    match status.booted.as_deref() {
        Some(slot @ ("A" | "B")) => Ok(slot.to_string()),
        Some(other) => Err(SlotError(format!(
            "rauc says slot `{other}` runs; the image's slots are A and B"
        ))),
        None => Err(SlotError(
            "rauc cannot tell which slot runs (no `booted`): is this the A/B image?".into(),
        )),
    }
}

/// What [`SimulatedSlots`] keeps in its file: the bootloader's variables, what each slot
/// holds, and whether a restart was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedBoard {
    /// `BOOT_ORDER`.
    pub order: Vec<String>,
    /// `BOOT_A_LEFT`, `BOOT_B_LEFT`.
    pub left: BTreeMap<String, u8>,
    /// The slot running.
    pub booted: String,
    /// The current boot.
    pub boot_id: String,
    /// The version installed in each slot.
    pub versions: BTreeMap<String, String>,
    /// A restart was asked for and has not happened yet.
    pub restart_requested: bool,
    /// Boots so far (for tests and the demo's log).
    pub boots: u32,
}

impl SimulatedBoard {
    fn new() -> SimulatedBoard {
        SimulatedBoard {
            order: vec!["A".into(), "B".into()],
            left: [("A".into(), ATTEMPTS), ("B".into(), ATTEMPTS)].into(),
            booted: "A".into(),
            boot_id: String::new(),
            versions: [("A".into(), env!("CARGO_PKG_VERSION").into())].into(),
            restart_requested: false,
            boots: 0,
        }
    }

    /// One power-on, by boot.cmd's rule: the first slot in the order with an attempt
    /// left spends one and boots; with none left, both get their attempts back.
    pub fn boot(&mut self) {
        let chosen = self
            .order
            .iter()
            .find(|slot| self.left.get(*slot).copied().unwrap_or(0) > 0)
            .cloned();
        let slot = match chosen {
            Some(slot) => slot,
            None => {
                self.left = [("A".into(), ATTEMPTS), ("B".into(), ATTEMPTS)].into();
                self.order.first().cloned().unwrap_or_else(|| "A".into())
            }
        };
        if let Some(left) = self.left.get_mut(&slot) {
            *left = left.saturating_sub(1);
        }
        self.booted = slot;
        self.boot_id = uuid::Uuid::new_v4().to_string();
        self.restart_requested = false;
        self.boots += 1;
    }
}

/// Two slots in a file (`<data_dir>/simulated-slots.json`): opening it after a restart
/// was asked for is the board coming up again.
#[derive(Debug)]
pub struct SimulatedSlots {
    path: PathBuf,
    board: std::sync::Mutex<SimulatedBoard>,
}

/// The simulated board's file in the kiosk's data directory.
pub const SIMULATED_SLOTS_FILE: &str = "simulated-slots.json";

/// The first line a simulated bundle must start with; the next says its version.
pub const SIMULATED_BUNDLE_MAGIC: &str = "sportello simulated bundle";

impl SimulatedSlots {
    /// Opens the simulated board, booting it when it was off (first start, or a restart
    /// was asked for).
    pub fn open(path: &Path) -> Result<SimulatedSlots, SlotError> {
        let mut board = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                SlotError(format!("{} is not a simulated board: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut board = SimulatedBoard::new();
                board.restart_requested = true;
                board
            }
            Err(e) => return Err(SlotError(format!("{}: {e}", path.display()))),
        };
        if board.restart_requested {
            board.boot();
            tracing::info!(slot = %board.booted, boot = board.boots, "simulated board booted");
        }
        let slots = SimulatedSlots {
            path: path.to_path_buf(),
            board: std::sync::Mutex::new(board),
        };
        slots.change(|_| Ok(()))?;
        Ok(slots)
    }

    /// The board as it stands.
    pub fn board(&self) -> SimulatedBoard {
        self.board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the board's file without booting it (for tests and `doctor`).
    pub fn read(path: &Path) -> Result<SimulatedBoard, SlotError> {
        let bytes =
            std::fs::read(path).map_err(|e| SlotError(format!("{}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| SlotError(format!("{} is not a simulated board: {e}", path.display())))
    }

    /// Applies `edit` and saves the board (write to a temporary file, then rename).
    fn change(
        &self,
        edit: impl FnOnce(&mut SimulatedBoard) -> Result<(), SlotError>,
    ) -> Result<(), SlotError> {
        let mut board = self
            .board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut edited = board.clone();
        edit(&mut edited)?;
        let json = serde_json::to_vec_pretty(&edited)
            .map_err(|e| SlotError(format!("cannot save the simulated board: {e}")))?;
        let partial = self.path.with_extension("json.part");
        std::fs::write(&partial, json)
            .and_then(|()| std::fs::rename(&partial, &self.path))
            .map_err(|e| SlotError(format!("{}: {e}", self.path.display())))?;
        *board = edited;
        Ok(())
    }
}

/// The version a simulated bundle carries: its first line is
/// [`SIMULATED_BUNDLE_MAGIC`], its second `version=<v>`.
pub fn simulated_bundle_version(bundle: &Path) -> Result<String, SlotError> {
    let text = std::fs::read(bundle)
        .map_err(|e| SlotError(format!("cannot read {}: {e}", bundle.display())))?;
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
    let mut lines = text.lines();
    if lines.next() != Some(SIMULATED_BUNDLE_MAGIC) {
        return Err(SlotError(format!(
            "{} is not a simulated bundle (this kiosk has simulated slots)",
            bundle.display()
        )));
    }
    lines
        .next()
        .and_then(|l| l.strip_prefix("version="))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| SlotError("the simulated bundle names no version".into()))
}

impl Slots for SimulatedSlots {
    fn booted(&self) -> Result<String, SlotError> {
        Ok(self.board().booted)
    }

    fn boot_id(&self) -> Result<String, SlotError> {
        Ok(self.board().boot_id)
    }

    fn install(&self, bundle: &Path) -> Result<(), SlotError> {
        let version = simulated_bundle_version(bundle)?;
        self.change(|board| {
            let target = other(&board.booted).to_string();
            board.versions.insert(target.clone(), version);
            board.left.insert(target.clone(), ATTEMPTS);
            board.order = vec![target.clone(), board.booted.clone()];
            Ok(())
        })
    }

    fn mark_good(&self) -> Result<(), SlotError> {
        self.change(|board| {
            board.left.insert(board.booted.clone(), ATTEMPTS);
            Ok(())
        })
    }

    fn mark_rolled_back(&self) -> Result<(), SlotError> {
        self.change(|board| {
            let running = board.booted.clone();
            board.left.insert(running.clone(), ATTEMPTS);
            board.left.insert(other(&running).to_string(), 0);
            board.order = vec![running.clone(), other(&running).to_string()];
            Ok(())
        })
    }

    fn restart(&self) -> Result<(), SlotError> {
        tracing::warn!(
            "simulated board: restart asked for; it happens when the kiosk starts again"
        );
        self.change(|board| {
            board.restart_requested = true;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_by_the_install_check_carries_its_reason() {
        let rauc = SlotError(
            "installing the update: rauc install failed (exit status: 1): Pre-install handler \
             error: Child process exited with code 10"
                .into(),
        );
        let dir = tempfile::tempdir().unwrap();
        let refusal = dir.path().join(CHECK_REFUSAL);
        // No file: RAUC's words alone.
        assert_eq!(with_check_refusal(rauc.clone(), Some(&refusal)), rauc);
        assert_eq!(with_check_refusal(rauc.clone(), None), rauc);
        std::fs::write(
            &refusal,
            "a downgrade is refused: bundle 1.1 is older than the running 1.2\n",
        )
        .unwrap();
        let err = with_check_refusal(rauc, Some(&refusal)).to_string();
        assert_eq!(
            err,
            "installing the update: the kiosk's check refused it: a downgrade is refused: \
             bundle 1.1 is older than the running 1.2"
        );
    }

    #[test]
    fn a_refused_install_reports_rauc_s_reason_not_its_last_line() {
        // The reason as RAUC's service logged it on the image for a bundle signed by another
        // CA, and the client's closing line; the client's exact shape is assumed (either a
        // LastError line or the progress line carries the reason).
        let reason =
            "signature verification failed: Verify error: unable to get local issuer certificate";
        let closing = "Installing `/var/lib/sportello/update/26c3.raucb` failed\n";
        let progress = format!(
            "installing `/var/lib/sportello/update/26c3.raucb`: Checking and mounting bundle...\n\
             installing `/var/lib/sportello/update/26c3.raucb`: {reason}\n"
        );
        assert_eq!(rauc_failure_reason(&progress, closing), reason);
        let with_last_error = format!("{progress}LastError: {reason}\n");
        assert_eq!(rauc_failure_reason(&with_last_error, closing), reason);
        assert_eq!(
            rauc_failure_reason("", "rauc: D-Bus error\nmarking the slot: no such slot\n\n"),
            "marking the slot: no such slot"
        );
    }

    fn bundle(dir: &Path, version: &str) -> PathBuf {
        let path = dir.join(format!("{version}.raucb"));
        std::fs::write(
            &path,
            format!("{SIMULATED_BUNDLE_MAGIC}\nversion={version}\n"),
        )
        .unwrap();
        path
    }

    fn power_on(path: &Path) -> SimulatedSlots {
        SimulatedSlots::open(path).unwrap()
    }

    #[test]
    fn an_installed_slot_boots_next_and_falls_back_after_its_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slots.json");
        let slots = power_on(&path);
        assert_eq!(slots.booted().unwrap(), "A");
        slots.mark_good().unwrap();
        slots.install(&bundle(dir.path(), "2.0.0")).unwrap();
        slots.restart().unwrap();
        // Three boots into B that never mark it good, then A again.
        for _ in 0..ATTEMPTS {
            let slots = power_on(&path);
            assert_eq!(slots.booted().unwrap(), "B");
            slots.restart().unwrap();
        }
        let slots = power_on(&path);
        assert_eq!(slots.booted().unwrap(), "A");
        slots.mark_rolled_back().unwrap();
        let board = slots.board();
        assert_eq!(board.left["B"], 0);
        assert_eq!(board.versions["B"], "2.0.0");
        slots.restart().unwrap();
        assert_eq!(power_on(&path).booted().unwrap(), "A");
    }

    #[test]
    fn a_slot_marked_good_keeps_booting_and_a_service_restart_is_not_a_boot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slots.json");
        let slots = power_on(&path);
        slots.install(&bundle(dir.path(), "2.0.0")).unwrap();
        slots.restart().unwrap();
        let slots = power_on(&path);
        let boot = slots.boot_id().unwrap();
        assert_eq!(slots.booted().unwrap(), "B");
        slots.mark_good().unwrap();
        // Only the kiosk's service restarted: same boot.
        assert_eq!(power_on(&path).boot_id().unwrap(), boot);
        for _ in 0..5 {
            let slots = power_on(&path);
            slots.mark_good().unwrap();
            slots.restart().unwrap();
        }
        assert_eq!(power_on(&path).booted().unwrap(), "B");
    }

    #[test]
    fn anything_but_a_simulated_bundle_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slots.json");
        let slots = power_on(&path);
        let before = slots.board();
        let junk = dir.path().join("junk.raucb");
        std::fs::write(&junk, b"hsqs\x00\x01garbage").unwrap();
        let err = slots.install(&junk).unwrap_err();
        assert!(err.0.contains("not a simulated bundle"), "{err}");
        assert_eq!(slots.board(), before);
        assert!(SimulatedSlots::open(&dir.path().join("nope/x.json")).is_err());
        std::fs::write(&path, b"{").unwrap();
        let err = SimulatedSlots::open(&path).unwrap_err();
        assert!(err.0.contains("not a simulated board"), "{err}");
    }

    #[test]
    fn rauc_status_names_the_booted_slot_or_says_why_not() {
        let status = r#"{"compatible":"sportello-kiosk-rpi4","variant":"","booted":"B","boot_primary":"rootfs.1","slots":[]}"#;
        assert_eq!(booted_from_status(status).unwrap(), "B");
        assert!(
            booted_from_status(r#"{"booted":null}"#)
                .unwrap_err()
                .0
                .contains("A/B image")
        );
        assert!(booted_from_status(r#"{"booted":"rootfs.0"}"#).is_err());
        assert!(booted_from_status("not json").is_err());
    }
}
