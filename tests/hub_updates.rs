//! Rolling a software update out from the hub (issue 18, item 4), against a real hub on
//! loopback: waves that open only when the kiosks before are updated and good, the bundle
//! served only to kiosks whose wave is open (and resumable), a kiosk counted as updated
//! only when it says `good` from the other slot, and the first rollback stopping the rest.

mod common;

use common::{Clerk, TestHub};
use sportello::hub::{admin, updates};
use sportello::protocol::{
    EnrollRequest, HeartbeatRequest, HeartbeatResponse, PrinterState, UpdateReport, UpdateState,
};
use sportello::sync::HubClient;

struct Kiosk {
    client: HubClient,
    token: String,
    id: String,
}

async fn enrol(hub: &TestHub, name: &str) -> Kiosk {
    let mut client = hub.client();
    let enrolled = client
        .enroll(&EnrollRequest {
            enrollment_token: common::blocking(|| admin::create_enrollment_token(hub.location()))
                .unwrap(),
            name: Some(name.into()),
            previous: None,
        })
        .await
        .unwrap();
    client.set_token(enrolled.token.clone());
    Kiosk {
        client,
        token: enrolled.token,
        id: enrolled.kiosk_id,
    }
}

impl Kiosk {
    async fn beat(&self, report: Option<(&str, UpdateState)>) -> HeartbeatResponse {
        self.client
            .heartbeat(&HeartbeatRequest {
                version: "0.1.0".into(),
                printer: PrinterState::Ok,
                outbox_depth: 0,
                oldest_pending_seconds: None,
                printer_detail: None,
                kiosk_time: None,
                update: report.map(|(slot, state)| UpdateReport {
                    booted_slot: slot.into(),
                    version: "1.1.0".into(),
                    state,
                    detail: (state == UpdateState::RolledBack)
                        .then(|| "slot B never became ready".into()),
                }),
            })
            .await
            .unwrap()
    }

    async fn fetch(&self, hub: &TestHub, path: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .get(format!("{}{path}", hub.url()))
            .bearer_auth(&self.token);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().await.unwrap()
    }
}

fn state_of(hub: &TestHub, kiosk: &Kiosk) -> String {
    let rollout = hub.with_db(|sql| updates::latest(sql).unwrap().unwrap());
    rollout
        .targets
        .into_iter()
        .find(|t| t.kiosk_id == kiosk.id)
        .unwrap()
        .state
}

fn rollout_state(hub: &TestHub) -> (String, Option<String>) {
    let rollout = hub.with_db(|sql| updates::latest(sql).unwrap().unwrap());
    (rollout.state, rollout.stop_reason)
}

#[tokio::test]
async fn waves_open_on_good_kiosks_and_the_first_rollback_stops_the_rollout() {
    let hub = TestHub::start().await;
    let canary = enrol(&hub, "a-canary").await;
    let second = enrol(&hub, "b-second").await;
    let third = enrol(&hub, "c-third").await;

    let bundle: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = hub.dir.path().join("sportello-kiosk-1.1.0.raucb");
    std::fs::write(&file, &bundle).unwrap();
    let sha256 = common::blocking(|| updates::add_bundle(hub.location(), &file, "1.1.0")).unwrap();
    let (_, waves) = common::blocking(|| {
        updates::start_rollout(
            hub.location(),
            "1.1.0",
            &[],
            updates::Waves {
                canary: 1,
                percent: 50,
            },
        )
    })
    .unwrap();
    assert_eq!(waves, vec![1, 1, 1]);

    // Only the canary's wave is open.
    let offer = canary
        .beat(None)
        .await
        .update
        .expect("the canary is offered it");
    assert_eq!((offer.version.as_str(), offer.size), ("1.1.0", 200_000));
    assert_eq!(offer.sha256, sha256);
    assert!(second.beat(None).await.update.is_none(), "wave 2 waits");
    assert_eq!(state_of(&hub, &canary), "offered");
    assert_eq!(state_of(&hub, &second), "waiting");

    // The bundle goes to the canary, whole or from a byte on; never to the others yet.
    let whole = canary.fetch(&hub, &offer.path, None).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bundle.as_slice());
    let rest = canary.fetch(&hub, &offer.path, Some("bytes=150000-")).await;
    assert_eq!(rest.status(), 206);
    assert_eq!(
        rest.headers()["content-range"].to_str().unwrap(),
        "bytes 150000-199999/200000"
    );
    assert_eq!(rest.bytes().await.unwrap().as_ref(), &bundle[150_000..]);
    for bad in ["bytes=200000-", "bytes=0-10", "items=1-"] {
        let refused = canary.fetch(&hub, &offer.path, Some(bad)).await;
        assert_eq!(refused.status(), 416, "{bad}");
    }
    assert_eq!(second.fetch(&hub, &offer.path, None).await.status(), 404);
    let unknown = format!("/api/v1/updates/{}", "0".repeat(64));
    assert_eq!(canary.fetch(&hub, &unknown, None).await.status(), 404);

    // Downloading, installed (still on A), booted and good on B: the next wave opens.
    canary.beat(Some(("A", UpdateState::Downloading))).await;
    canary.beat(Some(("A", UpdateState::Installed))).await;
    assert!(second.beat(None).await.update.is_none());
    canary.beat(Some(("B", UpdateState::Booted))).await;
    assert!(
        second.beat(None).await.update.is_none(),
        "booted is not good"
    );
    let after_good = canary.beat(Some(("B", UpdateState::Good))).await;
    assert!(
        after_good.update.is_none(),
        "nothing more to offer a good kiosk"
    );
    assert_eq!(state_of(&hub, &canary), "good");
    assert!(second.beat(None).await.update.is_some(), "wave 2 opens");

    // "Good" from the slot it started on is not believed.
    second.beat(Some(("A", UpdateState::Downloading))).await;
    second.beat(Some(("A", UpdateState::Good))).await;
    assert_eq!(state_of(&hub, &second), "downloading");
    assert!(third.beat(None).await.update.is_none());

    // It rolls back: the rollout stops, the third kiosk is never offered it.
    second.beat(Some(("B", UpdateState::Booted))).await;
    second.beat(Some(("A", UpdateState::RolledBack))).await;
    assert_eq!(state_of(&hub, &second), "rolled_back");
    let (state, reason) = rollout_state(&hub);
    assert_eq!(state, "stopped");
    assert!(
        reason
            .as_deref()
            .unwrap()
            .contains("rolled back (slot B never became ready)"),
        "{reason:?}"
    );
    assert!(third.beat(None).await.update.is_none());
    assert_eq!(third.fetch(&hub, &offer.path, None).await.status(), 404);
    assert_eq!(canary.fetch(&hub, &offer.path, None).await.status(), 404);

    // The fleet page shows each kiosk's step.
    let clerk = hub.clerk("maria").await;
    let kiosks = clerk.get("/fleet/api/kiosks").await.unwrap();
    let update_of = |name: &str| {
        kiosks
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .unwrap()["update"]
            .clone()
    };
    assert_eq!(update_of("a-canary")["state"], "good");
    assert_eq!(update_of("a-canary")["booted_slot"], "B");
    assert_eq!(update_of("b-second")["state"], "rolled_back");
    assert_eq!(update_of("c-third")["state"], "waiting");
    assert_eq!(update_of("c-third")["rollout"], "stopped");
}

#[tokio::test]
async fn a_rollout_to_chosen_kiosks_ends_done_and_a_release_is_never_replaced() {
    let hub = TestHub::start().await;
    let chosen = enrol(&hub, "chosen").await;
    let other = enrol(&hub, "other").await;
    let file = hub.dir.path().join("b.raucb");
    std::fs::write(&file, b"bundle one").unwrap();
    common::blocking(|| updates::add_bundle(hub.location(), &file, "1.1.0")).unwrap();
    assert!(
        common::blocking(|| updates::add_bundle(hub.location(), &file, "1.1.0")).is_ok(),
        "the same file again"
    );
    std::fs::write(&file, b"bundle two").unwrap();
    let err = common::blocking(|| updates::add_bundle(hub.location(), &file, "1.1.0")).unwrap_err();
    assert!(err.to_string().contains("never replaced"), "{err}");
    let err = common::blocking(|| {
        updates::start_rollout(hub.location(), "9.9.9", &[], Default::default())
    })
    .unwrap_err();
    assert!(err.to_string().contains("add it first"), "{err}");
    let err = common::blocking(|| {
        updates::start_rollout(
            hub.location(),
            "1.1.0",
            &["nobody".into()],
            Default::default(),
        )
    })
    .unwrap_err();
    assert!(err.to_string().contains("no kiosk `nobody`"), "{err}");

    common::blocking(|| {
        updates::start_rollout(
            hub.location(),
            "1.1.0",
            &["chosen".into()],
            Default::default(),
        )
    })
    .unwrap();
    assert!(other.beat(None).await.update.is_none(), "not chosen");
    assert!(chosen.beat(None).await.update.is_some());
    chosen.beat(Some(("A", UpdateState::Installed))).await;
    chosen.beat(Some(("B", UpdateState::Good))).await;
    assert_eq!(rollout_state(&hub).0, "done");
}

#[tokio::test]
async fn the_kiosk_downloads_over_its_own_link_resumes_and_refuses_a_wrong_file() {
    let hub = TestHub::start().await;
    let kiosk = enrol(&hub, "only").await;
    let bundle: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 253) as u8).collect();
    let file = hub.dir.path().join("c.raucb");
    std::fs::write(&file, &bundle).unwrap();
    common::blocking(|| updates::add_bundle(hub.location(), &file, "1.1.0")).unwrap();
    common::blocking(|| updates::start_rollout(hub.location(), "1.1.0", &[], Default::default()))
        .unwrap();
    let offer = kiosk.beat(None).await.update.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("update.raucb");
    let partial = dir.path().join("update.raucb.part");
    kiosk.client.download_update(&offer, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bundle);
    assert!(!partial.exists());

    // Cut after 100 000 bytes: the next try fetches only the rest.
    std::fs::remove_file(&dest).unwrap();
    std::fs::write(&partial, &bundle[..100_000]).unwrap();
    kiosk.client.download_update(&offer, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bundle);

    // A partial file that is not the bundle's start: refused, deleted, then fetched whole.
    std::fs::remove_file(&dest).unwrap();
    std::fs::write(&partial, vec![0u8; 100_000]).unwrap();
    let err = kiosk
        .client
        .download_update(&offer, &dest)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert!(!dest.exists() && !partial.exists());
    kiosk.client.download_update(&offer, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bundle);

    // Already here whole (a power cut during the installation, then the offer again): not
    // fetched again. The hub's copy is gone, so a fetch would fail.
    let kept = updates::bundle_path(hub.location(), &offer.sha256);
    let hub_copy = std::fs::read(&kept).unwrap();
    std::fs::remove_file(&kept).unwrap();
    kiosk.client.download_update(&offer, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bundle);
    assert!(!partial.exists());
    // A file of the right size that is not the bundle is replaced by the real one.
    std::fs::write(&kept, &hub_copy).unwrap();
    std::fs::write(&dest, vec![7u8; bundle.len()]).unwrap();
    kiosk.client.download_update(&offer, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bundle);

    // An offer pointing anywhere but the hub's updates is not followed.
    let mut elsewhere = offer.clone();
    elsewhere.path = "/api/v1/catalogue".into();
    assert!(
        kiosk
            .client
            .download_update(&elsewhere, &dir.path().join("x"))
            .await
            .is_err()
    );
}

/// The fleet page's rollout controls: every clerk sees the bundles and the rollout, only a
/// maintainer starts or stops one, and a role taken away takes effect at once.
#[tokio::test]
async fn only_a_maintainer_starts_and_stops_a_rollout_from_the_fleet_page() {
    let hub = TestHub::start().await;
    let kiosk = enrol(&hub, "a-canary").await;
    let file = hub.dir.path().join("bundle.raucb");
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    common::blocking(|| updates::add_bundle(hub.location(), &file, "2.0.0")).unwrap();
    common::blocking(|| admin::add_operator(hub.location(), "anna", "password123")).unwrap();
    common::blocking(|| admin::add_operator(hub.location(), "marco", "password123")).unwrap();
    common::blocking(|| admin::set_role(hub.location(), "marco", "maintainer")).unwrap();
    let err = common::blocking(|| admin::set_role(hub.location(), "anna", "root")).unwrap_err();
    assert!(err.to_string().contains("clerk, maintainer"), "{err}");
    let start = serde_json::json!({ "version": "2.0.0", "canary": 1, "percent": 50 });

    let clerk = Clerk::new(&hub.url());
    clerk.login("anna", "password123").await.unwrap();
    let view = clerk.get("/fleet/api/updates").await.unwrap();
    assert_eq!(view["can_roll_out"], false);
    assert_eq!(view["bundles"][0]["version"], "2.0.0");
    assert!(view["rollout"].is_null());
    for (path, body) in [
        ("/fleet/api/updates/rollout", start.clone()),
        ("/fleet/api/updates/stop", serde_json::json!({})),
    ] {
        let err = clerk.post(path, body).await.unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str()),
            (403, "role_required"),
            "{path}"
        );
    }
    assert!(kiosk.beat(None).await.update.is_none(), "nothing started");

    let maintainer = Clerk::new(&hub.url());
    maintainer.login("marco", "password123").await.unwrap();
    assert_eq!(
        maintainer.get("/fleet/api/updates").await.unwrap()["can_roll_out"],
        true
    );
    let wrong = serde_json::json!({ "version": "9.9.9", "canary": 1, "percent": 50 });
    let err = maintainer
        .post("/fleet/api/updates/rollout", wrong)
        .await
        .unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (422, "invalid_rollout"));
    let started = maintainer
        .post("/fleet/api/updates/rollout", start.clone())
        .await
        .unwrap();
    assert_eq!(started["waves"], serde_json::json!([1]));
    let offer = kiosk.beat(None).await.update.expect("offered");
    assert_eq!(offer.version, "2.0.0");
    let view = clerk.get("/fleet/api/updates").await.unwrap();
    assert_eq!(view["rollout"]["state"], "running");
    assert_eq!(view["rollout"]["targets"][0]["state"], "offered");

    let stopped = maintainer
        .post(
            "/fleet/api/updates/stop",
            serde_json::json!({ "reason": "printer complaints" }),
        )
        .await
        .unwrap();
    assert_eq!(stopped["stopped"], true);
    let (state, reason) = rollout_state(&hub);
    assert_eq!(state, "stopped");
    assert_eq!(reason.as_deref(), Some("printer complaints (marco)"));
    assert!(
        kiosk.beat(None).await.update.is_none(),
        "no offer once stopped"
    );

    // The role taken away: marco's session ends with it.
    common::blocking(|| admin::set_role(hub.location(), "marco", "clerk")).unwrap();
    let err = maintainer
        .post("/fleet/api/updates/rollout", start)
        .await
        .unwrap_err();
    assert_eq!(err.status, 401);
}
