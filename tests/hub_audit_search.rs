//! Searching the audit log is accountable (security finding 18): every search writes an
//! audit row naming the clerk, with the searched person as the keyed hash the log already
//! uses, never the code; the codice fiscale filter travels in a POST body (never in an
//! address that proxies and browser history keep), and that POST is a clerk action like
//! the counter's: JSON from the hub's own origin only.

mod common;

use common::{Clerk, TestHub};
use serde_json::json;
use sportello::hub::sql::args;

const CODE: &str = "RSSMRA45C12F205C";

fn events(page: &serde_json::Value) -> &Vec<serde_json::Value> {
    page["events"].as_array().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_search_is_recorded_and_the_code_travels_only_in_a_body() {
    let hub = TestHub::start().await;
    let clerk = hub.clerk("revisore").await;

    // In the address: refused, and nothing recorded.
    let refused = clerk
        .get(&format!("/audit/api/events?codice_fiscale={CODE}"))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (400, "codice_fiscale_in_url")
    );
    // In a body: answered (nobody's events yet).
    let found = clerk
        .post("/audit/api/events", json!({ "codice_fiscale": CODE }))
        .await
        .unwrap();
    assert!(events(&found).is_empty(), "{found}");
    let bad = clerk
        .post(
            "/audit/api/events",
            json!({ "codice_fiscale": "RSSMRA45C12F205X" }),
        )
        .await
        .unwrap_err();
    assert_eq!((bad.status, bad.code.as_str()), (422, "bad_codice_fiscale"));

    // The search is in the log: who, when, whom (as the keyed hash).
    let all = clerk.post("/audit/api/events", json!({})).await.unwrap();
    let rows = events(&all);
    assert_eq!(rows.len(), 1, "{all}");
    assert_eq!(rows[0]["event"], "audit_searched");
    assert_eq!(rows[0]["operator"], "revisore");
    assert!(rows[0]["at"].as_str().unwrap().ends_with('Z'));
    let subject = rows[0]["subject"].as_str().unwrap().to_string();
    assert_eq!(subject.len(), 16);
    assert!(subject.chars().all(|c| c.is_ascii_hexdigit()));

    // Looking the person up again finds that someone looked them up.
    let hers = clerk
        .post(
            "/audit/api/events",
            json!({ "codice_fiscale": CODE.to_lowercase() }),
        )
        .await
        .unwrap();
    assert_eq!(events(&hers).len(), 1, "{hers}");
    assert_eq!(events(&hers)[0]["subject"], subject.as_str());
    // GET still serves the other filters, and is recorded too.
    let searches = clerk
        .get("/audit/api/events?event=audit_searched")
        .await
        .unwrap();
    assert_eq!(events(&searches).len(), 3, "{searches}");
    let searches = clerk
        .post(
            "/audit/api/events",
            json!({ "event": "audit_searched", "limit": 500 }),
        )
        .await
        .unwrap();
    assert_eq!(events(&searches).len(), 4, "{searches}");
    assert_eq!(events(&searches)[0]["detail"], "event=audit_searched");
    assert!(
        events(&searches)
            .iter()
            .all(|e| e["operator"] == "revisore")
    );

    // The file holds the keyed hash, never the code.
    let stored: Vec<(Option<String>, Option<String>, String)> = hub
        .rows(
            "SELECT subject, detail, operator FROM audit ORDER BY id",
            args![],
        )
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    assert_eq!(stored.len(), 5);
    let text = format!("{stored:?}");
    assert!(!text.to_uppercase().contains(CODE), "{text}");
    let full = stored[0].0.as_deref().unwrap();
    assert_eq!(full.len(), 64);
    assert!(full.starts_with(&subject));

    // A clerk action: not from another site, not as a form, not without a login.
    let cookie = clerk.set_cookie_header().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/audit/api/events", hub.url());
    let cross = http
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({ "codice_fiscale": CODE }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let form = http
        .post(&url)
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("codice_fiscale={CODE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    let anonymous = Clerk::new(&hub.url())
        .post("/audit/api/events", json!({}))
        .await
        .unwrap_err();
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        hub.value::<i64>("SELECT count(*) FROM audit", args![])
            .unwrap(),
        5,
        "refused requests searched nothing"
    );

    // The audit page's script sends its filters in a POST body.
    let script = reqwest::get(format!("{}/assets/audit.js", hub.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        script.contains("S.api('POST', '/audit/api/events'"),
        "{script}"
    );
    assert!(!script.contains("codice_fiscale="), "{script}");
    hub.stop().await;
}
