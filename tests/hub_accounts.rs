//! Account lifecycle (security finding 19), against a real hub on loopback and its real
//! SQLite file, the admin commands run as a maintainer runs them (another process on the
//! same file): a disabled or removed clerk is out at once, a removed kiosk's token stops
//! working at once despite the hub's token cache, and a clerk session unused for
//! `[sessions] idle_minutes` is refused and deleted.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use chrono::{TimeDelta, Utc};
use common::{Clerk, Ran, TestHub};
use sportello::hub::admin;
use sportello::hub::clock::ManualClock;

/// `sportello hub --config FILE args...`, with `stdin` on standard input.
fn admin_command(config: &Path, args: &[&str], stdin: &str) -> Ran {
    let mut child = common::sportello_command()
        .args(["hub", "--config"])
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}

fn count(hub: &TestHub, sql: &str) -> i64 {
    hub.value(sql, &[]).expect("a row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_or_removed_clerk_is_out_at_once() {
    let hub = TestHub::start().await;
    let config = hub.hub_toml();
    let anna = hub.clerk("anna").await;
    let bruno = hub.clerk("bruno").await;
    let carla = hub.clerk("carla").await;
    for clerk in [&anna, &bruno, &carla] {
        clerk.get("/counter/api/state").await.unwrap();
    }

    // Disabled: the open session ends at once, and the password no longer logs in.
    let ran = admin_command(&config, &["operator", "disable", "anna"], "");
    assert!(ran.ok(), "{}", ran.all());
    assert!(
        ran.stdout
            .contains("operator anna disabled, 1 open session(s) ended"),
        "{}",
        ran.all()
    );
    let out = anna.get("/counter/api/state").await.unwrap_err();
    assert_eq!((out.status, out.code.as_str()), (401, "not_logged_in"));
    let again = Clerk::new(&hub.url());
    let refused = again.login("anna", "password123").await.unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (401, "bad_credentials")
    );

    // Removed: the same, and the row is gone.
    let ran = admin_command(&config, &["operator", "remove", "bruno"], "");
    assert!(ran.ok(), "{}", ran.all());
    assert!(
        ran.stdout.contains("operator bruno removed"),
        "{}",
        ran.all()
    );
    let out = bruno.get("/counter/api/state").await.unwrap_err();
    assert_eq!(out.status, 401);
    assert_eq!(
        Clerk::new(&hub.url())
            .login("bruno", "password123")
            .await
            .unwrap_err()
            .status,
        401
    );
    assert_eq!(
        count(&hub, "SELECT count(*) FROM operators WHERE name = 'bruno'"),
        0
    );

    // Others are untouched; an unknown name is an error naming it.
    carla.get("/counter/api/state").await.unwrap();
    let ran = admin_command(&config, &["operator", "remove", "nessuno"], "");
    assert!(!ran.ok());
    assert!(
        ran.stderr.contains("no operator named `nessuno`"),
        "{}",
        ran.all()
    );

    // A new password enables a disabled clerk again.
    let ran = admin_command(&config, &["operator", "add", "anna"], "another-password\n");
    assert!(ran.ok(), "{}", ran.all());
    assert!(ran.stdout.contains("enabled again"), "{}", ran.all());
    again.login("anna", "another-password").await.unwrap();
    again.get("/counter/api/state").await.unwrap();
    hub.stop().await;
}

/// Enrolls a kiosk over HTTP: (kiosk id, token).
async fn enroll(hub: &TestHub, enrollment_token: &str, name: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/kiosks/enroll", hub.url()))
        .json(&serde_json::json!({ "enrollment_token": enrollment_token, "name": name }))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or_default(),
    )
}

/// The status of an authenticated kiosk request.
async fn catalogue_status(hub: &TestHub, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/v1/catalogue", hub.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_kiosk_token_stops_working_at_once() {
    let hub = TestHub::start().await;
    let config = hub.hub_toml();
    let enrollment = common::blocking(|| admin::create_enrollment_token(hub.location())).unwrap();
    let (status, lost) = enroll(&hub, &enrollment, "totem-perso").await;
    assert_eq!(status, 201, "{lost}");
    let lost_id = lost["kiosk_id"].as_str().unwrap().to_string();
    let lost_token = lost["token"].as_str().unwrap().to_string();
    let other_token = common::blocking(|| admin::create_enrollment_token(hub.location())).unwrap();
    let (_, other) = enroll(&hub, &other_token, "totem-ingresso").await;
    let other_token = other["token"].as_str().unwrap().to_string();
    // Both work; the lost kiosk's token is now in the hub's 5 s cache.
    assert_eq!(catalogue_status(&hub, &lost_token).await, 200);
    assert_eq!(catalogue_status(&hub, &other_token).await, 200);

    let ran = admin_command(&config, &["kiosk", "remove", &lost_id], "");
    assert!(ran.ok(), "{}", ran.all());
    assert!(
        ran.stdout
            .contains(&format!("kiosk {lost_id} (totem-perso) removed")),
        "{}",
        ran.all()
    );
    // At once, not after the cache's 5 s.
    assert_eq!(catalogue_status(&hub, &lost_token).await, 401);
    assert_eq!(catalogue_status(&hub, &other_token).await, 200);
    // Its enrollment token cannot bring it back (it never sent a heartbeat, which would
    // otherwise let the same token enrol it again).
    let (status, body) = enroll(&hub, &enrollment, "totem-perso").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(catalogue_status(&hub, &lost_token).await, 401);

    // Off the fleet page; the row stays for its tickets and audit rows; twice is an error.
    let clerk = hub.clerk("anna").await;
    let fleet = clerk.get("/fleet/api/kiosks").await.unwrap();
    let listed: Vec<&str> = fleet
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["totem-ingresso"]);
    assert_eq!(
        count(
            &hub,
            "SELECT count(*) FROM kiosks WHERE removed_at IS NOT NULL"
        ),
        1
    );
    let ran = admin_command(&config, &["kiosk", "remove", &lost_id], "");
    assert!(!ran.ok());
    assert!(ran.stderr.contains("no kiosk with id"), "{}", ran.all());
    hub.stop().await;
}

fn sessions_left(hub: &TestHub) -> i64 {
    count(hub, "SELECT count(*) FROM sessions")
}

fn last_used(hub: &TestHub) -> i64 {
    count(hub, "SELECT last_used_at FROM sessions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_clerk_session_is_refused_and_deleted() {
    let clock = ManualClock::new(Utc::now());
    let hub = TestHub::start_with(|_| {}, Some(clock.clone())).await;
    assert_eq!(hub.config.sessions.idle_minutes, 30, "the default");
    let anna = hub.clerk("anna").await;
    let logged_in = last_used(&hub);

    // Used within the idle time: still in. The last use is written at most once a
    // minute, not on every request.
    clock.advance(TimeDelta::seconds(30));
    anna.get("/counter/api/state").await.unwrap();
    assert_eq!(last_used(&hub), logged_in, "no write within the minute");
    clock.advance(TimeDelta::minutes(29));
    anna.get("/counter/api/state").await.unwrap();
    assert_eq!(last_used(&hub), logged_in + 29 * 60 + 30, "refreshed");
    clock.advance(TimeDelta::minutes(29));
    anna.get("/counter/api/state").await.unwrap();

    // Then left alone for 30 minutes: refused, and the session row is deleted.
    clock.advance(TimeDelta::minutes(30));
    let out = anna.get("/counter/api/state").await.unwrap_err();
    assert_eq!((out.status, out.code.as_str()), (401, "not_logged_in"));
    assert_eq!(sessions_left(&hub), 0);
    // Logging in again works.
    anna.login("anna", "password123").await.unwrap();
    anna.get("/counter/api/state").await.unwrap();
    hub.stop().await;
}

#[test]
fn idle_minutes_is_checked_like_every_key() {
    use sportello::config::hub::HubConfig;
    let parse = |text: &str| sportello::config::parse::<HubConfig>(text, "hub.toml");
    let config = parse("[sessions]\nminutes = 60\nidle_minutes = 15\n").unwrap();
    assert_eq!(config.sessions.idle_minutes, 15);
    for bad in [
        "[sessions]\nidle_minutes = 0\n",
        "[sessions]\nminutes = 60\nidle_minutes = 61\n",
    ] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("sessions.idle_minutes"), "{err}");
    }
}
