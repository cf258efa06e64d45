//! A codice fiscale on a ticket, against a real hub on loopback: validated without being
//! echoed, shown only to the clerk holding the ticket (never on the board, its live
//! events, the look-ups or the tracking page), matched against today's bookings, and
//! erased once its office day is over.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use common::{TestHub, book, codice_fiscale, ticket, today_in_rome};
use serde_json::json;
use sportello::hub::sql::args;
use sportello::protocol::IssueTicketRequest;
use sportello::sync::{ClientError, HubClient};

const CF: &str = "RSSMRA45C12F205C";

fn with_cf(service: &str, cf: &str) -> IssueTicketRequest {
    let mut request = ticket(service);
    request.codice_fiscale = Some(cf.to_string());
    request
}

/// The same, read from the health card's chip or stripe: only a card checks in a booking
/// (a typed code could be anyone's).
fn from_card(service: &str, cf: &str) -> IssueTicketRequest {
    let mut request = with_cf(service, cf);
    request.codice_fiscale_from_card = true;
    request
}

/// The codice fiscale stored for a ticket, read straight from the hub's file.
fn stored_cf(hub: &TestHub, ticket_id: uuid::Uuid) -> Option<String> {
    hub.value::<Option<String>>(
        "SELECT codice_fiscale FROM tickets WHERE id = ?1",
        args![ticket_id.to_string()],
    )
    .expect("the ticket is stored")
}

#[tokio::test]
async fn a_bad_codice_fiscale_is_refused_without_being_repeated() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    for (bad, says) in [
        ("RSSMRA45C12F205D", "check letter"),
        ("RSSMRA45C12F205", "15 letters and digits"),
        ("RSSMRA4XC12F205C", "character 8 must be a digit"),
        ("RSSMRA45C92F205C", "day of birth"),
        (
            "RSSMRA45C12F2#5C",
            "character 14 is not a letter or a digit",
        ),
        ("", "empty"),
    ] {
        match kiosk.issue_ticket(&with_cf("naspi", bad)).await {
            Err(ClientError::Rejected {
                status: 422,
                code,
                message,
            }) => {
                assert_eq!(code, "bad_codice_fiscale", "{bad}");
                assert!(message.contains(says), "{bad}: {message}");
                if !bad.is_empty() {
                    assert!(!message.contains(bad), "{message}");
                    assert!(!message.contains(&bad[..6]), "{message}");
                }
            }
            other => panic!("{bad}: expected 422, got {other:?}"),
        }
    }
    // Nothing was numbered; a good code (typed loosely) is accepted and normalised.
    let ok = kiosk
        .issue_ticket(&with_cf("naspi", " rss mra-45c12 f205c "))
        .await
        .unwrap()
        .ticket;
    assert_eq!(ok.number, "N001");
    assert_eq!(stored_cf(&hub, ok.ticket_id).as_deref(), Some(CF));
    hub.stop().await;
}

/// Reads server-sent events until `until` appears in the stream (or 10 s pass).
async fn read_events(response: &mut reqwest::Response, text: &mut String, until: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text.contains(until) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("no `{until}` in the events ({other:?}):\n{text}"),
        }
    }
}

async fn get_text(url: &str) -> String {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_clerk_holding_the_ticket_sees_the_codice_fiscale() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut events = http
        .get(format!("{}/display/events", hub.url()))
        .send()
        .await
        .unwrap();
    let mut stream = String::new();
    read_events(&mut events, &mut stream, "event: snapshot").await;

    let request = with_cf("naspi", CF);
    let identified = kiosk.issue_ticket(&request).await.unwrap().ticket;
    let anonymous = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(identified.number, "N001");
    let issued = serde_json::to_string(&identified).unwrap();
    assert!(!issued.contains(CF), "the kiosk's answer: {issued}");

    let anna = hub.clerk("anna").await;
    let bruno = hub.clerk("bruno").await;
    anna.setup("Sportello 1", &["naspi"]).await;
    bruno.setup("Sportello 2", &["naspi"]).await;
    // Before anyone calls it, no clerk sees it.
    for clerk in [&anna, &bruno] {
        let state = clerk.get("/counter/api/state").await.unwrap();
        assert!(!state.to_string().contains(CF), "{state}");
    }
    let called = anna.post("/counter/api/next", json!({})).await.unwrap();
    assert_eq!(called["ticket"]["number"], "N001");
    assert_eq!(called["ticket"]["codice_fiscale"], CF);
    let state = anna.get("/counter/api/state").await.unwrap();
    assert_eq!(state["current"]["codice_fiscale"], CF);
    for path in ["/counter/api/recall", "/counter/api/serving"] {
        let answer = anna.post(path, json!({})).await.unwrap();
        assert_eq!(answer["ticket"]["codice_fiscale"], CF, "{path}");
    }
    // The other clerk's ticket has none, and their page never shows this one.
    let other = bruno.post("/counter/api/next", json!({})).await.unwrap();
    assert_eq!(other["ticket"]["number"], "N002");
    assert!(other["ticket"].get("codice_fiscale").is_none(), "{other}");
    let state = bruno.get("/counter/api/state").await.unwrap();
    assert!(!state.to_string().contains(CF), "{state}");

    // The board, its live events, the look-ups, the tracking page, the metrics and
    // the fleet page never carry it.
    read_events(&mut events, &mut stream, "\"number\":\"N002\"").await;
    assert!(stream.contains("\"number\":\"N001\""), "{stream}");
    assert!(!stream.contains(CF), "{stream}");
    let board = get_text(&format!("{}/display/state", hub.url())).await;
    assert!(board.contains("N001") && !board.contains(CF), "{board}");
    let by_id = kiosk.ticket_status(identified.ticket_id).await.unwrap();
    let by_op = kiosk
        .ticket_status_by_ref(&request.op_id.to_string())
        .await
        .unwrap();
    let by_number = kiosk.ticket_by_number("N001").await.unwrap();
    for status in [&by_id, &by_op, &by_number] {
        assert_eq!(status.ticket_id, identified.ticket_id);
        let text = serde_json::to_string(status).unwrap();
        assert!(!text.contains(CF), "{text}");
    }
    let page = get_text(&format!("{}/t/{}", hub.url(), request.op_id)).await;
    assert!(page.contains("N001") && !page.contains(CF), "{page}");
    let metrics = get_text(&format!("{}/metrics", hub.url())).await;
    assert!(!metrics.contains(CF));
    let fleet = anna.get("/fleet/api/kiosks").await.unwrap();
    assert!(!fleet.to_string().contains(CF));

    // Once served, it is gone from the counter too.
    anna.post("/counter/api/done", json!({})).await.unwrap();
    let state = anna.get("/counter/api/state").await.unwrap();
    assert!(state["current"].is_null(), "{state}");
    assert!(!state.to_string().contains(CF));
    assert_ne!(anonymous.ticket_id, identified.ticket_id);
    // Close the board's stream, or the graceful stop waits for it.
    drop(events);
    hub.stop().await;
}

#[tokio::test]
async fn a_codice_fiscale_is_erased_after_its_office_day() {
    // 10:00 in Rome on 27 November.
    let start: DateTime<Utc> = "2026-11-27T09:00:00Z".parse().unwrap();
    let mut hub = TestHub::start_at(start).await;
    let clock = hub.clock.clone().unwrap();
    let kiosk = hub.kiosk("a").await;
    let mut yesterday = Vec::new();
    for _ in 0..2 {
        yesterday.push(
            kiosk
                .issue_ticket(&with_cf("naspi", CF))
                .await
                .unwrap()
                .ticket,
        );
    }
    // Housekeeping ran at start and runs again at a restart: today's code stays.
    hub.restart().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_cf(&hub, yesterday[0].ticket_id).as_deref(), Some(CF));

    // 08:00 the next morning; a ticket of the new day keeps its code.
    clock.set("2026-11-28T07:00:00Z".parse().unwrap());
    let today = kiosk
        .issue_ticket(&with_cf("isee", CF))
        .await
        .unwrap()
        .ticket;
    hub.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while yesterday
        .iter()
        .any(|t| stored_cf(&hub, t.ticket_id).is_some())
    {
        assert!(
            Instant::now() < deadline,
            "yesterday's codes were not erased"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored_cf(&hub, today.ticket_id).as_deref(), Some(CF));
    // The tickets themselves stay: they are the office's history.
    let old = kiosk.ticket_status(yesterday[0].ticket_id).await.unwrap();
    assert_eq!(old.number, "N001");
    // Nothing left of yesterday's codes in the files once the day's code is erased too.
    clock.set("2026-11-29T07:00:00Z".parse().unwrap());
    hub.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored_cf(&hub, today.ticket_id).is_some() {
        assert!(Instant::now() < deadline, "the code was not erased");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = hub.dir.path().to_path_buf();
    // Stop the server but keep the directory (dropping the TestHub would delete it).
    hub.hub.take().unwrap().shutdown().await;
    // The hub's connections close (and the WAL goes) just after the stop: look until the
    // files are clean, for a while.
    let holding = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().contains("hub.sqlite"))
            .filter(|p| {
                std::fs::read(p)
                    .is_ok_and(|bytes| bytes.windows(CF.len()).any(|w| w == CF.as_bytes()))
            })
            .map(|p| p.display().to_string())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let files = holding();
        if files.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{files:?} still hold the code");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status_of(kiosk: &HubClient, id: uuid::Uuid) -> (String, u32) {
    let s = kiosk.ticket_status(id).await.unwrap();
    (s.service, s.position)
}

#[tokio::test]
async fn a_codice_fiscale_checks_in_a_booking_of_today() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let other_cf = codice_fiscale("VRDGPP80A01H501");
    let day: NaiveDate = today_in_rome();
    book(
        &hub,
        day,
        &format!("AB12,09:30,naspi,{CF}\nCD34,10:00,isee,{other_cf}\nEF56,11:00,isee,\n"),
    );
    book(
        &hub,
        day.succ_opt().unwrap(),
        &format!("GH78,09:00,did-patto,{CF}\n"),
    );
    let walk_in = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;

    // Same service: linked as a check-in, ahead of the walk-in.
    let checked_in = kiosk
        .issue_ticket(&from_card("naspi", CF))
        .await
        .unwrap()
        .ticket;
    assert_eq!(
        (checked_in.service.as_str(), checked_in.position),
        ("naspi", 1)
    );
    assert_eq!(status_of(&kiosk, walk_in.ticket_id).await.1, 2);
    let linked: Option<String> = hub
        .value(
            "SELECT ticket_id FROM appointments WHERE code = 'AB12'",
            args![],
        )
        .expect("the booking is stored");
    assert_eq!(linked, Some(checked_in.ticket_id.to_string()));
    // The booking is used: its code no longer checks in, and the same code again is a
    // walk-in.
    let mut by_code = ticket("naspi");
    by_code.appointment = Some("AB12".into());
    assert!(matches!(
        kiosk.issue_ticket(&by_code).await,
        Err(ClientError::Conflict { code, .. }) if code == "appointment_used"
    ));
    let again = kiosk
        .issue_ticket(&from_card("naspi", CF))
        .await
        .unwrap()
        .ticket;
    assert_eq!(again.position, 3, "behind the walk-in");

    // Another service than the booking's: a walk-in there, the booking stays open.
    let elsewhere = kiosk
        .issue_ticket(&from_card("naspi", &other_cf))
        .await
        .unwrap()
        .ticket;
    assert_eq!(elsewhere.position, 4);
    // Tomorrow's booking is not today's.
    let tomorrow = kiosk
        .issue_ticket(&from_card("did-patto", CF))
        .await
        .unwrap()
        .ticket;
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 1", &["did-patto"]).await;
    let called = clerk.post("/counter/api/next", json!({})).await.unwrap();
    assert_eq!(
        called["ticket"]["ticket_id"],
        tomorrow.ticket_id.to_string()
    );
    assert_eq!(called["ticket"]["appointment"], false);

    // From the front desk's "appointment" service: it joins the booked queue, numbered
    // there, ahead of the walk-ins.
    let isee_walk_in = kiosk.issue_ticket(&ticket("isee")).await.unwrap().ticket;
    let front_desk = kiosk
        .issue_ticket(&from_card("appuntamento", &other_cf))
        .await
        .unwrap()
        .ticket;
    assert_eq!(
        (
            front_desk.service.as_str(),
            front_desk.number.as_str(),
            front_desk.position
        ),
        ("isee", "I002", 1)
    );
    assert_eq!(status_of(&kiosk, isee_walk_in.ticket_id).await.1, 2);
    // A front-desk ticket with no booking stays at the front desk.
    let nobody = kiosk
        .issue_ticket(&from_card(
            "appuntamento",
            &codice_fiscale("BNCLRA90E41F205"),
        ))
        .await
        .unwrap()
        .ticket;
    assert_eq!(nobody.service, "appuntamento");
    hub.stop().await;
}
