//! `docs/openapi.json` against the real server: the documented routes are exactly the
//! router's, every documented status is produced, and every real body (and every request
//! body the client sends) fits its documented schema, with no undocumented field.

mod common;

use std::collections::BTreeSet;

use common::{AuthHub, Phone, TestHub, ticket};
use serde_json::{Value, json};
use sportello::hub::admin;
use sportello::lang::Lang;
use sportello::protocol::{
    BandsRequest, CreateLoginSessionRequest, EnrollRequest, HeartbeatRequest,
    IssueCertificateRequest, PrinterState, WithdrawRequest,
};

fn spec() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A small validator for the subset of JSON Schema the document uses.
fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if value.is_null() {
        if schema["nullable"] != true {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} not in {options:?}"));
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let ok = match ty {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => {
            errors.push(format!("{at}: unsupported type {other}"));
            true
        }
        None => true,
    };
    if !ok {
        errors.push(format!("{at}: expected {ty:?}, got {value}"));
        return;
    }
    let number = value.as_i64();
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), number)
        && n < min
    {
        errors.push(format!("{at}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_i64), number)
        && n > max
    {
        errors.push(format!("{at}: {n} > {max}"));
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
            || schema
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
        {
            errors.push(format!("{at}: length of {s:?}"));
        }
        match schema.get("format").and_then(Value::as_str) {
            Some("uuid") if uuid::Uuid::parse_str(s).is_err() => {
                errors.push(format!("{at}: {s} is not a uuid"))
            }
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                errors.push(format!("{at}: {s} is not RFC 3339"))
            }
            Some("date") if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() => {
                errors.push(format!("{at}: {s} is not a date"))
            }
            _ => {}
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            validate(spec, &schema["items"], item, &format!("{at}[{i}]"), errors);
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                errors.push(format!("{at}: required `{key}` missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => validate(spec, s, v, &format!("{at}.{key}"), errors),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => errors.push(format!("{at}: undocumented `{key}`")),
                    extra @ Value::Object(_) => {
                        validate(spec, extra, v, &format!("{at}.{key}"), errors)
                    }
                    _ => {}
                },
            }
        }
    }
}

fn assert_fits(spec: &Value, schema: &Value, value: &Value, what: &str) {
    let mut errors = Vec::new();
    validate(spec, schema, value, what, &mut errors);
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{value:#}");
}

#[test]
fn documented_paths_are_exactly_the_routers() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = sportello::hub::documented_routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn request_bodies_the_client_sends_fit_the_document() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let mut full = ticket("naspi");
    full.appointment = Some("AB12".into());
    full.offline_number = Some("N995".into());
    full.codice_fiscale = Some("RSSMRA45C12F205C".into());
    for (name, value) in [
        (
            "IssueTicketRequest",
            serde_json::to_value(ticket("naspi")).unwrap(),
        ),
        ("IssueTicketRequest", serde_json::to_value(full).unwrap()),
        (
            "EnrollRequest",
            serde_json::to_value(EnrollRequest {
                enrollment_token: "t".into(),
                name: Some("k".into()),
                previous: None,
            })
            .unwrap(),
        ),
        (
            "BandsRequest",
            serde_json::to_value(BandsRequest {
                services: Some(vec!["naspi".into()]),
            })
            .unwrap(),
        ),
        (
            "WithdrawRequest",
            serde_json::to_value(WithdrawRequest {
                op_id: uuid::Uuid::new_v4(),
            })
            .unwrap(),
        ),
        (
            "CreateLoginSessionRequest",
            serde_json::to_value(CreateLoginSessionRequest::default()).unwrap(),
        ),
        (
            "CreateLoginSessionRequest",
            serde_json::to_value(CreateLoginSessionRequest {
                lang: Some(Lang::EN),
            })
            .unwrap(),
        ),
        (
            "IssueCertificateRequest",
            serde_json::to_value(IssueCertificateRequest {
                kind: "did".into(),
                lang: Lang::IT,
            })
            .unwrap(),
        ),
        (
            "HeartbeatRequest",
            serde_json::to_value(HeartbeatRequest {
                version: "1".into(),
                printer: PrinterState::PaperOut,
                outbox_depth: 2,
                oldest_pending_seconds: None,
                printer_detail: Some("x".into()),
                kiosk_time: Some(chrono::Utc::now()),
                update: None,
            })
            .unwrap(),
        ),
    ] {
        assert_fits(&spec, &schemas[name], &value, name);
    }
}

struct Call<'a> {
    base: Option<String>,
    method: &'static str,
    template: &'static str,
    path: String,
    token: Option<&'a str>,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

fn call<'a>(method: &'static str, template: &'static str, token: Option<&'a str>) -> Call<'a> {
    Call {
        base: None,
        method,
        template,
        path: template.to_string(),
        token,
        content_type: None,
        headers: Vec::new(),
        body: None,
    }
}

impl<'a> Call<'a> {
    fn json(mut self, body: Value) -> Self {
        self.content_type = Some("application/json");
        self.body = Some(serde_json::to_vec(&body).unwrap());
        self
    }
    fn raw(mut self, content_type: Option<&'static str>, body: &[u8]) -> Self {
        self.content_type = content_type;
        self.body = Some(body.to_vec());
        self
    }
    fn path(mut self, path: String) -> Self {
        self.path = path;
        self
    }
    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    /// Sends the call to another hub.
    fn on(mut self, base: String) -> Self {
        self.base = Some(base);
        self
    }
}

#[tokio::test]
async fn every_documented_answer_is_produced_and_fits_its_schema() {
    let spec = spec();
    let auth = AuthHub::start(|_| {}, None).await;
    let hub = &auth.hub;
    // A hub without an identity provider, for `login_unavailable`.
    let plain = TestHub::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = hub.url();
    common::blocking(|| {
        sportello::hub::records::import_file(
            hub.location(),
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/records.csv"),
            chrono::Utc::now().date_naive(),
            false,
            false,
        )
    })
    .unwrap();

    let enroll = |name: &str| {
        let token = common::blocking(|| admin::create_enrollment_token(hub.location())).unwrap();
        json!({ "enrollment_token": token, "name": name })
    };
    // Enrols a kiosk with `body`; its answer (token and kiosk id).
    let enrolled = |body: Value| {
        let http = http.clone();
        let url = format!("{base}/api/v1/kiosks/enroll");
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let good = enrolled(enroll("good")).await;
    let good_token = good["token"].as_str().unwrap().to_string();
    // A kiosk that lost the answer to its enrollment asks again with the same token.
    let lost_enroll = enroll("lost");
    http.post(format!("{base}/api/v1/kiosks/enroll"))
        .json(&lost_enroll)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // Another kiosk, whose operations the first may not withdraw.
    let other = enrolled(enroll("other")).await;
    let other_token = other["token"].as_str().unwrap().to_string();
    let off_enroll = enroll("off");
    let off = enrolled(off_enroll.clone()).await;
    let off_token = off["token"].as_str().unwrap().to_string();
    // A heartbeat after its enrolment: the enrollment token can no longer be asked again.
    let heartbeat = (chrono::Utc::now() + chrono::TimeDelta::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let off_id = off["kiosk_id"].as_str().unwrap().to_string();
    hub.with_db(|sql| {
        sql.execute(
            "UPDATE kiosks SET disabled = 1, last_heartbeat = ?2 WHERE id = ?1",
            sportello::hub::sql::args![off_id, heartbeat],
        )
        .unwrap()
    });
    // A kiosk that has used up its online tickets for the minute.
    let greedy = enrolled(enroll("greedy")).await;
    let greedy_token = greedy["token"].as_str().unwrap().to_string();
    let limit = sportello::config::hub::QueueConfig::default().kiosk_tickets_per_minute;
    for _ in 0..limit {
        let status = http
            .post(format!("{base}/api/v1/tickets"))
            .bearer_auth(&greedy_token)
            .json(&ticket("imprese"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201);
    }
    // An update rolled out to the "good" kiosk only.
    let bundle_file = hub.dir.path().join("update.raucb");
    std::fs::write(&bundle_file, b"a signed bundle, as far as this test cares").unwrap();
    let update_sha = common::blocking(|| {
        sportello::hub::updates::add_bundle(hub.location(), &bundle_file, "1.0.1")
    })
    .unwrap();
    common::blocking(|| {
        sportello::hub::updates::start_rollout(
            hub.location(),
            "1.0.1",
            &["good".to_string()],
            Default::default(),
        )
    })
    .unwrap();
    let update_tpl = "/api/v1/updates/{sha256}";
    let update_path = format!("/api/v1/updates/{update_sha}");
    let g = Some(good_token.as_str());
    let d = Some(off_token.as_str());
    let o = Some(other_token.as_str());

    let request = serde_json::to_value(ticket("naspi")).unwrap();
    let mut other_body = request.clone();
    other_body["priority"] = json!(true);
    let big = vec![b' '; 20_000];
    // An enrolment may carry a kiosk's unsent numbers: its limit is higher.
    let huge = vec![b' '; sportello::hub::MAX_ENROLL_BODY_BYTES + 1];
    let heartbeat =
        json!({ "version": "1.0", "printer": "ok", "outbox_depth": 0, "future_field": 1 });
    let enroll_tpl = "/api/v1/kiosks/enroll";
    let tickets = "/api/v1/tickets";
    let status_tpl = "/api/v1/tickets/{ticket_id}";
    let withdrawals = "/api/v1/withdrawals";
    let other_request = serde_json::to_value(ticket("naspi")).unwrap();
    let late_request = serde_json::to_value(ticket("naspi")).unwrap();
    let mut calls = vec![
        (call("POST", enroll_tpl, None).json(enroll("new")), 201),
        (call("POST", enroll_tpl, None).json(lost_enroll), 200),
        // The disabled kiosk has reported: its enrollment token is spent.
        (call("POST", enroll_tpl, None).json(off_enroll), 401),
        (
            call("POST", enroll_tpl, None).raw(Some("application/json"), b"{"),
            400,
        ),
        (
            call("POST", enroll_tpl, None).raw(Some("application/json"), &huge),
            413,
        ),
        (call("POST", enroll_tpl, None).raw(None, b"{}"), 415),
        (call("POST", enroll_tpl, None).json(json!({})), 422),
        (call("GET", "/api/v1/catalogue", g), 200),
        (call("GET", "/api/v1/catalogue", None), 401),
        (call("GET", "/api/v1/catalogue", d), 403),
        (call("POST", tickets, g).json(request.clone()), 201),
        (call("POST", tickets, g).json(request.clone()), 200),
        (call("POST", tickets, g).json(other_body), 409),
        (call("POST", tickets, None).json(request.clone()), 401),
        (
            call("POST", tickets, Some(greedy_token.as_str()))
                .json(serde_json::to_value(ticket("imprese")).unwrap()),
            429,
        ),
        (call("POST", tickets, d).json(request.clone()), 403),
        (
            call("POST", tickets, g).raw(Some("application/json"), b"{\"op_id\""),
            400,
        ),
        (
            call("POST", tickets, g).raw(Some("application/json"), &big),
            413,
        ),
        (call("POST", tickets, g).raw(Some("text/plain"), b"{}"), 415),
        (call("POST", tickets, g).json(json!({ "op_id": "x" })), 422),
        // Withdrawals: one of the kiosk's own tickets, an op not seen yet, another
        // kiosk's op (refused), then that op arriving after all (refused).
        (call("POST", tickets, o).json(other_request.clone()), 201),
        (
            call("POST", withdrawals, g).json(json!({ "op_id": request["op_id"] })),
            200,
        ),
        (
            call("POST", withdrawals, g).json(json!({ "op_id": late_request["op_id"] })),
            200,
        ),
        (call("POST", tickets, g).json(late_request.clone()), 409),
        (
            call("POST", withdrawals, g).json(json!({ "op_id": other_request["op_id"] })),
            404,
        ),
        (
            call("POST", withdrawals, None).json(json!({ "op_id": other_request["op_id"] })),
            401,
        ),
        (
            call("POST", withdrawals, d).json(json!({ "op_id": other_request["op_id"] })),
            403,
        ),
        (
            call("POST", withdrawals, g).raw(Some("application/json"), b"{"),
            400,
        ),
        (
            call("POST", withdrawals, g).raw(Some("application/json"), &big),
            413,
        ),
        (call("POST", withdrawals, g).raw(None, b"{}"), 415),
        (
            call("POST", withdrawals, g).json(json!({ "op_id": "x" })),
            422,
        ),
        (
            call("GET", status_tpl, g).path("/api/v1/tickets/nope".into()),
            400,
        ),
        (
            call("GET", status_tpl, g).path(format!("/api/v1/tickets/{}", uuid::Uuid::new_v4())),
            404,
        ),
        (
            call("GET", status_tpl, None).path("/api/v1/tickets/nope".into()),
            401,
        ),
        (
            call("GET", status_tpl, d).path("/api/v1/tickets/nope".into()),
            403,
        ),
        (call("GET", "/api/v1/queues", g), 200),
        (call("GET", "/api/v1/queues", None), 401),
        (call("GET", "/api/v1/queues", d), 403),
        (
            call("POST", "/api/v1/bands", g).json(json!({ "services": ["naspi"] })),
            200,
        ),
        (call("POST", "/api/v1/bands", g).json(json!({})), 200),
        (call("POST", "/api/v1/bands", None).json(json!({})), 401),
        (call("POST", "/api/v1/bands", d).json(json!({})), 403),
        (
            call("POST", "/api/v1/bands", g).raw(Some("application/json"), b"{,}"),
            400,
        ),
        (
            call("POST", "/api/v1/bands", g).raw(Some("application/json"), &big),
            413,
        ),
        (call("POST", "/api/v1/bands", g).raw(None, b"{}"), 415),
        (
            call("POST", "/api/v1/bands", g).json(json!({ "services": ["nope"] })),
            422,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", g).json(heartbeat.clone()),
            200,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", None).json(heartbeat.clone()),
            401,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", d).json(heartbeat),
            403,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", g).raw(Some("application/json"), b"["),
            400,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", g).raw(Some("application/json"), &big),
            413,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", g).raw(None, b"{}"),
            415,
        ),
        (
            call("POST", "/api/v1/kiosks/heartbeat", g).json(json!({ "version": "1" })),
            422,
        ),
        (call("GET", "/healthz", None), 200),
        (call("GET", "/metrics", None), 200),
    ];

    // Each ticket-specific call needs a real id: issue one and add its status call.
    let issued: Value = http
        .post(format!("{base}{tickets}"))
        .bearer_auth(&good_token)
        .json(&ticket("isee"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = issued["ticket_id"].as_str().unwrap().to_string();
    calls.push((
        call("GET", status_tpl, g).path(format!("/api/v1/tickets/{id}")),
        200,
    ));
    // By the op_id that issued it, and by its number.
    calls.push((
        call("GET", status_tpl, g).path(format!(
            "/api/v1/tickets/{}",
            request["op_id"].as_str().unwrap()
        )),
        200,
    ));
    let by_number = "/api/v1/tickets/by-number/{number}";
    let number = issued["number"].as_str().unwrap().to_lowercase();
    for (token, path, status) in [
        (g, format!("/api/v1/tickets/by-number/{number}"), 200),
        (g, "/api/v1/tickets/by-number/I999".to_string(), 404),
        (g, "/api/v1/tickets/by-number/I99".to_string(), 400),
        (None, "/api/v1/tickets/by-number/I001".to_string(), 401),
        (d, "/api/v1/tickets/by-number/I001".to_string(), 403),
    ] {
        calls.push((call("GET", by_number, token).path(path), status));
    }
    // The ETag round trip.
    let etag = http
        .get(format!("{base}/api/v1/catalogue"))
        .bearer_auth(&good_token)
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    calls.push((
        call("GET", "/api/v1/catalogue", g).header("if-none-match", etag),
        304,
    ));

    // Citizen logins: a pending session, an ended one, a signed-in one, and a kiosk
    // that has used up its logins for this minute.
    let new_session = |token: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let v: Value = http
                .post(format!("{base}/api/v1/auth/sessions"))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                v["session_id"].as_str().unwrap().to_string(),
                v["login_url"].as_str().unwrap().to_string(),
                v["binding_code"].as_str().unwrap().to_string(),
            )
        }
    };
    let (pending, _, _) = new_session(good_token.clone()).await;
    let (ended, _, _) = new_session(good_token.clone()).await;
    http.delete(format!("{base}/api/v1/auth/sessions/{ended}"))
        .bearer_auth(&good_token)
        .send()
        .await
        .unwrap();
    let (signed_in, login_url, code) = new_session(good_token.clone()).await;
    let landed = Phone::new()
        .sign_in(&login_url, &code, "giulia", "giulia-password")
        .await;
    assert_eq!(landed.status, 200, "{landed:?}");
    let busy: Value = http
        .post(format!("{base}/api/v1/kiosks/enroll"))
        .json(&enroll("busy"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let busy_token = busy["token"].as_str().unwrap().to_string();
    for _ in 0..6 {
        new_session(busy_token.clone()).await;
    }
    let plain_token = {
        let token = common::blocking(|| admin::create_enrollment_token(plain.location())).unwrap();
        let v: Value = http
            .post(format!("{}/api/v1/kiosks/enroll", plain.url()))
            .json(&json!({ "enrollment_token": token }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_string()
    };
    let sessions = "/api/v1/auth/sessions";
    let one = "/api/v1/auth/sessions/{session_id}";
    let apps = "/api/v1/auth/sessions/{session_id}/applications";
    let certs = "/api/v1/auth/sessions/{session_id}/certificates";
    let unknown = uuid::Uuid::new_v4().to_string();
    let at = |template: &str, id: &str, query: &str| {
        format!("{}{query}", template.replace("{session_id}", id))
    };
    calls.extend([
        (call("POST", sessions, g).json(json!({})), 201),
        (call("POST", sessions, g).json(json!({ "lang": "en" })), 201),
        (
            call("POST", sessions, g).raw(Some("application/json"), b"{"),
            400,
        ),
        (call("POST", sessions, None).json(json!({})), 401),
        (call("POST", sessions, d).json(json!({})), 403),
        (
            call("POST", sessions, g).raw(Some("application/json"), &big),
            413,
        ),
        (call("POST", sessions, g).raw(None, b"{}"), 415),
        (call("POST", sessions, g).json(json!({ "lang": "xx" })), 422),
        (
            call("POST", sessions, Some(&busy_token)).json(json!({})),
            429,
        ),
        (
            call("POST", sessions, Some(&plain_token))
                .json(json!({}))
                .on(plain.url()),
            503,
        ),
        (call("GET", one, g).path(at(one, &pending, "")), 200),
        (call("GET", one, g).path(at(one, "nope", "")), 400),
        (call("GET", one, None).path(at(one, &pending, "")), 401),
        (call("GET", one, d).path(at(one, &pending, "")), 403),
        (call("GET", one, g).path(at(one, &unknown, "")), 404),
        (call("DELETE", one, g).path(at(one, &ended, "")), 204),
        (call("DELETE", one, g).path(at(one, "nope", "")), 400),
        (call("DELETE", one, None).path(at(one, &ended, "")), 401),
        (call("DELETE", one, d).path(at(one, &ended, "")), 403),
        (call("DELETE", one, g).path(at(one, &unknown, "")), 404),
    ]);
    for template in [apps, certs] {
        calls.extend([
            (
                call("GET", template, g).path(at(template, &signed_in, "?lang=en")),
                200,
            ),
            (
                call("GET", template, g).path(at(template, &signed_in, "?lang=xx")),
                400,
            ),
            (
                call("GET", template, None).path(at(template, &signed_in, "")),
                401,
            ),
            (
                call("GET", template, d).path(at(template, &signed_in, "")),
                403,
            ),
            (
                call("GET", template, g).path(at(template, &unknown, "")),
                404,
            ),
            (
                call("GET", template, g).path(at(template, &pending, "")),
                409,
            ),
            (call("GET", template, g).path(at(template, &ended, "")), 410),
        ]);
    }
    let did = json!({ "kind": "did", "lang": "it" });
    calls.extend([
        (
            call("POST", certs, g)
                .path(at(certs, &signed_in, ""))
                .json(did.clone()),
            201,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &signed_in, ""))
                .raw(Some("application/json"), b"{\"kind\""),
            400,
        ),
        (
            call("POST", certs, None)
                .path(at(certs, &signed_in, ""))
                .json(did.clone()),
            401,
        ),
        (
            call("POST", certs, d)
                .path(at(certs, &signed_in, ""))
                .json(did.clone()),
            403,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &unknown, ""))
                .json(did.clone()),
            404,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &pending, ""))
                .json(did.clone()),
            409,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &ended, ""))
                .json(did.clone()),
            410,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &signed_in, ""))
                .raw(Some("application/json"), &big),
            413,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &signed_in, ""))
                .raw(None, b"{}"),
            415,
        ),
        (
            call("POST", certs, g)
                .path(at(certs, &signed_in, ""))
                .json(json!({ "kind": "pensione", "lang": "it" })),
            422,
        ),
        (call("GET", "/api/v1/keys", None), 200),
        (call("GET", update_tpl, g).path(update_path.clone()), 200),
        (
            call("GET", update_tpl, g)
                .path(update_path.clone())
                .header("range", "bytes=3-".into()),
            206,
        ),
        (
            call("GET", update_tpl, g)
                .path(update_path.clone())
                .header("range", "bytes=zz".into()),
            416,
        ),
        (call("GET", update_tpl, None).path(update_path.clone()), 401),
        (call("GET", update_tpl, d).path(update_path.clone()), 403),
        (call("GET", update_tpl, o).path(update_path.clone()), 404),
    ]);

    let mut produced = BTreeSet::new();
    for (c, expected) in calls {
        let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
        let target = c.base.clone().unwrap_or_else(|| base.clone());
        let mut request = http.request(method, format!("{target}{}", c.path));
        if let Some(t) = c.token {
            request = request.bearer_auth(t);
        }
        if let Some(ct) = c.content_type {
            request = request.header("content-type", ct);
        }
        for (name, value) in &c.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = c.body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let what = format!("{} {} -> {status}", c.method, c.path);
        assert_eq!(status, expected, "{what}");
        let documented =
            &spec["paths"][c.template][c.method.to_lowercase()]["responses"][status.to_string()];
        assert!(documented.is_object(), "{what}: status not documented");
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = response.bytes().await.unwrap();
        match documented["content"].as_object() {
            None => assert!(bytes.is_empty(), "{what}: undocumented body"),
            Some(content) => {
                let ct = content_type.unwrap_or_default();
                if let Some(json_doc) = content.get("application/json") {
                    assert!(ct.starts_with("application/json"), "{what}: {ct}");
                    let value: Value = serde_json::from_slice(&bytes).unwrap();
                    assert_fits(&spec, &json_doc["schema"], &value, &what);
                } else if content.contains_key("application/octet-stream") {
                    assert_eq!(ct, "application/octet-stream", "{what}");
                    assert!(!bytes.is_empty(), "{what}: empty download");
                } else {
                    assert!(ct.starts_with("text/plain"), "{what}: {ct}");
                }
            }
        }
        produced.insert((
            c.template.to_string(),
            c.method.to_lowercase(),
            status.to_string(),
        ));
    }

    // Every documented answer was produced, except the ones a test cannot cause.
    let not_exercised: BTreeSet<(String, String, String)> = [("/healthz", "get", "503")]
        .into_iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in op["responses"].as_object().unwrap().keys() {
                let key = (path.clone(), method.clone(), status.clone());
                assert!(
                    produced.contains(&key) || not_exercised.contains(&key),
                    "documented but never produced: {key:?}"
                );
            }
        }
    }
    plain.stop().await;
    auth.stop().await;
}
