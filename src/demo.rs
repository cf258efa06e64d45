//! `sportello demo`: the whole product on one laptop.
//!
//! A hub on loopback with a demo office (a clerk `demo` / `demo-password`, a manager
//! `direttrice` / `direttrice-password` and three weeks of past tickets for the reports,
//! two bookings for today), a kiosk enrolled to it with the virtual printer and the simulated board,
//! the kiosk window, and a window with each printed receipt. The hub's counter page
//! (opened in the browser when one is available) calls the tickets.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slint::ComponentHandle;

use crate::config::hub::{Database, HubConfig, TlsMode};
use crate::config::kiosk::{KioskConfig, SystemClockTrust};
use crate::hub::{self, admin, clock::SystemClock};
use crate::kiosk::run;
use crate::sync::worker::Intervals;
use crate::ui::ReceiptWindow;

/// Demo options from the command line.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the demo keeps its files (wiped at start).
    pub dir: PathBuf,
    /// Hub port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Do not try to open the counter page in a browser.
    pub no_browser: bool,
}

/// Bookings the demo office has today (code, time, service).
const DEMO_BOOKINGS: &str = "DEMO1,09:00,naspi\nDEMO2,10:30,did-patto\n";

/// Runs the demo until the kiosk window closes.
pub fn run(options: DemoOptions) -> Result<(), String> {
    let dir = &options.dir;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut hub_config = demo_hub_config(dir, options.port);
    let (token, bookings_day) = prepare_office(&hub_config, dir)?;
    // Bind first: the identity provider must know the hub's callback address.
    let listener = std::net::TcpListener::bind(hub_config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", hub_config.listen))?;
    let hub_port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let provider = IdentityProvider::start(hub_port);
    match &provider {
        Ok(p) => hub_config.oidc = Some(p.config()),
        Err(why) => println!("  (\"my documents\" is off in this demo: {why})"),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let location = hub::store::Location::of(&hub_config);
    let hub = runtime
        .block_on(hub::start_on(hub_config, Arc::new(SystemClock), listener))
        .map_err(|e| format!("demo hub: {e}"))?;
    if provider.is_ok() {
        let records = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/records.csv");
        let today = chrono::Utc::now().date_naive();
        if let Err(err) = hub::records::import_file(&location, &records, today, false, false) {
            println!("  (example records not imported: {err})");
        }
    }
    let hub_url = hub.url.clone();
    let counter_url = format!("{hub_url}/counter");
    println!("Sportello demo");
    println!("  hub:      {hub_url} (bookings DEMO1, DEMO2 for {bookings_day})");
    println!("  counter:  {counter_url}   (clerk demo / demo-password)");
    println!("  display:  {hub_url}/display");
    println!("  fleet:    {hub_url}/fleet");
    println!("  reports:  {hub_url}/reports   (manager direttrice / direttrice-password)");
    println!("  receipts: {}", dir.join("kiosk/receipts").display());
    if provider.is_ok() {
        println!(
            "  my documents: touch \"I miei documenti\", open the link shown beside the kiosk,"
        );
        println!("                sign in as giulia / giulia-password (the \"phone\")");
    }

    let kiosk_config = demo_kiosk_config(dir, &hub_url, token);
    let kiosk = run::start(kiosk_config, Intervals::default()).map_err(|e| e.to_string())?;
    if !options.no_browser {
        open_in_browser(&counter_url);
    }
    let (app, _controller) = kiosk.window()?;
    let receipts = ReceiptWindow::new().map_err(|e| e.to_string())?;
    receipts.set_counter_url(counter_url.into());
    receipts.set_caption("Take a ticket on the kiosk: it appears here.".into());
    let watcher = watch_receipts(&receipts, kiosk.receipts_dir.clone(), app.as_weak());
    // The receipts first, so the kiosk window is shown last and has the keyboard focus
    // (a USB barcode scanner types into it).
    receipts.show().map_err(|e| e.to_string())?;
    app.show().map_err(|e| e.to_string())?;
    // Beside the kiosk, as the paper comes out beside the screen; sizes are settled once
    // the windows are mapped.
    let (kiosk, beside) = (app.as_weak(), receipts.as_weak());
    slint::Timer::single_shot(Duration::from_millis(300), move || {
        if let (Some(kiosk), Some(beside)) = (kiosk.upgrade(), beside.upgrade()) {
            let width = kiosk.window().size().width as i32;
            beside
                .window()
                .set_position(slint::PhysicalPosition::new(width + 16, 0));
        }
    });
    let result = slint::run_event_loop().map_err(|e| e.to_string());
    drop(watcher);
    runtime.block_on(hub.shutdown());
    result
}

fn demo_hub_config(dir: &Path, port: u16) -> HubConfig {
    let mut config = HubConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        database: Database::sqlite(dir.join("hub.sqlite")),
        office_name: "Sportello integrato INPS - Centro per l'impiego (demo)".to_string(),
        ..HubConfig::default()
    };
    config.tls.mode = TlsMode::Off;
    // Where to wait, as an office would set it: the INPS room for INPS services.
    config.waiting.area = Some("Sala d'attesa, piano terra".to_string());
    for code in [
        "naspi",
        "estratto-conto",
        "certificazioni-inps",
        "isee",
        "informazioni-inps",
    ] {
        config.waiting.services.insert(
            code.to_string(),
            "Sala INPS, piano terra (sportelli 1-4)".to_string(),
        );
    }
    config
}

/// Creates the clerk, the kiosk's enrollment token and today's bookings.
fn prepare_office(config: &HubConfig, dir: &Path) -> Result<(String, String), String> {
    let location = hub::store::Location::of(config);
    let catalogue = hub::load_catalogue(config).map_err(|e| e.to_string())?;
    admin::add_operator(&location, "demo", "demo-password").map_err(|e| e.to_string())?;
    // A manager, and three weeks of past tickets so the reports page has something to show.
    admin::add_operator(&location, "direttrice", "direttrice-password")
        .and_then(|_| admin::set_role(&location, "direttrice", "manager"))
        .map_err(|e| e.to_string())?;
    hub::sample_history::fill(&location, &catalogue, 21, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    let token = admin::create_enrollment_token(&location).map_err(|e| e.to_string())?;
    let tz: chrono_tz::Tz = config.time_zone.parse().unwrap_or(chrono_tz::Europe::Rome);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let bookings = dir.join("bookings.csv");
    std::fs::write(&bookings, DEMO_BOOKINGS).map_err(|e| e.to_string())?;
    admin::import_appointments(&location, &catalogue, &bookings, today)
        .map_err(|e| e.to_string())?;
    Ok((token, today.to_string()))
}

fn demo_kiosk_config(dir: &Path, hub_url: &str, token: String) -> KioskConfig {
    let mut config = KioskConfig {
        kiosk_id: "demo-kiosk".to_string(),
        data_dir: dir.join("kiosk"),
        ..KioskConfig::default()
    };
    config.hub.url = hub_url.to_string();
    config.hub.enrollment_token = Some(token);
    // A laptop has a battery clock.
    config.clock.trust_system = SystemClockTrust::Always;
    config.help.front_desk = "piano terra, a destra dell'ingresso".to_string();
    config
}

fn open_in_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        println!("  (open the counter page in a browser to call tickets)");
    }
}

/// Shows the newest PNG of `dir` in the receipt window, and the kiosk's sign-in link (a
/// laptop has no phone camera), checking twice a second.
fn watch_receipts(
    window: &ReceiptWindow,
    dir: PathBuf,
    kiosk: slint::Weak<crate::ui::KioskWindow>,
) -> slint::Timer {
    let timer = slint::Timer::default();
    let weak = window.as_weak();
    let mut shown: Option<PathBuf> = None;
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(500),
        move || {
            if let (Some(window), Some(kiosk)) = (weak.upgrade(), kiosk.upgrade()) {
                window.set_login_link(kiosk.global::<crate::ui::Kiosk>().get_login_link());
            }
            let newest = newest_png(&dir);
            if newest.is_some()
                && newest != shown
                && let (Some(path), Some(window)) = (&newest, weak.upgrade())
                && let Ok(image) = slint::Image::load_from_path(path)
            {
                window.set_receipt(image);
                window.set_caption(
                    format!(
                        "Printed: {}",
                        path.file_name().and_then(|n| n.to_str()).unwrap_or("")
                    )
                    .into(),
                );
                shown = newest;
            }
        },
    );
    timer
}

fn newest_png(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

/// The local OpenID Connect provider (`scripts/oidc-provider`), playing SPID/CIE for the
/// demo; stopped with the demo.
struct IdentityProvider {
    issuer: String,
    child: std::process::Child,
}

impl IdentityProvider {
    /// Starts it for a hub on `hub_port`; `Err` says why "my documents" is off.
    fn start(hub_port: u16) -> Result<IdentityProvider, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oidc-provider");
        if !script.exists() {
            return Err(
                "scripts/oidc-provider not found (run the demo from the source tree)".into(),
            );
        }
        let mut child = std::process::Command::new(&script)
            .env(
                "REDIRECT_URIS",
                format!("http://127.0.0.1:{hub_port}/login/callback"),
            )
            .env("CLIENT_ID", DEMO_CLIENT_ID)
            .env("CLIENT_SECRET", DEMO_CLIENT_SECRET)
            .env("PORT", "0")
            .env("EXIT_ON_STDIN_CLOSE", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stdout = child.stdout.take().ok_or("no output from the provider")?;
        let mut first = String::new();
        let read = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first);
        let issuer = read
            .ok()
            .and_then(|_| serde_json::from_str::<serde_json::Value>(&first).ok())
            .and_then(|v| v["issuer"].as_str().map(str::to_string));
        match issuer {
            Some(issuer) => Ok(IdentityProvider { issuer, child }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(
                    "the identity provider did not start (Node.js and npm: run scripts/setup)"
                        .into(),
                )
            }
        }
    }

    fn config(&self) -> crate::config::hub::OidcConfig {
        crate::config::hub::OidcConfig {
            issuer: self.issuer.clone(),
            client_id: DEMO_CLIENT_ID.to_string(),
            client_secret: Some(DEMO_CLIENT_SECRET.to_string()),
            client_secret_file: None,
            redirect_base: None,
            scopes: vec!["openid".into(), "profile".into()],
            fiscal_number_claim: "fiscal_number".into(),
            acr_values: Vec::new(),
        }
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client the demo provider knows the hub as (not a secret: demo only).
const DEMO_CLIENT_ID: &str = "sportello-hub";
const DEMO_CLIENT_SECRET: &str = "sportello-demo-secret";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Validate;

    #[test]
    fn the_demo_office_has_a_manager_and_weeks_of_history() {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_hub_config(dir.path(), 0);
        prepare_office(&config, dir.path()).unwrap();
        let location = hub::store::Location::of(&config);
        let conn = hub::store::connect(&location).unwrap();
        let sql = conn.sql();
        let role: String = sql
            .query_one(
                "SELECT role FROM operators WHERE name = 'direttrice'",
                crate::hub::sql::args![],
            )
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(role, "manager");
        let past: i64 = sql
            .query_one(
                "SELECT count(DISTINCT day) FROM tickets WHERE kiosk_id = 'demo-history'",
                crate::hub::sql::args![],
            )
            .unwrap()
            .get(0)
            .unwrap();
        assert!(past >= 14, "three weeks of weekdays: {past} days");
    }

    #[test]
    fn the_demo_office_and_kiosk_configs_are_valid() {
        let dir = Path::new("/tmp/sportello-demo-test");
        let hub = demo_hub_config(dir, 0);
        hub.validate().map_err(|e| e.problem().to_string()).unwrap();
        hub.waiting
            .check(&crate::catalogue::Catalogue::builtin())
            .map_err(|e| e.key().to_string())
            .unwrap();
        let kiosk = demo_kiosk_config(dir, "http://127.0.0.1:8080", "t".into());
        kiosk
            .validate()
            .map_err(|e| e.problem().to_string())
            .unwrap();
        assert!(!kiosk.help.front_desk.is_empty());
    }
}
