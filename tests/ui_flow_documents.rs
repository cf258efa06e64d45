//! "My documents" through the real UI: the kiosk shows a sign-in QR; a phone (an HTTP
//! client with cookies) opens the link and signs in at the real local OpenID Connect
//! provider; the kiosk shows only the initials, the applications and the certificates;
//! a certificate prints on the virtual printer with a seal that verifies; the session is
//! over afterwards and nothing of the certificate stays on the kiosk. A second visit is
//! wiped by the idle timeout, which also ends its session at the hub.
//!
//! One test per process: Slint's event loop can run once.

mod common;

use std::time::Duration;

use common::{AuthHub, Phone, decode_qr, kiosk_config, run_flow, start_ui, wait_until};
use sportello::seal::{Seal, parse_public_keys};
use sportello::speech::Output;
use sportello::ui::Page;

const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_citizen_signs_in_on_the_phone_and_prints_a_certificate() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The shortest sign-in link the hub allows, so the test can outlast it.
    let hub = rt.block_on(AuthHub::start(|c| c.auth.link_seconds = 30, None));
    let examples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/records.csv");
    sportello::hub::records::import_file(
        hub.hub.location(),
        &examples,
        chrono::Utc::now().date_naive(),
        false,
        false,
    )
    .unwrap();
    let kiosk_dir = tempfile::tempdir().unwrap();
    let config = kiosk_config(kiosk_dir.path(), &hub.url(), &hub.hub.db());
    let ui = start_ui(config, Duration::from_secs(5), Duration::from_secs(2));
    let handle = rt.handle().clone();
    let hub_url = hub.url();

    run_flow(async move {
        wait_until("enrolled", LONG, || ui.enrolled()).await;
        wait_until("online", LONG, || ui.kiosk().get_online()).await;
        ui.press("English");
        ui.press("My documents");
        assert_eq!(ui.page(), Page::DocumentsLogin);
        wait_until("sign-in code", LONG, || {
            ui.kiosk().get_login_phase() == sportello::ui::LoginPhase::Waiting
        })
        .await;
        assert!(ui.shows("QR code to sign in on your phone"));
        // The phone scans the code on the screen: decode it from the rendered QR image.
        let qr = ui.kiosk().get_login_qr();
        let buffer = qr.to_rgb8().expect("an RGB QR image");
        let luma = image::GrayImage::from_fn(buffer.width(), buffer.height(), |x, y| {
            let p = buffer.as_slice()[(y * buffer.width() + x) as usize];
            image::Luma([p.r])
        });
        let links = decode_qr(&luma);
        assert_eq!(links.len(), 1, "one QR code on the screen");
        assert!(
            links[0].starts_with(&format!("{hub_url}/login/")),
            "{}",
            links[0]
        );
        // Beside it, the code the phone asks for: four digits, read from the screen.
        let code = ui.kiosk().get_login_code().to_string();
        assert!(
            code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
        assert!(ui.shows("Code to type on your phone"));
        assert!(ui.shows_text(&code));
        let phone = Phone::new();
        let landed = handle.block_on(phone.sign_in(&links[0], &code, "giulia", "giulia-password"));
        assert_eq!(landed.status, 200, "{}", landed.body);

        // Signed in: initials only, applications and certificates.
        ui.wait_page(Page::Documents, LONG).await;
        assert_eq!(ui.kiosk().get_initials(), "G.V.");
        assert!(ui.shows_text("Hello, G.V."));
        assert!(
            !ui.shows_text("Giulia") && !ui.shows_text("Verdi"),
            "never the name"
        );
        assert!(!ui.shows_text("VRDGLI90C55H501M"), "never the code");
        {
            use slint::Model;
            assert!(ui.kiosk().get_applications().row_count() > 0);
            assert!(ui.kiosk().get_certificates().row_count() > 0);
        }
        let certificate = {
            use slint::Model;
            ui.kiosk().get_certificates().row_data(0).unwrap()
        };
        let label = format!("Print: {}", certificate.title);
        wait_until("the certificate's button", LONG, || ui.shows(&label)).await;

        // The voice guide on this page: the applications are personal, so without a
        // headset the speaker says neither them nor the initials; plugged in, the headset
        // says both; the certificates are choices.
        let first = {
            use slint::Model;
            ui.kiosk().get_applications().row_data(0).unwrap()
        };
        ui.hold(
            sportello::kiosk::keypad::sent::ENTER,
            sportello::kiosk::keypad::HOLD_TO_SPEAK + Duration::from_millis(200),
        )
        .await;
        assert!(ui.controller.speaking());
        let said = ui.speech.said();
        assert!(
            said.iter().any(|u| u.text == "Your applications"),
            "{said:#?}"
        );
        assert!(
            !said
                .iter()
                .any(|u| u.text.contains(first.title.as_str()) || u.text.contains("G.V.")),
            "personal data on the speaker: {said:#?}"
        );
        let board = ui.kiosk.sim_board.as_ref().unwrap();
        board.set_headset_plugged(true);
        wait_until("the headset", LONG, || {
            ui.speech
                .said()
                .iter()
                .any(|u| u.output == Output::Headset && u.text.contains(first.title.as_str()))
        })
        .await;
        assert!(
            ui.speech
                .said()
                .iter()
                .any(|u| u.output == Output::Headset && u.text == "Hello, G.V.")
        );
        // Touch to hear, touch again to print.
        ui.press(&label);
        let heard = ui.speech.said().last().unwrap().text.clone();
        assert!(heard.starts_with(&format!("{label}, button")), "{heard}");
        assert_eq!(ui.page(), Page::Documents, "the first touch only says it");
        ui.press(&label);
        ui.wait_page(Page::CertificateDone, LONG).await;
        assert_eq!(
            ui.kiosk().get_certificate_result(),
            sportello::ui::CertificateResult::Printed
        );
        assert!(ui.shows_text("This kiosk keeps no copy of your certificate."));
        assert_eq!(ui.kiosk().get_initials(), "", "forgotten after printing");

        // The paper: the person's name and code are on it, and its seal verifies.
        let emulator = ui.kiosk.emulator.as_ref().unwrap();
        let receipts = emulator.wait_receipts(1, LONG);
        let text = receipts[0].lines.join(" ");
        assert!(
            text.contains("VRDGLI90C55H501M") && text.contains("Verdi"),
            "{text}"
        );
        let png = image::open(receipts[0].png.as_ref().unwrap())
            .unwrap()
            .to_luma8();
        let seals = decode_qr(&png);
        assert_eq!(seals.len(), 1);
        let keys_json = handle.block_on(async {
            reqwest::get(format!("{hub_url}/api/v1/keys"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let keys = parse_public_keys(&keys_json).unwrap();
        let seal_text = seals[0].split("seal=").nth(1).unwrap();
        let seal = Seal::parse(seal_text).unwrap();
        assert!(seal.verify(&keys).is_some(), "the printed seal is genuine");

        // Nothing of the certificate stays on the kiosk's disk.
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(&ui.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "png") && path.is_file() {
                bytes.extend(std::fs::read(&path).unwrap());
            }
        }
        let needle = b"VRDGLI90C55H501M";
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the codice fiscale is nowhere in the kiosk's files"
        );
        // Still in speech mode: the first touch says "Done", the second ends the visit,
        // and the voice guide with it.
        ui.press("Done");
        assert_eq!(ui.page(), Page::CertificateDone);
        ui.press("Done");
        assert_eq!(ui.page(), Page::Welcome);
        assert!(!ui.controller.speaking());
        ui.kiosk
            .sim_board
            .as_ref()
            .unwrap()
            .set_headset_plugged(false);

        // A second visit left alone: the idle timeout wipes it and ends the session.
        ui.press("I miei documenti");
        wait_until("sign-in code", LONG, || {
            ui.kiosk().get_login_phase() == sportello::ui::LoginPhase::Waiting
        })
        .await;
        let db = rusqlite::Connection::open(hub.hub.db()).unwrap();
        let open_sessions = || -> i64 {
            db.query_row(
                "SELECT count(*) FROM auth_sessions WHERE finished_at IS NULL AND state = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(open_sessions(), 1);
        // While the code works the idle timer waits (signing in with SPID takes minutes):
        // past the idle and warning periods (5 + 2 s) the visit is still there, saying
        // how long the code lasts.
        common::sleep(Duration::from_secs(9)).await;
        assert_eq!(
            ui.page(),
            Page::DocumentsLogin,
            "not wiped while signing in"
        );
        assert!(!ui.kiosk().get_idle_warning());
        assert!(ui.kiosk().get_login_seconds_left() > 0);
        assert!(
            ui.shows_text("The code works for another") || ui.shows_text("Il codice vale ancora")
        );
        // Once the code has expired, the idle timeout wipes the visit.
        wait_until("idle wipe", Duration::from_secs(60), || {
            ui.page() == Page::Welcome
        })
        .await;
        wait_until("session ended at the hub", LONG, || open_sessions() == 0).await;
    });
}
