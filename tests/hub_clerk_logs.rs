//! Clerk accountability in the hub's log (security finding 18): every clerk login,
//! successful or not, is logged with the name tried and the client's address, a fleet
//! change and an audit search with the clerk's name; never a password, and a codice
//! fiscale typed as a name only masked (the log writer's `redact`). One test per binary:
//! the log capture is process-wide.

mod common;

use common::{Capture, Clerk, TestHub};
use sportello::hub::admin;
use sportello::logging::Redacting;

const CODE: &str = "MRSMSR81D60Z611H";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_logins_and_actions_are_logged_with_name_and_address() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(Redacting(capture.clone()))
        .init();
    let log = || String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();

    let hub = TestHub::start().await;
    common::blocking(|| admin::add_operator(hub.location(), "anna", "anna-password")).unwrap();
    let anna = Clerk::new(&hub.url());

    assert_eq!(
        anna.login("anna", "wrong-guess-1")
            .await
            .unwrap_err()
            .status,
        401
    );
    let failed = log()
        .lines()
        .find(|l| l.contains("clerk login failed"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no failure line:\n{}", log()));
    assert!(failed.contains(" WARN "), "{failed}");
    assert!(failed.contains("clerk=anna"), "{failed}");
    assert!(failed.contains("ip=127.0.0.1"), "{failed}");

    anna.login("anna", "anna-password").await.unwrap();
    let success = log()
        .lines()
        .find(|l| l.contains("clerk logged in"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no success line:\n{}", log()));
    assert!(success.contains(" INFO "), "{success}");
    assert!(
        success.contains("clerk=anna") && success.contains("ip=127.0.0.1"),
        "{success}"
    );

    // A codice fiscale typed into the name field, a password with spaces as a name.
    let stranger = Clerk::new(&hub.url());
    stranger.login(CODE, "wrong-guess-2").await.unwrap_err();
    stranger
        .login("my secret words", "wrong-guess-3")
        .await
        .unwrap_err();

    // A fleet change and an audit search name the clerk.
    let kiosk_id = {
        let token = common::blocking(|| admin::create_enrollment_token(hub.location())).unwrap();
        let enrolled: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/kiosks/enroll", hub.url()))
            .json(&serde_json::json!({ "enrollment_token": token, "name": "totem" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        enrolled["kiosk_id"].as_str().unwrap().to_string()
    };
    anna.post(
        &format!("/fleet/api/kiosks/{kiosk_id}/disabled"),
        serde_json::json!({ "disabled": true }),
    )
    .await
    .unwrap();
    anna.post(
        "/audit/api/events",
        serde_json::json!({ "codice_fiscale": CODE }),
    )
    .await
    .unwrap();
    hub.stop().await;

    let logged = log();
    let fleet = logged
        .lines()
        .find(|l| l.contains("kiosk state changed"))
        .unwrap_or_else(|| panic!("no fleet line:\n{logged}"));
    assert!(fleet.contains("clerk=anna"), "{fleet}");
    let searched = logged
        .lines()
        .find(|l| l.contains("audit log searched"))
        .unwrap_or_else(|| panic!("no search line:\n{logged}"));
    assert!(searched.contains("clerk=anna"), "{searched}");
    assert!(
        logged.contains("clerk=(not a clerk name)"),
        "a name that cannot be a clerk's is not written:\n{logged}"
    );
    for secret in [
        CODE,
        "anna-password",
        "wrong-guess-1",
        "wrong-guess-2",
        "my secret words",
    ] {
        assert!(!logged.contains(secret), "`{secret}` was logged:\n{logged}");
    }
    assert!(logged.contains("MRS************H"), "{logged}");
}
