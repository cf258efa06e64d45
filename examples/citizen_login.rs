//! A scripted kiosk walking through "my documents" against a running hub (used by
//! `scripts/hub-demo`): it starts a citizen login and prints the link; you open it in a
//! browser and sign in at the identity provider; it then lists the person's applications,
//! prints a certificate on the virtual printer (PNG) and checks its seal.
//!
//! `cargo run --example citizen_login -- HUB_URL ENROLLMENT_TOKEN OUT_DIR`

use std::time::Duration;

use sportello::lang::Lang;
use sportello::printer::emulator::VirtualPrinter;
use sportello::printer::layout;
use sportello::printer::profile::Profile;
use sportello::protocol::{
    CreateLoginSessionRequest, EnrollRequest, IssueCertificateRequest, LoginState,
};
use sportello::seal::{Seal, parse_public_keys};
use sportello::sync::{HubClient, HubClientConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, out] = args.as_slice() else {
        return Err("usage: citizen_login HUB_URL ENROLLMENT_TOKEN OUT_DIR".to_string());
    };
    let mut kiosk = HubClient::new(HubClientConfig::new(url.clone())).map_err(|e| e.to_string())?;
    let enrolled = kiosk
        .enroll(&EnrollRequest {
            enrollment_token: token.clone(),
            name: Some("totem-documenti".to_string()),
            previous: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    kiosk.set_token(enrolled.token);

    let session = kiosk
        .create_login_session(&CreateLoginSessionRequest {
            lang: Some(Lang::IT),
        })
        .await
        .map_err(|e| e.to_string())?;
    println!("\n\"My documents\": the kiosk shows this link as a QR code. Open it in a browser");
    println!(
        "and sign in as giulia / giulia-password (until {}):\n",
        session.expires_at
    );
    println!("  {}\n", session.login_url);
    let mut last = None;
    let status = loop {
        let status = kiosk
            .login_session(session.session_id)
            .await
            .map_err(|e| e.to_string())?;
        if last != Some(status.state) {
            println!("  session: {:?}", status.state);
            last = Some(status.state);
        }
        match status.state {
            LoginState::Pending | LoginState::SigningIn => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => break status,
        }
    };
    if status.state != LoginState::Authenticated {
        println!(
            "  no sign-in ({:?}): the demo goes on without it",
            status.failure
        );
        return Ok(());
    }
    println!(
        "  signed in: the kiosk shows {}",
        status.initials.as_deref().unwrap_or("-")
    );
    for app in kiosk
        .applications(session.session_id, Lang::IT)
        .await
        .map_err(|e| e.to_string())?
    {
        println!(
            "  {} — {} ({}): {}",
            app.title, app.status_text, app.last_change, app.next_step
        );
    }
    let offers = kiosk
        .certificates(session.session_id, Lang::IT)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(offer) = offers.first() {
        let issued = kiosk
            .issue_certificate(
                session.session_id,
                &IssueCertificateRequest {
                    kind: offer.kind.clone(),
                    lang: Lang::IT,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let profile = Profile::named("generic-80").map_err(|e| e.to_string())?;
        let mut printer = VirtualPrinter::new(&profile, Some(std::path::Path::new(out)));
        printer.feed(&layout::document(
            &sportello::kiosk::documents::printable(&issued),
            &profile,
        ));
        printer.tear_off();
        for receipt in printer.receipts() {
            if let Some(png) = &receipt.png {
                println!("  printed: {}", png.display());
            }
        }
        let keys = kiosk.seal_keys().await.map_err(|e| e.to_string())?;
        let keys = parse_public_keys(&serde_json::to_string(&keys).map_err(|e| e.to_string())?)?;
        let genuine = Seal::parse(&issued.seal)
            .map_err(|e| e.to_string())?
            .verify(&keys)
            .is_some();
        println!("  seal verified with /api/v1/keys: {genuine}");
        println!("  check it on a phone: {}", issued.seal);
    }
    kiosk
        .end_login_session(session.session_id)
        .await
        .map_err(|e| e.to_string())?;
    println!("  session ended");
    Ok(())
}
