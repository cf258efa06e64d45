//! The hub's web pages: plain HTML, CSS and ES5 JavaScript compiled into the binary.
//!
//! No build step and no framework, so the pages load on the 10-year-old PCs at the
//! counters and on the TV's browser, and a release carries them with no extra files.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

fn page(body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: links to the pages.
pub async fn index() -> Response {
    page(include_str!("index.html"))
}

/// `GET /counter`: the clerk's page.
pub async fn counter() -> Response {
    page(include_str!("counter.html"))
}

/// `GET /display`: the waiting-room board.
pub async fn display() -> Response {
    page(include_str!("display.html"))
}

/// `GET /fleet`: the kiosks' state.
pub async fn fleet() -> Response {
    page(include_str!("fleet.html"))
}

/// `GET /audit`: the log of citizen logins and certificates (clerks only).
pub async fn audit() -> Response {
    page(include_str!("audit.html"))
}

/// `GET /reports`: the office's reports (managers): log in and choose the period.
pub async fn reports() -> Response {
    page(include_str!("reports.html"))
}

/// `GET /assets/{file}`: the shared stylesheet and scripts.
pub async fn asset(Path(file): Path<String>) -> Response {
    const CSS: &str = "text/css; charset=utf-8";
    let generated = match file.as_str() {
        "tracking.css" => Some(super::tracking::stylesheet()),
        "phone-login.css" => Some(super::login::stylesheet()),
        _ => None,
    };
    if let Some(body) = generated {
        return ([(CONTENT_TYPE, CSS), (CACHE_CONTROL, "no-cache")], body).into_response();
    }
    let (kind, body) = match file.as_str() {
        "style.css" => (CSS, include_str!("style.css")),
        "display.css" => (CSS, include_str!("display.css")),
        "reports.css" => (CSS, include_str!("reports.css")),
        "common.js" => ("text/javascript; charset=utf-8", include_str!("common.js")),
        "counter.js" => ("text/javascript; charset=utf-8", include_str!("counter.js")),
        "display.js" => ("text/javascript; charset=utf-8", include_str!("display.js")),
        "fleet.js" => ("text/javascript; charset=utf-8", include_str!("fleet.js")),
        "audit.js" => ("text/javascript; charset=utf-8", include_str!("audit.js")),
        "reports.js" => ("text/javascript; charset=utf-8", include_str!("reports.js")),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    ([(CONTENT_TYPE, kind), (CACHE_CONTROL, "no-cache")], body).into_response()
}
