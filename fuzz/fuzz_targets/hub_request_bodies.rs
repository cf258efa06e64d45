//! Request bodies as the hub reads them: arbitrary bytes through the hub's own JSON
//! extractor (`hub::error::ApiJson`, what every handler takes) into each request type
//! of the kiosk API (`protocol::kiosk_api`) and the counter and fleet pages. A body the
//! hub refuses gets a 4xx in the hub's error shape, never a panic or a 5xx; a body it
//! accepts serialises back to JSON that reads as the same request, and the fields the
//! hub checks next (codice fiscale, language, offline number) go through those checks.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sportello::hub::counter_api::{LoginRequest, SetupRequest, TransferRequest};
use sportello::hub::error::ApiJson;
use sportello::hub::fleet::DisableRequest;
use sportello::identity::codice_fiscale::CodiceFiscale;
use sportello::lang::Lang;
use sportello::protocol::kiosk_api::{
    BandsRequest, CreateLoginSessionRequest, EnrollRequest, HeartbeatRequest,
    IssueCertificateRequest, IssueTicketRequest, WithdrawRequest,
};
use sportello::protocol::numbers;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

/// The body through the hub's extractor: the request, or the status it answers with.
fn extract<T: DeserializeOwned>(body: &[u8], json: bool) -> Option<T> {
    let mut request = Request::post("/");
    if json {
        request = request.header(CONTENT_TYPE, "application/json");
    }
    let request = request.body(Body::from(body.to_vec())).expect("a request");
    match runtime().block_on(ApiJson::<T>::from_request(request, &())) {
        Ok(ApiJson(value)) => Some(value),
        Err(err) => {
            assert!(err.status.is_client_error(), "{} {}", err.status, err.code);
            assert_eq!(err.into_response().status().as_u16() / 100, 4);
            None
        }
    }
}

/// A protocol type accepted once reads the same from its own JSON.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).expect("serialises");
    let again: T = serde_json::from_str(&text).expect("reads its own JSON");
    assert_eq!(&again, value);
}

fn check_offline_number(number: &str) {
    if let Some((prefix, seq)) = numbers::parse_number(number) {
        assert_eq!(numbers::format_number(prefix, seq), number);
    }
    if let Some((prefix, tag, n)) = numbers::parse_emergency(number) {
        assert_eq!(numbers::format_emergency(prefix, &tag, n), number);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let json = which & 0x80 == 0;
    match which % 11 {
        0 => {
            if let Some(r) = extract::<EnrollRequest>(body, json) {
                round_trip(&r);
            }
        }
        1 => {
            if let Some(r) = extract::<IssueTicketRequest>(body, json) {
                round_trip(&r);
                let _ = r.lang.parse::<Lang>();
                if let Some(cf) = &r.codice_fiscale {
                    let _ = cf.parse::<CodiceFiscale>();
                }
                if let Some(number) = &r.offline_number {
                    check_offline_number(number);
                }
            }
        }
        2 => {
            if let Some(r) = extract::<WithdrawRequest>(body, json) {
                round_trip(&r);
            }
        }
        3 => {
            if let Some(r) = extract::<BandsRequest>(body, json) {
                round_trip(&r);
            }
        }
        4 => {
            if let Some(r) = extract::<HeartbeatRequest>(body, json) {
                round_trip(&r);
            }
        }
        5 => {
            if let Some(r) = extract::<CreateLoginSessionRequest>(body, json) {
                round_trip(&r);
            }
        }
        6 => {
            if let Some(r) = extract::<IssueCertificateRequest>(body, json) {
                round_trip(&r);
            }
        }
        7 => {
            let _ = extract::<LoginRequest>(body, json);
        }
        8 => {
            let _ = extract::<SetupRequest>(body, json);
        }
        9 => {
            let _ = extract::<TransferRequest>(body, json);
        }
        _ => {
            let _ = extract::<DisableRequest>(body, json);
        }
    }
});
