//! Counters against a real hub: races between clerks, queue order, the ticket's life,
//! sessions.

mod common;

use std::collections::HashSet;

use chrono::TimeDelta;
use common::{Clerk, TestHub, ticket};
use sportello::hub::admin;
use sportello::protocol::TicketStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clerks_calling_at_once_never_get_the_same_ticket() {
    // 40 tickets from one kiosk at once: above a kiosk's online limit, which is not
    // what this test is about.
    let hub = TestHub::start_with(|c| c.queue.kiosk_tickets_per_minute = 0, None).await;
    let kiosk = hub.kiosk("a").await;
    for _ in 0..40 {
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for i in 1..=4 {
        let clerk = hub.clerk(&format!("clerk{i}")).await;
        clerk.setup(&format!("Sportello {i}"), &["naspi"]).await;
        tasks.push(tokio::spawn(async move {
            let mut called = Vec::new();
            // Call, close, call again as fast as possible until nobody is waiting.
            while let Some(number) = clerk.next().await.unwrap() {
                called.push(number);
                clerk
                    .post("/counter/api/done", serde_json::json!({}))
                    .await
                    .unwrap();
            }
            called
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every ticket called once");
    assert_eq!(unique.len(), 40, "no ticket called twice: {all:?}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_single_calls_split_two_tickets() {
    // Many rounds of two clerks pressing "next" at the same instant over two tickets.
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let a = hub.clerk("anna").await;
    let b = hub.clerk("bruno").await;
    a.setup("Sportello 1", &["isee"]).await;
    b.setup("Sportello 2", &["isee"]).await;
    for _ in 0..15 {
        kiosk.issue_ticket(&ticket("isee")).await.unwrap();
        kiosk.issue_ticket(&ticket("isee")).await.unwrap();
        let (x, y) = tokio::join!(a.next(), b.next());
        let (x, y) = (x.unwrap().unwrap(), y.unwrap().unwrap());
        assert_ne!(x, y);
        a.post("/counter/api/done", serde_json::json!({}))
            .await
            .unwrap();
        b.post("/counter/api/no-show", serde_json::json!({}))
            .await
            .unwrap();
    }
    hub.stop().await;
}

#[tokio::test]
async fn priority_first_then_oldest_and_the_tickets_life() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let first = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let second = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let mut p = ticket("naspi");
    p.priority = true;
    let priority = kiosk.issue_ticket(&p).await.unwrap().ticket;
    assert_eq!(priority.position, 1);

    let clerk = hub.clerk("anna").await;
    // No counter chosen yet.
    assert_eq!(clerk.next().await.unwrap_err().code, "no_counter");
    clerk.setup("Sportello 3", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N003"));
    let status = kiosk.ticket_status(priority.ticket_id).await.unwrap();
    assert_eq!(status.status, TicketStatus::Called);
    assert_eq!(status.counter.as_deref(), Some("Sportello 3"));
    // One ticket at a time.
    assert_eq!(clerk.next().await.unwrap_err().code, "finish_current");
    clerk
        .post("/counter/api/recall", serde_json::json!({}))
        .await
        .unwrap();
    clerk
        .post("/counter/api/serving", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        kiosk
            .ticket_status(priority.ticket_id)
            .await
            .unwrap()
            .status,
        TicketStatus::Serving
    );
    clerk
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        kiosk
            .ticket_status(priority.ticket_id)
            .await
            .unwrap()
            .status,
        TicketStatus::Done
    );
    // Then the oldest.
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N001"));
    clerk
        .post("/counter/api/no-show", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        kiosk.ticket_status(first.ticket_id).await.unwrap().status,
        TicketStatus::NoShow
    );
    // Transfer N002 to ISEE: it keeps its number and waits there.
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N002"));
    let err = clerk
        .post(
            "/counter/api/transfer",
            serde_json::json!({ "service": "nope" }),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "unknown_service");
    clerk
        .post(
            "/counter/api/transfer",
            serde_json::json!({ "service": "isee" }),
        )
        .await
        .unwrap();
    let moved = kiosk.ticket_status(second.ticket_id).await.unwrap();
    assert_eq!(
        (moved.status, moved.service.as_str(), moved.position),
        (TicketStatus::Waiting, "isee", 1)
    );
    assert_eq!(clerk.next().await.unwrap(), None, "nobody left for naspi");
    clerk.setup("Sportello 3", &["isee"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N002"));
    // The display board lists the calls, newest first, numbers and counters only.
    let board: serde_json::Value = reqwest::get(format!("{}/display/state", hub.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls = board["calls"].as_array().unwrap();
    assert_eq!(calls[0]["number"], "N002");
    assert_eq!(calls[0]["counter"], "Sportello 3");
    for call in calls {
        let keys: HashSet<_> = call.as_object().unwrap().keys().cloned().collect();
        let allowed: HashSet<String> = ["number", "counter", "recall", "at"]
            .into_iter()
            .map(String::from)
            .collect();
        assert!(keys.is_subset(&allowed), "{keys:?}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn served_times_feed_the_estimate() {
    let start = "2026-11-27T08:00:00Z".parse().unwrap();
    let hub = TestHub::start_at(start).await;
    let clock = hub.clock.clone().unwrap();
    let kiosk = hub.kiosk("a").await;
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 1", &["naspi"]).await;
    let before = kiosk.queues().await.unwrap();
    let naspi = |q: &sportello::protocol::QueuesResponse| {
        q.services
            .iter()
            .find(|s| s.service == "naspi")
            .unwrap()
            .clone()
    };
    assert_eq!(naspi(&before).average_service_minutes, 10.0);
    assert_eq!(naspi(&before).counters_open, 1);
    for _ in 0..3 {
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    }
    for _ in 0..3 {
        clerk.next().await.unwrap().unwrap();
        clock.advance(TimeDelta::minutes(2));
        clerk
            .post("/counter/api/done", serde_json::json!({}))
            .await
            .unwrap();
    }
    let after = naspi(&kiosk.queues().await.unwrap());
    // 10 -> 8.4 -> 7.12 -> 6.096 minutes (alpha 0.2, samples of 2 minutes).
    assert_eq!(after.average_service_minutes, 6.1);
    for _ in 0..3 {
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    }
    let later = naspi(&kiosk.queues().await.unwrap());
    assert_eq!(later.waiting, 3);
    assert_eq!(later.eta_minutes, 19, "3 ahead x 6.096 min, one counter");
    hub.stop().await;
}

#[tokio::test]
async fn sessions_are_cookies_that_expire() {
    let start = "2026-11-27T08:00:00Z".parse().unwrap();
    let hub = TestHub::start_with(
        |c| c.sessions.minutes = 30,
        Some(sportello::hub::clock::ManualClock::new(start)),
    )
    .await;
    let clock = hub.clock.clone().unwrap();
    common::blocking(|| sportello::hub::admin::add_operator(hub.location(), "anna", "password123"))
        .unwrap();
    let clerk = Clerk::new(&hub.url());
    assert_eq!(
        clerk
            .login("anna", "wrong-password")
            .await
            .unwrap_err()
            .code,
        "bad_credentials"
    );
    assert_eq!(
        clerk.login("nobody", "password123").await.unwrap_err().code,
        "bad_credentials"
    );
    assert_eq!(
        clerk.get("/counter/api/state").await.unwrap_err().status,
        401
    );
    let cookie = clerk.login("anna", "password123").await.unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Max-Age=1800"), "{cookie}");
    let state = clerk.get("/counter/api/state").await.unwrap();
    assert_eq!(state["operator"], "anna");
    clock.advance(TimeDelta::minutes(31));
    assert_eq!(
        clerk.get("/counter/api/state").await.unwrap_err().code,
        "not_logged_in"
    );
    // Logging out ends the session on the hub, not just in the browser.
    clerk.login("anna", "password123").await.unwrap();
    clerk
        .post("/counter/api/logout", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        clerk.get("/counter/api/state").await.unwrap_err().status,
        401
    );
    // The fleet needs a clerk too.
    assert_eq!(
        clerk.get("/fleet/api/kiosks").await.unwrap_err().status,
        401
    );
    hub.stop().await;
}

/// Wrong passwords in a row make that name wait (429 with Retry-After), even with the right
/// password; other names are unaffected; after the wait the right password works.
#[tokio::test]
async fn repeated_wrong_passwords_make_the_name_wait() {
    let start = chrono::Utc::now();
    let hub = TestHub::start_at(start).await;
    let clock = hub.clock.clone().unwrap();
    common::blocking(|| admin::add_operator(hub.location(), "anna", "password123")).unwrap();
    common::blocking(|| admin::add_operator(hub.location(), "marco", "password456")).unwrap();
    let http = reqwest::Client::new();
    let login = |name: &'static str, password: &'static str| {
        let http = http.clone();
        let url = format!("{}/counter/api/login", hub.url());
        async move {
            let response = http
                .post(url)
                .json(&serde_json::json!({ "name": name, "password": password }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: serde_json::Value = response.json().await.unwrap();
            (status, retry_after, body)
        }
    };
    for _ in 0..sportello::hub::throttle::FREE_FAILURES {
        assert_eq!(login("anna", "guess").await.0, 401);
    }
    let (status, retry_after, body) = login("anna", "password123").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    assert_eq!(retry_after.as_deref(), Some("30"));
    assert_eq!(
        login("marco", "password456").await.0,
        200,
        "other clerks log in"
    );

    clock.advance(TimeDelta::seconds(31));
    assert_eq!(login("anna", "password123").await.0, 200);
    // The success cleared the count: one more mistake does not lock the name.
    assert_eq!(login("anna", "guess").await.0, 401);
    assert_eq!(login("anna", "password123").await.0, 200);
    hub.stop().await;
}

/// A ticket its kiosk withdrew (never handed over) is skipped by "next", listed on the
/// counter page as void, and reads as cancelled to anyone looking it up.
#[tokio::test]
async fn a_withdrawn_ticket_is_never_called_and_shown_as_void() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let ghost_op = ticket("naspi");
    let ghost = kiosk.issue_ticket(&ghost_op).await.unwrap().ticket;
    let held = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(held.position, 2);
    let answer = kiosk
        .withdraw(&sportello::protocol::WithdrawRequest {
            op_id: ghost_op.op_id,
        })
        .await
        .unwrap();
    assert_eq!(answer.outcome, sportello::protocol::WithdrawOutcome::Voided);
    assert_eq!(answer.number.as_deref(), Some(ghost.number.as_str()));
    let status = kiosk.ticket_status(held.ticket_id).await.unwrap();
    assert_eq!(status.position, 1, "the void ticket is out of the queue");
    let status = kiosk.ticket_status(ghost.ticket_id).await.unwrap();
    assert_eq!(status.status, TicketStatus::Cancelled);

    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 1", &["naspi"]).await;
    let state = clerk.get("/counter/api/state").await.unwrap();
    assert_eq!(state["void"][0]["number"], ghost.number.as_str());
    let naspi = state["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "naspi")
        .unwrap();
    assert_eq!(naspi["waiting"], 1);
    assert_eq!(
        clerk.next().await.unwrap().as_deref(),
        Some(held.number.as_str())
    );
    assert_eq!(clerk.next().await.unwrap_err().code, "finish_current");
}

/// The peak resident memory of this test process, in KiB.
fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A client bound to a loopback address of its own (127.0.0.x), as if from another PC.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            127, 0, 0, last,
        )))
        .build()
        .unwrap()
}

async fn try_login(http: &reqwest::Client, url: &str, name: &str, password: &str) -> u16 {
    http.post(format!("{url}/counter/api/login"))
        .json(&serde_json::json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Security finding 1: 150 parallel logins with random names, from 15 addresses, once
/// took the hub from 19 MB to 3.8 GB (one 19 MiB Argon2 check each, all at once). Now at
/// most two checks run together and an address gets ten tries a minute: memory stays
/// flat and the surplus is turned away with 429 or 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_does_not_exhaust_memory() {
    let hub = TestHub::start().await;
    let url = hub.url();
    let before = peak_memory_kib();
    let clients: Vec<reqwest::Client> = (10..25).map(client_from).collect();
    let attempts = (0..150).map(|i| {
        let http = clients[i % clients.len()].clone();
        let url = url.clone();
        async move {
            let name = format!("flood-{}", uuid::Uuid::new_v4().simple());
            try_login(&http, &url, &name, &"x".repeat(20)).await
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let grown_mib = peak_memory_kib().saturating_sub(before) / 1024;
    let mut counts = std::collections::BTreeMap::new();
    for s in &statuses {
        *counts.entry(*s).or_insert(0) += 1;
    }
    println!("login flood: {counts:?}, peak memory grew {grown_mib} MiB");
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{counts:?}"
    );
    assert!(
        grown_mib < 200,
        "peak memory grew {grown_mib} MiB: {counts:?}"
    );
    hub.stop().await;
}

/// Security finding 6: 40 parallel guesses for one name once got 32 password checks
/// (the limit is 5) and locked the real clerk out for 15 minutes. Now a burst gets five
/// checks at most, and the clerk logs in from their own PC all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_guesses_gets_five_checks_and_locks_out_nobody_else() {
    let hub = TestHub::start().await;
    common::blocking(|| admin::add_operator(hub.location(), "bob", "bob-secret-pw-42")).unwrap();
    let url = hub.url();
    let attacker = client_from(66);
    let guesses = (0..40).map(|i| {
        let http = attacker.clone();
        let url = url.clone();
        async move { try_login(&http, &url, "bob", &format!("guess-{i}")).await }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= sportello::hub::throttle::FREE_FAILURES as usize,
        "{checked} passwords checked: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)));
    assert_eq!(
        try_login(&attacker, &url, "bob", "bob-secret-pw-42").await,
        429,
        "the guessing address waits, even with the right password"
    );
    let clerk_pc = client_from(77);
    assert_eq!(
        try_login(&clerk_pc, &url, "bob", "bob-secret-pw-42").await,
        200
    );
    hub.stop().await;
}

/// Security finding 11: a cross-site form (any content type, a foreign Origin) could call
/// the next ticket, with its codice fiscale, on a signed-in clerk's behalf. Now clerk
/// actions must be JSON and come from the hub's own origin.
#[tokio::test]
async fn clerk_actions_only_from_the_hubs_own_pages() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 1", &["naspi"]).await;
    let cookie = clerk.set_cookie_header().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/counter/api/next", hub.url());
    let own_origin = hub.url();
    let attempts: [(&str, &str, Option<&str>); 4] = [
        ("application/x-www-form-urlencoded", "x=1", None),
        ("text/plain", "{}", Some(own_origin.as_str())),
        ("application/json", "{}", Some("https://evil.example")),
        (
            "application/json",
            "{}",
            Some("http://127.0.0.1.evil.example"),
        ),
    ];
    for (content_type, body, origin) in attempts {
        let mut request = http
            .post(&url)
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{content_type} from {origin:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_origin");
    }
    let cross_site = http
        .post(&url)
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .header("sec-fetch-site", "cross-site")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    // Nothing was called by the refused ones; the page's own request works.
    let own = http
        .post(&url)
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .header("origin", own_origin.as_str())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let body: serde_json::Value = own.json().await.unwrap();
    assert_eq!(body["ticket"]["number"], "N001");
    hub.stop().await;
}

/// Security finding 10: choosing a counter must not hand a clerk the codice fiscale of
/// the ticket another clerk called there. A counter belongs to one live session; taking
/// it over is explicit, and even then the called ticket's code stays with the caller.
#[tokio::test]
async fn a_called_tickets_codice_fiscale_stays_with_the_clerk_who_called_it() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let mut with_cf = ticket("naspi");
    with_cf.codice_fiscale = Some("RSSMRA45C12F205C".into());
    kiosk.issue_ticket(&with_cf).await.unwrap();
    let anna = hub.clerk("anna").await;
    let marco = hub.clerk("marco").await;
    anna.setup("Sportello 1", &["naspi"]).await;
    assert_eq!(anna.next().await.unwrap().as_deref(), Some("N001"));
    let seen = anna.get("/counter/api/state").await.unwrap();
    assert_eq!(seen["current"]["codice_fiscale"], "RSSMRA45C12F205C");

    // Marco picks the same counter: refused, nothing shown.
    let taken = marco
        .post(
            "/counter/api/setup",
            serde_json::json!({ "counter": "Sportello 1", "services": ["isee"] }),
        )
        .await
        .unwrap_err();
    assert_eq!((taken.status, taken.code.as_str()), (409, "counter_taken"));
    let state = marco.get("/counter/api/state").await.unwrap();
    assert!(state["current"].is_null(), "{state}");

    // He takes it over: he may finish the ticket, but never sees its code.
    marco
        .post(
            "/counter/api/setup",
            serde_json::json!({ "counter": "Sportello 1", "services": ["isee"], "take_over": true }),
        )
        .await
        .unwrap();
    let state = marco.get("/counter/api/state").await.unwrap();
    assert_eq!(state["current"]["number"], "N001");
    assert!(state["current"].get("codice_fiscale").is_none(), "{state}");
    // Anna's page has lost the counter: her actions are refused.
    let lost = anna
        .post("/counter/api/no-show", serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(lost.code, "no_counter");
    marco
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    hub.stop().await;
}
