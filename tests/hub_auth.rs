//! Citizen login and certificates end to end, against the real hub and a real OpenID
//! Connect provider (tools/oidc-provider, the npm package oidc-provider): a kiosk
//! (`HubClient`) starts a login, a second HTTP client acting as the phone signs in, the
//! kiosk sees initials only, reads applications, prints a certificate on the virtual
//! printer, and the QR decoded from the PNG verifies (library, CLI, `/verify`).

mod common;

use std::path::Path;

use chrono::{TimeDelta, Utc};
use common::{AuthHub, Phone, TestHub, decode_qr};
use sportello::hub::certificates::{STATUTORY_EN, STATUTORY_IT};
use sportello::hub::clock::ManualClock;
use sportello::hub::sql::args;
use sportello::lang::Lang;
use sportello::printer::emulator::VirtualPrinter;
use sportello::printer::layout;
use sportello::printer::profile::Profile;
use sportello::protocol::{CreateLoginSessionRequest, IssueCertificateRequest, LoginState};
use sportello::seal::{Seal, parse_public_keys};
use sportello::sync::{ClientError, HubClient};
use uuid::Uuid;

const GIULIA: &str = "VRDGLI90C55H501M";

fn examples(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(file)
}

fn import_examples(hub: &TestHub) {
    let today = Utc::now().date_naive();
    common::blocking(|| {
        sportello::hub::records::import_file(
            hub.location(),
            &examples("records.csv"),
            today,
            false,
            false,
        )
    })
    .unwrap();
}

fn status_of(err: &ClientError) -> (u16, String) {
    match err {
        ClientError::Rejected { status, code, .. } => (*status, code.clone()),
        ClientError::Conflict { code, .. } => (409, code.clone()),
        ClientError::Server { status, .. } => (*status, String::new()),
        other => panic!("unexpected error {other:?}"),
    }
}

/// A new login at `kiosk`: the session, the QR's link and the code shown beside it.
async fn start_login(kiosk: &HubClient, lang: Lang) -> (Uuid, String, String) {
    let created = kiosk
        .create_login_session(&CreateLoginSessionRequest { lang: Some(lang) })
        .await
        .unwrap();
    let code = created.binding_code.expect("a binding code");
    assert!(
        code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    (created.session_id, created.login_url, code)
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    format!("{:04}", (code.parse::<u32>().unwrap() + 1) % 10_000)
}

/// `sportello args`: exit code and everything it printed.
fn sportello(args: &[&str]) -> (i32, String) {
    let ran = common::run_sportello(args);
    (ran.code, ran.all())
}

/// Prints `doc` on the virtual printer and returns the QR codes read back from the PNG.
fn print_and_scan(doc: &layout::DocumentData) -> Vec<String> {
    let profile = Profile::named("generic-80").unwrap();
    let bytes = layout::document(doc, &profile);
    let mut printer = VirtualPrinter::new(&profile, None);
    printer.keep_images(true);
    assert!(printer.feed(&bytes).is_empty());
    printer.tear_off();
    assert_eq!(printer.images().len(), 1, "one receipt");
    decode_qr(&printer.images()[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_on_a_phone_and_prints_a_verifiable_certificate() {
    let auth = AuthHub::start(|_| {}, None).await;
    let hub = &auth.hub;
    import_examples(hub);
    let kiosk = hub.kiosk("totem-ingresso").await;
    let other = hub.kiosk("totem-sala").await;

    // The kiosk starts a login: pending, and only this kiosk can see it.
    let (id, login_url, code) = start_login(&kiosk, Lang::EN).await;
    assert!(
        login_url.starts_with(&format!("{}/login/", hub.url())),
        "{login_url}"
    );
    let pending = kiosk.login_session(id).await.unwrap();
    assert_eq!(pending.state, LoginState::Pending);
    assert_eq!(pending.initials, None);
    assert_eq!(
        status_of(&other.login_session(id).await.unwrap_err()),
        (404, "unknown_session".into())
    );
    assert_eq!(
        status_of(&kiosk.applications(id, Lang::IT).await.unwrap_err()),
        (409, "not_authenticated".into()),
        "nothing is readable before the sign-in"
    );

    // The phone signs in at the provider; the hub says "go back to the kiosk", in the
    // kiosk's language.
    let phone = Phone::new();
    let landed = phone
        .sign_in(&login_url, &code, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}\n{}", auth.provider.log());
    assert!(
        landed
            .url
            .starts_with(&format!("{}/login/callback", hub.url()))
    );
    assert!(landed.body.contains("You are signed in"), "{}", landed.body);
    assert!(landed.body.contains("G.V."), "{}", landed.body);
    // The callback works once.
    let again = phone.open(&landed.url).await;
    assert_eq!(again.status, 410, "{again:?}");

    // The kiosk sees initials, never the name or the code.
    let signed_in = kiosk.login_session(id).await.unwrap();
    assert_eq!(signed_in.state, LoginState::Authenticated);
    assert_eq!(signed_in.initials.as_deref(), Some("G.V."));
    let raw = serde_json::to_string(&signed_in).unwrap();
    assert!(!raw.contains("Giulia") && !raw.contains("Verdi") && !raw.contains(GIULIA));

    // Another kiosk cannot ride on it.
    assert_eq!(
        status_of(&other.applications(id, Lang::IT).await.unwrap_err()).0,
        404
    );
    assert_eq!(
        status_of(&other.certificates(id, Lang::IT).await.unwrap_err()).0,
        404
    );
    let request = IssueCertificateRequest {
        kind: "stato-occupazionale".into(),
        lang: Lang::IT,
    };
    assert_eq!(
        status_of(&other.issue_certificate(id, &request).await.unwrap_err()).0,
        404
    );
    assert_eq!(
        status_of(&other.end_login_session(id).await.unwrap_err()).0,
        404
    );

    // Her applications, in Italian and English, most recent first; nobody else's.
    let it = kiosk.applications(id, Lang::IT).await.unwrap();
    let kinds: Vec<&str> = it.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["patto", "naspi", "did"]);
    assert_eq!(it[1].status, "in_review");
    assert_eq!(it[1].status_text, "In lavorazione");
    assert_eq!(it[1].reference.as_deref(), Some("INPS-NASPI-2026-004512"));
    assert!(
        it[0].next_step.contains("«Dichiararsi disoccupato (DID)»"),
        "{}",
        it[0].next_step
    );
    let en = kiosk.applications(id, Lang::EN).await.unwrap();
    assert_eq!(en[1].status_text, "Being examined");
    assert_eq!(en[1].title, "NASpI unemployment benefit");
    assert!(en[0].next_step.starts_with("More documents are needed"));

    // What she can print.
    let offers = kiosk.certificates(id, Lang::IT).await.unwrap();
    let offered: Vec<&str> = offers.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        offered,
        ["stato-occupazionale", "did", "estratto-contributivo"]
    );

    // A certificate: name and code on paper, the statutory sentence, sealed.
    let issued = kiosk.issue_certificate(id, &request).await.unwrap();
    let body = issued.body.join("\n");
    assert!(
        body.contains("Giulia Verdi") && body.contains(GIULIA),
        "{body}"
    );
    assert!(body.contains(&issued.certificate_id));
    assert!(body.contains("in stato di disoccupazione"), "{body}");
    assert!(body.contains("15/10/2026"), "{body}");
    assert!(issued.body.iter().any(|p| p == STATUTORY_IT));
    assert_eq!(issued.issuer_lines[0], "Centro per l'impiego");
    assert!(issued.seal.starts_with(&format!(
        "{}/verify?seal=SPV1.{}.",
        hub.url(),
        issued.certificate_id
    )));
    assert!(issued.seal.len() < 300, "small enough for a native QR");
    // Issuing ends nothing by itself.
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Authenticated
    );

    // Printed on the virtual printer; the QR read back from the PNG is the seal.
    let scanned = print_and_scan(&sportello::kiosk::documents::printable(&issued));
    assert_eq!(scanned, vec![issued.seal.clone()]);
    let qr = &scanned[0];

    // Verified with the published key, by the library...
    let keys_doc = kiosk.seal_keys().await.unwrap();
    let keys_json = serde_json::to_string(&keys_doc).unwrap();
    let keys = parse_public_keys(&keys_json).unwrap();
    let seal = Seal::parse(qr).unwrap();
    assert!(seal.verify(&keys).is_some());
    // ...by `sportello verify` offline and online...
    let key_file = hub.dir.path().join("keys.json");
    std::fs::write(&key_file, &keys_json).unwrap();
    let key_path = key_file.to_str().unwrap();
    // (without the text only the signature: "compare the printed text", security
    // finding 17; tests/verify_text.rs)
    let (code, out) = sportello(&["verify", "--seal", qr, "--key", key_path]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("valid — compare the printed text"), "{out}");
    let key_url = format!("{}/api/v1/keys", hub.url());
    let (code, out) = sportello(&["verify", "--seal", qr, "--key-url", &key_url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the hub's copy matches the seal"), "{out}");
    assert!(out.contains("Giulia Verdi"), "{out}");
    // ...and by the page a phone opens from the QR, with the original content.
    let page = phone.open(qr).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Certificato autentico"), "{}", page.body);
    assert!(page.body.contains("Giulia Verdi") && page.body.contains(&issued.certificate_id));

    // A tampered seal is rejected everywhere: one character of the digest changed.
    let digest_at = qr.find(&seal.digest_text()).unwrap();
    let mut tampered = qr.clone();
    let flipped = if &qr[digest_at..digest_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(digest_at..digest_at + 1, flipped);
    assert!(Seal::parse(&tampered).unwrap().verify(&keys).is_none());
    let (code, out) = sportello(&["verify", "--seal", &tampered, "--key", key_path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT GENUINE"), "{out}");
    let page = phone.open(&tampered).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("NON autentico"), "{}", page.body);
    // So is altered content shown next to a genuine seal.
    let api: serde_json::Value = phone
        .http
        .get(format!("{}/verify/api", hub.url()))
        .query(&[("seal", qr.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["verdict"], "genuine");
    let mut content = api["content"].clone();
    let content_file = hub.dir.path().join("content.json");
    std::fs::write(&content_file, content.to_string()).unwrap();
    let content_path = content_file.to_str().unwrap();
    let (code, out) = sportello(&[
        "verify",
        "--seal",
        qr,
        "--key",
        key_path,
        "--content",
        content_path,
    ]);
    assert_eq!(code, 0, "{out}");
    content["body"][0] = serde_json::json!("Si certifica che Mario Rossi risulta occupato.");
    std::fs::write(&content_file, content.to_string()).unwrap();
    let (code, out) = sportello(&[
        "verify",
        "--seal",
        qr,
        "--key",
        key_path,
        "--content",
        content_path,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERS"), "{out}");
    // Not a seal at all: cannot tell.
    let (code, _) = sportello(&["verify", "--seal", "hello", "--key", key_path]);
    assert_eq!(code, 2);

    // An English certificate carries the Italian statutory sentence too.
    let english = kiosk
        .issue_certificate(
            id,
            &IssueCertificateRequest {
                kind: "estratto-contributivo".into(),
                lang: Lang::EN,
            },
        )
        .await
        .unwrap();
    assert!(english.body.iter().any(|p| p == STATUTORY_EN));
    assert!(english.body.iter().any(|p| p.contains(STATUTORY_IT)));
    assert!(
        english.body.iter().any(|p| p == "Total: 772 weeks."),
        "{:?}",
        english.body
    );
    let unknown = kiosk
        .issue_certificate(
            id,
            &IssueCertificateRequest {
                kind: "pensione".into(),
                lang: Lang::IT,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(&unknown), (422, "unknown_certificate".into()));

    // "Finish": the session ends, its data is erased, nothing is readable any more.
    kiosk.end_login_session(id).await.unwrap();
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Ended
    );
    assert_eq!(
        status_of(&kiosk.applications(id, Lang::IT).await.unwrap_err()),
        (410, "session_ended".into())
    );
    assert_eq!(
        status_of(&kiosk.issue_certificate(id, &request).await.unwrap_err()),
        (410, "session_ended".into())
    );
    kiosk.end_login_session(id).await.unwrap();
    let row = &hub.rows(
        "SELECT codice_fiscale, given_name FROM auth_sessions WHERE id = ?1",
        args![id.to_string()],
    )[0];
    let (code_left, name_left): (Option<String>, Option<String>) =
        (row.get(0).unwrap(), row.get(1).unwrap());
    assert_eq!((code_left, name_left), (None, None));

    // The audit log: who (keyed hash), when, which kiosk; no name, no code.
    let clerk = hub.clerk("revisore").await;
    let page = clerk.get("/audit/api/events").await.unwrap();
    let text = page.to_string();
    assert!(!text.contains("Giulia") && !text.contains("Verdi") && !text.contains(GIULIA));
    let events: Vec<(String, Option<String>)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["detail"].as_str().map(str::to_string),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "session_ended",
            "certificate_issued",
            "certificate_issued",
            "login_succeeded",
            "login_started"
        ]
    );
    let rows = page["events"].as_array().unwrap();
    assert!(rows.iter().all(|e| e["kiosk_name"] == "totem-ingresso"));
    assert_eq!(rows[1]["certificate_id"], english.certificate_id.as_str());
    let subject = rows[0]["subject"].as_str().unwrap();
    assert!(rows[..4].iter().all(|e| e["subject"] == subject));
    // An operator finds her events by typing her code; another person's finds none.
    // (in a POST body, never in the address: security finding 18)
    let search = |code: &str| serde_json::json!({ "codice_fiscale": code });
    let hers = clerk
        .post("/audit/api/events", search(GIULIA))
        .await
        .unwrap();
    assert_eq!(hers["events"].as_array().unwrap().len(), 4);
    let marco = clerk
        .post("/audit/api/events", search("BNCMRC85S02F205A"))
        .await
        .unwrap();
    assert!(marco["events"].as_array().unwrap().is_empty());
    let bad = clerk
        .post("/audit/api/events", search("BNCMRC85S02F205B"))
        .await
        .unwrap_err();
    assert_eq!((bad.status, bad.code.as_str()), (422, "bad_codice_fiscale"));
    let anonymous = common::Clerk::new(&hub.url());
    assert_eq!(
        anonymous.get("/audit/api/events").await.unwrap_err().status,
        401
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_is_refused() {
    let clock = ManualClock::new(Utc::now());
    let auth = AuthHub::start(|_| {}, Some(clock.clone())).await;
    let kiosk = auth.hub.kiosk("totem").await;
    let (id, login_url, code) = start_login(&kiosk, Lang::IT).await;
    clock.advance(TimeDelta::seconds(181));
    let phone = Phone::new();
    let page = phone.open(&login_url).await;
    assert_eq!(page.status, 410, "{page:?}");
    assert!(page.body.contains("è scaduto"), "{}", page.body);
    assert!(!page.body.contains("<form"), "{}", page.body);
    // Typing the code (from a page opened in time) is refused too, and logged.
    let page = phone.post_code(&login_url, &code).await;
    assert_eq!(page.status, 410, "{page:?}");
    assert!(page.body.contains("è scaduto"), "{}", page.body);
    assert!(
        page.url.starts_with(&auth.url()),
        "never sent to the provider"
    );
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Expired
    );
    assert_eq!(
        status_of(&kiosk.applications(id, Lang::IT).await.unwrap_err()),
        (410, "session_expired".into())
    );
    let clerk = auth.hub.clerk("revisore").await;
    let events = clerk.get("/audit/api/events").await.unwrap();
    assert_eq!(events["events"][0]["event"], "login_failed");
    assert_eq!(events["events"][0]["detail"], "link_expired");

    // A session the kiosk already ended ("finish" before the phone scanned): its link is
    // dead too, and the session stays ended.
    let (id, login_url, _) = start_login(&kiosk, Lang::IT).await;
    kiosk.end_login_session(id).await.unwrap();
    let page = phone.open(&login_url).await;
    assert_eq!(page.status, 410, "{page:?}");
    assert!(
        page.url.starts_with(&auth.url()),
        "never sent to the provider"
    );
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Ended
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_works_once_and_only_in_the_browser_that_opened_it() {
    let auth = AuthHub::start(|_| {}, None).await;
    let kiosk = auth.hub.kiosk("totem").await;
    let (id, login_url, code) = start_login(&kiosk, Lang::IT).await;

    // The first phone types the code and is sent to the provider (and gets the binding
    // cookie)...
    let first = Phone::without_redirects();
    let response = first.post_code_response(&login_url, &code).await;
    assert_eq!(response.status().as_u16(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let to_provider = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to_provider.starts_with(&auth.provider.issuer),
        "{to_provider}"
    );
    assert!(to_provider.contains("code_challenge_method=S256") && to_provider.contains("nonce="));
    // Every kiosk sign-in is a fresh authentication at the provider.
    assert!(
        to_provider.contains("prompt=login") && to_provider.contains("max_age=0"),
        "{to_provider}"
    );
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::SigningIn
    );

    // ...a second use of the link is refused, opened or posted with the code.
    let second = Phone::new();
    let page = second.open(&login_url).await;
    assert_eq!(page.status, 410, "{page:?}");
    assert!(page.body.contains("già stato usato"), "{}", page.body);
    let page = second.post_code(&login_url, &code).await;
    assert_eq!(page.status, 410, "{page:?}");
    assert!(page.body.contains("già stato usato"), "{}", page.body);

    // Someone else's browser completing that sign-in is refused, and the session fails.
    let form = second.open(&to_provider).await;
    assert_eq!(form.status, 200, "{form:?}");
    let landed = second
        .submit_login(&form, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 403, "{landed:?}");
    assert!(landed.body.contains("browser diverso"), "{}", landed.body);
    let failed = kiosk.login_session(id).await.unwrap();
    assert_eq!(failed.state, LoginState::Failed);
    assert_eq!(failed.failure.as_deref(), Some("other_browser"));
    assert_eq!(
        status_of(&kiosk.applications(id, Lang::IT).await.unwrap_err()),
        (410, "login_failed".into())
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_naming_another_issuer_is_refused() {
    let auth = AuthHub::start(|_| {}, None).await;
    let kiosk = auth.hub.kiosk("totem").await;
    let (id, login_url, code) = start_login(&kiosk, Lang::IT).await;
    let phone = Phone::without_redirects();
    let response = phone.post_code_response(&login_url, &code).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let to_provider = url::Url::parse(&location).unwrap();
    let state = to_provider
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let forged = phone
        .open(&format!(
            "{}/login/callback?code=stolen&state={state}&iss=https%3A%2F%2Fevil.example",
            auth.url()
        ))
        .await;
    assert_eq!(forged.status, 403, "{forged:?}");
    let status = kiosk.login_session(id).await.unwrap();
    assert_eq!(status.state, LoginState::Failed);
    assert_eq!(status.failure.as_deref(), Some("provider_rejected"));
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_explained_and_rate_limited_per_kiosk() {
    let clock = ManualClock::new(Utc::now());
    let auth = AuthHub::start(
        |c| {
            c.auth.failed_logins = 4;
            c.auth.logins_per_minute = 5;
            c.oidc.as_mut().unwrap().acr_values = vec!["https://www.spid.gov.it/SpidL2".into()];
        },
        Some(clock.clone()),
    )
    .await;
    let kiosk = auth.hub.kiosk("totem").await;
    let neighbour = auth.hub.kiosk("totem-2").await;
    let cases = [
        (
            "luca",
            "no_fiscal_number",
            "non ha comunicato il suo codice fiscale",
        ),
        (
            "anna",
            "invalid_fiscal_number",
            "non ha comunicato il suo codice fiscale",
        ),
        ("paolo", "insufficient_level", "livello di sicurezza"),
    ];
    for (login, failure, text) in cases {
        let (id, url, code) = start_login(&kiosk, Lang::IT).await;
        let landed = Phone::new()
            .sign_in(&url, &code, login, &format!("{login}-password"))
            .await;
        assert_eq!(landed.status, 403, "{login}: {landed:?}");
        assert!(landed.body.contains(text), "{login}: {}", landed.body);
        let state = kiosk.login_session(id).await.unwrap();
        assert_eq!(state.state, LoginState::Failed, "{login}");
        assert_eq!(state.failure.as_deref(), Some(failure), "{login}");
        assert_eq!(state.initials, None);
    }
    // Cancelling at the provider.
    let (id, url, code) = start_login(&kiosk, Lang::EN).await;
    let phone = Phone::new();
    let form = phone.confirm(&url, &code).await;
    let base = url::Url::parse(&form.url).unwrap();
    let cancel = base.join(&format!("{}/abort", base.path())).unwrap();
    let landed = phone.open(cancel.as_str()).await;
    assert_eq!(landed.status, 403, "{landed:?}");
    assert!(landed.body.contains("cancelled"), "{}", landed.body);
    assert_eq!(
        kiosk.login_session(id).await.unwrap().failure.as_deref(),
        Some("cancelled")
    );

    // Of these only the invalid fiscal number looks like abuse (security finding 15): the
    // kiosk may go on.
    clock.advance(TimeDelta::seconds(61));
    kiosk
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap();
    // Wrong codes do: five spend a link and fail its session.
    for n in 0..3 {
        let (id, url, code) = start_login(&kiosk, Lang::IT).await;
        let phone = Phone::new();
        for attempt in 1..=4 {
            let page = phone.post_code(&url, &wrong(&code)).await;
            assert_eq!(page.status, 400, "{n}/{attempt}: {page:?}");
            assert!(page.body.contains("non è corretto"), "{}", page.body);
            assert!(page.body.contains("<form"), "{}", page.body);
            let state = kiosk.login_session(id).await.unwrap().state;
            assert_eq!(state, LoginState::Pending);
        }
        let page = phone.post_code(&url, &wrong(&code)).await;
        assert_eq!(page.status, 403, "{page:?}");
        assert!(
            page.body.contains("Troppi codici sbagliati"),
            "{}",
            page.body
        );
        let status = kiosk.login_session(id).await.unwrap();
        assert_eq!(status.state, LoginState::Failed);
        assert_eq!(status.failure.as_deref(), Some("wrong_code"));
        // The right code comes too late: the link is spent.
        let page = phone.post_code(&url, &code).await;
        assert_eq!(page.status, 410, "{page:?}");
    }

    // Four abuse-like failures within the window: this kiosk may not start another
    // login...
    let refused = kiosk
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status_of(&refused), (429, "too_many_failed_logins".into()));
    // ...its neighbour may.
    neighbour
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap();
    // After the window it may again; and at most five logins a minute.
    clock.advance(TimeDelta::minutes(16));
    for _ in 0..5 {
        kiosk
            .create_login_session(&CreateLoginSessionRequest::default())
            .await
            .unwrap();
    }
    let refused = kiosk
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status_of(&refused), (429, "too_many_logins".into()));
    clock.advance(TimeDelta::seconds(61));
    kiosk
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap();

    let clerk = auth.hub.clerk("revisore").await;
    let failed = clerk
        .get("/audit/api/events?event=login_failed")
        .await
        .unwrap();
    let details: Vec<&str> = failed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            "link_reused",
            "wrong_code",
            "link_reused",
            "wrong_code",
            "link_reused",
            "wrong_code",
            "cancelled",
            "insufficient_level",
            "invalid_fiscal_number",
            "no_fiscal_number"
        ]
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_session_expires_and_its_personal_data_goes() {
    let clock = ManualClock::new(Utc::now());
    let auth = AuthHub::start(|_| {}, Some(clock.clone())).await;
    import_examples(&auth.hub);
    let kiosk = auth.hub.kiosk("totem").await;
    let (id, url, code) = start_login(&kiosk, Lang::IT).await;
    let landed = Phone::new()
        .sign_in(&url, &code, "marco", "marco-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}");
    let apps = kiosk.applications(id, Lang::IT).await.unwrap();
    assert_eq!(apps.len(), 2);
    assert_eq!(apps[0].status_text, "Respinta");
    // Marco is employed and has no DID: only the employment status certificate.
    let offers = kiosk.certificates(id, Lang::EN).await.unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].title, "Employment status certificate");
    let refused = kiosk
        .issue_certificate(
            id,
            &IssueCertificateRequest {
                kind: "did".into(),
                lang: Lang::IT,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(&refused), (422, "certificate_unavailable".into()));

    clock.advance(TimeDelta::seconds(300));
    assert_eq!(
        status_of(&kiosk.applications(id, Lang::IT).await.unwrap_err()),
        (410, "session_expired".into())
    );
    let status = kiosk.login_session(id).await.unwrap();
    assert_eq!(status.state, LoginState::Expired);
    assert_eq!(status.initials, None);
    let row = &auth.hub.rows(
        "SELECT codice_fiscale, family_name, initials FROM auth_sessions WHERE id = ?1",
        args![id.to_string()],
    )[0];
    let left: (Option<String>, Option<String>, Option<String>) = (
        row.get(0).unwrap(),
        row.get(1).unwrap(),
        row.get(2).unwrap(),
    );
    assert_eq!(left, (None, None, None));
    let clerk = auth.hub.clerk("revisore").await;
    let events = clerk.get("/audit/api/events").await.unwrap();
    assert_eq!(events["events"][0]["event"], "session_ended");
    assert_eq!(events["events"][0]["detail"], "expired");
    auth.stop().await;
}

#[tokio::test]
async fn without_an_identity_provider_logins_are_unavailable() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("totem").await;
    let err = kiosk
        .create_login_session(&CreateLoginSessionRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Server { status: 503, .. }),
        "{err:?}"
    );
    let page = Phone::new()
        .open(&format!("{}/login/{}", hub.url(), "a".repeat(64)))
        .await;
    assert_eq!(page.status, 503);
    // The key is published all the same, and /verify answers.
    let keys = hub.client().seal_keys().await.unwrap();
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].crv, "Ed25519");
    let page = Phone::new()
        .open(&format!("{}/verify?seal=nonsense", hub.url()))
        .await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("non è un sigillo"), "{}", page.body);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_to_logins_certificates_and_pages_never_gets_a_5xx() {
    let auth = AuthHub::start(|c| c.auth.logins_per_minute = 60, None).await;
    let kiosk = auth.hub.kiosk("totem").await;
    let token = admin_token(&auth.hub).await;
    let (id, login_url, _) = start_login(&kiosk, Lang::IT).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = auth.url();
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[1,2]".to_vec(),
        br#"{"lang":"xx"}"#.to_vec(),
        br#"{"lang":"it","extra":true}"#.to_vec(),
        br#"{"kind":"../../etc/passwd","lang":"it"}"#.to_vec(),
        br#"{"kind":"did","lang":"it","x":1}"#.to_vec(),
        "{\"kind\":\"\u{0}\",\"lang\":\"en\"}".as_bytes().to_vec(),
        vec![0xff, 0xfe, 0x00],
        vec![b'{'; 20_000],
    ];
    let posts = [
        "/api/v1/auth/sessions".to_string(),
        format!("/api/v1/auth/sessions/{id}/certificates"),
        "/api/v1/auth/sessions/not-a-uuid/certificates".to_string(),
    ];
    for path in &posts {
        for body in &bodies {
            for ct in [Some("application/json"), None] {
                let mut request = http
                    .post(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .body(body.clone());
                if let Some(ct) = ct {
                    request = request.header("content-type", ct);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
                assert!(status < 500, "{path} {ct:?} {shown:?} -> {status}");
                if status >= 400 {
                    let json: serde_json::Value = response.json().await.unwrap();
                    assert!(json["error"]["code"].is_string(), "{path}: {json}");
                }
            }
        }
    }
    // Garbage posted to a login link: refused, never a 5xx; five of them spend it.
    for body in &bodies {
        for ct in ["application/x-www-form-urlencoded", "text/plain"] {
            let response = http
                .post(&login_url)
                .header("content-type", ct)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{ct} -> {status}");
        }
    }
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Failed,
        "garbage counts as wrong codes"
    );
    let gets = [
        format!("/api/v1/auth/sessions/{id}/applications?lang=%FF"),
        "/api/v1/auth/sessions/%FF".to_string(),
        "/api/v1/auth/sessions/..%2F..%2Fkiosks".to_string(),
        "/login/%FF".to_string(),
        format!("/login/{}", "z".repeat(64)),
        format!("/login/{}", "a".repeat(64)),
        "/login/callback".to_string(),
        "/login/callback?state=%FF&code=x".to_string(),
        "/login/callback?state=nope&error=access_denied".to_string(),
        "/verify".to_string(),
        "/verify?seal=%FF%FE".to_string(),
        format!("/verify?seal=SPV1.{}.x.y", "A".repeat(16)),
        format!("/verify?seal={}", "SPV1.".repeat(1000)),
        "/verify/api?seal=".to_string(),
        "/audit/api/events?limit=999999999999".to_string(),
    ];
    for path in &gets {
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(status < 500, "{path} -> {status}");
        if !path.starts_with("/verify/api") {
            assert!(status >= 400, "{path} -> {status}");
        }
    }
    auth.stop().await;
}

/// Audit events about logins, newest first.
async fn login_events(hub: &TestHub) -> Vec<String> {
    let clerk = hub.clerk("revisore").await;
    let events = clerk.get("/audit/api/events").await.unwrap();
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .filter(|e| e.starts_with("login_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_link_changes_nothing_until_the_kiosks_code_is_posted_from_its_page() {
    // Security findings 2 and 3: a link preview (HEAD or GET) used the link and a remote
    // victim signed in at an attacker's kiosk without ever seeing it.
    let auth = AuthHub::start(|_| {}, None).await;
    let kiosk = auth.hub.kiosk("totem-ingresso").await;
    let (id, login_url, code) = start_login(&kiosk, Lang::EN).await;
    let raw = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let preview = raw
        .head(&login_url)
        .header("user-agent", "WhatsApp/2.23.20 A")
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status().as_u16(), 200);
    assert!(preview.headers().get("set-cookie").is_none());
    assert!(preview.headers().get("location").is_none());
    let page = raw.get(&login_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers().get("set-cookie").is_none());
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    let body = page.text().await.unwrap();
    assert!(
        body.contains("This sign-in is for the kiosk “<bdi>totem-ingresso</bdi>” at <bdi>Ufficio di prova</bdi>."),
        "{body}"
    );
    assert!(
        body.contains("if someone sent you this link, stop here"),
        "{body}"
    );
    assert!(body.contains("<form method=\"post\""), "{body}");
    assert!(body.contains("inputmode=\"numeric\""), "{body}");
    assert!(
        !body.contains(&code),
        "the page never shows the code: {body}"
    );
    assert!(!body.contains("<script"), "{body}");
    // In the citizen's language, and the others a link away.
    let italian = Phone::new().open(&format!("{login_url}?lang=it")).await;
    assert!(
        italian
            .body
            .contains("Questo accesso è per il totem «<bdi>totem-ingresso</bdi>»"),
        "{}",
        italian.body
    );
    assert!(italian.body.contains("hreflang=\"ar\""), "{}", italian.body);
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Pending,
        "opening the link changes nothing"
    );
    assert!(login_events(&auth.hub).await.is_empty());

    // The right code from another site, or not as the page's form, is refused and uses
    // nothing.
    let origin = url::Url::parse(&login_url)
        .unwrap()
        .origin()
        .ascii_serialization();
    let forged = [
        (
            "application/x-www-form-urlencoded",
            Some("https://evil.example"),
            None,
        ),
        (
            "application/x-www-form-urlencoded",
            None,
            Some("cross-site"),
        ),
        ("application/x-www-form-urlencoded", Some("null"), None),
        ("text/plain", Some(origin.as_str()), Some("same-origin")),
    ];
    for (content_type, from, site) in forged {
        let mut request = raw
            .post(&login_url)
            .header("content-type", content_type)
            .body(format!("code={code}"));
        if let Some(from) = from {
            request = request.header("origin", from);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{from:?} {site:?}");
        assert!(response.headers().get("location").is_none());
    }
    // A wrong code: the page again, saying so.
    let phone = Phone::new();
    let page = phone.post_code(&login_url, &wrong(&code)).await;
    assert_eq!(page.status, 400, "{page:?}");
    assert!(
        page.body.contains("This code is not right."),
        "{}",
        page.body
    );
    assert!(page.body.contains("<form"), "{}", page.body);
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Pending
    );

    // The right code from the page: on to the provider, and signed in; the phone says
    // where.
    let landed = phone
        .sign_in(&login_url, &code, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}");
    assert!(
        landed.body.contains("Your session is open at the kiosk “<bdi>totem-ingresso</bdi>” at <bdi>Ufficio di prova</bdi>."),
        "{}",
        landed.body
    );
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Authenticated
    );
    assert_eq!(
        login_events(&auth.hub).await,
        ["login_succeeded", "login_started"]
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sign_in_on_the_same_phone_asks_for_the_password_again() {
    // Security finding 2: without prompt=login a phone still signed in at the provider
    // signed in at a kiosk without a password.
    let auth = AuthHub::start(|_| {}, None).await;
    let kiosk = auth.hub.kiosk("totem").await;
    let phone = Phone::new();
    let (id, url, code) = start_login(&kiosk, Lang::IT).await;
    let landed = phone
        .sign_in(&url, &code, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}");
    kiosk.end_login_session(id).await.unwrap();

    let (id, url, code) = start_login(&kiosk, Lang::IT).await;
    let form = phone.confirm(&url, &code).await;
    assert_eq!(form.status, 200, "{form:?}");
    assert!(
        form.url.starts_with(&auth.provider.issuer) && form.body.contains("name=\"password\""),
        "the provider asks for the password again: {form:?}"
    );
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::SigningIn
    );
    let landed = phone.submit_login(&form, "giulia", "giulia-password").await;
    assert_eq!(landed.status, 200, "{landed:?}");
    let status = kiosk.login_session(id).await.unwrap();
    assert_eq!(status.initials.as_deref(), Some("G.V."), "{status:?}");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_sign_ins_do_not_pause_a_kiosk() {
    // Security finding 15: five cancelled sign-ins paused a kiosk's logins for 15 minutes.
    let auth = AuthHub::start(|c| c.auth.logins_per_minute = 10, None).await;
    let kiosk = auth.hub.kiosk("totem").await;
    for n in 0..6 {
        let (id, url, code) = start_login(&kiosk, Lang::EN).await;
        let phone = Phone::new();
        let form = phone.confirm(&url, &code).await;
        assert_eq!(form.status, 200, "{n}: {form:?}");
        let base = url::Url::parse(&form.url).unwrap();
        let cancel = base.join(&format!("{}/abort", base.path())).unwrap();
        let landed = phone.open(cancel.as_str()).await;
        assert_eq!(landed.status, 403, "{n}: {landed:?}");
        let status = kiosk.login_session(id).await.unwrap();
        assert_eq!(status.failure.as_deref(), Some("cancelled"), "{n}");
    }
    let (id, url, code) = start_login(&kiosk, Lang::EN).await;
    let landed = Phone::new()
        .sign_in(&url, &code, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}");
    assert_eq!(
        kiosk.login_session(id).await.unwrap().state,
        LoginState::Authenticated
    );
    auth.stop().await;
}

/// A kiosk token, straight from enrollment (for raw requests).
async fn admin_token(hub: &TestHub) -> String {
    let token = common::blocking(|| sportello::hub::admin::create_enrollment_token(hub.location()))
        .unwrap();
    hub.client()
        .enroll(&sportello::protocol::EnrollRequest {
            enrollment_token: token,
            name: Some("raw".into()),
            previous: None,
        })
        .await
        .unwrap()
        .token
}
