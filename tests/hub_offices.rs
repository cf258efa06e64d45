//! Several offices on one hub (issue 19): each has its own numbers, queues, counters,
//! board, fleet, audit and day; a clerk of one office neither sees nor acts on another's.
//! In the hub suite, so it runs on SQLite and again on PostgreSQL.

mod common;

use chrono::TimeDelta;
use common::{TestHub, ticket};

async fn board(hub: &TestHub, query: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/display/state{query}", hub.url()))
        .send()
        .await
        .unwrap()
}

async fn board_numbers(hub: &TestHub, query: &str) -> (String, Vec<String>) {
    let state: serde_json::Value = board(hub, query).await.json().await.unwrap();
    let numbers = state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    (state["office_name"].as_str().unwrap().to_string(), numbers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offices_on_one_hub_are_kept_apart() {
    let hub = TestHub::start().await;
    hub.add_office("nord", "Milano Nord", "Europe/Rome", None, None);
    let ours = hub.kiosk("ours").await;
    let theirs = hub.kiosk_in("nord", "theirs").await;

    // Numbers per office: both start at N001, both gapless.
    let mut numbers = Vec::new();
    for kiosk in [&ours, &theirs, &ours, &theirs, &ours] {
        numbers.push(
            kiosk
                .issue_ticket(&ticket("naspi"))
                .await
                .unwrap()
                .ticket
                .number,
        );
    }
    assert_eq!(numbers, ["N001", "N001", "N002", "N002", "N003"]);

    // Each kiosk hears of its own office: name, queue.
    let sportello::sync::client::CatalogueFetch::Changed { catalogue, etag } =
        theirs.catalogue(None).await.unwrap()
    else {
        panic!("a first fetch is a catalogue");
    };
    assert_eq!(catalogue.office_name, "Milano Nord");
    let sportello::sync::client::CatalogueFetch::Changed {
        etag: ours_etag, ..
    } = ours.catalogue(None).await.unwrap()
    else {
        panic!("a first fetch is a catalogue");
    };
    assert_ne!(
        etag, ours_etag,
        "a kiosk moving office would fetch the catalogue again"
    );
    let queues = theirs.queues().await.unwrap();
    let naspi = queues
        .services
        .iter()
        .find(|q| q.service == "naspi")
        .unwrap();
    assert_eq!(naspi.waiting, 2, "their queue holds their two tickets only");
    let found = theirs.ticket_by_number("N003").await;
    assert!(found.is_err(), "our N003 is not theirs to look up");

    // Counters per office: the same counter name in both, each calling its own queue.
    let anna = hub.clerk("anna").await;
    let bruno = hub.clerk_in("nord", "bruno").await;
    anna.setup("Sportello 1", &["naspi"]).await;
    bruno.setup("Sportello 1", &["naspi"]).await;
    let wrong = bruno
        .post(
            "/counter/api/setup",
            serde_json::json!({ "counter": "Sportello 3", "services": ["naspi"] }),
        )
        .await
        .unwrap_err();
    assert_eq!(
        wrong.code, "unknown_counter",
        "not one of Milano Nord's counters"
    );
    let state = bruno.get("/counter/api/state").await.unwrap();
    assert_eq!(
        state["counters"],
        serde_json::json!(["Sportello 1", "Sportello A"])
    );
    assert_eq!(anna.next().await.unwrap().as_deref(), Some("N001"));
    assert_eq!(bruno.next().await.unwrap().as_deref(), Some("N001"));
    bruno
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(bruno.next().await.unwrap().as_deref(), Some("N002"));
    bruno
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        bruno.next().await.unwrap(),
        None,
        "nobody of Milano Nord waits, whoever waits here"
    );

    // Boards per office.
    let (name, calls) = board_numbers(&hub, "").await;
    assert_eq!(
        name,
        common::config_in(std::path::Path::new(".")).office_name
    );
    assert_eq!(calls, ["N001"]);
    let (name, calls) = board_numbers(&hub, "?office=nord").await;
    assert_eq!(name, "Milano Nord");
    assert_eq!(calls, ["N002", "N001"]);
    assert_eq!(board(&hub, "?office=sud").await.status(), 404);

    // Fleet per office: bruno sees and may disable only Milano Nord's kiosk.
    let kiosks = bruno.get("/fleet/api/kiosks").await.unwrap();
    let names: Vec<&str> = kiosks
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["theirs"]);
    let all = anna.get("/fleet/api/kiosks").await.unwrap();
    let our_id = all[0]["kiosk_id"].as_str().unwrap().to_string();
    let refused = bruno
        .post(
            &format!("/fleet/api/kiosks/{our_id}/disabled"),
            serde_json::json!({ "disabled": true }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.status, 404);
    ours.issue_ticket(&ticket("naspi")).await.unwrap();

    // Audit per office: anna's search is in her office's log, not in bruno's.
    anna.post("/audit/api/events", serde_json::json!({}))
        .await
        .unwrap();
    let theirs_log = bruno.get("/audit/api/events").await.unwrap();
    let clerks: Vec<&str> = theirs_log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["operator"].as_str())
        .collect();
    assert!(!clerks.contains(&"anna"), "{theirs_log}");
    let ours_log = anna.get("/audit/api/events").await.unwrap();
    assert!(ours_log.to_string().contains("anna"), "{ours_log}");

    // A rollout reaches every office's kiosks: not one for a maintainer of Milano Nord.
    let location = hub.location();
    common::blocking(|| sportello::hub::admin::set_role(&location, "bruno", "maintainer")).unwrap();
    bruno.login("bruno", "password123").await.unwrap();
    let view = bruno.get("/fleet/api/updates").await.unwrap();
    assert_eq!(view["can_roll_out"], false);
    let refused = bruno
        .post(
            "/fleet/api/updates/rollout",
            serde_json::json!({ "version": "1.0", "canary": 1, "percent": 50 }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, "region_rollout");

    // Metrics by office.
    let metrics = reqwest::get(format!("{}/metrics", hub.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "sportello_tickets_issued_today{office=\"default\",service=\"naspi\"} 4",
        "sportello_tickets_issued_today{office=\"nord\",service=\"naspi\"} 2",
        "sportello_kiosks_enrolled{office=\"nord\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    hub.stop().await;
}

#[tokio::test]
async fn each_office_turns_its_day_at_its_own_midnight() {
    // 03:30 UTC: 04:30 on 4 December in Rome, 22:30 on 3 December in New York.
    let start = "2026-12-04T03:30:00Z".parse().unwrap();
    let hub = TestHub::start_at(start).await;
    hub.add_office(
        "new-york",
        "Consolato, New York",
        "America/New_York",
        None,
        None,
    );
    let rome = hub.kiosk("rome").await;
    let new_york = hub.kiosk_in("new-york", "ny").await;
    let a = rome.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let b = new_york
        .issue_ticket(&ticket("naspi"))
        .await
        .unwrap()
        .ticket;
    assert_eq!(a.day.to_string(), "2026-12-04");
    assert_eq!(b.day.to_string(), "2026-12-03");
    // Two hours on: midnight has passed in New York (a new day, numbers from N001), not
    // again in Rome (its numbers go on).
    hub.clock.as_ref().unwrap().advance(TimeDelta::hours(2));
    let a = rome.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let b = new_york
        .issue_ticket(&ticket("naspi"))
        .await
        .unwrap()
        .ticket;
    assert_eq!(
        (a.day.to_string(), a.number.as_str()),
        ("2026-12-04".into(), "N002")
    );
    assert_eq!(
        (b.day.to_string(), b.number.as_str()),
        ("2026-12-04".into(), "N001")
    );
    hub.stop().await;
}

#[tokio::test]
async fn an_office_offers_its_own_services_with_its_own_letters() {
    let hub = TestHub::start().await;
    hub.add_office(
        "sud",
        "Napoli Sud",
        "Europe/Rome",
        Some(&["isee", "naspi=Q"]),
        None,
    );
    let kiosk = hub.kiosk_in("sud", "sud").await;
    let sportello::sync::client::CatalogueFetch::Changed { catalogue, .. } =
        kiosk.catalogue(None).await.unwrap()
    else {
        panic!("a first fetch is a catalogue");
    };
    let mut offered: Vec<(String, char)> = catalogue
        .services
        .iter()
        .map(|s| (s.code.clone(), s.prefix))
        .collect();
    offered.sort();
    let isee = sportello::catalogue::Catalogue::builtin()
        .service("isee")
        .unwrap()
        .prefix;
    assert_eq!(offered, [("isee".into(), isee), ("naspi".into(), 'Q')]);
    let issued = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(issued.number, "Q001");
    let refused = kiosk.issue_ticket(&ticket("did-patto")).await.unwrap_err();
    assert!(
        refused.to_string().contains("unknown_service"),
        "a service this office does not offer: {refused}"
    );
    let bands = kiosk
        .lease_bands(&sportello::protocol::BandsRequest { services: None })
        .await
        .unwrap();
    let banded: Vec<&str> = bands.bands.iter().map(|b| b.service.as_str()).collect();
    assert_eq!(
        banded.len(),
        2,
        "bands for its two services only: {banded:?}"
    );
    // The office's clerk chooses among its services only.
    let clerk = hub.clerk_in("sud", "carla").await;
    let refused = clerk
        .post(
            "/counter/api/setup",
            serde_json::json!({ "counter": "Sportello 1", "services": ["did-patto"] }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, "unknown_service");
    clerk.setup("Sportello 1", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("Q001"));
    hub.stop().await;
}

#[tokio::test]
async fn an_office_closes_at_its_own_hours() {
    // 11:00 in Rome (CET).
    let start = "2026-12-04T10:00:00Z".parse().unwrap();
    let hub = TestHub::start_at(start).await;
    hub.add_office(
        "mattina",
        "Sportello del mattino",
        "Europe/Rome",
        None,
        Some("10:30"),
    );
    let all_day = hub.kiosk("all-day").await;
    let morning = hub.kiosk_in("mattina", "morning").await;
    all_day.issue_ticket(&ticket("naspi")).await.unwrap();
    let refused = morning.issue_ticket(&ticket("naspi")).await.unwrap_err();
    assert!(refused.to_string().contains("service_closed"), "{refused}");
    let queues = morning.queues().await.unwrap();
    assert!(
        queues.services.iter().all(|q| !q.open),
        "closed after 10:30"
    );
    let queues = all_day.queues().await.unwrap();
    assert!(
        queues.services.iter().all(|q| q.open),
        "hub.toml sets no hours"
    );
    hub.stop().await;
}
