//! The kiosk's "where is my turn" look-ups (by ticket id, op_id or number, through
//! `HubClient`) and the public tracking page `/t/{id}` (plain HTTP, no login), against a
//! real hub on loopback.

mod common;

use chrono::TimeDelta;
use common::{TestHub, ticket};
use sportello::protocol::{BandsRequest, TicketStatus};
use sportello::sync::ClientError;

fn rejected(result: Result<impl std::fmt::Debug, ClientError>, status: u16, code: &str) {
    match result {
        Err(ClientError::Rejected {
            status: s, code: c, ..
        }) => assert_eq!((s, c.as_str()), (status, code)),
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_ticket_is_found_by_id_op_id_or_number() {
    let start = "2026-11-27T09:00:00Z".parse().unwrap();
    let hub = TestHub::start_at(start).await;
    let clock = hub.clock.clone().unwrap();
    let kiosk = hub.kiosk("a").await;
    kiosk.lease_bands(&BandsRequest::default()).await.unwrap();
    let first = ticket("naspi");
    let a = kiosk.issue_ticket(&first).await.unwrap().ticket;
    kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    let mut p = ticket("naspi");
    p.priority = true;
    let priority = kiosk.issue_ticket(&p).await.unwrap().ticket;
    // A ticket printed offline is found by the op_id its QR code carries.
    let mut offline = ticket("naspi");
    offline.offline_number = Some("N999".into());
    offline.issued_at = (start + TimeDelta::minutes(30)).fixed_offset();
    let o = kiosk.issue_ticket(&offline).await.unwrap().ticket;

    let by_id = kiosk.ticket_status(a.ticket_id).await.unwrap();
    let by_ref = kiosk
        .ticket_status_by_ref(&a.ticket_id.to_string())
        .await
        .unwrap();
    let by_op = kiosk
        .ticket_status_by_ref(&first.op_id.to_string().to_uppercase())
        .await
        .unwrap();
    let by_number = kiosk.ticket_by_number(" n001 ").await.unwrap();
    assert_eq!(by_id, by_ref);
    assert_eq!(by_id, by_op);
    assert_eq!(by_id, by_number);
    assert_eq!(by_id.ticket_id, a.ticket_id);
    assert_eq!(
        (by_id.number.as_str(), by_id.status, by_id.priority),
        ("N001", TicketStatus::Waiting, false)
    );
    // Behind the priority ticket; 10 minutes each by default, no counter open.
    assert_eq!((by_id.position, by_id.eta_minutes), (2, 10));
    let p_status = kiosk.ticket_by_number("N003").await.unwrap();
    assert_eq!(p_status.ticket_id, priority.ticket_id);
    assert_eq!(
        (p_status.priority, p_status.position, p_status.eta_minutes),
        (true, 1, 0)
    );
    let o_status = kiosk
        .ticket_status_by_ref(&offline.op_id.to_string())
        .await
        .unwrap();
    assert_eq!(
        (o_status.ticket_id, o_status.number.as_str()),
        (o.ticket_id, "N999")
    );

    // Once called: no position, no estimate, the counter.
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 2", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N003"));
    let called = kiosk.ticket_by_number("N003").await.unwrap();
    assert_eq!(
        (called.status, called.position, called.eta_minutes),
        (TicketStatus::Called, 0, 0)
    );
    assert_eq!(called.counter.as_deref(), Some("Sportello 2"));
    // The others move up; the offline ticket, printed "later" by a kiosk clock ahead
    // of the hub's, counts from the hub's now and stays last.
    let waiting = kiosk.ticket_by_number("N002").await.unwrap();
    assert_eq!((waiting.position, waiting.eta_minutes), (2, 10));
    let last = kiosk.ticket_by_number("N999").await.unwrap();
    assert_eq!((last.position, last.eta_minutes), (3, 20));

    // Unknown and malformed references.
    let unknown = uuid::Uuid::new_v4().to_string();
    rejected(
        kiosk.ticket_status_by_ref(&unknown).await,
        404,
        "unknown_ticket",
    );
    for bad in ["not-a-ticket", "N001", "../queues", "..", "", "%00", "a/b"] {
        rejected(kiosk.ticket_status_by_ref(bad).await, 400, "bad_ticket_id");
    }
    rejected(kiosk.ticket_by_number("N998").await, 404, "unknown_ticket");
    for bad in [
        "N1", "NN01", "N0001", "N000", "7001", "..", "", "N00/1", "É001",
    ] {
        rejected(kiosk.ticket_by_number(bad).await, 400, "bad_number");
    }
    // Only today's tickets have a number: tomorrow N001 is nobody (yet).
    clock.advance(TimeDelta::days(1));
    rejected(kiosk.ticket_by_number("N001").await, 404, "unknown_ticket");
    let yesterday = kiosk.ticket_status(a.ticket_id).await.unwrap();
    assert_eq!(
        (yesterday.status, yesterday.eta_minutes),
        (TicketStatus::Cancelled, 0)
    );
    // The look-ups need a kiosk token.
    rejected(
        hub.client().ticket_by_number("N001").await,
        401,
        "unauthorized",
    );
    hub.stop().await;
}

struct Page {
    status: u16,
    content_type: String,
    body: String,
}

async fn page(hub: &TestHub, path: &str, accept_language: Option<&str>) -> Page {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = http.get(format!("{}{path}", hub.url()));
    if let Some(lang) = accept_language {
        request = request.header("accept-language", lang);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    Page {
        status,
        content_type,
        body,
    }
}

fn has_all(page: &Page, parts: &[&str]) {
    for part in parts {
        assert!(
            page.body.contains(part),
            "missing {part:?} in\n{}",
            page.body
        );
    }
}

#[tokio::test]
async fn the_tracking_page_follows_a_ticket_in_italian_or_english() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    kiosk.issue_ticket(&ticket("isee")).await.unwrap();
    let mut request = ticket("isee");
    request.codice_fiscale = Some("RSSMRA45C12F205C".into());
    let mine = kiosk.issue_ticket(&request).await.unwrap().ticket;
    let op_page = format!("/t/{}", request.op_id);
    let id_page = format!("/t/{}", mine.ticket_id);

    // Waiting, in Italian by default: number, service, people ahead, estimate.
    let it = page(&hub, &op_page, None).await;
    assert_eq!(it.status, 200);
    assert!(
        it.content_type.starts_with("text/html"),
        "{}",
        it.content_type
    );
    has_all(
        &it,
        &[
            "<html lang=\"it\" dir=\"ltr\">",
            "<meta http-equiv=\"refresh\" content=\"20\">",
            "I002",
            "ISEE",
            "In attesa",
            "Persone prima di lei</dt><dd>1</dd>",
            "Attesa stimata</dt><dd>10 minuti circa</dd>",
            "Ufficio di prova",
        ],
    );
    assert!(!it.body.contains("RSSMRA45C12F205C"));
    assert!(!it.body.contains("<script"), "no JavaScript needed");
    // The ticket id gives the same page.
    let by_id = page(&hub, &id_page, None).await;
    assert_eq!(by_id.status, 200);
    has_all(&by_id, &["I002", "In attesa"]);

    // English by query or by Accept-Language; the query wins.
    let en = page(&hub, &format!("{op_page}?lang=en"), Some("it-IT,it")).await;
    has_all(
        &en,
        &[
            "<html lang=\"en\" dir=\"ltr\">",
            "Waiting",
            "People before you</dt><dd>1</dd>",
            "Estimated wait</dt><dd>10 minutes approx.</dd>",
        ],
    );
    let en = page(&hub, &op_page, Some("en-GB,en;q=0.9,it;q=0.5")).await;
    has_all(&en, &["<html lang=\"en\" dir=\"ltr\">", "Waiting"]);
    let fallback = page(&hub, &op_page, Some("de-DE,nl;q=0.8")).await;
    has_all(&fallback, &["<html lang=\"it\" dir=\"ltr\">"]);
    // A right-to-left language mirrors the page; the number stays left to right; every
    // other language is offered by its own name.
    if let Some(rtl) = sportello::lang::Lang::all().find(|l| l.is_rtl()) {
        let code = rtl.code();
        let mirrored = page(&hub, &format!("{op_page}?lang={code}"), None).await;
        has_all(
            &mirrored,
            &[
                &format!("<html lang=\"{code}\" dir=\"rtl\">"),
                "<bdi>I002</bdi>",
                "hreflang=\"it\" dir=\"ltr\">Italiano</a>",
            ],
        );
    }

    // Called: the counter, in words.
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 4", &["isee"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("I001"));
    let next = page(&hub, &op_page, None).await;
    has_all(&next, &["È il prossimo!"]);
    clerk
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("I002"));
    let called = page(&hub, &op_page, None).await;
    has_all(&called, &["È il suo turno!", "Si rechi a", "Sportello 4"]);
    assert!(!called.body.contains("Persone prima di lei"));
    let called = page(&hub, &format!("{op_page}?lang=en"), None).await;
    has_all(
        &called,
        &["It is your turn!", "Please go to", "Sportello 4"],
    );
    clerk
        .post("/counter/api/done", serde_json::json!({}))
        .await
        .unwrap();
    let done = page(&hub, &op_page, None).await;
    has_all(&done, &["Servito. Grazie!"]);
    hub.stop().await;
}

#[tokio::test]
async fn an_unknown_or_malformed_tracking_id_gets_a_friendly_404_page() {
    let hub = TestHub::start().await;
    // Well-formed but unknown: perhaps printed offline and not synced yet.
    let unknown = page(&hub, &format!("/t/{}", uuid::Uuid::new_v4()), None).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.content_type.starts_with("text/html"));
    has_all(
        &unknown,
        &[
            "non era raggiungibile",
            "entro pochi minuti",
            "content=\"20\"",
        ],
    );
    let unknown = page(&hub, &format!("/t/{}?lang=en", uuid::Uuid::new_v4()), None).await;
    has_all(&unknown, &["was unreachable", "within a few minutes"]);
    for path in [
        "/t/not-a-ticket",
        "/t/%00",
        "/t/%FF%FE",
        "/t/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/t/N001",
        "/t/12345678-1234-1234-1234-1234567890123",
        "/t/x?lang=%FF",
        "/t/",
        "/t",
    ] {
        let p = page(&hub, path, Some("xx;q=abc, ;;, en;q=")).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.content_type.starts_with("text/html"), "{path}");
        has_all(&p, &["QR"]);
        assert!(!p.body.contains("<script>"), "{path}: {}", p.body);
    }
    hub.stop().await;
}

/// Every phone page (tracking, sign-in link, seal verification) is private and unindexed:
/// never cached, no referrer, `noindex`, in the shared look; tracking and verification
/// link to the other language by its own name.
#[tokio::test]
async fn phone_pages_are_private_and_offer_the_other_language() {
    let hub = TestHub::start().await;
    let http = reqwest::Client::new();
    for (path, other_language) in [
        (
            format!("/t/{}?lang=it", uuid::Uuid::new_v4()),
            Some("English"),
        ),
        (format!("/login/{}?lang=en", "ab".repeat(32)), None),
        (
            "/verify?seal=SPV1.X.Y.Z&lang=en".to_string(),
            Some("Italiano"),
        ),
    ] {
        let response = http
            .get(format!("{}{path}", hub.url()))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(header("x-robots-tag").as_deref(), Some("noindex"), "{path}");
        assert!(
            header("content-type").is_some_and(|t| t.starts_with("text/html")),
            "{path}"
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains("<header>Ufficio di prova</header>"),
            "{path}: {page}"
        );
        // The shared phone style, from a stylesheet (no inline styles under the CSP).
        let sheet = page
            .split("<link rel=\"stylesheet\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{path}: no stylesheet: {page}"));
        let css = http
            .get(format!("{}{sheet}", hub.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(css.contains("background:#036"), "{path}: the shared style");
        if let Some(other_language) = other_language {
            assert!(
                page.contains(&format!(">{other_language}</a>")),
                "{path}: {page}"
            );
        }
    }
    hub.stop().await;
}
