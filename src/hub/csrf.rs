//! Clerk actions only from the hub's own pages (security finding 11).
//!
//! The counter and fleet pages send every action as JSON from their own origin. A
//! cross-site HTML form can send neither `application/json` nor a matching `Origin`,
//! so a state-changing clerk request must carry both: JSON, and no foreign `Origin` or
//! `Sec-Fetch-Site: cross-site`. Until now only the cookie's `SameSite=Strict` stood in
//! the way, which old browsers ignore and same-site neighbours get past.

use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Paths whose non-GET requests act for a signed-in clerk (and the login itself).
const CLERK_PREFIXES: [&str; 3] = ["/counter/api/", "/fleet/api/", "/audit/api/"];

/// Middleware: refuses a clerk action that did not come from the hub's own page.
pub async fn same_origin_json(req: Request, next: Next) -> Response {
    let acts = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && CLERK_PREFIXES
            .iter()
            .any(|p| req.uri().path().starts_with(p));
    if acts && let Err(why) = check(&req) {
        return ApiError::new(StatusCode::FORBIDDEN, "cross_origin", why).into_response();
    }
    next.run(req).await
}

fn check(req: &Request) -> Result<(), &'static str> {
    let headers = req.headers();
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err("clerk actions are sent as JSON by the hub's own pages");
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err("clerk actions come from the hub's own pages only");
    }
    if headers.get(ORIGIN).is_some() && !origin_is_host(headers) {
        return Err("clerk actions come from the hub's own pages only");
    }
    Ok(())
}

/// Whether `Origin` names the host the request was sent to.
fn origin_is_host(headers: &HeaderMap) -> bool {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = headers
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    !host.is_empty() && origin_host == Some(host)
}

/// Whether a form `POST` came from one of the hub's own pages (the phone's sign-in
/// confirmation, security finding 2): sent as `application/x-www-form-urlencoded`, with
/// no `Sec-Fetch-Site` other than `same-origin` and no `Origin` naming another site. A
/// browser that sends `Origin: null` must also say `Sec-Fetch-Site: same-origin`.
pub fn same_origin_form(headers: &HeaderMap) -> Result<(), &'static str> {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form {
        return Err("not sent by the hub's form");
    }
    let site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if site.is_some_and(|s| s != b"same-origin") {
        return Err("sent from another site");
    }
    match headers.get(ORIGIN).map(|v| v.as_bytes()) {
        None => Ok(()),
        Some(b"null") if site == Some(b"same-origin".as_slice()) => Ok(()),
        Some(_) if origin_is_host(headers) => Ok(()),
        Some(_) => Err("sent from another origin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn form(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("hub.example:8443"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_form_is_accepted_from_the_hubs_own_page_only() {
        assert!(same_origin_form(&form(&[])).is_ok());
        assert!(
            same_origin_form(&form(&[
                ("origin", "https://hub.example:8443"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        assert!(
            same_origin_form(&form(&[
                ("origin", "null"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        for refused in [
            form(&[("origin", "https://evil.example")]),
            form(&[("origin", "null")]),
            form(&[("sec-fetch-site", "cross-site")]),
            form(&[("sec-fetch-site", "same-site")]),
            form(&[
                ("origin", "https://hub.example:8443"),
                ("sec-fetch-site", "none"),
            ]),
            form(&[("content-type", "text/plain")]),
        ] {
            assert!(same_origin_form(&refused).is_err(), "{refused:?}");
        }
    }
}
