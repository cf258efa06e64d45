//! Nothing the hub logs during citizen logins and certificates carries a name or a
//! codice fiscale, even before the log writer's redaction: every event of the process is
//! captured raw at TRACE level while a person signs in, fails to, prints and verifies.

mod common;

use chrono::Utc;
use common::{AuthHub, Capture, Phone};
use sportello::lang::Lang;
use sportello::protocol::{CreateLoginSessionRequest, IssueCertificateRequest, LoginState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_certificates_log_no_name_and_no_code() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .init();

    let auth = AuthHub::start(|_| {}, None).await;
    let today = Utc::now().date_naive();
    let examples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/records.csv");
    common::blocking(|| {
        sportello::hub::records::import_file(auth.hub.location(), &examples, today, false, false)
    })
    .unwrap();
    let kiosk = auth.hub.kiosk("totem").await;

    // A failure with a bad code, then a success and a certificate.
    for (login, ok) in [("anna", false), ("aminata", true)] {
        let session = kiosk
            .create_login_session(&CreateLoginSessionRequest { lang: None })
            .await
            .unwrap();
        let landed = Phone::new()
            .sign_in(
                &session.login_url,
                session.binding_code.as_deref().unwrap(),
                login,
                &format!("{login}-password"),
            )
            .await;
        assert_eq!(landed.status == 200, ok, "{landed:?}");
        if !ok {
            continue;
        }
        let state = kiosk.login_session(session.session_id).await.unwrap();
        assert_eq!(state.state, LoginState::Authenticated);
        let issued = kiosk
            .issue_certificate(
                session.session_id,
                &IssueCertificateRequest {
                    kind: "stato-occupazionale".into(),
                    lang: Lang::IT,
                },
            )
            .await
            .unwrap();
        assert!(issued.body.join(" ").contains("Aminata Diallo"));
        let page = Phone::new().open(&issued.seal).await;
        assert_eq!(page.status, 200);
        kiosk.end_login_session(session.session_id).await.unwrap();
    }
    auth.stop().await;

    let logged = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("citizen signed in"),
        "the hub did log:\n{logged}"
    );
    assert!(logged.contains("certificate issued"), "{logged}");
    for secret in [
        "Aminata",
        "Diallo",
        "DLLMNT92A41Z343O",
        "Anna",
        "Gialli",
        "GLLNNA88E50D612A",
    ] {
        assert!(!logged.contains(secret), "`{secret}` was logged:\n{logged}");
    }
}
