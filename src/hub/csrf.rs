//! Clerk actions only from the hub's own pages (security finding 11).
//!
//! The counter and fleet pages send every action as JSON from their own origin. A
//! cross-site HTML form can send neither `application/json` nor a matching `Origin`,
//! so a state-changing clerk request must carry both: JSON, and no foreign `Origin` or
//! `Sec-Fetch-Site: cross-site`. Until now only the cookie's `SameSite=Strict` stood in
//! the way, which old browsers ignore and same-site neighbours get past.

use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{Method, StatusCode};
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
    if let Some(origin) = headers.get(ORIGIN) {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest.trim_end_matches('/'));
        if origin_host != Some(host) || host.is_empty() {
            return Err("clerk actions come from the hub's own pages only");
        }
    }
    Ok(())
}
