//! A morning at the office in a real browser: two kiosks take tickets through
//! `HubClient`, a clerk works the counter page in headless Chromium, the display board
//! shows and says each call live (once each), and the fleet page takes a kiosk out of
//! service. And a citizen signing in on a phone's browser (the local OpenID Connect
//! provider), the certificate check page, and the audit page. And a maintainer rolling a
//! software update out from the fleet page, which a plain clerk sees but cannot start.
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `scripts/test` through
//! `scripts/setup`); without them the test fails saying so.

mod common;

use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{AuthHub, TestHub, ticket};
use fantoccini::{Client, ClientBuilder, Locator};
use sportello::hub::{admin, updates};
use sportello::lang::Lang;
use sportello::protocol::{
    CreateLoginSessionRequest, HeartbeatRequest, IssueCertificateRequest, LoginState, PrinterState,
    TicketStatus,
};
use sportello::sync::ClientError;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(profile: &Path) -> (Driver, Client) {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: run `scripts/setup chromium chromium-driver` (Debian package `{package}`)"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1920,1080",
                "--autoplay-policy=no-user-gesture-required",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = String::new();
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("cannot start a Chromium session through chromedriver: {last_error}");
}

/// Polls `check` until it returns `Some`, for up to 15 seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..150 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_text(c: &Client, css: &str, expected: &str) {
    eventually(&format!("`{css}` to show `{expected}`"), || async {
        let t = text(c, css).await;
        t.contains(expected).then_some(())
    })
    .await;
}

async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    // Buttons re-enable after the page refreshes its state.
    eventually(&format!("`{css}` to be clickable"), || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        let disabled = el.prop("disabled").await.ok().flatten();
        if disabled.as_deref() == Some("true") {
            return None;
        }
        el.click().await.ok()
    })
    .await;
}

/// How many calls the board has started saying (`data-spoken`), and the last one.
async fn spoken(c: &Client) -> (u32, String) {
    let body = c.find(Locator::Css("body")).await.unwrap();
    let count = body.attr("data-spoken").await.unwrap();
    let last = body.attr("data-spoken-last").await.unwrap();
    (
        count.and_then(|n| n.parse().ok()).unwrap_or(0),
        last.unwrap_or_default(),
    )
}

/// Waits until the board has said `count` calls, the last being `last`; calls take turns
/// (chime, then a voice of a few seconds), so this allows a minute.
async fn wait_spoken(c: &Client, count: u32, last: &str) {
    let mut seen = (0, String::new());
    for _ in 0..600 {
        seen = spoken(c).await;
        assert!(seen.0 <= count, "said more than once: {seen:?}");
        if seen == (count, last.to_string()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the board said {seen:?}, not {count} calls ending with {last}");
}

/// The call's WAV answers 200 with a RIFF body.
async fn assert_riff(url: &str) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(b"RIFF") && body.len() > 44, "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_morning_at_the_office() {
    tokio::time::timeout(Duration::from_secs(240), morning())
        .await
        .expect("the browser test took over 4 minutes");
}

async fn morning() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let kiosk_a = hub.kiosk("ingresso-1").await;
    let kiosk_b = hub.kiosk("ingresso-2").await;
    admin::add_operator(hub.location(), "anna", "password123").unwrap();

    // 08:30, doors open: both kiosks issue tickets.
    let n1 = kiosk_a.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let n2 = kiosk_b.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let i1 = kiosk_a.issue_ticket(&ticket("isee")).await.unwrap().ticket;
    let mut p = ticket("naspi");
    p.priority = true;
    p.codice_fiscale = Some("RSSMRA45C12F205C".into());
    let n3 = kiosk_b.issue_ticket(&p).await.unwrap().ticket;
    assert_eq!(
        [&n1.number, &n2.number, &i1.number, &n3.number],
        ["N001", "N002", "I001", "N003"]
    );

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // The waiting-room TV.
    c.goto(&format!("{base}/display")).await.unwrap();
    wait_text(&c, "#office", "Ufficio di prova").await;
    let display = c.window().await.unwrap();

    // The clerk's PC, in a second window.
    let counter = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(counter.clone()).await.unwrap();
    c.goto(&format!("{base}/counter")).await.unwrap();
    let name = eventually("the login form", || async {
        c.find(Locator::Css("#login:not(.hidden) #name")).await.ok()
    })
    .await;
    name.send_keys("anna").await.unwrap();
    type_into(&c, "#password", "wrong-password").await;
    click(&c, "#login-button").await;
    wait_text(&c, "#error", "Nome o password errati.").await;
    type_into(&c, "#password", "password123").await;
    click(&c, "#login-button").await;
    let select = eventually("the counter choice", || async {
        c.find(Locator::Css("#setup:not(.hidden) #counter"))
            .await
            .ok()
    })
    .await;
    select.select_by_value("Sportello 3").await.unwrap();
    click(&c, "#svc-naspi").await;
    click(&c, "#setup-button").await;
    wait_text(&c, "#counter-name", "Sportello 3").await;
    wait_text(&c, "#waiting-naspi", "3").await;

    // First call: the priority ticket goes first.
    click(&c, "#next").await;
    wait_text(&c, "#current", "N003").await;
    // The clerk sees the code the citizen gave at the kiosk.
    wait_text(&c, "#current-cf", "Codice fiscale: RSSMRA45C12F205C").await;
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-counter.png"), png).unwrap();
    }
    let status = kiosk_b.ticket_status(n3.ticket_id).await.unwrap();
    assert_eq!(status.status, TicketStatus::Called);
    assert_eq!(status.counter.as_deref(), Some("Sportello 3"));

    // The board shows it, with the flash.
    c.switch_to_window(display.clone()).await.unwrap();
    wait_text(&c, "#now-number", "N003").await;
    wait_text(&c, "#now-counter", "Sportello 3").await;
    let flashes = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .attr("data-flashes")
        .await
        .unwrap();
    assert!(flashes.is_some_and(|f| f.parse::<u32>().unwrap_or(0) >= 1));
    // After the chime the board says the call, once, in the voice the hub renders.
    wait_spoken(&c, 1, "N003").await;
    assert_riff(&format!("{base}/display/calls/N003.wav")).await;
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-display.png"), png).unwrap();
    }

    // The citizen comes, is served; next is the oldest walk-in.
    c.switch_to_window(counter.clone()).await.unwrap();
    click(&c, "#serving").await;
    wait_text(&c, "#current-info", "allo sportello").await;
    click(&c, "#done").await;
    wait_text(&c, "#current", "-").await;
    assert_eq!(text(&c, "#current-cf").await, "");
    assert_eq!(
        kiosk_b.ticket_status(n3.ticket_id).await.unwrap().status,
        TicketStatus::Done
    );
    click(&c, "#next").await;
    wait_text(&c, "#current", "N001").await;
    // Nobody comes: recall, then no-show.
    click(&c, "#recall").await;
    click(&c, "#no-show").await;
    wait_text(&c, "#current", "-").await;
    assert_eq!(
        kiosk_a.ticket_status(n1.ticket_id).await.unwrap().status,
        TicketStatus::NoShow
    );
    // N002 needs ISEE instead: transfer.
    click(&c, "#next").await;
    wait_text(&c, "#current", "N002").await;
    c.find(Locator::Css("#transfer-service"))
        .await
        .unwrap()
        .select_by_value("isee")
        .await
        .unwrap();
    click(&c, "#transfer").await;
    wait_text(&c, "#current", "-").await;
    let moved = kiosk_b.ticket_status(n2.ticket_id).await.unwrap();
    assert_eq!(
        (moved.status, moved.service.as_str()),
        (TicketStatus::Waiting, "isee")
    );
    // Nobody left for NASpI.
    click(&c, "#next").await;
    wait_text(&c, "#error", "Nessuno in attesa").await;

    // Each call was said once, in turn: N003, N001, N001 again (the recall), N002. The
    // turns (chime, voice) take their time: waited for first, with wait_spoken's minute
    // (a clean-clone CI run once took longer than 15 s to reach N002's turn).
    c.switch_to_window(display.clone()).await.unwrap();
    wait_spoken(&c, 4, "N002").await;
    // The board lists the morning's calls, newest first.
    wait_text(&c, "#now-number", "N002").await;
    wait_text(&c, "#calls", "N001").await;
    wait_text(&c, "#calls", "N003").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        spoken(&c).await,
        (4, "N002".to_string()),
        "nothing said twice"
    );
    assert_riff(&format!("{base}/display/calls/N001.wav")).await;
    assert!(!text(&c, "body").await.contains("RSSMRA45C12F205C"));

    // The citizen's phone: the tracking page from the QR code (the kiosk's op_id).
    c.goto(&format!("{base}/t/{}?lang=it", p.op_id))
        .await
        .unwrap();
    wait_text(&c, ".number", "N003").await;
    wait_text(&c, ".state", "Servito").await;
    c.goto(&format!("{base}/t/{}?lang=en", n2.ticket_id))
        .await
        .unwrap();
    wait_text(&c, ".state", "Waiting").await;
    // Transferred to ISEE with its place in time: ahead of I001.
    wait_text(&c, "main", "You are next!").await;

    // The fleet page: both kiosks, A's printer warning, and kiosk B taken out of service.
    kiosk_a
        .heartbeat(&HeartbeatRequest {
            version: "0.1.0".into(),
            printer: PrinterState::PaperNearEnd,
            outbox_depth: 2,
            oldest_pending_seconds: None,
            printer_detail: None,
            // A's clock runs 10 minutes fast: the page says so.
            kiosk_time: Some(chrono::Utc::now() + chrono::TimeDelta::minutes(10)),
            update: None,
        })
        .await
        .unwrap();
    c.switch_to_window(counter).await.unwrap();
    c.goto(&format!("{base}/fleet")).await.unwrap();
    wait_text(&c, "#kiosks", "ingresso-1").await;
    wait_text(&c, "#kiosks", "ingresso-2").await;
    wait_text(&c, "#kiosks", "Carta in esaurimento").await;
    wait_text(&c, "#kiosks", "orologio del totem avanti di 10 min").await;
    let row = eventually("kiosk B's row", || async {
        let rows = c.find_all(Locator::Css("#kiosks tr")).await.ok()?;
        for row in rows {
            if row.text().await.ok()?.contains("ingresso-2") {
                return Some(row);
            }
        }
        None
    })
    .await;
    row.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#kiosks", "Fuori servizio").await;
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-fleet.png"), png).unwrap();
    }
    assert!(matches!(
        kiosk_b.issue_ticket(&ticket("naspi")).await,
        Err(ClientError::Disabled { .. })
    ));
    kiosk_a.issue_ticket(&ticket("naspi")).await.unwrap();

    c.close().await.unwrap();
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_in_a_phone_browser_and_the_audit_page_shows_it() {
    tokio::time::timeout(Duration::from_secs(240), citizen())
        .await
        .expect("the browser test took over 4 minutes");
}

async fn citizen() {
    let auth = AuthHub::start(|_| {}, None).await;
    let hub = &auth.hub;
    let base = hub.url();
    sportello::hub::records::import_file(
        hub.location(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/records.csv"),
        chrono::Utc::now().date_naive(),
        false,
        false,
    )
    .unwrap();
    let kiosk = hub.kiosk("totem-documenti").await;
    admin::add_operator(hub.location(), "revisore", "password123").unwrap();
    let session = kiosk
        .create_login_session(&CreateLoginSessionRequest {
            lang: Some(Lang::IT),
        })
        .await
        .unwrap();

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    // The phone opens the QR's link: the hub's confirmation page names the office and
    // the kiosk and asks for the code beside the QR; a real browser posts it from the page
    // (its Origin, the CSP) and follows the redirect to the provider's sign-in form.
    c.goto(&session.login_url).await.unwrap();
    wait_text(&c, ".where", "totem-documenti").await;
    let code = session.binding_code.clone().expect("a binding code");
    type_into(&c, "input[name=code]", &code).await;
    click(&c, "button[type=submit]").await;
    let login = eventually("the provider's sign-in form", || async {
        c.find(Locator::Css("input[name=login]")).await.ok()
    })
    .await;
    login.send_keys("giulia").await.unwrap();
    type_into(&c, "input[name=password]", "giulia-password").await;
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back at the hub: "go back to the kiosk", with the initials.
    wait_text(&c, "h1", "Accesso eseguito").await;
    wait_text(&c, ".initials", "G.V.").await;
    wait_text(&c, ".where", "totem-documenti").await;
    let status = kiosk.login_session(session.session_id).await.unwrap();
    assert_eq!(status.state, LoginState::Authenticated);
    assert_eq!(status.initials.as_deref(), Some("G.V."));

    let issued = kiosk
        .issue_certificate(
            session.session_id,
            &IssueCertificateRequest {
                kind: "did".into(),
                lang: Lang::IT,
            },
        )
        .await
        .unwrap();
    kiosk.end_login_session(session.session_id).await.unwrap();
    // Whoever receives the paper opens its QR (this browser asks for English).
    c.goto(&issued.seal).await.unwrap();
    wait_text(&c, "main", "Genuine certificate").await;
    c.goto(&format!("{}&lang=it", issued.seal)).await.unwrap();
    wait_text(&c, "main", "Certificato autentico").await;
    wait_text(&c, ".original", "Giulia Verdi").await;
    c.find(Locator::Css("a[lang=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "main", "Genuine certificate").await;

    // The audit page, for a clerk: the events, then one person's by her code.
    c.goto(&format!("{base}/audit")).await.unwrap();
    let name = eventually("the login form", || async {
        c.find(Locator::Css("#login:not(.hidden) #name")).await.ok()
    })
    .await;
    // Someone guessing passwords: after five wrong ones in a row the name must wait, and
    // the page says so in Italian with the wait the hub gave.
    name.send_keys("intruso").await.unwrap();
    let mut said = String::new();
    for _ in 0..20 {
        type_into(&c, "#password", "indovino").await;
        click(&c, "#login button[type=submit]").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        said = text(&c, "#error").await;
        if said.contains("Troppi tentativi") {
            break;
        }
    }
    assert!(
        said.starts_with("Troppi tentativi errati per questo nome: riprovare tra ")
            && said.ends_with(" secondi.")
            && !said.contains('?'),
        "{said}"
    );
    name.clear().await.unwrap();
    name.send_keys("revisore").await.unwrap();
    type_into(&c, "#password", "password123").await;
    click(&c, "#login button[type=submit]").await;
    wait_text(&c, "#events", "Certificato rilasciato").await;
    wait_text(&c, "#events", "Accesso riuscito").await;
    wait_text(&c, "#events", &issued.certificate_id).await;
    wait_text(&c, "#events", "totem-documenti").await;
    assert!(!text(&c, "body").await.contains("Verdi"));
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-audit.png"), png).unwrap();
    }
    type_into(&c, "#cf", "BNCMRC85S02F205A").await;
    click(&c, "#filter button[type=submit]").await;
    eventually("no events for another person", || async {
        let rows = c.find_all(Locator::Css("#events tr")).await.ok()?;
        rows.is_empty().then_some(())
    })
    .await;
    c.close().await.unwrap();
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintainer_rolls_an_update_out_from_the_fleet_page() {
    tokio::time::timeout(Duration::from_secs(180), rollout())
        .await
        .expect("the browser test took over 3 minutes");
}

/// Logs in on the fleet page's form.
async fn fleet_login(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/fleet")).await.unwrap();
    let field = eventually("the fleet login form", || async {
        c.find(Locator::Css("#login:not(.hidden) #name")).await.ok()
    })
    .await;
    field.send_keys(name).await.unwrap();
    type_into(c, "#password", "password123").await;
    click(c, "#login button[type=submit]").await;
    wait_text(c, "#rollout-status", "distribuzione").await;
}

async fn rollout() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let kiosk = hub.kiosk("ingresso-1").await;
    admin::add_operator(hub.location(), "anna", "password123").unwrap();
    admin::add_operator(hub.location(), "marco", "password123").unwrap();
    admin::set_role(hub.location(), "marco", "maintainer").unwrap();
    let file = hub.dir.path().join("sportello-kiosk-2.0.0.raucb");
    std::fs::write(&file, vec![1u8; 3 << 20]).unwrap();
    updates::add_bundle(hub.location(), &file, "2.0.0").unwrap();
    let beat = || HeartbeatRequest {
        version: "0.1.0".into(),
        printer: PrinterState::Ok,
        outbox_depth: 0,
        oldest_pending_seconds: None,
        printer_detail: None,
        kiosk_time: None,
        update: None,
    };

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // A clerk sees that nothing is rolled out, and no controls.
    fleet_login(&c, &base, "anna").await;
    wait_text(&c, "#rollout-status", "Nessuna distribuzione avviata.").await;
    let form = c.find(Locator::Css("#rollout")).await.unwrap();
    assert!(
        !form.is_displayed().await.unwrap(),
        "a clerk gets no rollout form"
    );

    // The maintainer starts 2.0.0 with one canary.
    c.delete_all_cookies().await.unwrap();
    fleet_login(&c, &base, "marco").await;
    let select = eventually("the rollout form", || async {
        c.find(Locator::Css("#rollout:not(.hidden) #bundle"))
            .await
            .ok()
    })
    .await;
    assert!(select.text().await.unwrap().contains("2.0.0 (3 MB)"));
    click(&c, "#start-rollout").await;
    wait_text(
        &c,
        "#rollout-status",
        "versione 2.0.0, in corso (0 di 1 totem aggiornati)",
    )
    .await;
    let offer = kiosk.heartbeat(&beat()).await.unwrap().update;
    assert_eq!(offer.map(|o| o.version).as_deref(), Some("2.0.0"));
    c.refresh().await.unwrap();
    wait_text(&c, "#kiosks", "2.0.0: offerto").await;
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-fleet-rollout.png"), png).unwrap();
    }

    // And stops it: no more offers.
    click(&c, "#stop-rollout").await;
    wait_text(&c, "#rollout-status", "fermata").await;
    wait_text(&c, "#rollout-status", "(marco)").await;
    assert!(kiosk.heartbeat(&beat()).await.unwrap().update.is_none());

    c.close().await.unwrap();
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reads_the_office_reports_in_the_browser() {
    tokio::time::timeout(Duration::from_secs(180), reports())
        .await
        .expect("the browser test took over 3 minutes");
}

/// Logs in on the reports page's form and waits for the period form.
async fn reports_login(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/reports")).await.unwrap();
    let field = eventually("the reports login form", || async {
        c.find(Locator::Css("#login:not(.hidden) #name")).await.ok()
    })
    .await;
    field.send_keys(name).await.unwrap();
    type_into(c, "#password", "password123").await;
    click(c, "#login button[type=submit]").await;
    eventually("the period form", || async {
        c.find(Locator::Css("#choose:not(.hidden)")).await.ok()
    })
    .await;
}

async fn reports() {
    let hub = TestHub::start().await;
    common::insert_history(&hub, &common::october());
    admin::add_operator(hub.location(), "carla", "password123").unwrap();
    admin::set_role(hub.location(), "carla", "manager").unwrap();
    admin::add_operator(hub.location(), "anna", "password123").unwrap();
    let base = hub.url();
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // The manager chooses this week (the form's default) and gets the page.
    reports_login(&c, &base, "carla").await;
    click(&c, "#choose button[type=submit]").await;
    wait_text(&c, "h1", "Rapporti").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("period=week")
    );

    // October: five charts, each an image with a title, drawn at a size, and the tables.
    c.goto(&format!(
        "{base}/reports/view?from=2026-10-01&to=2026-10-31"
    ))
    .await
    .unwrap();
    wait_text(&c, "header", "Dal 01/10/2026 al 31/10/2026").await;
    let charts = c.find_all(Locator::Css("svg[role=img]")).await.unwrap();
    assert_eq!(charts.len(), 5);
    for chart in &charts {
        let (_, _, width, height) = chart.rectangle().await.unwrap();
        assert!(
            width > 300.0 && height > 50.0,
            "a chart drawn at {width}x{height}"
        );
        let title = chart.find(Locator::Css("title")).await.unwrap();
        assert!(!title.html(true).await.unwrap().trim().is_empty());
    }
    let cell = c.find(Locator::Css("#hours svg rect.cell")).await.unwrap();
    let (_, _, width, height) = cell.rectangle().await.unwrap();
    assert!(
        width > 5.0 && height > 5.0,
        "a heat-map cell at {width}x{height}"
    );
    wait_text(&c, "#summary", "Biglietti emessi").await;
    wait_text(&c, "#summary", "136").await;
    wait_text(&c, "#services table", "NASpI").await;
    wait_text(&c, "#clerks", "anna").await;
    let rows = c.find_all(Locator::Css("#trend tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 23, "22 weekdays and the DST Sunday");
    if let Ok(dir) = std::env::var("SPORTELLO_SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-reports.png"), png).unwrap();
        c.execute("document.getElementById('hours').scrollIntoView();", vec![])
            .await
            .unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("hub-reports-hours.png"), png).unwrap();
    }

    // A clerk without the role: the page says the reports are for managers.
    c.delete_all_cookies().await.unwrap();
    reports_login(&c, &base, "anna").await;
    c.goto(&format!("{base}/reports/view?period=month"))
        .await
        .unwrap();
    wait_text(
        &c,
        "main",
        "riservati agli operatori con il ruolo di responsabile",
    )
    .await;
    assert!(c.find(Locator::Css("svg")).await.is_err());

    c.close().await.unwrap();
    hub.stop().await;
}
